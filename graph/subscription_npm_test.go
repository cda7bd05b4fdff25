package graph_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/events"
	"github.com/payhub/payhub/graph/model"
)

// The real npm graphql-ws client (pinned with ws and graphql in testdata/graphql-ws/package.json)
// subscribes to paymentEvents and anomalyEvents while events are made through the API's mutations
// (refundPayment, capturePayment, resolveAnomaly) and by the sync engine (a gateway transaction
// applied), disconnects, misses a batch, resumes from its cursors, and must then receive exactly
// the events it missed and those made after, none twice. The npm install goes to the user cache
// directory, keyed by the package.json hash, so the repository stays clean and reruns skip it.

func TestGraphqlWsClientResumesFromItsCursor(t *testing.T) {
	t.Parallel()
	node := npmLookPathOrSkip(t, "node")
	modules := installGraphqlWs(t)
	script, err := filepath.Abs(filepath.Join("testdata", "graphql-ws", "client.js"))
	if err != nil {
		t.Fatal(err)
	}

	rig := newMutationRig(t, false)
	broker := startBroker(t, rig.pool, events.Config{})
	server := httptest.NewServer(graph.NewHandler(graph.HandlerConfig{Pool: rig.pool, Engine: rig.engine, Events: broker}))
	t.Cleanup(server.Close)
	dashboard := newKey(t, rig.pool, "dashboard-ws", auth.Dashboard)
	q := db.New(rig.pool)

	head := events.Position{}
	if row, err := q.LastReadableEvent(context.Background()); err == nil {
		head = events.Position{Xact: row.XactID.Uint64, ID: row.ID}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	start := head.Cursor()

	// What the API and the engine do, a batch at a time.
	anomalies := 0
	resolveAnomaly := func() {
		anomalies++
		id := scalar[int64](t, rig.pool, `INSERT INTO anomalies (kind, severity, subject_type, subject_id, dedupe_key, summary, details)
			VALUES ('unmapped_gateway_status', 'warning', 'payment', 1, $1, 'status FOO unmapped', '{}') RETURNING id`,
			fmt.Sprintf("ws:%d", anomalies))
		var out struct{ UserErrors []userError }
		rig.mutate(t, `mutation($input: ResolveAnomalyInput!) { resolveAnomaly(input: $input) { userErrors { code message } } }`,
			map[string]any{"idempotencyKey": fmt.Sprintf("ws-res-%d", anomalies), "id": model.EncodeGlobalID(model.TypeAnomaly, id),
				"note": "looked at it"}, &out)
		if len(out.UserErrors) > 0 {
			t.Fatalf("resolveAnomaly: %+v", out.UserErrors)
		}
	}
	refund := func(ref string) {
		pay := rig.pay(t, ref, true, "123") // the engine records the sale
		var out refundPayload
		rig.mutate(t, refundMutation, refundInput("ws-"+ref, pay, "10.00", "GBP"), &out)
		if len(out.UserErrors) > 0 || out.Refund == nil || out.Refund.Status != "SUCCEEDED" {
			t.Fatalf("refundPayment: %+v", out)
		}
	}
	capture := func(ref string) {
		pay := rig.pay(t, ref, false, "123") // an authorisation
		var out struct{ UserErrors []userError }
		rig.mutate(t, `mutation($input: CapturePaymentInput!) { capturePayment(input: $input) { userErrors { code message } } }`,
			map[string]any{"idempotencyKey": "ws-cap-" + ref, "paymentId": model.EncodeGlobalID(model.TypePayment, pay.ID)}, &out)
		if len(out.UserErrors) > 0 {
			t.Fatalf("capturePayment: %+v", out.UserErrors)
		}
	}

	fields := `id cursor topic kind subjectType subjectId payload occurredAt`
	subs := []map[string]string{
		{"name": "payment", "after": start, "query": `subscription($after: String) { paymentEvents(after: $after) { ` + fields + ` } }`},
		{"name": "anomaly", "after": start, "query": `subscription($after: String) { anomalyEvents(after: $after) { ` + fields + ` subject { __typename id } } }`},
	}
	subsJSON, _ := json.Marshal(subs)

	// Batch A, before the client connects: it replays them.
	refund("WS-A")
	resolveAnomaly()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := osexec.CommandContext(ctx, node, script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "HUB_WS_URL=ws"+strings.TrimPrefix(server.URL, "http"),
		"HUB_API_KEY="+dashboard, "HUB_SUBSCRIPTIONS="+string(subsJSON))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait() //nolint:errcheck
	})
	out := newScriptOutput(stdout)
	tell := func(line string) {
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatalf("tell the script %q: %v (stderr: %s)", line, err, stderr.String())
		}
	}
	// waitFor waits until the script has printed every event of the log so far for each topic.
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			want := map[string]int{"payment": len(logIDs(t, rig.pool, "payment", start)), "anomaly": len(logIDs(t, rig.pool, "anomaly", start))}
			got := out.counts()
			if got["payment"] >= want["payment"] && got["anomaly"] >= want["anomaly"] {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the script printed %v events, the log has %v\nstdout: %s\nstderr: %s", what, got, want, out.text(), stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	waitFor("replay of batch A")
	// Batch B while connected: live.
	capture("WS-B")
	resolveAnomaly()
	waitFor("batch B live")

	tell("disconnect")
	out.waitLine(t, `"disconnected":true`)
	cut := map[string]string{}
	for _, topic := range []string{"payment", "anomaly"} {
		ids := logIDs(t, rig.pool, topic, start)
		ev, err := q.GetEvent(context.Background(), ids[len(ids)-1])
		if err != nil {
			t.Fatal(err)
		}
		cut[topic] = cursorOf(ev)
	}

	// Batch C while disconnected, then resume; batch D after.
	refund("WS-C")
	resolveAnomaly()
	resolveAnomaly()
	tell("resume")
	waitFor("batch C after resuming")
	refund("WS-D")
	resolveAnomaly()
	waitFor("batch D live after resuming")
	out.waitLine(t, `"pong":true`) // graphql-transport-ws keep-alive: the client pings, the server answers
	tell("exit")
	out.waitLine(t, `"done":true`)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node: %v\nstderr: %s", err, stderr.String())
	}

	lines := out.all()
	for _, l := range lines {
		if l.Error != nil || len(l.Errors) > 0 || l.SocketError != "" {
			t.Errorf("the script reported an error: %+v", l)
		}
	}
	for _, topic := range []string{"payment", "anomaly"} {
		byPhase := map[int][]int64{}
		for _, l := range lines {
			if l.Event != nil && l.Sub == topic {
				byPhase[l.Phase] = append(byPhase[l.Phase], l.Event.rowID(t))
			}
		}
		before, after := logIDs(t, rig.pool, topic, start), logIDs(t, rig.pool, topic, cut[topic])
		before = before[:len(before)-len(after)]
		if !slices.Equal(byPhase[1], before) {
			t.Errorf("%s, first connection: got %v, want %v", topic, byPhase[1], before)
		}
		if !slices.Equal(byPhase[2], after) {
			t.Errorf("%s, after resuming: got %v, want exactly the missed and later events %v", topic, byPhase[2], after)
		}
		t.Logf("%s: %d events on the first connection, %d after resuming from %s", topic, len(byPhase[1]), len(byPhase[2]), cut[topic])
	}
	kinds := map[string]bool{}
	for _, l := range lines {
		if l.Event != nil {
			kinds[l.Event.Kind] = true
		}
	}
	for _, k := range []string{"payment.recorded", "refund.submitted", "refund.succeeded", "payment.captured", "anomaly.resolved"} {
		if !kinds[k] {
			t.Errorf("no %s event reached the client (got %v)", k, kinds)
		}
	}
}

// scriptLine is one line the script prints.
type scriptLine struct {
	Phase       int               `json:"phase"`
	Sub         string            `json:"sub"`
	Event       *eventOut         `json:"event"`
	Errors      []gqlErrorOut     `json:"errors"`
	Error       any               `json:"error"`
	SocketError string            `json:"socketError"`
	Pong        bool              `json:"pong"`
	Last        map[string]string `json:"last"`
}

type scriptOutput struct {
	mu    sync.Mutex
	lines []scriptLine
	raw   []string
	cond  *sync.Cond
}

func newScriptOutput(r io.Reader) *scriptOutput {
	o := &scriptOutput{}
	o.cond = sync.NewCond(&o.mu)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l scriptLine
			json.Unmarshal(sc.Bytes(), &l) //nolint:errcheck
			o.mu.Lock()
			o.lines = append(o.lines, l)
			o.raw = append(o.raw, sc.Text())
			o.cond.Broadcast()
			o.mu.Unlock()
		}
	}()
	return o
}

func (o *scriptOutput) counts() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := map[string]int{}
	for _, l := range o.lines {
		if l.Event != nil {
			n[l.Sub]++
		}
	}
	return n
}

func (o *scriptOutput) all() []scriptLine {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.lines)
}

func (o *scriptOutput) text() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.raw, "\n")
}

// waitLine waits for a line containing s.
func (o *scriptOutput) waitLine(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		o.mu.Lock()
		for _, l := range o.raw {
			if strings.Contains(l, s) {
				o.mu.Unlock()
				return
			}
		}
		o.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the script never printed %s:\n%s", s, o.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var graphqlWsInstall struct {
	once    sync.Once
	modules string
	err     error
}

// installGraphqlWs installs testdata/graphql-ws/package.json's dependencies once per cache key
// and returns the node_modules directory for NODE_PATH.
func installGraphqlWs(t *testing.T) string {
	t.Helper()
	npm := npmLookPathOrSkip(t, "npm")
	graphqlWsInstall.once.Do(func() {
		graphqlWsInstall.modules, graphqlWsInstall.err = npmInstall(t, npm, filepath.Join("testdata", "graphql-ws"), "graphql-ws")
	})
	if graphqlWsInstall.err != nil {
		t.Fatalf("npm install: %v", graphqlWsInstall.err)
	}
	return graphqlWsInstall.modules
}

// npmInstall installs the package.json in dir into the user cache (payhub-npm/<name>-<hash>),
// unless it is there already, and returns its node_modules; check is a package that must be
// installed.
func npmInstall(t *testing.T, npm, dir, check string) (string, error) {
	manifest, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(manifest)
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	root := filepath.Join(base, "payhub-npm")
	target := filepath.Join(root, "graph-"+filepath.Base(dir)+"-"+hex.EncodeToString(sum[:8]))
	modules := filepath.Join(target, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, check, "package.json")); err == nil {
		t.Logf("npm install: cached in %s", target)
		return modules, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), manifest, 0o644); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := osexec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(err.Error() + ": " + string(out))
	}
	t.Logf("npm install took %s", time.Since(start).Round(time.Millisecond))
	// Publish the finished install atomically; a concurrent one may have won the race.
	if err := os.Rename(tmp, target); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, statErr := os.Stat(filepath.Join(modules, check, "package.json")); statErr != nil {
			return "", err
		}
	}
	return modules, nil
}

func npmLookPathOrSkip(t *testing.T, name string) string {
	t.Helper()
	p, err := osexec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not on PATH: the graphql-ws client check needs node and npm", name)
	}
	return p
}

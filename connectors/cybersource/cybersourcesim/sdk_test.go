package cybersourcesim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The official Node SDK (cybersource-rest-client, pinned in testdata/sdk/package.json) talks to
// the simulator: the protocol doc's §11 configuration, with intermediateHost pointing at the
// simulator while the SDK signs for host apitest.cybersource.com. The npm install goes to the
// user cache directory, keyed by the package.json hash, so the repository stays clean and reruns
// skip it.

func TestOfficialNodeSDKAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	node := lookPathOrSkip(t, "node")
	modules := installSDK(t)
	script, err := filepath.Abs(filepath.Join("testdata", "sdk", "sdk.js"))
	if err != nil {
		t.Fatal(err)
	}

	for _, auth := range []string{"http_signature", "jwt"} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			sim, url, hosts := sdkSimulator(t)
			code := "sdk-" + auth
			start := time.Now()
			out := runSDK(t, node, script, modules, url, auth, DefaultSecret, code, "flow")
			t.Logf("SDK %s flow took %s", auth, time.Since(start).Round(time.Millisecond))

			pay, refund := out.get("payment"), out.get("refund")
			if pay.status != http.StatusCreated || pay.str("status") != StatusAuthorized || !transactionIDPattern.MatchString(pay.str("id")) ||
				pay.str("orderInformation.amountDetails.authorizedAmount") != "102.21" || pay.str("clientReferenceInformation.code") != code {
				t.Fatalf("createPayment: %+v", out["payment"])
			}
			if refund.status != http.StatusCreated || refund.str("status") != StatusPending || refund.str("refundAmountDetails.refundAmount") != "40.00" {
				t.Fatalf("refundPayment: %+v", out["refund"])
			}
			pd, rd := out.get("paymentDetails"), out.get("refundDetails")
			if pd.status != http.StatusOK || pd.str("id") != pay.str("id") || pd.str("applicationInformation.applications.0.name") != "ics_auth" ||
				!strings.Contains(pd.str("applicationInformation.applications"), `"ics_bill"`) {
				t.Fatalf("getTransaction(payment): %+v", out["paymentDetails"])
			}
			if rd.status != http.StatusOK || rd.str("id") != refund.str("id") || rd.str("rootId") != pay.str("id") ||
				rd.str("applicationInformation.applications.0.name") != "ics_credit" {
				t.Fatalf("getTransaction(refund): %+v", out["refundDetails"])
			}

			snap := sim.State()
			sale, ok := snap.Transaction(pay.str("id"))
			if !ok || sale.Kind != KindSale || sale.RefundedAmount.String() != "40" || sale.CapturedAmount.String() != "102.21" ||
				len(snap.Refunds) != 1 || snap.Refunds[0].ParentID != sale.ID || snap.Refunds[0].ID != refund.str("id") {
				t.Fatalf("simulator state after the SDK flow: %+v", snap.Transactions)
			}
			got := hosts()
			if len(got) != 4 {
				t.Fatalf("simulator saw %d requests: %v", len(got), got)
			}
			if auth == "http_signature" {
				for _, h := range got {
					if h != "apitest.cybersource.com" {
						t.Fatalf("the SDK sent Host %q; the signature verified against the received Host", h)
					}
				}
			}
		})
	}

	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		sim, url, _ := sdkSimulator(t)
		out := runSDK(t, node, script, modules, url, "http_signature", "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=", "sdk-wrong", "wrong-secret")
		pay := out.get("payment")
		if pay.status != http.StatusUnauthorized || !strings.Contains(pay.errText, `"rmsg":"Authentication Failed"`) {
			t.Fatalf("wrong secret: %+v", out["payment"])
		}
		if n := len(sim.State().Transactions); n != 0 {
			t.Fatalf("a refused payment created %d transactions", n)
		}
	})
}

// sdkResult is one SDK call's outcome as the script prints it.
type sdkResult struct {
	Status int             `json:"status"`
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error"`
}

type sdkOutput map[string]sdkResult

// sdkCall is an sdkResult with its data decoded.
type sdkCall struct {
	status  int
	errText string
	data    map[string]any
}

func (o sdkOutput) get(name string) sdkCall {
	r := o[name]
	c := sdkCall{status: r.Status, errText: r.Error}
	_ = json.Unmarshal(r.Data, &c.data)
	return c
}

func (c sdkCall) str(path string) string { return response{body: c.data}.str(path) }

// sdkSimulator starts a simulator on a real port and records the Host of every request.
func sdkSimulator(t *testing.T) (*Server, string, func() []string) {
	t.Helper()
	sim := New(Options{})
	var mu sync.Mutex
	var hosts []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ts.Close()
		sim.Close()
	})
	return sim, ts.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), hosts...)
	}
}

// runSDK runs the script from a scratch directory (so nothing is written into the repository)
// and decodes its JSON.
func runSDK(t *testing.T, node, script, modules, url, auth, secret, code, mode string) sdkOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "CYBS_SIM_URL="+url, "CYBS_AUTH_TYPE="+auth,
		"CYBS_MERCHANT_ID="+DefaultMerchantID, "CYBS_KEY_ID="+DefaultKeyID, "CYBS_SECRET="+secret,
		"CYBS_CODE="+code, "CYBS_MODE="+mode)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
	}
	t.Logf("SDK output (%s, %s): %s", auth, mode, stdout.String())
	var out sdkOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("SDK script output is not JSON: %v\n%s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return out
}

var sdkInstall struct {
	once    sync.Once
	modules string
	err     error
}

// installSDK installs testdata/sdk/package.json's dependencies once per cache key and returns
// the node_modules directory for NODE_PATH.
func installSDK(t *testing.T) string {
	t.Helper()
	npm := lookPathOrSkip(t, "npm")
	sdkInstall.once.Do(func() {
		sdkInstall.modules, sdkInstall.err = npmInstall(npm, t)
	})
	if sdkInstall.err != nil {
		t.Fatalf("npm install: %v", sdkInstall.err)
	}
	return sdkInstall.modules
}

func npmInstall(npm string, t *testing.T) (string, error) {
	manifest, err := os.ReadFile(filepath.Join("testdata", "sdk", "package.json"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(manifest)
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	root := filepath.Join(base, "payhub-npm")
	dir := filepath.Join(root, "cybersourcesim-"+hex.EncodeToString(sum[:8]))
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "cybersource-rest-client", "package.json")); err == nil {
		t.Logf("npm install: cached in %s", dir)
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
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(err.Error() + ": " + string(out))
	}
	t.Logf("npm install took %s", time.Since(start).Round(time.Millisecond))
	// Publish the finished install atomically; a concurrent one may have won the race.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, statErr := os.Stat(filepath.Join(modules, "cybersource-rest-client", "package.json")); statErr != nil {
			return "", err
		}
	}
	return modules, nil
}

func lookPathOrSkip(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not on PATH: the official Node SDK check needs node and npm", name)
	}
	return p
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func buildSandbox(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sandbox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func TestSandboxRunsTheSysproSimulatorWithTheCredentialsItPrints(t *testing.T) {
	bin := buildSandbox(t)
	addr := freeAddr(t)
	seed := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(seed, []byte(`{"syspro": {"customers": [{"customer": "FIXT01", "name": "From the fixture", "currency": "GBP"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--syspro", addr, "--syspro-operator", "SHOP", "--syspro-operator-password", "s3cret", "--seed", seed)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	banner, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(banner, "http://"+addr+"/SYSPROWCFService/Rest") {
		t.Fatalf("banner %q (%v); stderr %s", banner, err, stderr.String())
	}
	go io.Copy(io.Discard, stdout) //nolint:errcheck

	base := "http://" + addr + "/SYSPROWCFService/Rest"
	logon := func(op, pw string) string {
		q := url.Values{"Operator": {op}, "OperatorPassword": {pw}, "CompanyId": {"EDU1"}, "CompanyPassword": {""}}
		return get(t, base+"/Logon?"+q.Encode())
	}
	if body := logon("ADMIN", "admin"); !strings.HasPrefix(body, "ERROR:") {
		t.Errorf("default operator still accepted after --syspro-operator: %q", body)
	}
	if body := logon("SHOP", "s3cret"); strings.HasPrefix(body, "ERROR:") || len(strings.TrimSpace(body)) < 16 {
		t.Errorf("logon with the printed credentials: %q", body)
	}
	if state := get(t, "http://"+addr+"/_sim/state"); !strings.Contains(state, "FIXT01") {
		t.Errorf("fixture customer not in state: %.300s", state)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop on SIGINT")
	}
}

func TestSandboxBadFlagsExitWithOneLine(t *testing.T) {
	bin := buildSandbox(t)
	for _, args := range [][]string{{"--bogus"}, {}, {"--opayo", "127.0.0.1:9101", "--webhook-url", "ftp://hub"}, {"--syspro", "x", "--syspro-seats", "0"},
		{"--syspro", "x", "--orders", "5"}, {"--cybersource", "x", "--orders", "5", "--rate", "0"}, {"--cybersource", "x", "--orders", "-1"}} {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 {
			t.Errorf("sandbox %v: %v, want exit 2", args, err)
		}
		if n := strings.Count(strings.TrimSpace(stderr.String()), "\n"); n != 0 || stderr.Len() == 0 {
			t.Errorf("sandbox %v printed %q, want one line", args, stderr.String())
		}
	}
}

func TestSandboxRunsTheGatewaySimulatorsWithTheCredentialsItPrints(t *testing.T) {
	bin := buildSandbox(t)
	opayo, cybersource := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "--opayo", opayo, "--cybersource", cybersource, "--webhook-url", "http://127.0.0.1:1",
		"--opayo-integration-key", "shopKey", "--opayo-integration-password", "shopPassword")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + cybersource + "/_sim/state")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulators not up: %v; stderr %s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	wants := []string{
		"http://" + opayo + "/api/v1", "http://" + opayo + "/access/access.htm",
		"integration key shopKey / password shopPassword", "vendor payhubsandbox", "user reporting / password reportingPassword",
		"http://" + cybersource, "merchant id payhub_sandbox", "key id 5f6a9f8e-2c1b-4d7e-9a3b-0c1d2e3f4a5b",
		"webhooks to http://127.0.0.1:1/webhooks/cybersource",
	}
	// The banner is written before the simulators serve, but reaches this process through a pipe.
	for time.Now().Before(deadline) && !strings.Contains(stdout.String(), wants[len(wants)-1]) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range wants {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout.String())
		}
	}

	msk := func(key, password string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+opayo+"/api/v1/merchant-session-keys", strings.NewReader(`{"vendorName":"payhubsandbox"}`))
		req.SetBasicAuth(key, password)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := msk("shopKey", "shopPassword"); code != http.StatusCreated {
		t.Errorf("merchant session key with the printed credentials: HTTP %d", code)
	}
	if code := msk("payhubSandboxKey", "payhubSandboxPassword"); code != http.StatusUnauthorized {
		t.Errorf("default credentials after --opayo-integration-key: HTTP %d, want 401", code)
	}
	if state := get(t, "http://"+opayo+"/_sim/state"); !strings.HasPrefix(strings.TrimSpace(state), "{") {
		t.Errorf("opayo state: %.200s", state)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop on SIGTERM")
	}
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSandboxRefusesABusyAddressBeforeServing(t *testing.T) {
	bin := buildSandbox(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--syspro", freeAddr(t), "--cybersource", busy.Addr().String())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("busy address: %v, want exit 1; stderr %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "address already in use") {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
}

func TestSandboxPlacesOrdersThenKeepsServing(t *testing.T) {
	bin := buildSandbox(t)
	opayo, cybersource := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "--opayo", opayo, "--cybersource", cybersource, "--webhook-url", "http://127.0.0.1:1",
		"--orders", "30", "--rate", "100")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "Placed 30 orders") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary after 20s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := stdout.String()
	t.Logf("%s", out[strings.Index(out, "Placed 30 orders"):])
	if !strings.Contains(out, "0 failed") {
		t.Errorf("some orders failed:\n%s", out)
	}
	for _, pan := range []string{"4111111111111111", "5555555555554444", "4000000000000002", "4929000000006", "5404000000000001"} {
		if strings.Contains(out, pan) {
			t.Errorf("the output shows card number %s", pan)
		}
	}
	var state struct {
		Transactions []struct {
			Kind                string `json:"kind"`
			ClientReferenceCode string `json:"clientReferenceCode"`
		} `json:"transactions"`
		WebhookDeliveries []json.RawMessage `json:"webhookDeliveries"`
	}
	if err := json.Unmarshal([]byte(get(t, "http://"+cybersource+"/_sim/state")), &state); err != nil {
		t.Fatal(err)
	}
	payments := 0
	for _, tx := range state.Transactions {
		if tx.Kind == "authorization" || tx.Kind == "sale" {
			payments++
		}
		if !strings.HasPrefix(tx.ClientReferenceCode, "DEMO-") {
			t.Errorf("reference %q", tx.ClientReferenceCode)
		}
	}
	if payments < 25 || payments > 30 {
		t.Errorf("%d Cybersource payments for 30 orders", payments)
	}
	if len(state.WebhookDeliveries) == 0 {
		t.Errorf("no webhook was sent to --webhook-url")
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop on SIGINT")
	}
}

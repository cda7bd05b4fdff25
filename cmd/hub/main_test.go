package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payhub/payhub/db/dbtest"
)

// These tests run the real binary the way an operator does: no DATABASE_URL, a fresh data
// directory, Ctrl-C to stop.

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

func buildHub(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hub")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// dataDir returns a directory the unprivileged PostgreSQL user can reach (t.TempDir is 0700).
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "payhub-hubtest-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
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

// hubCmd is the binary with the environment of a machine where nothing is configured.
func hubCmd(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "HUB_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// serve starts `hub serve` (with extra environment, e.g. DATABASE_URL) and returns once /readyz answers 200, with the time that took.
func serve(t *testing.T, bin, dir, addr string, env ...string) (*exec.Cmd, *bytes.Buffer, time.Duration) {
	t.Helper()
	var logs bytes.Buffer
	cmd := hubCmd(bin, "serve", "--addr", addr, "--data-dir", dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	for time.Since(start) < 30*time.Second {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, &logs, time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("hub serve not ready after 30s; log:\n%s", logs.String())
	return nil, nil, 0
}

// interrupt sends Ctrl-C and waits for a clean exit.
func interrupt(t *testing.T, cmd *exec.Cmd, logs *bytes.Buffer) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("hub serve exited with %v; log:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("hub serve still running 30s after SIGINT; log:\n%s", logs.String())
	}
}

// postgresProcesses lists live processes whose command line names dir.
func postgresProcesses(t *testing.T, dir string) []string {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var found []string
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(raw), "\x00", " ")
		if strings.Contains(cmdline, "postgres") && strings.Contains(cmdline, dir) {
			found = append(found, cmdline)
		}
	}
	return found
}

func TestServeStartsItsOwnPostgresAndStopsItOnInterrupt(t *testing.T) {
	bin := buildHub(t)
	dir := dataDir(t)
	addr := freeAddr(t)

	cmd, logs, first := serve(t, bin, dir, addr)
	t.Logf("first start: ready in %v", first)
	if first > 15*time.Second {
		t.Errorf("first start took %v, want under 15s", first)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	// A second command on the same data directory uses the running cluster: a key made beside
	// serve opens the API it serves.
	key, _ := createKey(t, bin, nil, "--data-dir", dir, "--name", "test", "--role", "dashboard")
	if status, body := graphqlPost(t, "http://"+addr+"/graphql", key, `{ payments(first: 1) { totalCount } }`); status != http.StatusOK ||
		body != `{"data":{"payments":{"totalCount":0}}}` {
		t.Fatalf("graphql: HTTP %d %s", status, body)
	}
	page, err := http.NewRequest(http.MethodGet, "http://"+addr+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	page.Header.Set("Accept", "text/html")
	if resp, err := http.DefaultClient.Do(page); err != nil || resp.StatusCode != http.StatusOK ||
		!strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GraphiQL page: %v %v", resp, err)
	}

	// A second command on the same data directory uses the running cluster, and leaves it running.
	migrate := hubCmd(bin, "migrate", "--data-dir", dir)
	if out, err := migrate.CombinedOutput(); err != nil || !strings.Contains(string(out), "already running") {
		t.Fatalf("hub migrate beside serve: %v\n%s", err, out)
	}
	if resp, err := http.Get("http://" + addr + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz after a second command: %v %v", resp, err)
	}

	interrupt(t, cmd, logs)
	if left := postgresProcesses(t, dir); len(left) > 0 {
		t.Fatalf("postgres still running after Ctrl-C: %v", left)
	}

	cmd, logs, second := serve(t, bin, dir, addr)
	t.Logf("second start: ready in %v", second)
	if second > 5*time.Second {
		t.Errorf("second start took %v, want under 5s", second)
	}
	interrupt(t, cmd, logs)
	if left := postgresProcesses(t, dir); len(left) > 0 {
		t.Fatalf("postgres still running after the second Ctrl-C: %v", left)
	}
}

func TestBadFlagsExitWithOneClearLine(t *testing.T) {
	bin := buildHub(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		cmd := hubCmd(bin, tt.args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 2 {
			t.Errorf("hub %v: %v, want exit status 2", tt.args, err)
		}
		if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n") + 1; lines != 1 ||
			!strings.Contains(stderr.String(), tt.want) {
			t.Errorf("hub %v printed %d lines %q, want one line saying %q", tt.args, lines, stderr.String(), tt.want)
		}
	}
	if out, err := hubCmd(bin, "serve", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "-data-dir") {
		t.Errorf("hub serve --help: %v\n%s", err, out)
	}
}

func TestServeRefusesABusyAddressBeforeStartingPostgres(t *testing.T) {
	bin := buildHub(t)
	dir := dataDir(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cmd := hubCmd(bin, "serve", "--addr", l.Addr().String(), "--data-dir", dir)
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "address already in use") {
		t.Fatalf("serve on a busy address: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres")); !os.IsNotExist(err) {
		t.Errorf("a cluster was created before the address was checked: %v", err)
	}
}

func TestServeUsesDatabaseURLAndStartsNoCluster(t *testing.T) {
	bin := buildHub(t)
	dir := dataDir(t)
	addr := freeAddr(t)
	url := dbtest.NewURL(t)

	cmd, logs, _ := serve(t, bin, dir, addr, "DATABASE_URL="+url)
	interrupt(t, cmd, logs)
	if !strings.Contains(logs.String(), "DATABASE_URL") {
		t.Errorf("log does not say which database is used:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "password=") {
		t.Errorf("log shows the database password:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres")); !os.IsNotExist(err) {
		t.Errorf("a private cluster was created although DATABASE_URL is set: %v", err)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/payhub/payhub/db/dbtest"
)

// keyPattern is what `hub apikey create` prints, alone on its line.
var keyPattern = regexp.MustCompile(`^phk_[A-Za-z0-9_-]{43}\n$`)

// graphqlPost posts query with an API key ("" sends none) and returns the HTTP status and body.
func graphqlPost(t *testing.T, url, key, query string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// hubRun runs a short hub command and returns its stdout, stderr and exit code.
func hubRun(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := hubCmd(bin, args...)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	}
	t.Fatalf("hub %v: %v", args, err)
	return "", "", 0
}

// createKey runs `hub apikey create` and returns the key it printed.
func createKey(t *testing.T, bin string, env []string, args ...string) (key, stderr string) {
	t.Helper()
	stdout, stderr, code := hubRun(t, bin, env, append([]string{"apikey", "create"}, args...)...)
	if code != 0 || !keyPattern.MatchString(stdout) {
		t.Fatalf("hub apikey create %v: exit %d, stdout %q, stderr:\n%s", args, code, stdout, stderr)
	}
	key = strings.TrimSpace(stdout)
	if !strings.Contains(stderr, "shown only this once") || !strings.Contains(stderr, key[:12]) || strings.Contains(stderr, key) {
		t.Errorf("hub apikey create %v: stderr %q, want the warning and the prefix, not the key", args, stderr)
	}
	return key, stderr
}

func TestAPIKeyCommandsEndToEnd(t *testing.T) {
	bin := buildHub(t)
	env := []string{"DATABASE_URL=" + dbtest.NewURL(t)}
	var logs []string // everything the commands and the server wrote, for the final check

	// Bad flags: one line, exit 2, no key.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"apikey", "create", "--name", "shop", "--role", "superuser"}, `--role must be one of storefront, dashboard, finance, admin (got "superuser")`},
		{[]string{"apikey", "create", "--role", "admin"}, "--name is required"},
		{[]string{"apikey", "create", "--name", "x", "--role", "admin", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"apikey", "revoke"}, "--prefix is required"},
		{[]string{"apikey", "rotate"}, `unknown command "rotate"`},
	} {
		stdout, stderr, code := hubRun(t, bin, env, tt.args...)
		if code != 2 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("hub %v: exit %d, stdout %q, stderr %q; want exit 2 and one line saying %q", tt.args, code, stdout, stderr, tt.want)
		}
	}

	shop, out := createKey(t, bin, env, "--name", "web shop", "--role", "storefront")
	logs = append(logs, out)
	admin, out := createKey(t, bin, env, "--name", "ops", "--role", "ADMIN")
	logs = append(logs, out)

	addr := freeAddr(t)
	cmd, serveLog, _ := serve(t, bin, dataDir(t), addr, env...)
	url := "http://" + addr + "/graphql"
	if status, body := graphqlPost(t, url, shop, `{ orders { totalCount } }`); status != http.StatusOK || body != `{"data":{"orders":{"totalCount":0}}}` {
		t.Errorf("storefront reads orders: HTTP %d %s", status, body)
	}
	if status, body := graphqlPost(t, url, shop, `{ customers { totalCount } }`); status != http.StatusOK || !strings.Contains(body, `"FORBIDDEN"`) {
		t.Errorf("storefront reads customers: HTTP %d %s", status, body)
	}
	if status, body := graphqlPost(t, url, admin, `{ customers { totalCount } }`); status != http.StatusOK || strings.Contains(body, "errors") {
		t.Errorf("admin reads customers: HTTP %d %s", status, body)
	}
	if status, body := graphqlPost(t, url, "", `{ orders { totalCount } }`); status != http.StatusOK || !strings.Contains(body, `"UNAUTHENTICATED"`) {
		t.Errorf("no key: HTTP %d %s", status, body)
	}
	if status, body := graphqlPost(t, url, admin+"x", `{ orders { totalCount } }`); status != http.StatusUnauthorized || !strings.Contains(body, "invalid API key") {
		t.Errorf("bad key: HTTP %d %s", status, body)
	}
	ws := func(payload map[string]any) (string, int) {
		t.Helper()
		dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
		conn, _, err := dialer.Dial("ws://"+addr+"/graphql", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
		if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}); err != nil {
			t.Fatal(err)
		}
		var m struct{ Type string }
		err = conn.ReadJSON(&m)
		var closeErr *websocket.CloseError
		if errors.As(err, &closeErr) {
			return "", closeErr.Code
		}
		return m.Type, 0
	}
	if typ, code := ws(map[string]any{"apiKey": admin}); typ != "connection_ack" {
		t.Errorf("websocket with the admin key: %q, close %d", typ, code)
	}

	// The list shows both keys by prefix, name and role, and that the shop's was used.
	stdout, stderr, code := hubRun(t, bin, env, "apikey", "list")
	logs = append(logs, stdout, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "PREFIX") ||
		!regexp.MustCompile(`^`+regexp.QuoteMeta(shop[:12])+` +web shop +storefront +\d{4}-\S+ +\d{4}-\S+ +-$`).MatchString(lines[1]) ||
		!strings.Contains(lines[2], admin[:12]) || !strings.Contains(lines[2], "admin") {
		t.Errorf("hub apikey list: exit %d\n%s%s", code, stdout, stderr)
	}

	// Revoked, the shop's key is refused at once, on HTTP and websockets.
	stdout, stderr, code = hubRun(t, bin, env, "apikey", "revoke", "--prefix", shop[:12])
	logs = append(logs, stdout, stderr)
	if code != 0 || !strings.Contains(stderr, "Revoked API key "+shop[:12]) {
		t.Errorf("hub apikey revoke: exit %d %s%s", code, stdout, stderr)
	}
	if status, body := graphqlPost(t, url, shop, `{ orders { totalCount } }`); status != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
		t.Errorf("revoked key: HTTP %d %s", status, body)
	}
	if typ, code := ws(map[string]any{"authorization": "Bearer " + shop}); code != 4403 {
		t.Errorf("websocket with the revoked key: %q, close %d, want 4403", typ, code)
	}
	_, stderr, code = hubRun(t, bin, env, "apikey", "revoke", "--prefix", shop[:12])
	logs = append(logs, stderr)
	if code != 1 || !strings.Contains(stderr, "no live API key has the prefix") {
		t.Errorf("revoking twice: exit %d %s", code, stderr)
	}

	interrupt(t, cmd, serveLog)
	logs = append(logs, serveLog.String())
	for _, l := range logs {
		if strings.Contains(l, shop) || strings.Contains(l, admin) || strings.Contains(l, shop[12:]) || strings.Contains(l, admin[12:]) {
			t.Errorf("a key was printed where only its prefix may be:\n%s", l)
		}
	}
}

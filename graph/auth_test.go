package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
)

// TestEveryOperationFieldDeclaresARole fails for a Query, Mutation or Subscription field without
// @hasRole: such a field would be open to any key, or to none, by accident.
func TestEveryOperationFieldDeclaresARole(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	if schema.Directives["hasRole"] == nil {
		t.Fatal("the schema declares no @hasRole directive")
	}
	roots := []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription}
	checked := 0
	for _, root := range roots {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") { // introspection: the schema itself is public
				continue
			}
			checked++
			d := f.Directives.ForName("hasRole")
			if d == nil {
				t.Errorf("%s.%s has no @hasRole(role: ...): say which role may use it", root.Name, f.Name)
				continue
			}
			if len(f.Directives.ForNames("hasRole")) > 1 {
				t.Errorf("%s.%s has more than one @hasRole", root.Name, f.Name)
			}
			role := d.Arguments.ForName("role")
			if role == nil || !slices.Contains(model.AllRole, model.Role(role.Value.Raw)) {
				t.Errorf("%s.%s: @hasRole without a valid role", root.Name, f.Name)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no fields to check")
	}
}

// queryCase is one Query field, with a selection that returns data from the fixture.
type queryCase struct {
	query string
	// roles that may use it, written out here rather than derived from auth: this is the
	// specification the README's table shows.
	roles []auth.Role
}

var (
	everyone  = []auth.Role{auth.Storefront, auth.Dashboard, auth.Finance, auth.Admin}
	backOffce = []auth.Role{auth.Dashboard, auth.Finance, auth.Admin}
)

func queryMatrix(f fixture) map[string]queryCase {
	pay := model.EncodeGlobalID(model.TypePayment, f.saleID)
	batch := model.EncodeGlobalID(model.TypeSettlementBatch, f.batchID)
	return map[string]queryCase{
		"node":                        {`{ node(id: "` + pay + `") { id } }`, backOffce},
		"order":                       {`{ order(number: "000123") { number customer { code } } }`, everyone},
		"orderByReference":            {`{ orderByReference(customerPoNumber: "WEB-1001") { customerPoNumber payments { id } } }`, everyone},
		"orders":                      {`{ orders { totalCount } }`, everyone},
		"payment":                     {`{ payment(id: "` + pay + `") { id order { number } customer { code } } }`, everyone},
		"paymentByGatewayTransaction": {`{ paymentByGatewayTransaction(gateway: CYBERSOURCE, transactionId: "7012345678901234567890") { id } }`, everyone},
		"payments":                    {`{ payments { totalCount } }`, everyone},
		"customer":                    {`{ customer(code: "ACME01") { code } }`, backOffce},
		"customers":                   {`{ customers { totalCount } }`, backOffce},
		"refunds":                     {`{ refunds { totalCount } }`, backOffce},
		"erpPostings":                 {`{ erpPostings { totalCount } }`, backOffce},
		"deadLetters":                 {`{ deadLetters { totalCount } }`, backOffce},
		"fraudReviews":                {`{ fraudReviews { totalCount } }`, backOffce},
		"anomalies":                   {`{ anomalies { totalCount } }`, backOffce},
		"mappingRules":                {`{ mappingRules { totalCount } }`, backOffce},
		"settlementBatches":           {`{ settlementBatches { totalCount } }`, backOffce},
		"settlementBatch":             {`{ settlementBatch(id: "` + batch + `") { id batchId lines { totalCount } } }`, backOffce},
		"settlementDiscrepancies":     {`{ settlementDiscrepancies { totalCount } }`, backOffce},
		"viewer":                      {`{ viewer { name role } }`, everyone},
		"paymentStats": {`{ paymentStats(from: "2026-11-01T00:00:00Z", to: "2026-11-05T00:00:00Z") { groups { count } reviewsPending } }`,
			backOffce},
		"settlementDays": {`{ settlementDays(filter: {dateFrom: "2026-10-01", dateTo: "2026-11-30"}) { date batchCount } }`, backOffce},
		"recentEvents":   {`{ recentEvents(topics: [PAYMENT, FRAUD, ANOMALY]) { cursor events { id } } }`, backOffce},
	}
}

// TestRoleMatrix runs every Query field with a key of every role: an allowed field answers data,
// a forbidden one a FORBIDDEN error that names the field and the roles it needs.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedFixture(t, b.pool)
	matrix := queryMatrix(f)

	// The matrix covers the schema: a new Query field must be added here.
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	for _, field := range schema.Query.Fields {
		if _, ok := matrix[field.Name]; !ok && !strings.HasPrefix(field.Name, "__") {
			t.Errorf("Query.%s is missing from the role matrix", field.Name)
		}
	}

	keys := map[auth.Role]string{}
	for _, role := range auth.Roles {
		keys[role] = newKey(t, b.pool, "matrix-"+string(role), role)
	}
	fields := make([]string, 0, len(matrix))
	for name := range matrix {
		fields = append(fields, name)
	}
	sort.Strings(fields)
	for _, role := range auth.Roles {
		for _, field := range fields {
			c := matrix[field]
			t.Run(string(role)+"/"+field, func(t *testing.T) {
				resp := b.as(keys[role]).do(t, c.query, nil)
				if resp.Status != http.StatusOK {
					t.Fatalf("HTTP %d", resp.Status)
				}
				if slices.Contains(c.roles, role) {
					var data map[string]json.RawMessage
					json.Unmarshal(resp.Data, &data) //nolint:errcheck
					if len(resp.Errors) > 0 || len(data[field]) == 0 || string(data[field]) == "null" {
						t.Fatalf("allowed, but got errors %+v, data %s", resp.Errors, resp.Data)
					}
					return
				}
				if len(resp.Errors) != 1 {
					t.Fatalf("forbidden, but got errors %+v, data %s", resp.Errors, resp.Data)
				}
				e := resp.Errors[0]
				if e.Extensions["code"] != graph.CodeForbidden || !strings.Contains(e.Message, "Query."+field) ||
					!strings.Contains(e.Message, "role is "+string(role)) {
					t.Errorf("error %q %v, want FORBIDDEN naming Query.%s and role %s", e.Message, e.Extensions, field, role)
				}
				if strings.Contains(string(resp.Data), "ACME") || strings.Contains(string(resp.Data), "totalCount") {
					t.Errorf("forbidden field leaked data: %s", resp.Data)
				}
			})
		}
	}
}

func TestRoleAllowsNestsTheBackOfficeAndKeepsTheShopApart(t *testing.T) {
	tests := []struct {
		role, need auth.Role
		write      bool
		want       bool
	}{
		{auth.Admin, auth.Finance, true, true},
		{auth.Finance, auth.Finance, true, true},
		{auth.Dashboard, auth.Finance, true, false},
		{auth.Storefront, auth.Finance, true, false},
		{auth.Finance, auth.Admin, true, false},
		{auth.Admin, auth.Dashboard, false, true},
		{auth.Storefront, auth.Dashboard, false, false},
		{auth.Storefront, auth.Storefront, false, true},
		{auth.Admin, auth.Storefront, false, true},     // the back office reads what the shop reads
		{auth.Storefront, auth.Storefront, true, true}, // placing an order
		{auth.Dashboard, auth.Storefront, true, false},
		{auth.Admin, auth.Storefront, true, false}, // admin does not place the shop's orders
	}
	for _, tt := range tests {
		if got := tt.role.Allows(tt.need, tt.write); got != tt.want {
			t.Errorf("%s.Allows(%s, write=%v) = %v, want %v", tt.role, tt.need, tt.write, got, tt.want)
		}
	}
}

func TestRequestsWithoutAKeyAreUnauthenticated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedFixture(t, b.pool)
	anon := b.as("")
	for field, c := range queryMatrix(f) {
		resp := anon.do(t, c.query, nil)
		if resp.Status != http.StatusOK || len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != graph.CodeUnauthenticated ||
			!strings.Contains(resp.Errors[0].Message, "Authorization: Bearer") {
			t.Errorf("%s without a key: HTTP %d, %+v", field, resp.Status, resp.Errors)
		}
	}
	// The schema is public: GraphiQL loads it before the user has pasted a key.
	resp := anon.do(t, `{ __schema { queryType { name } } }`, nil)
	if len(resp.Errors) > 0 || !strings.Contains(string(resp.Data), "Query") {
		t.Errorf("introspection without a key: %+v %s", resp.Errors, resp.Data)
	}
	page, _ := http.NewRequest(http.MethodGet, b.server.URL, nil)
	page.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(page)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GraphiQL page without a key: %v %v", res, err)
	}
	res.Body.Close()
}

func TestBadKeysAreRefusedWith401(t *testing.T) {
	t.Parallel()
	b := setup(t)
	revoked, row, err := auth.CreateKey(context.Background(), db.New(b.pool), "old", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.New(b.pool).RevokeAPIKey(context.Background(), row.Prefix); err != nil {
		t.Fatal(err)
	}
	forged, _ := auth.GenerateKey()
	tests := []struct {
		name, header, want string
	}{
		{"unknown key", "Bearer " + forged.Key, "invalid API key"},
		{"garbage", "Bearer hunter2", "invalid API key"},
		{"revoked key", "Bearer " + revoked, "revoked"},
		{"another scheme", "Basic " + b.key, `"Bearer <api key>"`},
		{"bearer without a key", "Bearer ", `"Bearer <api key>"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, b.server.URL, strings.NewReader(`{"query":"{ orders { totalCount } }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", tt.header)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out gqlResponse
			json.NewDecoder(res.Body).Decode(&out) //nolint:errcheck
			if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("HTTP %d (WWW-Authenticate %q), want 401", res.StatusCode, res.Header.Get("WWW-Authenticate"))
			}
			if len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != graph.CodeUnauthenticated ||
				!strings.Contains(out.Errors[0].Message, tt.want) || out.Data != nil {
				t.Errorf("body %+v, want one UNAUTHENTICATED error saying %q", out, tt.want)
			}
		})
	}
	// A revoked key works up to its revocation, and not after it even on an open connection.
	if resp := b.do(t, `{ orders { totalCount } }`, nil); len(resp.Errors) > 0 {
		t.Fatalf("valid key: %+v", resp.Errors)
	}
	exec(t, b.pool, `UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL`)
	if resp := b.do(t, `{ orders { totalCount } }`, nil); resp.Status != http.StatusUnauthorized {
		t.Errorf("key revoked a moment ago: HTTP %d %+v", resp.Status, resp.Errors)
	}
}

func TestLastUsedIsRecordedAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lastUsed := func() *time.Time {
		return scalar[*time.Time](t, b.pool, `SELECT last_used_at FROM api_keys WHERE name = 'test-admin'`)
	}
	if lastUsed() != nil {
		t.Fatal("a new key has a last use")
	}
	b.do(t, `{ orders { totalCount } }`, nil)
	first := lastUsed()
	if first == nil {
		t.Fatal("use not recorded")
	}
	exec(t, b.pool, `UPDATE api_keys SET last_used_at = now() - interval '30 seconds'`)
	recent := lastUsed()
	b.do(t, `{ orders { totalCount } }`, nil)
	if got := lastUsed(); !got.Equal(*recent) {
		t.Errorf("use 30s after the last was written (%v → %v)", recent, got)
	}
	exec(t, b.pool, `UPDATE api_keys SET last_used_at = now() - interval '61 seconds'`)
	old := lastUsed()
	b.do(t, `{ orders { totalCount } }`, nil)
	if got := lastUsed(); !got.After(*old) {
		t.Errorf("use 61s after the last not written (%v → %v)", old, got)
	}
}

// ---- websockets ----

// wsConnect opens a websocket on the API at url (an http:// URL) with one of gqlgen's
// subprotocols, closed when the test ends.
func wsConnect(t testing.TB, url, subprotocol string) *websocket.Conn {
	t.Helper()
	dialer := websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: 5 * time.Second}
	conn, res, err := dialer.Dial("ws"+strings.TrimPrefix(url, "http"), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// wsDial is wsConnect to the bundle's server, with 10 s for the test to read what it expects.
func wsDial(t *testing.T, b *bundle, subprotocol string) *websocket.Conn {
	t.Helper()
	conn := wsConnect(t, b.server.URL, subprotocol)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
	return conn
}

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsInit sends connection_init and returns the first message that is not a keep-alive, or the
// close error.
func wsInit(t *testing.T, conn *websocket.Conn, payload any) (wsMessage, error) {
	t.Helper()
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		t.Fatal(err)
	}
	return wsNext(conn)
}

func wsNext(conn *websocket.Conn) (wsMessage, error) {
	for {
		var m wsMessage
		if err := conn.ReadJSON(&m); err != nil {
			return m, err
		}
		if m.Type != "ka" && m.Type != "ping" && m.Type != "pong" {
			return m, nil
		}
	}
}

// wsClosedWith reads until the server closes the socket and returns the close code.
func wsClosedWith(t *testing.T, conn *websocket.Conn, first wsMessage, err error) int {
	t.Helper()
	for err == nil {
		if first.Type == "connection_ack" {
			t.Fatalf("connection acknowledged")
		}
		first, err = wsNext(conn)
	}
	var closeErr *websocket.CloseError
	if !errors.As(err, &closeErr) {
		t.Fatalf("read ended with %v, not a close frame", err)
	}
	return closeErr.Code
}

func TestWebsocketAuthenticatesInConnectionInit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedFixture(t, b.pool)
	shop := newKey(t, b.pool, "shop", auth.Storefront)

	for _, sub := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(sub, func(t *testing.T) {
			start, next := "subscribe", "next"
			if sub == "graphql-ws" {
				start, next = "start", "data"
			}
			run := func(conn *websocket.Conn, id, query string) gqlResponse {
				t.Helper()
				if err := conn.WriteJSON(map[string]any{"type": start, "id": id, "payload": map[string]any{"query": query}}); err != nil {
					t.Fatal(err)
				}
				m, err := wsNext(conn)
				if err != nil || m.Type != next || m.ID != id {
					t.Fatalf("reply %+v %v, want %s", m, err, next)
				}
				var out gqlResponse
				if err := json.Unmarshal(m.Payload, &out); err != nil {
					t.Fatal(err)
				}
				if m, err := wsNext(conn); err != nil || m.Type != "complete" || m.ID != id {
					t.Fatalf("after the result: %+v %v, want complete", m, err)
				}
				return out
			}

			// Both forms of the payload; the principal then holds for the operations on the socket.
			conn := wsDial(t, b, sub)
			if m, err := wsInit(t, conn, map[string]any{"authorization": "Bearer " + b.key}); err != nil || m.Type != "connection_ack" {
				t.Fatalf("init with authorization: %+v %v", m, err)
			}
			if out := run(conn, "1", `{ customers { totalCount } }`); len(out.Errors) > 0 || !strings.Contains(string(out.Data), `"totalCount":2`) {
				t.Errorf("admin over websocket: %+v %s", out.Errors, out.Data)
			}
			conn = wsDial(t, b, sub)
			if m, err := wsInit(t, conn, map[string]any{"apiKey": shop}); err != nil || m.Type != "connection_ack" {
				t.Fatalf("init with apiKey: %+v %v", m, err)
			}
			if out := run(conn, "1", `{ orders { totalCount } }`); len(out.Errors) > 0 {
				t.Errorf("storefront reads orders over websocket: %+v", out.Errors)
			}
			if out := run(conn, "2", `{ customers { totalCount } }`); len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != graph.CodeForbidden {
				t.Errorf("storefront reads customers over websocket: %+v", out.Errors)
			}

			revoked := newKey(t, b.pool, "revoked", auth.Admin)
			exec(t, b.pool, `UPDATE api_keys SET revoked_at = now() WHERE name = 'revoked'`)
			forged, _ := auth.GenerateKey()
			refused := []struct {
				name    string
				payload any
			}{
				{"no payload", nil},
				{"empty payload", map[string]any{}},
				{"unknown key", map[string]any{"authorization": "Bearer " + forged.Key}},
				{"unknown apiKey", map[string]any{"apiKey": "phk_nope"}},
				{"revoked key", map[string]any{"apiKey": revoked}},
				{"not bearer", map[string]any{"Authorization": "Basic " + b.key}},
			}
			for _, tt := range refused {
				conn := wsDial(t, b, sub)
				m, err := wsInit(t, conn, tt.payload)
				if code := wsClosedWith(t, conn, m, err); code != graph.WebsocketCloseForbidden {
					t.Errorf("%s: closed with %d, want 4403", tt.name, code)
				}
			}
		})
	}
}

// ---- audit ----

func TestAuditRecordsWhoWhatInputAndOutcome(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	q := db.New(pool)
	key, row, err := auth.CreateKey(context.Background(), q, "finance-bot", auth.Finance)
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.Authenticate(context.Background(), q, key)
	if err != nil || p.KeyID != row.ID || p.Role != auth.Finance || p.Name != "finance-bot" {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	ctx := auth.WithPrincipal(context.Background(), p)
	id := int64(42)
	type refundInput struct {
		PaymentID string `json:"paymentId"`
		Amount    string `json:"amount"`
	}
	if err := graph.Audit(ctx, q, graph.AuditEntry{Action: "refundPayment", SubjectType: "payment", SubjectID: &id,
		Input: refundInput{PaymentID: "UGF5bWVudDo0Mg", Amount: "12.50"}, Outcome: graph.AuditOK}); err != nil {
		t.Fatal(err)
	}
	if err := graph.Audit(context.Background(), q, graph.AuditEntry{Action: "voidPayment", Outcome: graph.AuditFailed,
		Error: "gateway said no"}); err != nil {
		t.Fatal(err)
	}
	if err := graph.Audit(ctx, q, graph.AuditEntry{Action: "voidPayment"}); err == nil {
		t.Error("an entry without an outcome was written")
	}

	entries, err := q.ListAuditLog(context.Background(), db.ListAuditLogParams{RowLimit: 10})
	if err != nil || len(entries) != 2 {
		t.Fatalf("entries %+v %v", entries, err)
	}
	failed, ok := entries[0], entries[1]
	if ok.Actor != "finance-bot" || ok.ApiKeyID == nil || *ok.ApiKeyID != row.ID || ok.Action != "refundPayment" ||
		*ok.SubjectType != "payment" || *ok.SubjectID != 42 || ok.Outcome != "ok" ||
		string(ok.Input) != `{"amount": "12.50", "paymentId": "UGF5bWVudDo0Mg"}` {
		t.Errorf("entry %+v input %s", ok, ok.Input)
	}
	if failed.Actor != "anonymous" || failed.ApiKeyID != nil || failed.Outcome != "failed" || failed.Input != nil ||
		!strings.Contains(string(failed.Details), "gateway said no") {
		t.Errorf("entry %+v details %s", failed, failed.Details)
	}
}

// ---- logs ----

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestKeysNeverReachTheLog(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	server := httptest.NewServer(graph.NewHandler(graph.HandlerConfig{Pool: pool, Logger: logger}))
	t.Cleanup(server.Close)
	b := &bundle{pool: pool, server: server, key: newKey(t, pool, "logged", auth.Storefront)}
	revoked := newKey(t, pool, "revoked", auth.Admin)
	exec(t, pool, `UPDATE api_keys SET revoked_at = now() WHERE name = 'revoked'`)
	forged, _ := auth.GenerateKey()

	b.do(t, `{ orders { totalCount } }`, nil)
	b.do(t, `{ customers { totalCount } }`, nil)
	b.as(revoked).do(t, `{ orders { totalCount } }`, nil)
	b.as(forged.Key).do(t, `{ orders { totalCount } }`, nil)
	for _, payload := range []any{map[string]any{"apiKey": forged.Key}, map[string]any{"authorization": "Bearer " + revoked}} {
		conn := wsDial(t, b, "graphql-transport-ws")
		m, err := wsInit(t, conn, payload)
		wsClosedWith(t, conn, m, err)
	}
	out := logs.String()
	if !strings.Contains(out, "revoked") {
		t.Errorf("the refusal of a revoked key is not logged:\n%s", out)
	}
	for _, key := range []string{b.key, revoked, forged.Key} {
		if strings.Contains(out, key) || strings.Contains(out, key[len(key)-20:]) {
			t.Errorf("the log shows a key:\n%s", out)
		}
	}
}

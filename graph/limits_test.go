package graph_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/gorilla/websocket"

	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
)

// limitedBundle is setup's bundle with the API serving under these limits.
func limitedBundle(t *testing.T, limits graph.Limits) *bundle {
	t.Helper()
	return newBundleWith(t, graph.HandlerConfig{Pool: dbtest.New(t), Limits: limits})
}

// get sends a GraphQL request over GET with these URL parameters.
func (b *bundle) get(t *testing.T, params url.Values) gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.server.URL+"?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.sendRaw(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.gqlResponse
}

// wantError checks that resp is one error with this HTTP status, code and message.
func wantError(t *testing.T, what string, resp gqlResponse, status int, code, message string) {
	t.Helper()
	if resp.Status != status || len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != code ||
		resp.Errors[0].Message != message {
		t.Errorf("%s: got HTTP %d %+v (data %s), want HTTP %d %s %q", what, resp.Status, resp.Errors, resp.Data, status, code, message)
	}
}

func wantData(t *testing.T, what string, resp gqlResponse) {
	t.Helper()
	if resp.Status != http.StatusOK || len(resp.Errors) > 0 || len(resp.Data) == 0 || string(resp.Data) == "null" {
		t.Errorf("%s: HTTP %d %+v (data %s), want data", what, resp.Status, resp.Errors, resp.Data)
	}
}

// ---- depth ----

// parentChain is a query depth levels deep: payment, depth-2 parents, id.
func parentChain(id string, depth int) string {
	return `{ payment(id: "` + id + `") { ` + strings.Repeat("parent { ", depth-2) + "id" +
		strings.Repeat(" }", depth-2) + " } }"
}

func TestDepthLimitRefusesDeeperOperations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedFixture(t, b.pool)
	refund := model.EncodeGlobalID(model.TypePayment, f.refundID)

	var out struct {
		Payment struct {
			ID     string
			Parent *struct{ ID string }
		}
	}
	b.query(t, parentChain(refund, 3), nil, &out)
	if out.Payment.Parent == nil || out.Payment.Parent.ID != model.EncodeGlobalID(model.TypePayment, f.saleID) {
		t.Fatalf("3 levels: %+v", out)
	}
	wantData(t, "12 levels", b.do(t, parentChain(refund, graph.DepthLimitDefault), nil))
	wantError(t, "13 levels", b.do(t, parentChain(refund, 13), nil), http.StatusUnprocessableEntity,
		graph.CodeDepthLimitExceeded, "operation is 13 levels deep; the limit is 12")
	wantError(t, "15 levels", b.do(t, parentChain(refund, 15), nil), http.StatusUnprocessableEntity,
		graph.CodeDepthLimitExceeded, "operation is 15 levels deep; the limit is 12")

	// Fragment spreads and inline fragments nest as deep as the fields they stand for.
	viaFragments := func(parents int) string {
		return `query($id: ID!) { payment(id: $id) { ...P0 } }
			fragment P0 on Payment { parent { ... on Payment { parent { ...P1 } } } }
			fragment P1 on Payment { ... { parent { ...P2 } } }
			fragment P2 on Payment { ` + strings.Repeat("parent { ", parents-3) + "id" + strings.Repeat(" }", parents-3) + ` }`
	}
	vars := map[string]any{"id": refund}
	wantData(t, "12 levels through fragments", b.do(t, viaFragments(10), vars))
	wantError(t, "13 levels through fragments", b.do(t, viaFragments(11), vars), http.StatusUnprocessableEntity,
		graph.CodeDepthLimitExceeded, "operation is 13 levels deep; the limit is 12")

	// Only the operation that runs counts.
	twoOps := "query Shallow { __typename } query Deep " + parentChain(refund, 13)
	for op, want := range map[string]int{"Shallow": http.StatusOK, "Deep": http.StatusUnprocessableEntity} {
		body, _ := json.Marshal(map[string]any{"query": twoOps, "operationName": op})
		if resp := b.post(t, body); resp.Status != want {
			t.Errorf("operation %s of two: HTTP %d %+v, want %d", op, resp.Status, resp.Errors, want)
		}
	}
}

func TestDepthLimitIsConfigurable(t *testing.T) {
	t.Parallel()
	b := limitedBundle(t, graph.Limits{DepthLimit: 3})
	wantData(t, "3 levels", b.do(t, `{ payments { edges { cursor } } }`, nil))
	wantError(t, "4 levels", b.do(t, `{ payments { edges { node { id } } } }`, nil), http.StatusUnprocessableEntity,
		graph.CodeDepthLimitExceeded, "operation is 4 levels deep; the limit is 3")
}

// graphiqlIntrospectionQuery is what gqlgen's GraphiQL page (GraphiQL 4, inputValueDeprecation:
// true) sends: graphql-js's getIntrospectionQuery({inputValueDeprecation: true}), 14 levels deep.
const graphiqlIntrospectionQuery = `
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`

func TestIntrospectionIsExemptFromTheDepthLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, query := range map[string]string{"GraphiQL": graphiqlIntrospectionQuery, "gqlgen": introspection.Query} {
		for _, key := range []string{"", b.key} { // GraphiQL loads the schema before a key is pasted
			resp := b.as(key).do(t, query, nil)
			wantData(t, name+" introspection", resp)
			var out struct {
				Schema struct {
					Types []struct{ Name string }
				} `json:"__schema"`
			}
			if err := json.Unmarshal(resp.Data, &out); err != nil || len(out.Schema.Types) < 20 {
				t.Errorf("%s introspection: %v, %d types", name, err, len(out.Schema.Types))
			}
		}
	}
	// __type counts no more than __schema; fields beside it still do.
	typeRef := strings.Repeat("ofType { ", 12) + "name" + strings.Repeat(" }", 12)
	wantData(t, "__type", b.do(t, `{ __type(name: "Payment") { fields { type { `+typeRef+` } } } }`, nil))
}

// ---- complexity ----

func TestComplexityLimitNamesTheCostAndTheLimit(t *testing.T) {
	t.Parallel()
	b := limitedBundle(t, graph.Limits{ComplexityLimit: 6})
	// payments 1 + edges 1 + node 1 + id, gateway, kind 3 = 6
	wantData(t, "complexity 6", b.do(t, `{ payments { edges { node { id gateway kind } } } }`, nil))
	wantError(t, "complexity 7", b.do(t, `{ payments { edges { node { id gateway kind status } } } }`, nil),
		http.StatusUnprocessableEntity, graph.CodeComplexityLimitExceeded, "operation has complexity 7, which exceeds the limit of 6")
	wantError(t, "complexity 7 through a fragment", b.do(t, `{ payments { edges { node { ...F } } } }
		fragment F on Payment { id gateway ... on Payment { kind status } }`, nil),
		http.StatusUnprocessableEntity, graph.CodeComplexityLimitExceeded, "operation has complexity 7, which exceeds the limit of 6")
}

func TestComplexityLimitDefaultRefusesAFragmentBombQuickly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// F0 is 5 fields; each Fn spreads F(n-1) ten times under aliases: F7 is 50 million fields,
	// which gqlgen's complexity extension alone, walking spread by spread, took 16 s to count on
	// the 2-core development machine (each level more: ten times as long).
	var q strings.Builder
	q.WriteString(`query($id: ID!) { payment(id: $id) { ...F7 } }
		fragment F0 on Payment { id gateway kind status merchantReference }`)
	for n := 1; n <= 7; n++ {
		fmt.Fprintf(&q, "\nfragment F%d on Payment {", n)
		for i := range 10 {
			fmt.Fprintf(&q, " a%d: parent { ...F%d }", i, n-1)
		}
		q.WriteString(" }")
	}
	start := time.Now()
	resp := b.do(t, q.String(), map[string]any{"id": model.EncodeGlobalID(model.TypePayment, 1)})
	// 5·10⁷ + the parents: 10 + 10² + ... + 10⁷, + payment.
	want := 50_000_000 + 11_111_110 + 1
	wantError(t, "fragment bomb", resp, http.StatusUnprocessableEntity, graph.CodeComplexityLimitExceeded,
		fmt.Sprintf("operation has complexity %d, which exceeds the limit of %d", want, graph.ComplexityLimitDefault))
	// Not a benchmark: a guard against losing the pre-check. Without it the refusal takes tens of
	// seconds (minutes under -race); with it, milliseconds. The bound is loose on purpose.
	if took := time.Since(start); took > 60*time.Second {
		t.Errorf("refusing took %v: the query was counted spread by spread", took)
	}
}

// ---- request body ----

func TestRequestBodyLimitAnswers413(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const limit = graph.MaxBodyBytesDefault
	padded := func(size int) []byte {
		body := []byte(`{"query": "{ __typename }"}`)
		return append(body, bytes.Repeat([]byte(" "), size-len(body))...)
	}
	wantTooLarge := func(what string, resp rawResponse, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		wantError(t, what, resp.gqlResponse, http.StatusRequestEntityTooLarge, graph.CodeRequestTooLarge,
			"request body is larger than 1048576 bytes")
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", what, ct)
		}
		var body any
		json.Unmarshal(resp.Body, &body) //nolint:errcheck
		want := map[string]any{"errors": []any{map[string]any{"message": "request body is larger than 1048576 bytes",
			"extensions": map[string]any{"code": "REQUEST_TOO_LARGE"}}}}
		if fmt.Sprint(body) != fmt.Sprint(want) {
			t.Errorf("%s: body %s", what, resp.Body)
		}
	}

	resp, err := b.postRaw(bytes.NewReader(padded(limit)))
	if err != nil {
		t.Fatal(err)
	}
	wantData(t, "a body of exactly the limit", resp.gqlResponse)
	resp, err = b.postRaw(bytes.NewReader(padded(2 << 20)))
	wantTooLarge("2 MiB", resp, err)
	resp, err = b.postRaw(bytes.NewReader(padded(limit + 1)))
	wantTooLarge("one byte over", resp, err)
	// Without a Content-Length (chunked), the body is cut off while it is read.
	resp, err = b.postRaw(io.MultiReader(bytes.NewReader(padded(2<<20)), strings.NewReader("")))
	wantTooLarge("2 MiB chunked", resp, err)
	resp, err = b.postRaw(io.MultiReader(bytes.NewReader(padded(1000))))
	if err != nil {
		t.Fatal(err)
	}
	wantData(t, "a small chunked body", resp.gqlResponse)
}

func TestRequestBodyLimitIsConfigurableAndBoundsWebsocketMessages(t *testing.T) {
	t.Parallel()
	b := limitedBundle(t, graph.Limits{MaxBodyBytes: 4096})
	resp, err := b.postRaw(strings.NewReader(`{"query": "{ __typename }", "variables": {"pad": "` + strings.Repeat("x", 5000) + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "5 KB", resp.gqlResponse, http.StatusRequestEntityTooLarge, graph.CodeRequestTooLarge,
		"request body is larger than 4096 bytes")

	conn := wsDial(t, b, "graphql-transport-ws")
	first, err := wsInit(t, conn, map[string]any{"apiKey": b.key, "pad": strings.Repeat("x", 5000)})
	if code := wsClosedWith(t, conn, first, err); code != websocket.CloseMessageTooBig {
		t.Errorf("a 5 KB websocket message: closed with %d, want %d", code, websocket.CloseMessageTooBig)
	}
	conn = wsDial(t, b, "graphql-transport-ws")
	if msg, err := wsInit(t, conn, map[string]any{"apiKey": b.key}); err != nil || msg.Type != "connection_ack" {
		t.Errorf("a small connection_init: %+v %v", msg, err)
	}
}

// ---- rate ----

func TestRateLimitPerAPIKey(t *testing.T) {
	t.Parallel()
	b := limitedBundle(t, graph.DefaultLimits()) // 50/s, bursts of 100
	other := b.as(newKey(t, b.pool, "other", auth.Dashboard))
	body := []byte(`{"query": "{ __typename }"}`)

	// A tight loop from 8 goroutines: far more than 50 a second.
	const total, workers = 300, 8
	results := make([]rawResponse, total)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < total; i = int(next.Add(1)) - 1 {
				resp, err := b.postRaw(bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				results[i] = resp
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}
	ok, limited := 0, 0
	for i, resp := range results {
		switch resp.Status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			if limited > 1 {
				continue
			}
			wantError(t, fmt.Sprintf("request %d", i+1), resp.gqlResponse, http.StatusTooManyRequests, graph.CodeRateLimited,
				"rate limit of 50 requests/s for this API key exceeded; retry after 1s")
			if got := resp.Header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After %q, want 1", got)
			}
			if got := resp.Errors[0].Extensions["retryAfterSeconds"]; got != float64(1) {
				t.Errorf("retryAfterSeconds %v, want 1", got)
			}
		default:
			t.Fatalf("request %d: HTTP %d %s", i+1, resp.Status, resp.Body)
		}
	}
	// The first 100 to arrive (the burst) pass; of the rest, at most what 50 a second refilled
	// meanwhile. (Which index arrives when is up to the scheduler, so they are counted.)
	if refilled := int(elapsed.Seconds()*50) + 1; ok < 100 || ok > 100+refilled || limited == 0 {
		t.Errorf("in %v: %d passed and %d were refused; want 100 to %d to pass and the rest refused",
			elapsed, ok, limited, 100+refilled)
	}

	// Another key, and requests without a key, draw on buckets of their own.
	wantData(t, "another key", other.do(t, `{ __typename }`, nil))
	wantData(t, "no key", b.as("").do(t, `{ __typename }`, nil))
	// After Retry-After, the key may go on.
	time.Sleep(time.Second)
	wantData(t, "the key after a second", b.do(t, `{ __typename }`, nil))
}

func TestRateLimitWithoutAKeyIsPerAddressAndCountsWebsocketUpgrades(t *testing.T) {
	t.Parallel()
	b := limitedBundle(t, graph.Limits{RateLimit: 1, RateBurst: 3})
	anon := b.as("")
	// The upgrade takes one token of the address's three.
	conn := wsDial(t, anon, "graphql-transport-ws")
	if msg, err := wsInit(t, conn, map[string]any{"apiKey": b.key}); err != nil || msg.Type != "connection_ack" {
		t.Fatalf("connection_init: %+v %v", msg, err)
	}
	wantData(t, "second request without a key", anon.do(t, `{ __typename }`, nil))
	wantData(t, "third request without a key", anon.do(t, `{ __typename }`, nil))
	req, _ := http.NewRequest(http.MethodPost, b.server.URL, strings.NewReader(`{"query": "{ __typename }"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := anon.sendRaw(req)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "fourth request without a key", resp.gqlResponse, http.StatusTooManyRequests, graph.CodeRateLimited,
		"rate limit of 1 requests/s for unauthenticated requests from this address exceeded; retry after 1s")
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q", got)
	}
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	_, res, err := dialer.Dial("ws"+strings.TrimPrefix(b.server.URL, "http"), nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || res == nil || res.StatusCode != http.StatusTooManyRequests ||
		res.Header.Get("Retry-After") == "" {
		t.Errorf("an upgrade over the limit: %v %+v", err, res)
	}
	// The key's requests draw on the key's bucket, from the same address.
	wantData(t, "with a key", b.do(t, `{ __typename }`, nil))

	// What the open socket carries takes no token: ten queries at once pass on an empty bucket.
	for i := range 10 {
		id := strconv.Itoa(i)
		if err := conn.WriteJSON(map[string]any{"type": "subscribe", "id": id,
			"payload": map[string]any{"query": `{ payments(first: 1) { totalCount } }`}}); err != nil {
			t.Fatal(err)
		}
		if msg, err := wsNext(conn); err != nil || msg.Type != "next" || msg.ID != id || strings.Contains(string(msg.Payload), "errors") {
			t.Fatalf("query %d over the socket: %+v %v", i, msg, err)
		}
		if msg, err := wsNext(conn); err != nil || msg.Type != "complete" {
			t.Fatalf("query %d over the socket: %+v %v", i, msg, err)
		}
	}
}

// ---- automatic persisted queries ----

func apqExtension(hash string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestAutomaticPersistedQueriesOverPOSTAndGET(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedFixture(t, b.pool)

	type request struct {
		query string
		ext   map[string]any
	}
	transports := map[string]func(request) gqlResponse{
		"POST": func(r request) gqlResponse {
			body := map[string]any{"extensions": r.ext}
			if r.query != "" {
				body["query"] = r.query
			}
			raw, _ := json.Marshal(body)
			return b.post(t, raw)
		},
		"GET": func(r request) gqlResponse {
			ext, _ := json.Marshal(r.ext)
			params := url.Values{"extensions": {string(ext)}}
			if r.query != "" {
				params.Set("query", r.query)
			}
			return b.get(t, params)
		},
	}
	for name, send := range transports {
		t.Run(name, func(t *testing.T) {
			query := `{ payments(first: 2, filter: {gateway: OPAYO}) { totalCount } } # ` + name
			hash := sha256Hex(query)
			const want = `{"payments":{"totalCount":2}}`

			wantError(t, "hash only, unknown", send(request{ext: apqExtension(hash)}), http.StatusOK,
				graph.CodePersistedQueryNotFound, "PersistedQueryNotFound")
			resp := send(request{query: query, ext: apqExtension(hash)})
			if wantData(t, "hash and query", resp); string(resp.Data) != want {
				t.Errorf("hash and query: %s", resp.Data)
			}
			resp = send(request{ext: apqExtension(hash)})
			if wantData(t, "hash only, known", resp); string(resp.Data) != want {
				t.Errorf("hash only: %s", resp.Data)
			}
			resp = send(request{query: `{ __typename }`, ext: apqExtension(hash)})
			if resp.Status == http.StatusOK && len(resp.Errors) == 1 && resp.Errors[0].Message == "provided APQ hash does not match query" {
				return
			}
			t.Errorf("wrong hash: HTTP %d %+v %s", resp.Status, resp.Errors, resp.Data)
		})
	}

	// A known hash runs its query under the limits like any other.
	deep := parentChain(model.EncodeGlobalID(model.TypePayment, 1), 13)
	raw, _ := json.Marshal(map[string]any{"query": deep, "extensions": apqExtension(sha256Hex(deep))})
	wantError(t, "a persisted deep query", b.post(t, raw), http.StatusUnprocessableEntity, graph.CodeDepthLimitExceeded,
		"operation is 13 levels deep; the limit is 12")

	// Version 2 is not spoken; a query over 64 KiB runs but is not kept.
	raw, _ = json.Marshal(map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 2, "sha256Hash": "x"}}})
	if resp := b.post(t, raw); len(resp.Errors) != 1 || resp.Errors[0].Message != "unsupported APQ version" {
		t.Errorf("version 2: %+v", resp.Errors)
	}
	long := "{ __typename }" + strings.Repeat(" ", 70_000)
	raw, _ = json.Marshal(map[string]any{"query": long, "extensions": apqExtension(sha256Hex(long))})
	wantData(t, "a long query with its hash", b.post(t, raw))
	raw, _ = json.Marshal(map[string]any{"extensions": apqExtension(sha256Hex(long))})
	wantError(t, "the long query's hash", b.post(t, raw), http.StatusOK, graph.CodePersistedQueryNotFound, "PersistedQueryNotFound")
}

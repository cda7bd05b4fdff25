package graph

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2"

	"github.com/payhub/payhub/graph/auth"
)

// fakeClock drives a rateLimiter without waiting.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestRateLimiter(perSecond, burst int) (*rateLimiter, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	l := newRateLimiter(perSecond, burst, slog.New(slog.DiscardHandler))
	l.now = clock.now
	return l, clock
}

func TestRateLimitBucketsRefillAtTheRate(t *testing.T) {
	l, clock := newTestRateLimiter(RateLimitDefault, RateBurstDefault)
	for i := range RateBurstDefault {
		if wait, _ := l.take("key:1"); wait != 0 {
			t.Fatalf("request %d of the burst: wait %v", i+1, wait)
		}
	}
	wait, first := l.take("key:1")
	if wait != 20*time.Millisecond || !first { // one token every 1/50 s
		t.Fatalf("request 101: wait %v (first refusal %v), want 20ms", wait, first)
	}
	if _, first := l.take("key:1"); first {
		t.Error("the second refusal in a row is reported as the first")
	}
	if wait, _ := l.take("key:2"); wait != 0 {
		t.Errorf("another key: wait %v", wait)
	}
	clock.advance(20 * time.Millisecond)
	if wait, _ := l.take("key:1"); wait != 0 {
		t.Errorf("after 20ms: wait %v", wait)
	}
	if wait, _ := l.take("key:1"); wait != 20*time.Millisecond {
		t.Errorf("again: wait %v", wait)
	}
	// 50 requests a second go on for ever.
	for i := range 500 {
		clock.advance(20 * time.Millisecond)
		if wait, _ := l.take("key:1"); wait != 0 {
			t.Fatalf("steady request %d: wait %v", i, wait)
		}
	}
}

func TestRateLimitForgetsIdleBuckets(t *testing.T) {
	l, clock := newTestRateLimiter(1, 100)
	for i := range 1000 {
		l.take(fmt.Sprintf("addr:10.0.%d.%d", i/256, i%256))
	}
	for range 100 {
		l.take("key:busy")
	}
	if n := l.size(); n != 1001 {
		t.Fatalf("%d buckets, want 1001", n)
	}
	// A bucket idle for 10 minutes that has refilled is dropped at the next sweep; the busy key
	// took 100 tokens, which at 1/s take 100 s to come back, so it was full again too.
	clock.advance(rateLimitIdle)
	l.take("key:new")
	if n := l.size(); n != 1 {
		t.Fatalf("after 10 idle minutes: %d buckets, want 1 (the new one)", n)
	}

	// A bucket still refilling is kept, however long idle: forgetting it would hand out a burst.
	slow, clock := newTestRateLimiter(1, 1000)
	for range 1000 {
		slow.take("key:slow")
	}
	clock.advance(rateLimitIdle) // 600 of 1000 tokens back
	slow.take("key:other")
	if n := slow.size(); n != 2 {
		t.Fatalf("a refilling bucket was dropped: %d buckets", n)
	}
	clock.advance(400 * time.Second)
	slow.take("key:other")
	if n := slow.size(); n != 1 {
		t.Fatalf("a full idle bucket was kept: %d buckets", n)
	}
}

func TestRateLimitClientsByKeyOrAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:5000":                     "addr:192.0.2.7",
		"[::ffff:192.0.2.7]:5000":            "addr:192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":         "addr:2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff:ffff:1]:80": "addr:2001:db8:1:2::/64",
		"unix":                               "addr:unix",
	} {
		r := httptest.NewRequest("POST", "/graphql", nil)
		r.RemoteAddr = remote
		if got, _, _ := rateClient(r); got != want {
			t.Errorf("%s: client %q, want %q", remote, got, want)
		}
		r = r.WithContext(auth.WithPrincipal(r.Context(), &auth.Principal{KeyID: 42, Prefix: "phk_abcdefgh"}))
		if got, whose, _ := rateClient(r); got != "key:42" || whose != "this API key" {
			t.Errorf("%s with a key: client %q (%s), want key:42", remote, got, whose)
		}
	}
}

// TestOperationLimitsCountsAsGqlgen: the complexity operationLimits refuses at is gqlgen's own
// count (complexity.Calculate), which the handler therefore does not compute a second time. A
// complexity function added to the schema's Config would break this.
func TestOperationLimitsCountsAsGqlgen(t *testing.T) {
	es := NewExecutableSchema(Config{})
	for _, query := range []string{
		`{ payments(first: 3) { totalCount edges { cursor node { id amount { amount currency } order { number lines { stockCode } } } } pageInfo { hasNextPage } } }`,
		`{ payments { edges { node { ...F } } } } fragment F on Payment { id gateway ... on Payment { kind status } parent { ...G } } fragment G on Payment { id __typename }`,
		`{ node(id: "x") { id ... on Payment { status } ... on Order { number customer { code } } } }`,
		`{ deadLetters { nodes { id subject { ... on Order { customerPoNumber } ... on Payment { id } } } } }`,
		`{ __schema { types { name } } payments { nodes { id } } }`,
		`{ __type(name: "Payment") { fields { name type { name ofType { name } } } } }`,
		introspection.Query,
	} {
		doc, errs := gqlparser.LoadQuery(es.Schema(), query)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", query, errs)
		}
		op := doc.Operations[0]
		m := measurer{doc: doc, fragments: map[string]shape{}, visiting: map[string]bool{}}
		if got, want := m.selectionSet(op.SelectionSet).fields, complexity.Calculate(context.Background(), es, op, nil); got != want {
			t.Errorf("complexity %d, gqlgen counts %d: %s", got, want, query)
		}
	}
}

package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/events"
)

const recentEventsQuery = `query($topics: [EventTopic!]!, $last: Int, $filter: RecentEventFilter) {
	recentEvents(topics: $topics, last: $last, filter: $filter) {
		cursor scanLimitReached events { ` + eventFields + ` subject { __typename id } } } }`

type recentOut struct {
	Cursor           string     `json:"cursor"`
	ScanLimitReached bool       `json:"scanLimitReached"`
	Events           []eventOut `json:"events"`
}

// recentEvents runs recentEvents; last 0 leaves it out (the default).
func recentEvents(t testing.TB, b *bundle, topics []string, last int, filter map[string]any) recentOut {
	t.Helper()
	vars := map[string]any{"topics": topics, "filter": filter}
	if last != 0 {
		vars["last"] = last
	}
	var out struct{ RecentEvents recentOut }
	b.query(t, recentEventsQuery, vars, &out)
	return out.RecentEvents
}

// waitReadable waits until ev can be read (db.ListEventsAfter's rule): a transaction still open in
// any database of the server, another test's, holds readability back for a while.
func waitReadable(t testing.TB, pool *pgxpool.Pool, ev db.Event) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !scalar[bool](t, pool, `SELECT xact_id < pg_snapshot_xmin(pg_current_snapshot()) FROM events WHERE id = $1`, ev.ID) {
		if time.Now().After(deadline) {
			t.Fatalf("event %d is still not readable after 20s", ev.ID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// names are the payloads' "name" of evs.
func names(evs []eventOut) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		var p struct{ Name string }
		json.Unmarshal(ev.Payload, &p) //nolint:errcheck
		out[i] = p.Name
	}
	return out
}

var subjectTypeOfTopic = map[string]string{"payment": "payment", "fraud": "fraud_review", "anomaly": "anomaly", "order": "sales_order"}

// subscriptionOf is the subscription of a topic, selecting what recentEventsQuery selects.
func subscriptionOf(topic string) string {
	return fmt.Sprintf(`subscription($after: String) { %sEvents(after: $after) { %s subject { __typename id } } }`, topic, eventFields)
}

// TestRecentEventsNewestFirstNarrowedByTopicAndFilter: the newest events of the topics asked,
// oldest first, each filter field as the subscriptions' filters have it, the head of the whole log
// as the cursor, and the events rendered as the subscriptions render them.
func TestRecentEventsNewestFirstNarrowedByTopicAndFilter(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	q := db.New(pool)
	broker := startBroker(t, pool, events.Config{})
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "dashboard", auth.Dashboard)
	b := &bundle{pool: pool, server: server, key: key}
	f := seedFixture(t, pool) // Acme: the sale; Betty: the authorisation

	start := appendEvent(t, q, "order", "test.start", "sales_order", 0, map[string]any{"name": "start"})
	for _, e := range []struct {
		topic, kind, subjectType string
		subjectID                int64
		payload                  map[string]any
	}{
		{"payment", "payment.recorded", "payment", f.saleID, map[string]any{"name": "acme-sale", "paymentId": f.saleID, "gateway": "cybersource"}},
		{"payment", "payment.recorded", "payment", f.authID, map[string]any{"name": "betty-auth", "paymentId": f.authID, "gateway": "opayo"}},
		{"fraud", "fraud.review_opened", "fraud_review", 5, map[string]any{"name": "betty-review", "paymentId": f.authID, "gateway": "opayo"}},
		{"anomaly", "anomaly.raised", "anomaly", 8, map[string]any{"name": "dead-critical", "kind": "erp_posting_dead", "severity": "critical"}},
		{"order", "order.created", "sales_order", f.order1ID, map[string]any{"name": "order"}},
		{"payment", "refund.succeeded", "refund", 7, map[string]any{"name": "acme-refund", "paymentId": f.saleID, "gateway": "cybersource"}},
		{"anomaly", "anomaly.raised", "anomaly", 9, map[string]any{"name": "sync-warning", "kind": "customer_sync_refused", "severity": "warning"}},
		{"payment", "webhook.received", "inbound_message", 3, map[string]any{"name": "opayo-webhook", "source": "opayo"}},
		{"fraud", "fraud.review_closed", "fraud_review", 6, map[string]any{"name": "acme-review", "paymentId": f.saleID, "gateway": "cybersource"}},
	} {
		appendEvent(t, q, e.topic, e.kind, e.subjectType, e.subjectID, e.payload)
	}
	head := appendEvent(t, q, "order", "order.created", "sales_order", f.order2ID, map[string]any{"name": "order-last"})
	waitReadable(t, pool, head)

	all := []string{"PAYMENT", "FRAUD", "ANOMALY"}
	tests := []struct {
		name   string
		topics []string
		last   int
		filter map[string]any
		want   []string
	}{
		{"newest 4", all, 4, nil, []string{"acme-refund", "sync-warning", "opayo-webhook", "acme-review"}},
		{"default last", all, 0, nil, []string{"acme-sale", "betty-auth", "betty-review", "dead-critical", "acme-refund", "sync-warning",
			"opayo-webhook", "acme-review"}},
		{"one topic", []string{"PAYMENT"}, 10, nil, []string{"acme-sale", "betty-auth", "acme-refund", "opayo-webhook"}},
		{"two topics, newest 3", []string{"ANOMALY", "FRAUD"}, 3, nil, []string{"dead-critical", "sync-warning", "acme-review"}},
		{"a topic twice", []string{"PAYMENT", "PAYMENT"}, 2, nil, []string{"acme-refund", "opayo-webhook"}},
		{"no topics", []string{}, 10, nil, nil},
		{"kinds", all, 10, map[string]any{"kinds": []string{"payment.recorded", "anomaly.raised"}},
			[]string{"acme-sale", "betty-auth", "dead-critical", "sync-warning"}},
		{"no kinds", all, 10, map[string]any{"kinds": []string{}}, nil},
		{"gateway: no anomalies", all, 10, map[string]any{"gateway": "OPAYO"}, []string{"betty-auth", "betty-review", "opayo-webhook"}},
		{"gateway, newest 2", all, 2, map[string]any{"gateway": "CYBERSOURCE"}, []string{"acme-refund", "acme-review"}},
		{"customer", all, 10, map[string]any{"customerCode": "ACME01"}, []string{"acme-sale", "acme-refund", "acme-review"}},
		{"customer and kind", all, 10, map[string]any{"customerCode": "BETTY2", "kinds": []string{"fraud.review_opened"}}, []string{"betty-review"}},
		{"severity: anomalies only", all, 10, map[string]any{"severities": []string{"CRITICAL"}}, []string{"dead-critical"}},
		{"anomaly kind", all, 10, map[string]any{"anomalyKinds": []string{"customer_sync_refused"}}, []string{"sync-warning"}},
		{"gateway and severity: nothing", all, 10, map[string]any{"gateway": "OPAYO", "severities": []string{"WARNING"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := recentEvents(t, b, tt.topics, tt.last, tt.filter)
			if got := names(r.Events); !slices.Equal(got, tt.want) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
			if r.Cursor != cursorOf(head) {
				t.Errorf("cursor %q, want the log's head %q", r.Cursor, cursorOf(head))
			}
			if r.ScanLimitReached {
				t.Error("scanLimitReached on a small log")
			}
		})
	}

	// Rendered as the subscriptions render them: the same selection, the same JSON.
	r := recentEvents(t, b, all, 0, nil)
	delivered := map[string]eventOut{}
	for _, topic := range []string{"payment", "fraud", "anomaly"} {
		c := dialSubscriber(t, server.URL, "graphql-transport-ws", key)
		c.subscribe(t, topic, subscriptionOf(topic), map[string]any{"after": cursorOf(start)})
		n := 0
		for _, ev := range r.Events {
			if strings.EqualFold(ev.Topic, topic) {
				n++
			}
		}
		for _, ev := range c.collect(t, topic, 10*time.Second, untilEvents(n)).events {
			delivered[ev.ID] = ev
		}
	}
	for _, ev := range r.Events {
		if sub, ok := delivered[ev.ID]; !ok || !reflect.DeepEqual(ev, sub) {
			t.Errorf("recentEvents rendered %+v, the subscription %+v", ev, sub)
		}
		if ev.Kind == "payment.recorded" && (ev.Subject == nil || ev.Subject.Typename != "Payment" || ev.SubjectID == nil || ev.Subject.ID != *ev.SubjectID) {
			t.Errorf("%s's subject: %+v", ev.Kind, ev.Subject)
		}
	}

	// Refusals.
	for _, tt := range []struct {
		name, inMessage string
		vars            map[string]any
	}{
		{"last 0", "last", map[string]any{"topics": all, "last": 0}},
		{"last 501", "last", map[string]any{"topics": all, "last": 501}},
		{"a topic without a subscription", "ORDER", map[string]any{"topics": []string{"PAYMENT", "ORDER"}}},
		{"an unknown customer", "customerCode", map[string]any{"topics": all, "filter": map[string]any{"customerCode": "NOBODY"}}},
	} {
		resp := b.do(t, recentEventsQuery, tt.vars)
		if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(resp.Errors[0].Message, tt.inMessage) {
			t.Errorf("%s: HTTP %d, errors %+v", tt.name, resp.Status, resp.Errors)
		}
	}
}

// TestRecentEventsIsForTheBackOffice: the storefront's key is refused, the dashboard's served.
func TestRecentEventsIsForTheBackOffice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	waitReadable(t, b.pool, appendEvent(t, db.New(b.pool), "payment", "payment.recorded", "payment", 1, map[string]any{"name": "secret"}))
	shop := newKey(t, b.pool, "shop", auth.Storefront)
	resp := b.as(shop).do(t, recentEventsQuery, map[string]any{"topics": []string{"PAYMENT"}})
	if resp.Status != http.StatusOK || len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != graph.CodeForbidden ||
		!strings.Contains(resp.Errors[0].Message, "Query.recentEvents") || strings.Contains(string(resp.Data), "secret") {
		t.Errorf("storefront: HTTP %d, errors %+v, data %s", resp.Status, resp.Errors, resp.Data)
	}
	dashboard := newKey(t, b.pool, "dashboard", auth.Dashboard)
	if r := recentEvents(t, b.as(dashboard), []string{"PAYMENT"}, 0, nil); !slices.Equal(names(r.Events), []string{"secret"}) {
		t.Errorf("dashboard: %+v", r)
	}
}

// TestRecentEventsStopsAfterABoundedScan: a filter that takes almost nothing looks at no more than
// 10,000 events of the topics asked (events of other topics do not count) and says it stopped.
func TestRecentEventsStopsAfterABoundedScan(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := db.New(b.pool)
	appendEvent(t, q, "payment", "test.rare", "payment", 1, map[string]any{"name": "old-rare"})
	appendEvent(t, q, "anomaly", "test.rare", "anomaly", 1, map[string]any{"name": "old-anomaly"})
	filler := func(topic string, n int) {
		exec(t, b.pool, `INSERT INTO events (topic, kind, subject_type, subject_id, payload)
			SELECT $1, 'test.filler', 'payment', g, jsonb_build_object('name', 'filler-' || g) FROM generate_series(1, $2::int) g`, topic, n)
	}
	filler("payment", events.RecentScanLimit)
	appendEvent(t, q, "payment", "test.rare", "payment", 2, map[string]any{"name": "new-rare"})
	filler("order", events.RecentScanLimit+10)
	waitReadable(t, b.pool, appendEvent(t, q, "order", "test.last", "sales_order", 1, map[string]any{}))

	rare := map[string]any{"kinds": []string{"test.rare"}}
	// The newer rare payment event, then 9,999 fillers: the older one lies beyond the bound.
	if r := recentEvents(t, b, []string{"PAYMENT"}, 5, rare); !slices.Equal(names(r.Events), []string{"new-rare"}) || !r.ScanLimitReached {
		t.Errorf("payments: %q, scanLimitReached %v; want [new-rare], true", names(r.Events), r.ScanLimitReached)
	}
	// The anomaly topic is short, whatever the log holds of others.
	if r := recentEvents(t, b, []string{"ANOMALY"}, 5, rare); !slices.Equal(names(r.Events), []string{"old-anomaly"}) || r.ScanLimitReached {
		t.Errorf("anomalies: %q, scanLimitReached %v; want [old-anomaly], false", names(r.Events), r.ScanLimitReached)
	}
	n := events.RecentScanLimit
	want := []string{fmt.Sprintf("filler-%d", n-1), fmt.Sprintf("filler-%d", n), "new-rare"}
	if r := recentEvents(t, b, []string{"PAYMENT", "ANOMALY"}, 3, nil); !slices.Equal(names(r.Events), want) || r.ScanLimitReached {
		t.Errorf("unfiltered: %q, scanLimitReached %v; want %q, false", names(r.Events), r.ScanLimitReached, want)
	}
}

// TestRecentEventsThenSubscriptionsMissNothingAndRepeatNothing is the seam: while writers commit,
// a client reads recentEvents and subscribes every topic with the cursor it got. What the read
// returned and what the subscriptions then deliver must be each topic's whole log, in order, each
// event once: the events of a transaction still open during the read (and of those committed
// behind it, not readable yet) and those committed between the read and the subscribing included.
func TestRecentEventsThenSubscriptionsMissNothingAndRepeatNothing(t *testing.T) {
	t.Parallel()
	stall := &stallTracer{}
	pool := tracedPool(t, stall)
	q := db.New(pool)
	broker := startBroker(t, pool, events.Config{PageSize: 20})
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "dashboard", auth.Dashboard)
	b := &bundle{pool: pool, server: server, key: key}
	ctx := context.Background()
	topics := []string{"payment", "fraud", "anomaly"}

	for i := range 30 {
		topic := topics[i%3]
		appendEvent(t, q, topic, "test.before", subjectTypeOfTopic[topic], int64(i), map[string]any{})
		if i%10 == 0 {
			appendEvent(t, q, "order", "test.other", "sales_order", int64(i), map[string]any{})
		}
	}
	// Writers commit transactions of one or two events all through the read and the subscribing.
	wctx, stopWriters := context.WithCancel(ctx)
	var writers sync.WaitGroup
	for w := range 3 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for n := 0; n < 100 && wctx.Err() == nil; n++ {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					for range 1 + rand.IntN(2) {
						topic := topics[rand.IntN(3)]
						if _, err := db.New(tx).AppendEvent(ctx, db.AppendEventParams{Topic: topic, Kind: "test.during",
							SubjectType: subjectTypeOfTopic[topic], SubjectID: int64(w*100 + n), Payload: []byte(`{}`)}); err != nil {
							return err
						}
					}
					time.Sleep(time.Duration(1+rand.IntN(3)) * time.Millisecond)
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(30 * time.Millisecond)

	// Two transactions open over the read's start, each with an event (the first takes the older
	// xid); events committed behind them. The first commits during the read, after its head, the
	// second after the read.
	openTx := func(topic string) (pgx.Tx, db.Event) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback(ctx) }) //nolint:errcheck
		ev, err := db.New(tx).AppendEvent(ctx, db.AppendEventParams{Topic: topic, Kind: "test.open",
			SubjectType: subjectTypeOfTopic[topic], SubjectID: 1, Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		return tx, ev
	}
	open1, open1Ev := openTx("payment")
	open2, open2Ev := openTx("fraud")
	behind := appendEvent(t, q, "anomaly", "test.behind", "anomaly", 1, map[string]any{})

	// The read stalls for 100 ms after reading the head; open1 commits 50 ms in.
	stall.armed.Store(true)
	midRead := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		midRead <- open1.Commit(ctx)
	}()
	r := recentEvents(t, b, []string{"PAYMENT", "FRAUD", "ANOMALY"}, 500, nil)
	stall.armed.Store(false)
	if err := <-midRead; err != nil {
		t.Fatal(err)
	}
	if len(r.Events) >= 500 {
		t.Fatalf("the read returned %d events: the log is longer than this test means it to be", len(r.Events))
	}
	between := appendEvent(t, q, "anomaly", "test.between", "anomaly", 2, map[string]any{})
	clients := map[string]*subClient{}
	for _, topic := range topics {
		clients[topic] = dialSubscriber(t, server.URL, "graphql-transport-ws", key)
		clients[topic].subscribe(t, topic, subscriptionOf(topic), map[string]any{"after": r.Cursor})
	}
	time.Sleep(20 * time.Millisecond)
	if err := open2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	stopWriters()
	writers.Wait()

	readIDs := ids(t, r.Events)
	for _, id := range []int64{open1Ev.ID, open2Ev.ID, behind.ID, between.ID} {
		if slices.Contains(readIDs, id) {
			t.Errorf("recentEvents returned event %d, which could not be read yet", id)
		}
	}
	for _, topic := range topics {
		marker := appendEvent(t, q, topic, "test.marker", subjectTypeOfTopic[topic], 0, map[string]any{})
		got := clients[topic].collect(t, topic, 20*time.Second, untilKind("test.marker"))
		want := logIDs(t, pool, topic, "")
		want = want[:slices.Index(want, marker.ID)+1]
		var read []int64
		for _, ev := range r.Events {
			if strings.EqualFold(ev.Topic, topic) {
				read = append(read, ev.rowID(t))
			}
		}
		if seen := append(read, ids(t, got.events)...); !slices.Equal(seen, want) {
			t.Errorf("%s: read %d then delivered %d events, want the log's %d; first difference at %d", topic, len(read),
				len(got.events), len(want), firstDiff(seen, want))
		}
		t.Logf("%s: %d events read, %d delivered", topic, len(read), len(got.events))
	}
}

// stallTracer, once armed, holds up the statements that read the log's head (db.LastReadableEvent)
// for a while after their answer: what the reader does next runs in a later snapshot.
type stallTracer struct{ armed atomic.Bool }

type stallKey struct{}

func (s *stallTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if s.armed.Load() && strings.HasPrefix(d.SQL, "-- name: LastReadableEvent ") {
		return context.WithValue(ctx, stallKey{}, true)
	}
	return ctx
}

func (s *stallTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if ctx.Value(stallKey{}) != nil {
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRecentEventsOnAnEmptyLog: nothing is readable (an event waits in an open transaction), so no
// event is returned; the cursor is the log's start, and a subscription started with it, after the
// event has committed and the broker has gone past it, still delivers it.
func TestRecentEventsOnAnEmptyLog(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	broker := startBroker(t, pool, events.Config{})
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "dashboard", auth.Dashboard)
	b := &bundle{pool: pool, server: server, key: key}
	ctx := context.Background()
	if n := scalar[int64](t, pool, `SELECT count(*) FROM events`); n != 0 {
		t.Fatalf("the log of a new database holds %d events", n)
	}
	open, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Rollback(ctx) //nolint:errcheck
	ev, err := db.New(open).AppendEvent(ctx, db.AppendEventParams{Topic: "payment", Kind: "test.open",
		SubjectType: "payment", SubjectID: 1, Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}

	r := recentEvents(t, b, []string{"PAYMENT", "FRAUD", "ANOMALY"}, 0, nil)
	if len(r.Events) != 0 || r.Cursor == "" {
		t.Fatalf("got %+v", r)
	}
	if err := open.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Another subscriber, live from now, shows when the broker has dispatched the event.
	watcher := dialSubscriber(t, server.URL, "graphql-transport-ws", key)
	watcher.subscribe(t, "w", paymentEventsQuery, nil)
	waitSubscribers(t, broker, 1)
	later := appendEvent(t, db.New(pool), "payment", "test.later", "payment", 2, map[string]any{})
	watcher.collect(t, "w", 10*time.Second, untilKind("test.later"))

	c := dialSubscriber(t, server.URL, "graphql-transport-ws", key)
	c.subscribe(t, "s", paymentEventsQuery, map[string]any{"after": r.Cursor})
	got := c.collect(t, "s", 10*time.Second, untilKind("test.later"))
	if g := ids(t, got.events); !slices.Equal(g, []int64{ev.ID, later.ID}) {
		t.Errorf("delivered %v, want %v", g, []int64{ev.ID, later.ID})
	}
}

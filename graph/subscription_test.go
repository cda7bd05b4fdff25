package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/events"
	"github.com/payhub/payhub/graph/model"
)

// ---- rig ----

// startBroker runs a broker on pool until the test ends.
func startBroker(t testing.TB, pool *pgxpool.Pool, cfg events.Config) *events.Broker {
	t.Helper()
	cfg.Pool = pool
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tLog{t}, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	broker, err := events.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-broker.Done():
		case <-time.After(10 * time.Second):
			t.Error("the broker did not stop")
		}
	})
	return broker
}

// tLog writes a log to the test's log.
type tLog struct{ t testing.TB }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// liveServer serves the API with a broker on pool.
func liveServer(t testing.TB, pool *pgxpool.Pool, broker *events.Broker) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(graph.NewHandler(graph.HandlerConfig{Pool: pool, Events: broker}))
	t.Cleanup(server.Close)
	return server
}

// appendEvent writes one event as the sync engine does, in a transaction of its own.
func appendEvent(t testing.TB, q *db.Queries, topic, kind, subjectType string, subjectID int64, payload any) db.Event {
	t.Helper()
	raw, _ := json.Marshal(payload)
	ev, err := q.AppendEvent(context.Background(), db.AppendEventParams{Topic: topic, Kind: kind,
		SubjectType: subjectType, SubjectID: subjectID, Payload: raw})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func cursorOf(ev db.Event) string {
	return events.Position{Xact: ev.XactID.Uint64, ID: ev.ID}.Cursor()
}

// logIDs lists the ids of topic's events after a cursor ("" from the start), in log order.
func logIDs(t testing.TB, pool *pgxpool.Pool, topic, after string) []int64 {
	t.Helper()
	var pos events.Position
	if after != "" {
		var err error
		if pos, err = events.ParseCursor(after); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(context.Background(), `SELECT id FROM events WHERE topic = $1
		AND (xact_id, id) > ($2::xid8, $3::bigint) ORDER BY xact_id, id`,
		topic, pgtype.Uint64{Uint64: pos.Xact, Valid: true}, pos.ID)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// ---- a graphql-transport-ws / graphql-ws client ----

type subClient struct {
	conn  *websocket.Conn
	proto string
	in    chan wsMessage
	wmu   sync.Mutex
	err   error // why reading stopped; read after in is closed
}

// dialSubscriber opens an authenticated websocket; it answers pings and drops keep-alives.
func dialSubscriber(t testing.TB, url, proto, key string) *subClient {
	t.Helper()
	return dialSubscriberBuffered(t, url, proto, key, 1<<15)
}

// dialSubscriberBuffered is dialSubscriber holding at most buffer messages unread: with a small
// one, a client that is not collected stops reading its socket.
func dialSubscriberBuffered(t testing.TB, url, proto, key string, buffer int) *subClient {
	t.Helper()
	c := &subClient{conn: wsConnect(t, url, proto), proto: proto, in: make(chan wsMessage, buffer)}
	c.send(t, map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": key}})
	go c.read()
	if m, ok := c.next(5 * time.Second); !ok || m.Type != "connection_ack" {
		t.Fatalf("connection_init: %+v (%v)", m, c.err)
	}
	return c
}

func (c *subClient) read() {
	defer close(c.in)
	for {
		var m wsMessage
		if err := c.conn.ReadJSON(&m); err != nil {
			c.err = err
			return
		}
		switch m.Type {
		case "ka", "pong":
		case "ping":
			c.wmu.Lock()
			c.conn.WriteJSON(map[string]any{"type": "pong"}) //nolint:errcheck
			c.wmu.Unlock()
		default:
			c.in <- m
		}
	}
}

func (c *subClient) send(t testing.TB, msg any) {
	t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
}

// subscribe starts an operation.
func (c *subClient) subscribe(t testing.TB, id, query string, vars map[string]any) {
	t.Helper()
	typ := "subscribe"
	if c.proto == "graphql-ws" {
		typ = "start"
	}
	c.send(t, map[string]any{"type": typ, "id": id, "payload": map[string]any{"query": query, "variables": vars}})
}

func (c *subClient) next(timeout time.Duration) (wsMessage, bool) {
	select {
	case m, ok := <-c.in:
		return m, ok
	case <-time.After(timeout):
		return wsMessage{}, false
	}
}

// eventOut is an Event as the tests select it.
type eventOut struct {
	ID          string          `json:"id"`
	Cursor      string          `json:"cursor"`
	Topic       string          `json:"topic"`
	Kind        string          `json:"kind"`
	SubjectType string          `json:"subjectType"`
	SubjectID   *string         `json:"subjectId"`
	Payload     json.RawMessage `json:"payload"`
	OccurredAt  string          `json:"occurredAt"`
	Subject     *struct {
		Typename string `json:"__typename"`
		ID       string `json:"id"`
	} `json:"subject"`
}

func (e eventOut) rowID(t testing.TB) int64 {
	t.Helper()
	typ, id, err := model.DecodeGlobalID(e.ID)
	if err != nil || typ != model.TypeEvent {
		t.Fatalf("event id %q: %v", e.ID, err)
	}
	return id
}

// received is what one operation got: its events, and the error that ended it, if one did.
type received struct {
	events []eventOut
	errors []gqlErrorOut
	done   bool // completed or errored
}

type gqlErrorOut struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// collect reads id's messages until stop says enough, the operation ends, or timeout passes.
func (c *subClient) collect(t testing.TB, id string, timeout time.Duration, stop func(received) bool) received {
	t.Helper()
	var r received
	deadline := time.Now().Add(timeout)
	for !stop(r) {
		m, ok := c.next(time.Until(deadline))
		if !ok {
			t.Fatalf("operation %s: %d events, then nothing within %s (%v)", id, len(r.events), timeout, c.err)
		}
		if m.ID != id {
			t.Fatalf("message %+v for another operation than %s", m, id)
		}
		switch m.Type {
		case "next", "data":
			var resp struct {
				Data   map[string]eventOut `json:"data"`
				Errors []gqlErrorOut       `json:"errors"`
			}
			if err := json.Unmarshal(m.Payload, &resp); err != nil {
				t.Fatalf("%s: %v", m.Payload, err)
			}
			if len(resp.Errors) > 0 {
				r.errors = append(r.errors, resp.Errors...)
				continue
			}
			for _, ev := range resp.Data {
				r.events = append(r.events, ev)
			}
		case "error":
			var errs []gqlErrorOut
			if err := json.Unmarshal(m.Payload, &errs); err != nil {
				t.Fatalf("%s: %v", m.Payload, err)
			}
			r.errors = append(r.errors, errs...)
			r.done = true
			return r
		case "complete":
			r.done = true
			return r
		default:
			t.Fatalf("unexpected message %+v", m)
		}
	}
	return r
}

func untilEvents(n int) func(received) bool {
	return func(r received) bool { return len(r.events) >= n }
}

func untilKind(kind string) func(received) bool {
	return func(r received) bool { return len(r.events) > 0 && r.events[len(r.events)-1].Kind == kind }
}

const eventFields = `id cursor topic kind subjectType subjectId payload occurredAt`

const paymentEventsQuery = `subscription($after: String, $filter: PaymentEventFilter) {
	paymentEvents(after: $after, filter: $filter) { ` + eventFields + ` } }`

func ids(t testing.TB, evs []eventOut) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.rowID(t)
	}
	return out
}

// ---- tests ----

// TestSubscriptionReplaysThenGoesLiveWithoutGapOrRepeat writes events from several transactions at
// once (of uneven length, so ids commit out of order) while subscribers replay from a cursor,
// join live, and drop and resume from their last cursor: each must see exactly the log, in order.
func TestSubscriptionReplaysThenGoesLiveWithoutGapOrRepeat(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	q := db.New(pool)
	broker := startBroker(t, pool, events.Config{PageSize: 50})
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "dashboard", auth.Dashboard)

	var first db.Event
	for i := range 300 {
		ev := appendEvent(t, q, "payment", "test.before", "payment", int64(i), map[string]any{"n": i})
		if i == 9 {
			first = ev
		}
		if i%3 == 0 {
			appendEvent(t, q, "fraud", "test.other", "fraud_review", int64(i), map[string]any{})
		}
	}

	// Writers: transactions of 1 to 3 events on two topics, some held open a little.
	ctx, stopWriters := context.WithCancel(context.Background())
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for n := 0; ctx.Err() == nil; n++ {
				err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
					tq := db.New(tx)
					for range 1 + rand.IntN(3) {
						topic := "payment"
						if rand.IntN(4) == 0 {
							topic = "fraud"
						}
						raw, _ := json.Marshal(map[string]any{"writer": w, "n": n})
						if _, err := tq.AppendEvent(context.Background(), db.AppendEventParams{Topic: topic,
							Kind: "test.during", SubjectType: "payment", SubjectID: int64(n), Payload: raw}); err != nil {
							return err
						}
					}
					time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}

	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			// A replays from the 10th event; B joins live; C drops after a while and resumes.
			a := dialSubscriber(t, server.URL, proto, key)
			a.subscribe(t, "a", paymentEventsQuery, map[string]any{"after": cursorOf(first)})
			time.Sleep(100 * time.Millisecond)
			b := dialSubscriber(t, server.URL, proto, key)
			b.subscribe(t, "b", paymentEventsQuery, nil)
			c := dialSubscriber(t, server.URL, proto, key)
			c.subscribe(t, "c", paymentEventsQuery, map[string]any{"after": cursorOf(first)})
			cFirst := c.collect(t, "c", 20*time.Second, untilEvents(400))
			c.conn.Close()
			time.Sleep(200 * time.Millisecond) // the writers go on meanwhile
			c2 := dialSubscriber(t, server.URL, proto, key)
			c2.subscribe(t, "c", paymentEventsQuery, map[string]any{"after": cFirst.events[len(cFirst.events)-1].Cursor})
			time.Sleep(300 * time.Millisecond)

			// A marker after the writers' events of this round ends every stream.
			marker := appendEvent(t, q, "payment", "test.marker."+proto, "payment", 0, map[string]any{})
			ra := a.collect(t, "a", 30*time.Second, untilKind("test.marker."+proto))
			rb := b.collect(t, "b", 30*time.Second, untilKind("test.marker."+proto))
			rc := c2.collect(t, "c", 30*time.Second, untilKind("test.marker."+proto))

			want := logIDs(t, pool, "payment", cursorOf(first))
			want = want[:slices.Index(want, marker.ID)+1]
			for name, r := range map[string]received{"a": ra, "b": rb, "c": rc} {
				if len(r.errors) > 0 || r.done {
					t.Errorf("subscription %s ended after %d events: %+v", name, len(r.events), r.errors)
				}
			}
			if got := ids(t, ra.events); !slices.Equal(got, want) {
				t.Errorf("replay then live: %d events, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
			// Live only: from wherever the broker stood when B joined (it may not have read the
			// newest events yet), a contiguous run of the log up to the marker.
			whole := logIDs(t, pool, "payment", "")
			whole = whole[:slices.Index(whole, marker.ID)+1]
			gotB := ids(t, rb.events)
			start := slices.Index(whole, gotB[0])
			if start < 0 || !slices.Equal(gotB, whole[start:]) {
				t.Errorf("live from subscription: %d events, not the log's last %d (gap or repeat at %d)", len(gotB), len(whole)-start,
					firstDiff(gotB, whole[max(start, 0):]))
			}
			if got := append(ids(t, cFirst.events), ids(t, rc.events)...); !slices.Equal(got, want) {
				t.Errorf("dropped and resumed: %d events, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
			for _, ev := range ra.events[:3] {
				if ev.Topic != "PAYMENT" || ev.Kind != "test.before" || ev.SubjectType != "payment" || ev.SubjectID == nil ||
					!strings.Contains(string(ev.Payload), `"n":`) || ev.OccurredAt == "" {
					t.Errorf("event %+v", ev)
				}
			}
			t.Logf("%s: replayed and live %d events, live-only %d, resumed %d+%d", proto, len(ra.events), len(rb.events),
				len(cFirst.events), len(rc.events))
		})
	}
	stopWriters()
	writers.Wait()
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestSubscriptionFilters checks each filter, on the replay from the log and live.
func TestSubscriptionFilters(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	q := db.New(pool)
	broker := startBroker(t, pool, events.Config{})
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "finance", auth.Finance)
	f := seedFixture(t, pool)

	start := appendEvent(t, q, "order", "test.start", "sales_order", 1, map[string]any{})
	write := func() {
		appendEvent(t, q, "payment", "payment.recorded", "payment", f.saleID, map[string]any{"paymentId": f.saleID, "gateway": "cybersource"})
		appendEvent(t, q, "payment", "payment.recorded", "payment", f.authID, map[string]any{"paymentId": f.authID, "gateway": "opayo"})
		appendEvent(t, q, "payment", "refund.succeeded", "refund", 7, map[string]any{"refundId": 7, "paymentId": f.saleID, "gateway": "cybersource"})
		appendEvent(t, q, "payment", "webhook.received", "inbound_message", 3, map[string]any{"source": "opayo", "messageId": 3})
		appendEvent(t, q, "fraud", "fraud.review_opened", "fraud_review", 5, map[string]any{"fraudReviewId": 5, "paymentId": f.authID, "gateway": "opayo"})
		appendEvent(t, q, "fraud", "fraud.review_closed", "fraud_review", 6, map[string]any{"fraudReviewId": 6, "paymentId": f.saleID, "gateway": "cybersource"})
		appendEvent(t, q, "anomaly", "anomaly.raised", "anomaly", 8, map[string]any{"anomalyId": 8, "kind": "erp_posting_dead", "severity": "critical"})
		appendEvent(t, q, "anomaly", "anomaly.raised", "anomaly", 9, map[string]any{"anomalyId": 9, "kind": "customer_sync_refused", "severity": "warning"})
		appendEvent(t, q, "anomaly", "anomaly.resolved", "anomaly", 8, map[string]any{"anomalyId": 8, "kind": "erp_posting_dead", "severity": "critical"})
		appendEvent(t, q, "order", "order.created", "sales_order", f.order1ID, map[string]any{})
	}
	gid := model.EncodeGlobalID
	tests := []struct {
		name, field, filterType string
		filter                  map[string]any
		want                    []string // kind:subject id of each event
	}{
		{"all payments", "paymentEvents", "PaymentEventFilter", nil, []string{
			fmt.Sprintf("payment.recorded:%d", f.saleID), fmt.Sprintf("payment.recorded:%d", f.authID), "refund.succeeded:7", "webhook.received:3"}},
		{"kinds", "paymentEvents", "PaymentEventFilter", map[string]any{"kinds": []string{"refund.succeeded", "webhook.received"}},
			[]string{"refund.succeeded:7", "webhook.received:3"}},
		{"no kinds", "paymentEvents", "PaymentEventFilter", map[string]any{"kinds": []string{}}, nil},
		{"gateway", "paymentEvents", "PaymentEventFilter", map[string]any{"gateway": "OPAYO"},
			[]string{fmt.Sprintf("payment.recorded:%d", f.authID), "webhook.received:3"}},
		{"payment and its refunds", "paymentEvents", "PaymentEventFilter", map[string]any{"paymentId": gid(model.TypePayment, f.saleID)},
			[]string{fmt.Sprintf("payment.recorded:%d", f.saleID), "refund.succeeded:7"}},
		{"subject", "paymentEvents", "PaymentEventFilter", map[string]any{"subjectId": gid(model.TypeRefund, 7)}, []string{"refund.succeeded:7"}},
		{"fraud gateway", "fraudEvents", "FraudEventFilter", map[string]any{"gateway": "CYBERSOURCE"}, []string{"fraud.review_closed:6"}},
		{"fraud of a payment", "fraudEvents", "FraudEventFilter", map[string]any{"paymentId": gid(model.TypePayment, f.authID)},
			[]string{"fraud.review_opened:5"}},
		{"fraud review", "fraudEvents", "FraudEventFilter", map[string]any{"subjectId": gid(model.TypeFraudReview, 6), "kinds": []string{"fraud.review_closed"}},
			[]string{"fraud.review_closed:6"}},
		{"severity", "anomalyEvents", "AnomalyEventFilter", map[string]any{"severities": []string{"CRITICAL"}},
			[]string{"anomaly.raised:8", "anomaly.resolved:8"}},
		{"anomaly kind and event kind", "anomalyEvents", "AnomalyEventFilter",
			map[string]any{"anomalyKinds": []string{"customer_sync_refused", "erp_posting_dead"}, "kinds": []string{"anomaly.raised"}},
			[]string{"anomaly.raised:8", "anomaly.raised:9"}},
		{"anomaly", "anomalyEvents", "AnomalyEventFilter", map[string]any{"subjectId": gid(model.TypeAnomaly, 9)}, []string{"anomaly.raised:9"}},
	}
	// Each subscription replays the first round from the log and gets the second live; a marker
	// on every topic (which no filter above takes) would not end them, so each expects its count.
	c := dialSubscriber(t, server.URL, "graphql-transport-ws", key)
	for i, tt := range tests {
		query := fmt.Sprintf(`subscription($after: String, $filter: %s) { %s(after: $after, filter: $filter) { kind payload subjectId subject { __typename id } } }`,
			tt.filterType, tt.field)
		c.subscribe(t, fmt.Sprint(i), query, map[string]any{"after": cursorOf(start), "filter": tt.filter})
	}
	write()
	time.Sleep(300 * time.Millisecond)
	write()
	got := map[string][]string{}
	deadline := time.After(20 * time.Second)
	for {
		complete := true
		for i, tt := range tests {
			if len(got[fmt.Sprint(i)]) < 2*len(tt.want) {
				complete = false
			}
		}
		if complete {
			break
		}
		select {
		case m, ok := <-c.in:
			if !ok {
				t.Fatalf("socket closed: %v", c.err)
			}
			if m.Type != "next" {
				t.Fatalf("message %+v", m)
			}
			var resp struct {
				Data map[string]eventOut
			}
			json.Unmarshal(m.Payload, &resp) //nolint:errcheck
			for _, ev := range resp.Data {
				var p struct {
					AnomalyID, RefundID, FraudReviewID, MessageID, PaymentID int64
				}
				json.Unmarshal(ev.Payload, &p) //nolint:errcheck
				subject := max(p.AnomalyID, p.RefundID, p.FraudReviewID, p.MessageID)
				if subject == 0 {
					subject = p.PaymentID
				}
				got[m.ID] = append(got[m.ID], fmt.Sprintf("%s:%d", ev.Kind, subject))
				if ev.Kind == "payment.recorded" && (ev.Subject == nil || ev.Subject.Typename != "Payment" || ev.SubjectID == nil || ev.Subject.ID != *ev.SubjectID) {
					t.Errorf("payment.recorded's subject: %+v (subjectId %v)", ev.Subject, ev.SubjectID)
				}
			}
		case <-deadline:
			t.Fatalf("after 20s: %v", got)
		}
	}
	time.Sleep(200 * time.Millisecond) // anything more would be wrong
	for len(c.in) > 0 {
		m := <-c.in
		t.Errorf("unexpected extra message %s %s", m.ID, m.Payload)
	}
	for i, tt := range tests {
		if want := append(slices.Clone(tt.want), tt.want...); !slices.Equal(got[fmt.Sprint(i)], want) {
			t.Errorf("%s: got %v, want %v", tt.name, got[fmt.Sprint(i)], want)
		}
	}
}

// TestSlowSubscriberIsCutOffWithTheCursorToResumeFrom lets a client stop reading while large events
// pile up: the server must cut it off (not buffer without bound) with an error naming the cursor,
// and resuming from that cursor must give every event after the last one received.
func TestSlowSubscriberIsCutOffWithTheCursorToResumeFrom(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	q := db.New(pool)
	broker := startBroker(t, pool, events.Config{Buffer: 8})
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "dashboard", auth.Dashboard)

	start := appendEvent(t, q, "payment", "test.start", "payment", 0, map[string]any{})
	slow := dialSubscriberBuffered(t, server.URL, "graphql-transport-ws", key, 1)
	slow.subscribe(t, "slow", paymentEventsQuery, map[string]any{"after": cursorOf(start)})
	waitSubscribers(t, broker, 1)
	// The client reads nothing (its reader blocks once it holds a message) while up to 400 events
	// of 64 KB each are written: far more than the socket buffers hold, so the server's writer
	// blocks and the queue of 8 fills.
	big := strings.Repeat("x", 64<<10)
	for i := 0; i < 400 && broker.Stats().CutSlow == 0; i++ {
		appendEvent(t, q, "payment", "test.big", "payment", int64(i), map[string]any{"n": i, "blob": big})
		time.Sleep(time.Millisecond) // mostly one event per read of the broker, not a burst
	}
	deadline := time.Now().Add(20 * time.Second)
	for broker.Stats().CutSlow == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no subscriber was cut off: %+v", broker.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := broker.Stats().Subscribers; n != 0 {
		t.Errorf("%d subscribers still registered after the cut", n)
	}
	r := slow.collect(t, "slow", 30*time.Second, func(received) bool { return false })
	if len(r.errors) != 1 {
		t.Fatalf("cut off with %+v after %d events, want one error", r.errors, len(r.events))
	}
	e := r.errors[0]
	last := cursorOf(start) // had the queue filled before the first event was sent
	if len(r.events) > 0 {
		last = r.events[len(r.events)-1].Cursor
	}
	if e.Extensions["code"] != graph.CodeSubscriberTooSlow || e.Extensions["cursor"] != last ||
		e.Message != fmt.Sprintf("subscriber too slow: more than 8 events behind; reconnect with after: %q", last) {
		t.Errorf("error %+v, want SUBSCRIBER_TOO_SLOW naming the last cursor received %s", e, last)
	}
	t.Logf("cut off after %d events: %s", len(r.events), e.Message)

	// Resuming (on the same socket: the cut ends the subscription, not the connection).
	appendEvent(t, q, "payment", "test.marker", "payment", 0, map[string]any{})
	slow.subscribe(t, "again", paymentEventsQuery, map[string]any{"after": last})
	again := slow.collect(t, "again", 30*time.Second, untilKind("test.marker"))
	if got, want := append(ids(t, r.events), ids(t, again.events)...), logIDs(t, pool, "payment", cursorOf(start)); !slices.Equal(got, want) {
		t.Errorf("received %d then %d after resuming, want the log's %d; first difference at %d",
			len(r.events), len(again.events), len(want), firstDiff(got, want))
	}
}

// TestEventsReachSubscribersOfEveryReplica runs two brokers (two hub replicas) on one database: an
// event written by a third connection reaches the subscribers of both, also after their LISTEN
// connections were killed (they reconnect and read what they missed; the poll is an hour away).
func TestEventsReachSubscribersOfEveryReplica(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewURL(t)
	var servers []*httptest.Server
	var brokers []*events.Broker
	var keyPool *pgxpool.Pool
	for range 2 {
		pool, err := db.Connect(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		broker := startBroker(t, pool, events.Config{PollInterval: time.Hour})
		brokers = append(brokers, broker)
		servers = append(servers, liveServer(t, pool, broker))
		keyPool = pool
	}
	key := newKey(t, keyPool, "dashboard", auth.Dashboard)
	writer, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(context.Background())
	write := func(n int) db.Event {
		t.Helper()
		return appendEvent(t, db.New(writer), "payment", "test.replica", "payment", int64(n), map[string]any{"n": n})
	}
	var clients []*subClient
	for i, s := range servers {
		c := dialSubscriber(t, s.URL, "graphql-transport-ws", key)
		c.subscribe(t, "r", paymentEventsQuery, nil)
		clients = append(clients, c)
		waitSubscribers(t, brokers[i], 1)
	}
	ev := write(1)
	for i, c := range clients {
		r := c.collect(t, "r", 10*time.Second, untilEvents(1))
		if r.events[0].rowID(t) != ev.ID {
			t.Errorf("replica %d got %+v, want event %d", i, r.events[0], ev.ID)
		}
	}

	// Kill both LISTEN connections, write while they reconnect, and after.
	killed := scalar[int64](t, keyPool, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, events.ApplicationName)
	if killed != 2 {
		t.Fatalf("killed %d LISTEN connections, want 2", killed)
	}
	ev2, ev3 := write(2), write(3)
	time.Sleep(500 * time.Millisecond)
	ev4 := write(4)
	for i, c := range clients {
		r := c.collect(t, "r", 15*time.Second, untilEvents(3))
		if got, want := ids(t, r.events), []int64{ev2.ID, ev3.ID, ev4.ID}; !slices.Equal(got, want) {
			t.Errorf("replica %d after its LISTEN connection was killed: %v, want %v", i, got, want)
		}
		if !brokers[i].Stats().Listening {
			t.Errorf("replica %d is not listening again", i)
		}
	}
}

func waitSubscribers(t testing.TB, b *events.Broker, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Stats().Subscribers < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers after 10s, want %d", b.Stats().Subscribers, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEventsBehindAnOlderTransactionArrive: an event whose commit notified while an older
// transaction was still running cannot be read then; it must still arrive once that transaction
// ends, though no further notification comes (the poll is an hour away).
func TestEventsBehindAnOlderTransactionArrive(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	broker := startBroker(t, pool, events.Config{PollInterval: time.Hour})
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "dashboard", auth.Dashboard)
	c := dialSubscriber(t, server.URL, "graphql-transport-ws", key)
	c.subscribe(t, "s", paymentEventsQuery, nil)
	waitSubscribers(t, broker, 1)

	older, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(context.Background())                                                 //nolint:errcheck
	if _, err := older.Exec(context.Background(), `SELECT pg_current_xact_id()`); err != nil { // takes an xid
		t.Fatal(err)
	}
	ev := appendEvent(t, db.New(pool), "payment", "test.behind", "payment", 1, map[string]any{})
	if m, ok := c.next(300 * time.Millisecond); ok {
		t.Fatalf("delivered while an older transaction runs: %+v", m)
	}
	if err := older.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := c.collect(t, "s", 5*time.Second, untilEvents(1))
	if r.events[0].rowID(t) != ev.ID {
		t.Errorf("got %+v, want event %d", r.events[0], ev.ID)
	}
}

// TestSubscriptionRefusals: roles, transports, cursors, and a server without a broker.
func TestSubscriptionRefusals(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	broker := startBroker(t, pool, events.Config{})
	server := liveServer(t, pool, broker)
	shop := newKey(t, pool, "shop", auth.Storefront)
	dashboard := newKey(t, pool, "dashboard", auth.Dashboard)

	refusal := func(t *testing.T, url, key, query string, vars map[string]any) gqlErrorOut {
		t.Helper()
		c := dialSubscriber(t, url, "graphql-transport-ws", key)
		c.subscribe(t, "1", query, vars)
		r := c.collect(t, "1", 5*time.Second, func(received) bool { return false })
		if len(r.errors) != 1 || len(r.events) != 0 {
			t.Fatalf("got %+v", r)
		}
		return r.errors[0]
	}
	for _, field := range []string{"paymentEvents", "fraudEvents", "anomalyEvents"} {
		e := refusal(t, server.URL, shop, fmt.Sprintf(`subscription { %s { id } }`, field), nil)
		if e.Extensions["code"] != graph.CodeForbidden || !strings.Contains(e.Message, "Subscription."+field) {
			t.Errorf("storefront key on %s: %+v", field, e)
		}
	}
	if e := refusal(t, server.URL, dashboard, paymentEventsQuery, map[string]any{"after": "nonsense"}); e.Extensions["code"] != "BAD_USER_INPUT" ||
		!strings.Contains(e.Message, `after: "nonsense" is not an event cursor`) {
		t.Errorf("bad cursor: %+v", e)
	}
	if e := refusal(t, server.URL, dashboard, paymentEventsQuery, map[string]any{"filter": map[string]any{"paymentId": model.EncodeGlobalID(model.TypeOrder, 1)}}); e.Extensions["code"] != "BAD_USER_INPUT" ||
		!strings.Contains(e.Message, "filter.paymentId") {
		t.Errorf("bad paymentId: %+v", e)
	}
	noBroker := httptest.NewServer(graph.NewHandler(graph.HandlerConfig{Pool: pool}))
	defer noBroker.Close()
	if e := refusal(t, noBroker.URL, dashboard, paymentEventsQuery, nil); e.Extensions["code"] != graph.CodeUnavailable {
		t.Errorf("without a broker: %+v", e)
	}

	// Over plain HTTP a subscription is refused, not half served.
	b := &bundle{pool: pool, server: server, key: dashboard}
	resp := b.do(t, `subscription { paymentEvents { id } }`, nil)
	if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(resp.Errors[0].Message, "websocket") {
		t.Errorf("subscription over POST: HTTP %d %+v", resp.Status, resp.Errors)
	}
	if resp.Status != http.StatusOK {
		t.Errorf("subscription over POST: HTTP %d", resp.Status)
	}
}

// TestNodeFetchesAnEvent: an Event's id is a global ID like any other.
func TestNodeFetchesAnEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedFixture(t, b.pool)
	ev := appendEvent(t, db.New(b.pool), "payment", "payment.recorded", "payment", f.saleID, map[string]any{"paymentId": f.saleID})
	var out struct {
		Node struct {
			ID, Cursor, Topic, Kind string
			Subject                 struct{ ID string }
		}
	}
	b.query(t, `query($id: ID!) { node(id: $id) { id ... on Event { cursor topic kind subject { id } } } }`,
		map[string]any{"id": model.EncodeGlobalID(model.TypeEvent, ev.ID)}, &out)
	if out.Node.Cursor != cursorOf(ev) || out.Node.Topic != "PAYMENT" || out.Node.Subject.ID != model.EncodeGlobalID(model.TypePayment, f.saleID) {
		t.Errorf("node = %+v", out.Node)
	}
}

// TestShutdownEndsSubscriptionsWithTheCursor: a broker that stops (the hub shutting down) ends
// its subscriptions with an error that says so and names the cursor to resume from elsewhere.
func TestShutdownEndsSubscriptionsWithTheCursor(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	broker, err := events.Start(ctx, events.Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "dashboard", auth.Dashboard)
	c := dialSubscriber(t, server.URL, "graphql-ws", key)
	c.subscribe(t, "s", paymentEventsQuery, nil)
	waitSubscribers(t, broker, 1)
	ev := appendEvent(t, db.New(pool), "payment", "test.one", "payment", 1, map[string]any{})
	if r := c.collect(t, "s", 5*time.Second, untilEvents(1)); r.events[0].rowID(t) != ev.ID {
		t.Fatalf("got %+v", r.events)
	}
	stop()
	<-broker.Done()
	r := c.collect(t, "s", 5*time.Second, func(received) bool { return false })
	if len(r.errors) != 1 || r.errors[0].Extensions["code"] != graph.CodeShuttingDown || r.errors[0].Extensions["cursor"] != cursorOf(ev) ||
		!strings.Contains(r.errors[0].Message, "the server is shutting down; reconnect with after: ") {
		t.Errorf("after the broker stopped: %+v", r)
	}
	// New subscriptions are refused the same way.
	c.subscribe(t, "t", paymentEventsQuery, nil)
	r = c.collect(t, "t", 5*time.Second, func(received) bool { return false })
	if len(r.errors) != 1 || r.errors[0].Extensions["code"] != graph.CodeShuttingDown {
		t.Errorf("subscribing to a stopped broker: %+v", r)
	}
}

// TestSubscriptionRenderingsAreSharedOnlyWhenAlike: an event is rendered once for the subscribers
// that ask for the same selection of it, and shared; each must still get exactly its own selection
// (its variables, its protocol, its filter), a burst of events must arrive whole and in order (the
// messages a subscriber has queued go out several to a write), and what goes on the wire must be
// byte for byte what encoding/json would have written.
func TestSubscriptionRenderingsAreSharedOnlyWhenAlike(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	q := db.New(pool)
	broker := startBroker(t, pool, events.Config{})
	server := liveServer(t, pool, broker)
	dashboard := newKey(t, pool, "dashboard", auth.Dashboard)
	admin := newKey(t, pool, "admin", auth.Admin)
	f := seedFixture(t, pool)

	const withSubject = `subscription { paymentEvents { kind subjectId subject { __typename id } } }`
	const maybePayload = `subscription($with: Boolean!) { paymentEvents { kind payload @include(if: $with) } }`
	const filtered = `subscription($filter: PaymentEventFilter) { paymentEvents(filter: $filter) { kind subjectId subject { __typename id } } }`
	type sub struct {
		name, proto, key, query string
		vars                    map[string]any
		recordedOnly            bool // its filter takes payment.recorded alone
	}
	subs := []sub{
		{"subject 1", "graphql-transport-ws", dashboard, withSubject, nil, false},
		{"subject 2", "graphql-transport-ws", dashboard, withSubject, nil, false},
		{"subject, graphql-ws", "graphql-ws", dashboard, withSubject, nil, false},
		{"subject, admin", "graphql-transport-ws", admin, withSubject, nil, false},
		{"payload", "graphql-transport-ws", dashboard, maybePayload, map[string]any{"with": true}, false},
		{"no payload", "graphql-transport-ws", dashboard, maybePayload, map[string]any{"with": false}, false},
		{"filtered", "graphql-transport-ws", dashboard, filtered, map[string]any{"filter": map[string]any{"kinds": []string{"payment.recorded"}}}, true},
		{"unfiltered", "graphql-transport-ws", dashboard, filtered, map[string]any{"filter": nil}, false},
	}
	clients := make([]*subClient, len(subs))
	for i, s := range subs {
		clients[i] = dialSubscriber(t, server.URL, s.proto, s.key)
		clients[i].subscribe(t, "1", s.query, s.vars)
	}
	// A raw socket, to see the bytes: one operation whose id encoding/json escapes, one plain.
	raw := wsConnect(t, server.URL, "graphql-transport-ws")
	rawSend := func(msg any) {
		if err := raw.WriteJSON(msg); err != nil {
			t.Fatal(err)
		}
	}
	rawSend(map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": dashboard}})
	if _, ack, err := raw.ReadMessage(); err != nil || !strings.Contains(string(ack), "connection_ack") {
		t.Fatalf("connection_init: %s %v", ack, err)
	}
	rawIDs := []string{"plain-1", `odd <id> & "quotes"`}
	for _, id := range rawIDs {
		rawSend(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{"query": maybePayload, "variables": map[string]any{"with": true}}})
	}
	waitSubscribers(t, broker, len(subs)+len(rawIDs))

	// One event, then a burst of them in one transaction: every subscriber has them all queued at once.
	const burst = 150
	appendEvent(t, q, "payment", "payment.recorded", "payment", f.saleID,
		map[string]any{"paymentId": f.saleID, "gateway": "cybersource", "note": "<b>&amp; \u2028 é"})
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range burst {
		if _, err := db.New(tx).AppendEvent(context.Background(), db.AppendEventParams{Topic: "payment", Kind: "refund.succeeded",
			SubjectType: "refund", SubjectID: int64(1000 + i), Payload: []byte(fmt.Sprintf(`{"refundId":%d,"n":%d}`, 1000+i, i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}

	saleGID := model.EncodeGlobalID(model.TypePayment, f.saleID)
	for i, s := range subs {
		want := 1 + burst
		if s.recordedOnly {
			want = 1
		}
		r := clients[i].collect(t, "1", 20*time.Second, untilEvents(want))
		if len(r.errors) > 0 {
			t.Fatalf("%s: errors %+v", s.name, r.errors)
		}
		for j, ev := range r.events {
			var wantKind string
			var wantSubject string
			switch {
			case j == 0:
				wantKind, wantSubject = "payment.recorded", saleGID
			default:
				wantKind, wantSubject = "refund.succeeded", model.EncodeGlobalID(model.TypeRefund, int64(1000+j-1))
			}
			if ev.Kind != wantKind {
				t.Fatalf("%s: event %d is %s, want %s", s.name, j, ev.Kind, wantKind)
			}
			switch s.query {
			case withSubject, filtered:
				if ev.SubjectID == nil || *ev.SubjectID != wantSubject || ev.Payload != nil {
					t.Fatalf("%s: event %d: subjectId %v, payload %s", s.name, j, ev.SubjectID, ev.Payload)
				}
				if j == 0 && (ev.Subject == nil || ev.Subject.Typename != "Payment" || ev.Subject.ID != saleGID) {
					t.Fatalf("%s: the payment's subject: %+v", s.name, ev.Subject)
				}
				if j > 0 && ev.Subject != nil { // no such refund
					t.Fatalf("%s: event %d's subject: %+v", s.name, j, ev.Subject)
				}
			case maybePayload:
				if with := s.vars["with"].(bool); with != (ev.Payload != nil) || ev.SubjectID != nil {
					t.Fatalf("%s: event %d: payload %s", s.name, j, ev.Payload)
				}
			}
		}
		if s.recordedOnly {
			time.Sleep(100 * time.Millisecond)
			if n := len(clients[i].in); n > 0 {
				t.Fatalf("%s: %d messages more than its filter takes", s.name, n)
			}
		}
	}

	// The raw socket: every "next" as encoding/json writes it, in order, for both operations.
	type message struct {
		Payload json.RawMessage `json:"payload,omitempty"`
		ID      string          `json:"id,omitempty"`
		Type    string          `json:"type"`
	}
	got := map[string]int{}
	raw.SetReadDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck
	for got[rawIDs[0]]+got[rawIDs[1]] < 2*(1+burst) {
		_, frame, err := raw.ReadMessage()
		if err != nil {
			t.Fatalf("raw socket: %v after %v", err, got)
		}
		var m message
		if err := json.Unmarshal(frame, &m); err != nil {
			t.Fatalf("%q: %v", frame, err)
		}
		if m.Type == "ping" {
			continue
		}
		var want bytes.Buffer
		json.NewEncoder(&want).Encode(m) //nolint:errcheck
		if !bytes.Equal(frame, want.Bytes()) {
			t.Fatalf("frame\n%q\nis not what encoding/json writes:\n%q", frame, want.Bytes())
		}
		if m.Type != "next" {
			t.Fatalf("message %q", frame)
		}
		n := got[m.ID]
		wantKind := "refund.succeeded"
		if n == 0 {
			wantKind = "payment.recorded"
			if !strings.Contains(string(m.Payload), `\u003cb\u003e\u0026amp; \u2028 é`) {
				t.Errorf("the payload, escaped as encoding/json does: %s", m.Payload)
			}
		}
		if !strings.Contains(string(m.Payload), `"kind":"`+wantKind+`"`) {
			t.Fatalf("operation %q, event %d: %s", m.ID, n, m.Payload)
		}
		got[m.ID] = n + 1
	}
}

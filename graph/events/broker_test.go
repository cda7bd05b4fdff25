package events_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph/events"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

func start(t *testing.T, pool *pgxpool.Pool) *events.Broker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := events.Start(ctx, events.Config{Pool: pool, PollInterval: 50 * time.Millisecond})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-b.Done()
	})
	return b
}

func appendEvents(t *testing.T, pool *pgxpool.Pool, kinds ...string) {
	t.Helper()
	q := db.New(pool)
	for i, kind := range kinds {
		if _, err := q.AppendEvent(context.Background(), db.AppendEventParams{Topic: "payment", Kind: kind,
			SubjectType: "payment", SubjectID: int64(i + 1), Payload: []byte(`{"n":` + strconv.Itoa(i) + `}`)}); err != nil {
			t.Fatal(err)
		}
	}
}

func next(t *testing.T, sub *events.Subscription) *events.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestSubscriptionReadsWithoutAGoroutine: Subscribe joins at once, Next gives the events in order
// (from the log first when it starts at a cursor), Pending says when one is ready, and Close
// ends a Next that waits and takes the subscriber out of the broker.
func TestSubscriptionReadsWithoutAGoroutine(t *testing.T) {
	pool := dbtest.New(t)
	appendEvents(t, pool, "old.1", "old.2")
	b := start(t, pool)

	live := b.Subscribe(events.Request{Topic: "payment"})
	replay := b.Subscribe(events.Request{Topic: "payment", After: &events.Position{},
		Match: func(ev *events.Event) bool { return ev.Kind != "old.2" }})
	if live.Pending() {
		t.Fatal("pending before any event")
	}
	appendEvents(t, pool, "new.1", "new.2")
	deadline := time.Now().Add(10 * time.Second)
	for !live.Pending() {
		if time.Now().After(deadline) {
			t.Fatal("the new events never queued")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"new.1", "new.2"} {
		if ev := next(t, live); ev.Kind != want {
			t.Fatalf("live: %s, want %s", ev.Kind, want)
		}
	}
	if live.Pending() {
		t.Fatal("pending after the last event")
	}
	for _, want := range []string{"old.1", "new.1", "new.2"} {
		if ev := next(t, replay); ev.Kind != want {
			t.Fatalf("replay: %s, want %s", ev.Kind, want)
		}
	}
	if n := b.Stats().Subscribers; n != 1 { // the replay joins on the Next after its last page
		t.Fatalf("%d subscribers, want 1", n)
	}

	waited := make(chan error, 1)
	go func() {
		_, err := live.Next(context.Background())
		waited <- err
	}()
	time.Sleep(50 * time.Millisecond)
	live.Close()
	select {
	case err := <-waited:
		var cut *events.CutOffError
		if err == nil || errors.As(err, &cut) {
			t.Fatalf("Next after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the Next waiting")
	}
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	if _, err := replay.Next(short); !errors.Is(err, context.DeadlineExceeded) { // joins, then waits
		t.Fatalf("replay: %v", err)
	}
	if n := b.Stats().Subscribers; n != 1 {
		t.Fatalf("%d subscribers, want the replay's", n)
	}
	replay.Close()
	replay.Close()
	if n := b.Stats().Subscribers; n != 0 {
		t.Fatalf("%d subscribers after Close, want 0", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Subscribe(events.Request{Topic: "payment"}).Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with an ended context: %v", err)
	}
}

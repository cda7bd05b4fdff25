package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph/auth"
)

// TestServeStreamsEventsToSubscribers: `hub serve` runs the event broker, so an event written to
// the log by anyone reaches a websocket subscriber of /graphql.
func TestServeStreamsEventsToSubscribers(t *testing.T) {
	bin := buildHub(t)
	dir := dataDir(t)
	addr := freeAddr(t)
	url := dbtest.NewURL(t)
	cmd, logs, _ := serve(t, bin, dir, addr, "DATABASE_URL="+url)

	ctx := context.Background()
	pool, err := db.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	key, _, err := auth.CreateKey(ctx, db.New(pool), "dashboard", auth.Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := dialer.Dial("ws://"+addr+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck
	type message struct {
		Type    string          `json:"type"`
		ID      string          `json:"id"`
		Payload json.RawMessage `json:"payload"`
	}
	// read returns the next message that is not a keep-alive.
	read := func() (message, error) {
		for {
			var m message
			if err := conn.ReadJSON(&m); err != nil {
				return m, err
			}
			if m.Type != "ping" && m.Type != "pong" {
				return m, nil
			}
		}
	}
	conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": key}}) //nolint:errcheck
	if m, err := read(); err != nil || m.Type != "connection_ack" {
		t.Fatalf("connection_init: %+v %v; log:\n%s", m, err, logs.String())
	}
	conn.WriteJSON(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{ //nolint:errcheck
		"query": `subscription { paymentEvents { kind payload } }`}})

	// The subscription is live once the broker has it; an event written before that is not for
	// it, so events are written until one arrives.
	type result struct {
		m   message
		err error
	}
	got := make(chan result, 1)
	go func() {
		m, err := read()
		got <- result{m, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := db.New(pool).AppendEvent(ctx, db.AppendEventParams{Topic: "payment", Kind: "test.serve",
			SubjectType: "payment", SubjectID: 1, Payload: []byte(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-got:
			if r.err != nil || r.m.Type != "next" || !strings.Contains(string(r.m.Payload), `"kind":"test.serve"`) {
				t.Fatalf("got %+v %v; log:\n%s", r.m, r.err, logs.String())
			}
			interrupt(t, cmd, logs)
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event reached the subscriber; log:\n%s", logs.String())
		}
	}
}

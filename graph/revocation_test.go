package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
)

// Revoking a key ends the websockets it opened, with 4403, on either way of authenticating them.
func TestRevokingAKeyClosesItsOpenWebsockets(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	b := newBundleWith(t, graph.HandlerConfig{Pool: pool, KeyRecheckInterval: 50 * time.Millisecond})

	for _, sub := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(sub, func(t *testing.T) {
			key := newKey(t, pool, "leaky-"+sub, auth.Dashboard)
			other := newKey(t, pool, "kept-"+sub, auth.Dashboard)
			leaky, kept := wsDial(t, b, sub), wsDial(t, b, sub)
			for conn, k := range map[*websocket.Conn]string{leaky: key, kept: other} {
				if m, err := wsInit(t, conn, map[string]any{"authorization": "Bearer " + k}); err != nil || m.Type != "connection_ack" {
					t.Fatalf("init: %+v %v", m, err)
				}
			}
			if _, err := db.New(pool).RevokeAPIKey(context.Background(), key[:len("phk_")+8]); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			leaky.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
			if code := wsClosedWith(t, leaky, wsMessage{}, nil); code != graph.WebsocketCloseForbidden {
				t.Fatalf("closed with %d, want %d", code, graph.WebsocketCloseForbidden)
			}
			// The other key's socket stays open and answers.
			kept.SetReadDeadline(time.Now().Add(500 * time.Millisecond)) //nolint:errcheck
			if m, err := wsNext(kept); err == nil && m.Type != "ka" {
				t.Fatalf("the kept socket got %+v", m)
			} else if err != nil {
				if ne, ok := err.(interface{ Timeout() bool }); !ok || !ne.Timeout() {
					t.Fatalf("the kept socket ended: %v", err)
				}
			}
		})
	}
}

package graph

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// closeWriteTimeout bounds how long a close frame may take to write to a slow peer.
const closeWriteTimeout = 5 * time.Second

// writeTimeout bounds how long one message may take to write. A peer that reads nothing for that
// long is gone or wedged: the socket is closed rather than left holding a writer (and, behind
// it, the events queued for it) forever.
const writeTimeout = 10 * time.Second

// writeBuffers lends write buffers to sockets while they write, instead of each idle socket
// keeping one of its own.
var writeBuffers = &sync.Pool{}

// GorillaWebsocket plugs gorilla/websocket into gqlgen's websocket transport (gqlgen's default is
// coder/websocket). CheckOrigin decides which browser origins may open a subscription; nil allows
// any origin, which suits API clients that authenticate with a key rather than a cookie.
type GorillaWebsocket struct {
	CheckOrigin func(r *http.Request) bool
}

var _ transport.WebsocketImplementation = GorillaWebsocket{}

// Accept upgrades the request, negotiating one of gqlgen's GraphQL subprotocols.
func (g GorillaWebsocket) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	checkOrigin := g.CheckOrigin
	if checkOrigin == nil {
		checkOrigin = func(*http.Request) bool { return true }
	}
	upgrader := websocket.Upgrader{
		Subprotocols:      opts.Subprotocols,
		CheckOrigin:       checkOrigin,
		EnableCompression: true,
		WriteBufferPool:   writeBuffers,
	}
	conn, err := upgrader.Upgrade(w, r, opts.ResponseHeader)
	if err != nil {
		return nil, err
	}
	return &gorillaConn{conn: conn}, nil
}

// gorillaConn serialises writes: gorilla allows one concurrent writer, and the transport writes
// keep-alives from its own goroutine.
type gorillaConn struct {
	conn *websocket.Conn
	mu   sync.Mutex
}

var (
	_ transport.WebsocketConn          = (*gorillaConn)(nil)
	_ transport.WebsocketReadLimiter   = (*gorillaConn)(nil)
	_ transport.WebsocketReadDeadliner = (*gorillaConn)(nil)
)

func (c *gorillaConn) Close() error { return c.conn.Close() }

func (c *gorillaConn) NextReader() (int, io.Reader, error) {
	typ, r, err := c.conn.NextReader()
	var closeErr *websocket.CloseError
	if errors.As(err, &closeErr) && (closeErr.Code == websocket.CloseNormalClosure ||
		closeErr.Code == websocket.CloseGoingAway || closeErr.Code == websocket.CloseNoStatusReceived) {
		return typ, nil, transport.ErrWebsocketClosed
	}
	return typ, r, err
}

// WriteJSON writes one message within writeTimeout; failing that, the socket is closed, which
// ends its read loop and with it the connection's subscriptions.
func (c *gorillaConn) WriteJSON(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(writeTimeout)) //nolint:errcheck
	err := c.conn.WriteJSON(v)
	if err != nil {
		c.conn.Close() //nolint:errcheck
	}
	return err
}

func (c *gorillaConn) WriteClose(code int, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, message),
		time.Now().Add(closeWriteTimeout))
}

func (c *gorillaConn) Subprotocol() string { return c.conn.Subprotocol() }

func (c *gorillaConn) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

func (c *gorillaConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

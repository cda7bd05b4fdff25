package graph

import (
	"bufio"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
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

// writeDeadlineSlack is how far a socket's write deadline may lag: it is moved at most once a
// second (setting one costs a timer update), so a message gets between writeTimeout less that
// and writeTimeout.
const writeDeadlineSlack = time.Second

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
	// No permessage-deflate: the messages are a few hundred bytes, and a subscription's fan-out
	// would pay a compression pass per message per subscriber.
	upgrader := websocket.Upgrader{
		Subprotocols:    opts.Subprotocols,
		CheckOrigin:     checkOrigin,
		WriteBufferPool: writeBuffers,
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("websocket: the response does not implement http.Hijacker")
	}
	cw := &coalescingWriter{ResponseWriter: w, hijacker: hj}
	conn, err := upgrader.Upgrade(cw, r, opts.ResponseHeader)
	if err != nil {
		return nil, err
	}
	c := &gorillaConn{conn: conn, net: cw.conn}
	if link, _ := r.Context().Value(socketLinkKey{}).(*socketLink); link != nil {
		link.conn.Store(c)
	}
	return c, nil
}

// gorillaConn serialises writes: gorilla allows one concurrent writer, and the transport writes
// keep-alives from its own goroutine.
type gorillaConn struct {
	conn *websocket.Conn
	net  *coalescingConn // what conn writes to; nil if the upgrade did not go through it
	mu   sync.Mutex
	// more is set when another message is about to follow the next one (see moreToWrite).
	more atomic.Bool
	// deadline is the write deadline messages are written with (under mu).
	deadline time.Time
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
	if now := time.Now(); c.deadline.Sub(now) < writeTimeout-writeDeadlineSlack {
		c.deadline = now.Add(writeTimeout)
		c.conn.SetWriteDeadline(c.deadline) //nolint:errcheck
	}
	if c.net != nil && c.more.Swap(false) {
		c.net.hold.Store(true)
		defer c.net.hold.Store(false)
	}
	var err error
	buf := frameBuffers.Get().(*[]byte)
	if msg, ok := appendDataMessage((*buf)[:0], v); ok {
		err = c.conn.WriteMessage(websocket.TextMessage, msg)
		*buf = msg
	} else {
		err = c.conn.WriteJSON(v)
	}
	if cap(*buf) <= maxPooledFrame {
		frameBuffers.Put(buf)
	}
	if err != nil {
		c.conn.Close() //nolint:errcheck
	}
	return err
}

// ---- fewer writes: a message that another follows waits for it ----
//
// A subscriber that has fallen behind has events queued; writing each in a write of its own makes
// the hub pay a system call (and the client a read) per event just when it can least afford them.
// So when the subscription knows another event is ready (websocketExtension tells the socket,
// moreToWrite), its message is held in the socket's buffer and goes out with the next write that
// is not held: one system call for a run of messages. Whatever holds a message promises another
// write soon, from the same operation (its next event, or the error or complete that ends it);
// any write not held (a ping, a close, another operation's message) sends what is held too.

// maxHeld bounds what a socket holds (a dozen messages of a few hundred bytes): a write that
// would take it past goes out at once, with what is held.
const maxHeld = 4 << 10

// heldBuffers lends the buffers of held messages, so that a socket with nothing held keeps none.
var heldBuffers = sync.Pool{New: func() any { b := make([]byte, 0, maxHeld); return &b }}

// socketLink ties an upgrade request (and so every operation on its socket, whose contexts derive
// from the request's) to the socket made of it; markWebsocket adds it to the request's context.
type socketLink struct{ conn atomic.Pointer[gorillaConn] }

type socketLinkKey struct{}

// moreToWrite tells the socket that its next message is not its last: another follows at once.
func (l *socketLink) moreToWrite() {
	if c := l.conn.Load(); c != nil && c.net != nil {
		c.more.Store(true)
	}
}

// coalescingWriter hands gorilla, on Hijack, the connection wrapped in a coalescingConn.
type coalescingWriter struct {
	http.ResponseWriter
	hijacker http.Hijacker
	conn     *coalescingConn
}

func (w *coalescingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := w.hijacker.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &coalescingConn{Conn: nc}
	return w.conn, brw, nil
}

// coalescingConn holds what is written while hold is set, and writes it ahead of the next write
// made without it, in one system call (writev) where the connection allows. It also passes on a
// write deadline only when it changes: gorilla sets one before every frame.
type coalescingConn struct {
	net.Conn
	hold atomic.Bool
	mu   sync.Mutex
	held *[]byte

	deadlineMu    sync.Mutex
	writeDeadline time.Time // the connection's, when deadlineSet
	deadlineSet   bool
}

func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	if c.deadlineSet && t.Equal(c.writeDeadline) {
		return nil
	}
	err := c.Conn.SetWriteDeadline(t)
	c.writeDeadline, c.deadlineSet = t, err == nil
	return err
}

func (c *coalescingConn) SetDeadline(t time.Time) error {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	err := c.Conn.SetDeadline(t)
	c.writeDeadline, c.deadlineSet = t, err == nil
	return err
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	heldLen := 0
	if c.held != nil {
		heldLen = len(*c.held)
	}
	if c.hold.Load() && heldLen+len(p) <= maxHeld {
		if c.held == nil {
			c.held = heldBuffers.Get().(*[]byte)
		}
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	if c.held == nil {
		return c.Conn.Write(p)
	}
	held := c.held
	c.held = nil
	bufs := net.Buffers{*held, p}
	_, err := bufs.WriteTo(c.Conn)
	*held = (*held)[:0]
	heldBuffers.Put(held)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// ---- the messages that carry events, without a second JSON encoding ----
//
// gqlgen hands WriteJSON a struct {Payload json.RawMessage; ID string; Type T} (graphql-transport-ws
// and graphql-ws alike) whose payload it has just encoded with json.Marshal. encoding/json would
// scan and copy that payload once more: for the messages of subscriptions ("next", "data"), which
// are nearly all of them, appendDataMessage writes the same bytes directly; anything else, or any
// shape it does not recognise, goes through encoding/json.

// frameBuffers lends the buffers messages are put together in.
var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledFrame bounds the buffers kept in frameBuffers.
const maxPooledFrame = 64 << 10

// messageLayout is where a message struct's fields are; nil for a type that is not one.
type messageLayout struct{ payload, id, typ int }

var messageLayouts sync.Map // reflect.Type → *messageLayout

var rawMessageType = reflect.TypeFor[json.RawMessage]()

func layoutOf(t reflect.Type) *messageLayout {
	if l, ok := messageLayouts.Load(t); ok {
		return l.(*messageLayout)
	}
	l := findLayout(t)
	messageLayouts.Store(t, l)
	return l
}

// findLayout accepts a struct whose only encoded fields are, in this order, Payload
// (json.RawMessage, "payload,omitempty"), ID (string, "id,omitempty") and Type (a string type
// whose text is itself, "type").
func findLayout(t reflect.Type) *messageLayout {
	if t.Kind() != reflect.Struct {
		return nil
	}
	want := []struct {
		name, tag string
		ok        func(reflect.Type) bool
	}{
		{"Payload", "payload,omitempty", func(ft reflect.Type) bool { return ft == rawMessageType }},
		{"ID", "id,omitempty", func(ft reflect.Type) bool { return ft == reflect.TypeFor[string]() }},
		{"Type", "type", func(ft reflect.Type) bool {
			if ft.Kind() != reflect.String {
				return false
			}
			v := reflect.New(ft).Elem()
			v.SetString("next")
			m, ok := v.Interface().(encoding.TextMarshaler)
			if !ok {
				return false
			}
			text, err := m.MarshalText()
			return err == nil && string(text) == "next"
		}},
	}
	var idx []int
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		n := len(idx)
		if n == len(want) || f.Name != want[n].name || f.Tag.Get("json") != want[n].tag || !want[n].ok(f.Type) {
			return nil
		}
		idx = append(idx, i)
	}
	if len(idx) != len(want) {
		return nil
	}
	return &messageLayout{payload: idx[0], id: idx[1], typ: idx[2]}
}

// appendDataMessage appends v, a "next" or "data" message, to b as encoding/json would write it
// (json.Encoder: HTML-safe, with a final newline); ok is false for any other message, which
// encoding/json is to write.
func appendDataMessage(b []byte, v any) (_ []byte, ok bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return b, false
	}
	l := layoutOf(rv.Type())
	if l == nil {
		return b, false
	}
	typ, id := rv.Field(l.typ).String(), rv.Field(l.id).String()
	payload := rv.Field(l.payload).Bytes()
	// The payload is json.Marshal's output: compact and HTML-safe already, as encoding/json would
	// make it. An id is copied as is when no character of it needs escaping.
	if typ != "next" && typ != "data" || len(payload) == 0 || id == "" || !plainJSONString(id) {
		return b, false
	}
	b = append(b, `{"payload":`...)
	b = append(b, payload...)
	b = append(b, `,"id":"`...)
	b = append(b, id...)
	b = append(b, `","type":"`...)
	b = append(b, typ...)
	return append(b, "\"}\n"...), true
}

// plainJSONString says whether s is written as is between quotes by encoding/json.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
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

// Package events streams the hub's event log (the events table) to live subscribers.
//
// One Broker serves a whole hub process. It LISTENs for the log's notification (channel
// payhub_events, sent by a trigger when a transaction that appended events commits) on one
// connection of its own, and on each notification reads the new events once, in commit-safe order
// (db.ListEventsAfter: by (xact_id, id), only what no running transaction can still precede), and
// hands each to the subscribers whose topic and filter match. Replicas share nothing but the
// database: each one's broker reads the same log, so an event committed through any replica
// reaches the subscribers of every replica.
//
// A subscriber that starts from a cursor is first served from the log directly, a page at a time
// at its own pace, until it has caught up with the broker; it then joins the live fan-out at the
// broker's position, so nothing falls between the two and nothing is sent twice.
//
// Memory is bounded: a subscriber has a queue of at most Config.Buffer events (grown as needed, so
// a subscriber that keeps up holds next to nothing); one that lets it fill is cut off with a
// *CutOffError naming the cursor to resume from, never buffered further. Events are shared, not
// copied, between subscribers.
//
// If the LISTEN connection drops, the broker reconnects with backoff and reads from its last
// position, so nothing committed meanwhile is missed; it also reads every PollInterval without a
// notification, and shortly again while events are committed but not yet readable (an older
// transaction still running), as their notification has already been sent.
package events

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/db"
)

// Channel is the notification channel of the events table's trigger (migration 00001).
const Channel = "payhub_events"

// Defaults of Config.
const (
	BufferDefault       = 1024
	PageSizeDefault     = 500
	PollIntervalDefault = time.Second
	// ApplicationName names the broker's LISTEN connection in pg_stat_activity.
	ApplicationName = "payhub-events"
)

const (
	// pendingPollMin is the first re-read while committed events cannot be read yet; it doubles
	// up to pendingPollMax (or the poll interval, when shorter).
	pendingPollMin = 5 * time.Millisecond
	pendingPollMax = 500 * time.Millisecond
	// replayPageMax bounds the page a replaying subscriber reads and holds while it sends it at
	// its own pace: many subscribers resuming at once hold that many events each.
	replayPageMax    = 100
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 10 * time.Second
	readBackoffMax   = 5 * time.Second
)

// Position is a place in the log: the writing transaction's id and the event's id, the order
// db.ListEventsAfter reads in. The zero Position is before every event.
type Position struct {
	Xact uint64
	ID   int64
}

// After says whether p comes after q in the log.
func (p Position) After(q Position) bool {
	return p.Xact > q.Xact || (p.Xact == q.Xact && p.ID > q.ID)
}

// cursorPrefix versions the cursor's text.
const cursorPrefix = "ev1:"

// Cursor is p's opaque text form, as the API hands it out.
func (p Position) Cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(p.Xact, 10) + ":" + strconv.FormatInt(p.ID, 10)))
}

// ErrInvalidCursor reports a cursor the API did not issue.
var ErrInvalidCursor = errors.New("events: not an event cursor")

// ParseCursor reads a Cursor.
func ParseCursor(s string) (Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Position{}, ErrInvalidCursor
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return Position{}, ErrInvalidCursor
	}
	xs, is, ok := strings.Cut(rest, ":")
	if !ok {
		return Position{}, ErrInvalidCursor
	}
	x, err1 := strconv.ParseUint(xs, 10, 64)
	id, err2 := strconv.ParseInt(is, 10, 64)
	if err1 != nil || err2 != nil || id < 0 {
		return Position{}, ErrInvalidCursor
	}
	return Position{Xact: x, ID: id}, nil
}

// Event is one entry of the log. Subscribers share it: it must not be modified.
type Event struct {
	Position
	Cursor      string
	Topic       string
	Kind        string
	SubjectType string
	SubjectID   int64
	Payload     json.RawMessage
	OccurredAt  time.Time

	// What filters look at, read from the payload once: the gateway ("opayo", "cybersource";
	// a webhook's "source"), the payment it concerns, an anomaly's kind and severity.
	Gateway     string
	PaymentID   int64
	AnomalyKind string
	Severity    string
	// CustomerID is the customer of the payment or order the event is about, as it stood when
	// the event was written (the row's customer_id, see db.AppendEvent); 0 when none.
	CustomerID int64

	viewOnce sync.Once
	view     any
}

// View returns what makeView makes of e, made once and shared by every subscriber the event
// goes to (the API's form of it, say). makeView must be the same function on every call.
func (e *Event) View(makeView func(*Event) any) any {
	e.viewOnce.Do(func() { e.view = makeView(e) })
	return e.view
}

// FromRow makes an Event of a row of the events table.
func FromRow(r db.Event) *Event {
	pos := Position{Xact: r.XactID.Uint64, ID: r.ID}
	ev := &Event{Position: pos, Cursor: pos.Cursor(), Topic: r.Topic, Kind: r.Kind, SubjectType: r.SubjectType,
		SubjectID: r.SubjectID, Payload: r.Payload, OccurredAt: r.OccurredAt}
	var attrs struct {
		Gateway   string `json:"gateway"`
		Source    string `json:"source"`
		PaymentID int64  `json:"paymentId"`
		Kind      string `json:"kind"`
		Severity  string `json:"severity"`
	}
	if r.CustomerID != nil {
		ev.CustomerID = *r.CustomerID
	}
	_ = json.Unmarshal(r.Payload, &attrs) // a field of another type is simply not filterable
	ev.Gateway, ev.PaymentID, ev.Severity = attrs.Gateway, attrs.PaymentID, attrs.Severity
	if ev.Gateway == "" && r.Kind == "webhook.received" {
		ev.Gateway = attrs.Source
	}
	if r.Topic == "anomaly" {
		ev.AnomalyKind = attrs.Kind
	}
	return ev
}

// Config configures a Broker.
type Config struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Buffer is how many events may wait for one subscriber before it is cut off (BufferDefault).
	Buffer int
	// PageSize is how many events one read of the log takes at most (PageSizeDefault); a
	// subscriber replaying from the log reads at most 100 at a time.
	PageSize int
	// PollInterval is how often the log is read without a notification (PollIntervalDefault).
	PollInterval time.Duration
}

// CutOffError ends a subscription the broker stopped serving: the subscriber fell too far behind,
// or the broker stopped. Resume is the position after the last event the subscriber was given.
type CutOffError struct {
	Reason string
	Resume Position
	// Slow is true when the subscriber fell behind, false when the broker stopped.
	Slow bool
}

func (e *CutOffError) Error() string {
	return fmt.Sprintf("%s; reconnect with after: %q", e.Reason, e.Resume.Cursor())
}

// ErrStopped is returned by Subscription.Next once the broker has stopped.
var ErrStopped = errors.New("events: the broker has stopped")

// Request says what a subscriber wants.
type Request struct {
	// Topic is the log's topic (sync.TopicPayment, ...).
	Topic string
	// After starts the stream after this position; nil starts at the broker's current position
	// (what happens from now on).
	After *Position
	// Match filters the topic's events; nil takes all.
	Match func(*Event) bool
}

// Broker fans the log out to subscribers; see the package comment.
type Broker struct {
	cfg          Config
	logger       *slog.Logger
	queries      *db.Queries
	listenConfig *pgx.ConnConfig
	wake         chan struct{}
	done         chan struct{}

	mu      sync.Mutex
	pos     Position // everything up to here has been handed to the subscribers
	subs    map[string]map[*subscriber]struct{}
	count   int
	stopped bool

	listening atomic.Bool
	delivered atomic.Int64
	cutSlow   atomic.Int64
}

type subscriber struct {
	topic string
	match func(*Event) bool
	from  Position      // events up to here reach it from the log, not from the fan-out
	cut   chan struct{} // closed when the broker drops it; reason says why

	qmu     sync.Mutex
	queue   []*Event      // live events not yet taken
	sending int           // events taken and not yet sent; with the queue, at most Config.Buffer
	spare   []*Event      // the last batch taken, reused
	ready   chan struct{} // signalled when the queue gains events
	// reason is written under Broker.mu before cut is closed.
	reason string
	slow   bool
	closed bool // under Broker.mu: Subscription.Close was called; it must not join again
}

// Start reads the log's head (the position live subscribers start from), then runs the broker
// until ctx ends; Done is closed once it has stopped and cut every subscriber off.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if cfg.Pool == nil {
		return nil, errors.New("events: Config.Pool is required")
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = BufferDefault
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = PageSizeDefault
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = PollIntervalDefault
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	listenConfig := cfg.Pool.Config().ConnConfig.Copy()
	listenConfig.RuntimeParams["application_name"] = ApplicationName
	b := &Broker{cfg: cfg, logger: logger, queries: db.New(cfg.Pool), listenConfig: listenConfig,
		wake: make(chan struct{}, 1), done: make(chan struct{}), subs: map[string]map[*subscriber]struct{}{}}
	head, err := b.queries.LastReadableEvent(ctx)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("events: read the log's head: %w", err)
	default:
		b.pos = Position{Xact: head.XactID.Uint64, ID: head.ID}
	}
	listenerDone := make(chan struct{})
	go func() {
		defer close(listenerDone)
		b.listen(ctx)
	}()
	go func() {
		b.read(ctx)
		<-listenerDone
		b.stop()
	}()
	return b, nil
}

// Done is closed when the broker has stopped.
func (b *Broker) Done() <-chan struct{} { return b.done }

// Stats are the broker's counters.
type Stats struct {
	Subscribers int
	// Delivered counts events handed to subscribers' queues; CutSlow the subscribers cut off for
	// falling behind.
	Delivered, CutSlow int64
	// Listening is true while the LISTEN connection is up.
	Listening bool
}

// Stats reports the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	n := b.count
	b.mu.Unlock()
	return Stats{Subscribers: n, Delivered: b.delivered.Load(), CutSlow: b.cutSlow.Load(), Listening: b.listening.Load()}
}

// Subscription is one subscriber's stream, read with Next by one goroutine at a time (the reader
// needs no goroutine of its own: a subscriber is its queue and this cursor over it).
type Subscription struct {
	b     *Broker
	topic string
	match func(*Event) bool
	s     *subscriber
	phase phase
	err   error // sticky: what Next returns once the stream has ended

	// Replaying from the log: pos is how far it has been read, head where the fan-out took over,
	// more that another page is to be read in this phase.
	pos, head Position
	more      bool
	// The events read (a page of the log, or a batch of the live queue) not yet given out.
	batch []*Event
	next  int
	// owed: the last event given out came from the live queue and is not yet counted as sent.
	owed   bool
	last   Position    // the position of the last event given out, or where the stream began
	closed atomic.Bool // Close was called
}

type phase int

const (
	phaseCatchUp phase = iota // reading the log a page at a time, not yet in the fan-out
	phaseJoin                 // in the fan-out; reading what lies between the replay and it
	phaseLive                 // reading the queue the fan-out fills
)

// errClosed is what Next returns after Close.
var errClosed = errors.New("events: the subscription is closed")

// Subscribe starts a subscriber's stream: the events of req.Topic after req.After that req.Match
// takes, in log order, read with Next. Without req.After it joins the fan-out at once, so it
// misses nothing committed from now on. Close ends it.
func (b *Broker) Subscribe(req Request) *Subscription {
	match := req.Match
	if match == nil {
		match = func(*Event) bool { return true }
	}
	sub := &Subscription{b: b, topic: req.Topic, match: match,
		s: &subscriber{topic: req.Topic, match: match, cut: make(chan struct{}), ready: make(chan struct{}, 1)}}
	if req.After == nil {
		start, err := b.register(sub.s, nil)
		sub.err, sub.last, sub.phase = err, start, phaseLive
		return sub
	}
	// Catch up from the log, a page at a time, until a page comes back short: the subscriber is
	// then about where the broker is.
	sub.pos, sub.last, sub.phase, sub.more = *req.After, *req.After, phaseCatchUp, true
	return sub
}

// Next returns the stream's next event, waiting for one as long as ctx lasts. It fails with
// ctx.Err() when ctx ends, with a *CutOffError when the broker cut the subscriber off (it fell
// behind, or the broker stopped), with ErrStopped when the broker had stopped before the
// subscriber could join it; once it has failed, it fails the same way ever after. An event
// returned by Next counts as sent (against Config.Buffer) when Next is called again.
func (sub *Subscription) Next(ctx context.Context) (*Event, error) {
	if sub.err == nil && sub.closed.Load() {
		sub.fail(errClosed)
	}
	if sub.err != nil {
		return nil, sub.err
	}
	if sub.owed {
		sub.owed = false
		sub.s.sent()
	}
	for {
		if sub.next < len(sub.batch) {
			if sub.phase == phaseLive {
				select {
				case <-sub.s.cut:
					return nil, sub.fail(sub.b.cutOff(sub.s, sub.last))
				default:
				}
				sub.owed = true
			}
			ev := sub.batch[sub.next]
			sub.batch[sub.next] = nil
			sub.next++
			sub.last = ev.Position
			return ev, nil
		}
		var err error
		switch sub.phase {
		case phaseCatchUp:
			if !sub.more {
				// Join the fan-out at the broker's position, then read what lies between (a few
				// events at most) from the log. The fan-out skips what the replay has sent.
				sub.head, err = sub.b.register(sub.s, &sub.pos)
				sub.phase, sub.more = phaseJoin, sub.head.After(sub.pos)
				break
			}
			var n int
			sub.batch, n, _, err = sub.b.readPage(ctx, sub.topic, &sub.pos, nil, sub.match)
			sub.next, sub.more = 0, n >= sub.b.replayPage()
		case phaseJoin:
			if !sub.more || !sub.head.After(sub.pos) {
				sub.batch, sub.next, sub.phase = nil, 0, phaseLive
				break
			}
			var n int
			var reached bool
			sub.batch, n, reached, err = sub.b.readPage(ctx, sub.topic, &sub.pos, &sub.head, sub.match)
			sub.next, sub.more = 0, !reached && n >= sub.b.replayPage()
		case phaseLive:
			if sub.batch != nil {
				sub.s.recycle(sub.batch)
			}
			sub.batch, sub.next = sub.s.take(), 0
			if len(sub.batch) > 0 {
				break
			}
			sub.batch = nil
			select {
			case <-sub.s.cut:
				err = sub.b.cutOff(sub.s, sub.last)
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-sub.s.ready:
				if sub.closed.Load() {
					err = errClosed
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, sub.fail(err)
		}
	}
}

// Pending says whether Next has an event to return at once, without waiting or reading the log.
func (sub *Subscription) Pending() bool {
	if sub.err != nil {
		return false
	}
	if sub.next < len(sub.batch) {
		return true
	}
	if sub.phase != phaseLive {
		return false
	}
	sub.s.qmu.Lock()
	defer sub.s.qmu.Unlock()
	return len(sub.s.queue) > 0
}

func (sub *Subscription) fail(err error) error {
	sub.err = err
	sub.batch, sub.next = nil, 0
	return err
}

// Close takes the subscriber out of the fan-out; Next fails from then on. It may be called from
// any goroutine, also while Next runs, and more than once.
func (sub *Subscription) Close() {
	b := sub.b
	b.mu.Lock()
	defer b.mu.Unlock()
	sub.closed.Store(true)
	sub.s.closed = true
	b.dropLocked(sub.s)
	select { // wake a Next waiting for events
	case sub.s.ready <- struct{}{}:
	default:
	}
}

// push queues ev for s unless s already has limit events waiting (queued or being sent).
func (s *subscriber) push(ev *Event, limit int) (waiting int, ok bool) {
	s.qmu.Lock()
	n := len(s.queue) + s.sending
	if n >= limit {
		s.qmu.Unlock()
		return n, false
	}
	s.queue = append(s.queue, ev)
	s.qmu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
	return n + 1, true
}

// take empties the queue; the events taken count as waiting until each is sent.
func (s *subscriber) take() []*Event {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	batch := s.queue
	s.queue, s.spare = s.spare, nil
	s.sending = len(batch)
	return batch
}

// sent counts one taken event as sent.
func (s *subscriber) sent() {
	s.qmu.Lock()
	s.sending--
	s.qmu.Unlock()
}

// recycle keeps a sent batch's array for the next one, unless a burst made it large.
func (s *subscriber) recycle(batch []*Event) {
	clear(batch)
	if cap(batch) > 64 {
		return
	}
	s.qmu.Lock()
	if s.spare == nil {
		s.spare = batch[:0]
	}
	s.qmu.Unlock()
}

func (b *Broker) cutOff(s *subscriber, last Position) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &CutOffError{Reason: s.reason, Resume: last, Slow: s.slow}
}

// readPage reads one page of topic's events after *pos from the log, stopping after upTo when
// given (reached says it got there), and returns those match takes; n is the page's length.
// *pos advances over every event read.
func (b *Broker) readPage(ctx context.Context, topic string, pos, upTo *Position, match func(*Event) bool) (evs []*Event, n int, reached bool, err error) {
	rows, err := b.queries.ListEventsAfter(ctx, db.ListEventsAfterParams{
		AfterXactID: pgtype.Uint64{Uint64: pos.Xact, Valid: true}, AfterID: pos.ID,
		Topics: []string{topic}, RowLimit: int32(b.replayPage())})
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, false, ctx.Err()
		}
		return nil, 0, false, fmt.Errorf("events: replay from the log: %w", err)
	}
	for _, row := range rows {
		ev := FromRow(row)
		if upTo != nil && ev.Position.After(*upTo) {
			return evs, len(rows), true, nil
		}
		*pos = ev.Position
		if match(ev) {
			evs = append(evs, ev)
		}
	}
	if upTo != nil && !upTo.After(*pos) {
		reached = true
	}
	return evs, len(rows), reached, nil
}

func (b *Broker) replayPage() int { return min(b.cfg.PageSize, replayPageMax) }

// register adds s to the fan-out from the broker's position on, or from *after when that is
// further; it returns the broker's position.
func (b *Broker) register(s *subscriber, after *Position) (Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return Position{}, ErrStopped
	}
	if s.closed {
		return Position{}, errClosed
	}
	s.from = b.pos
	if after != nil && after.After(s.from) {
		s.from = *after
	}
	set := b.subs[s.topic]
	if set == nil {
		set = map[*subscriber]struct{}{}
		b.subs[s.topic] = set
	}
	set[s] = struct{}{}
	b.count++
	return b.pos, nil
}

func (b *Broker) dropLocked(s *subscriber) bool {
	set := b.subs[s.topic]
	if _, ok := set[s]; !ok {
		return false
	}
	delete(set, s)
	b.count--
	return true
}

// cutLocked drops s and tells it why.
func (b *Broker) cutLocked(s *subscriber, reason string, slow bool) {
	if !b.dropLocked(s) {
		return
	}
	s.reason, s.slow = reason, slow
	close(s.cut)
}

// dispatch hands events, in log order, to the subscribers that want them.
func (b *Broker) dispatch(evs []*Event) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var delivered int64
	for _, ev := range evs {
		for s := range b.subs[ev.Topic] {
			if !ev.Position.After(s.from) || !s.match(ev) {
				continue
			}
			if n, ok := s.push(ev, b.cfg.Buffer); ok {
				delivered++
			} else {
				b.cutSlow.Add(1)
				b.cutLocked(s, fmt.Sprintf("subscriber too slow: more than %d events behind", n), true)
				b.logger.Info("events: cut off a subscriber that fell behind", "topic", s.topic, "behind", n+1)
			}
		}
		b.pos = ev.Position
	}
	b.delivered.Add(delivered)
}

// stop cuts every subscriber off and marks the broker stopped.
func (b *Broker) stop() {
	b.mu.Lock()
	b.stopped = true
	for _, set := range b.subs {
		for s := range set {
			b.cutLocked(s, "the server is shutting down", false)
		}
	}
	b.mu.Unlock()
	close(b.done)
}

// kick asks the reader to read the log now.
func (b *Broker) kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// read is the reader: it reads the log when kicked, when committed events wait to become
// readable, and every PollInterval.
func (b *Broker) read(ctx context.Context) {
	timer := time.NewTimer(b.cfg.PollInterval)
	defer timer.Stop()
	pendingWait, failures := time.Duration(0), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		case <-timer.C:
		}
		pending, err := b.catchUp(ctx)
		next := b.cfg.PollInterval
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			next = min(listenBackoffMin<<min(failures, 10), readBackoffMax)
			b.logger.Warn("events: reading the log failed; retrying", "err", err, "in", next)
		case pending:
			failures = 0
			pendingWait = min(max(2*pendingWait, pendingPollMin), pendingPollMax, b.cfg.PollInterval)
			next = pendingWait
		default:
			failures, pendingWait = 0, 0
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// catchUp reads and dispatches everything readable; pending says committed events wait behind
// a transaction still running.
func (b *Broker) catchUp(ctx context.Context) (pending bool, err error) {
	b.mu.Lock()
	pos := b.pos
	b.mu.Unlock()
	for {
		rows, err := b.queries.ListEventsAfter(ctx, db.ListEventsAfterParams{
			AfterXactID: pgtype.Uint64{Uint64: pos.Xact, Valid: true}, AfterID: pos.ID, RowLimit: int32(b.cfg.PageSize)})
		if err != nil {
			return false, err
		}
		evs := make([]*Event, len(rows))
		for i, row := range rows {
			evs[i] = FromRow(row)
		}
		b.dispatch(evs)
		if len(evs) > 0 {
			pos = evs[len(evs)-1].Position
		}
		if len(rows) < b.cfg.PageSize {
			break
		}
	}
	return b.queries.HasEventsAfter(ctx, db.HasEventsAfterParams{
		AfterXactID: pgtype.Uint64{Uint64: pos.Xact, Valid: true}, AfterID: pos.ID})
}

// listen keeps a LISTEN connection up, kicking the reader on every notification and whenever it
// (re)connects, so that what committed while it was down is read.
func (b *Broker) listen(ctx context.Context) {
	backoff := listenBackoffMin
	for {
		wasUp, err := b.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if wasUp { // it had been up: start the backoff over
			backoff = listenBackoffMin
		}
		b.logger.Warn("events: the LISTEN connection failed; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

func (b *Broker) listenOnce(ctx context.Context) (wasUp bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, b.listenConfig)
	if err != nil {
		return false, err
	}
	defer func() {
		b.listening.Store(false)
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx) //nolint:errcheck
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return false, err
	}
	b.listening.Store(true)
	b.kick()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		b.kick()
	}
}

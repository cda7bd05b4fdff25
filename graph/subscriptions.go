package graph

// Subscriptions: paymentEvents, fraudEvents and anomalyEvents stream the event log through the
// process's events.Broker (see graph/events). A subscription takes no goroutine of its own: the
// websocket transport's goroutine for the operation asks for each response in turn, and
// websocketExtension.InterceptResponse answers it with the subscriber's next event from the broker
// (events.Subscription.Next), waiting for one as long as it takes. How a subscription ends:
//
//   - the client stops it or goes away: the context ends, and so does the stream;
//   - the client falls behind (its queue of Broker.Buffer events is full): the stream ends with
//     a GraphQL error, code SUBSCRIBER_TOO_SLOW, whose message and extensions.cursor say where to
//     resume (graphql-transport-ws "error", graphql-ws "error");
//   - the server shuts down: the same, with code SHUTTING_DOWN.
//
// Fan-out cost. One event goes to every subscriber whose filter takes it, and each of them is sent
// the same selection of it, most of the time: dashboards send the same document. So an event is
// executed (its fields resolved, its subject loaded, the result marshalled) once per distinct
// rendering, not once per subscriber: the first subscriber to reach an event renders it through
// gqlgen as usual, and the others asking for the same rendering (see renderKey) are handed the
// same bytes. A rendering with errors is never shared: each subscriber then runs its own.
// The subject (Event.subject) of an event a subscription delivers is loaded once for the event and
// shared by all its renderings; queries over the socket (node(id:), ...) still load afresh.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unique"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/jackc/pgx/v5"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/events"
	"github.com/payhub/payhub/graph/model"
)

// Error codes with which the server ends a subscription.
const (
	CodeSubscriberTooSlow = "SUBSCRIBER_TOO_SLOW"
	CodeShuttingDown      = "SHUTTING_DOWN"
)

var errNoBroker = &unavailableError{msg: "subscriptions are unavailable: this server runs without the event broker"}

var errNotWebsocket = model.BadInput("subscriptions are served over a websocket (graphql-transport-ws or graphql-ws), not plain HTTP")

// subscribe starts streaming topic's events matching match, from after (a cursor) or from now on.
// The channel it returns is fed by liveSubscription.response, one event per response.
func (r *Resolver) subscribe(ctx context.Context, topic string, after *string, match func(*events.Event) bool) (<-chan *model.Event, error) {
	if !overWebsocket(ctx) {
		return nil, errNotWebsocket
	}
	if r.Events == nil {
		return nil, errNoBroker
	}
	live := liveSubscriptionFrom(ctx)
	if live == nil || live.stream != nil { // websocketExtension is not in use: a bug
		r.Logger.ErrorContext(ctx, "graphql: a subscription without its websocket extension", "topic", topic)
		return nil, errInternal
	}
	req := events.Request{Topic: topic, Match: match}
	if after != nil {
		pos, err := events.ParseCursor(*after)
		if err != nil {
			return nil, model.BadInput("after: %q is not an event cursor of this API: pass an Event's cursor, or null to start from now", *after)
		}
		req.After = &pos
	}
	fc := graphql.GetFieldContext(ctx)
	live.stream = r.Events.Subscribe(req)
	live.out = make(chan *model.Event, 1)
	live.topic = topic
	live.resolver = r
	live.socket, _ = ctx.Value(socketLinkKey{}).(*socketLink)
	live.key = renderKeyOf(ctx, fc)
	if fc != nil {
		live.field = fc.Field.Name
	}
	// The operation's context ends when it does, however it ends (the client stops it or goes,
	// the stream ends, the server shuts down): the subscriber leaves the broker then.
	context.AfterFunc(ctx, live.stream.Close)
	return live.out, nil
}

// liveSubscription is one subscription operation on a websocket: made by websocketExtension when
// the operation starts, filled in by the resolver (Resolver.subscribe), read by each response.
// The transport runs all three on the operation's goroutine.
type liveSubscription struct {
	stream   *events.Subscription
	out      chan *model.Event // what gqlgen reads the next event from: at most the one being rendered
	key      renderHandle
	topic    string
	field    string // the subscription field, the path of the error that ends it
	resolver *Resolver
	socket   *socketLink
}

type liveSubscriptionKey struct{}

func liveSubscriptionFrom(ctx context.Context) *liveSubscription {
	live, _ := ctx.Value(liveSubscriptionKey{}).(*liveSubscription)
	return live
}

// response produces the subscription's next response: its next event, rendered by next (gqlgen
// executing the selection set) or handed over as another subscriber rendered it; nil once the
// stream has ended, with the error that ended it added for the transport to send.
func (s *liveSubscription) response(ctx context.Context, next graphql.ResponseHandler, queries *db.Queries) *graphql.Response {
	ev, err := s.stream.Next(ctx)
	if err != nil {
		s.stream.Close()
		if ctx.Err() == nil {
			transport.AddSubscriptionError(ctx, s.endError(ctx, err))
		}
		return nil
	}
	le := ev.View(eventView).(*liveEvent)
	r, mine := le.render(s.key)
	if r != nil && !mine {
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil
		}
		if r.data != nil {
			s.moreToWrite()
			return &graphql.Response{Data: r.data}
		}
		// Its renderer failed: render it here, unshared.
	}
	var data json.RawMessage
	defer func() {
		if mine {
			le.rendered(s.key, r, data) // also when next panics: waiting subscribers render it themselves
		}
	}()
	select { // empty after a response that ended early (ctx ended); full never otherwise
	case <-s.out:
	default:
	}
	s.out <- le.api
	ctx = context.WithValue(ctx, lazyLoadersKey{}, &lazyLoaders{queries: queries})
	resp := next(context.WithValue(ctx, liveEventKey{}, le))
	if resp == nil {
		return nil
	}
	if mine && len(resp.Errors) == 0 && len(resp.Extensions) == 0 && resp.Data != nil {
		// resp.Data is gqlgen's buffer, reused by the next response: the shared copy replaces it.
		data = slices.Clone(resp.Data)
		resp.Data = data
	}
	s.moreToWrite()
	return resp
}

// moreToWrite lets the response about to be written wait for the next one when the next is ready
// (see coalescingConn). It is said just before a response is returned: then the transport writes
// that response next, and this operation another message after it.
func (s *liveSubscription) moreToWrite() {
	if s.socket != nil && s.stream.Pending() {
		s.socket.moreToWrite()
	}
}

// endError is what the client is told when the stream ends with err.
func (s *liveSubscription) endError(ctx context.Context, err error) *gqlerror.Error {
	var out *gqlerror.Error
	var cut *events.CutOffError
	switch {
	case errors.As(err, &cut):
		code := CodeShuttingDown
		if cut.Slow {
			code = CodeSubscriberTooSlow
		}
		out = &gqlerror.Error{Message: cut.Error(), Extensions: map[string]any{"code": code, "cursor": cut.Resume.Cursor()}}
	case errors.Is(err, events.ErrStopped):
		out = &gqlerror.Error{Message: "the server is shutting down; reconnect to another replica or later",
			Extensions: map[string]any{"code": CodeShuttingDown}}
	default:
		s.resolver.Logger.ErrorContext(ctx, "graphql: subscription failed", "topic", s.topic, "err", err)
		out = &gqlerror.Error{Message: errInternal.Error(), Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}}
	}
	if s.field != "" {
		out.Path = ast.Path{ast.PathName(s.field)}
	}
	return out
}

// ---- sharing an event's renderings ----

// renderKey is what a subscriber's rendering of an event depends on besides the event: the
// document and operation, the values of the variables the event's selection uses (those of the
// subscription field's own arguments, the filter, decide which events come, not how they look),
// and the role of the key, which is all the authorisation (@hasRole) looks at: nothing below the
// subscription field depends on who asks, beyond the role. A resolver under Event that did would
// have to add to the key.
type renderKey struct {
	role, operation, query, variables string
}

// renderHandle is a renderKey interned: subscribers of the same document share one, cheap to
// compare. The zero renderHandle shares nothing.
type renderHandle = unique.Handle[renderKey]

func renderKeyOf(ctx context.Context, fc *graphql.FieldContext) renderHandle {
	if fc == nil || !graphql.HasOperationContext(ctx) {
		return renderHandle{}
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.RawQuery == "" {
		return renderHandle{}
	}
	key := renderKey{operation: oc.OperationName, query: oc.RawQuery, variables: "-"}
	if p := auth.PrincipalFrom(ctx); p != nil {
		key.role = string(p.Role)
	}
	if fieldUsesVariables(fc.Field.Field) {
		vars, err := json.Marshal(oc.Variables) // map keys sorted: the same values give the same text
		if err != nil {
			return renderHandle{}
		}
		key.variables = string(vars)
	}
	return unique.Make(key)
}

// fieldUsesVariables says whether f's directives or anything below it (arguments, directives,
// fragments) refers to a variable.
func fieldUsesVariables(f *ast.Field) bool {
	return f == nil || directivesUseVariables(f.Directives) || selectionsUseVariables(f.SelectionSet, 0)
}

func selectionsUseVariables(set ast.SelectionSet, depth int) bool {
	if depth > 100 { // fragments that spread each other are refused by validation; be safe anyway
		return true
	}
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			for _, arg := range sel.Arguments {
				if valueUsesVariables(arg.Value) {
					return true
				}
			}
			if directivesUseVariables(sel.Directives) || selectionsUseVariables(sel.SelectionSet, depth+1) {
				return true
			}
		case *ast.InlineFragment:
			if directivesUseVariables(sel.Directives) || selectionsUseVariables(sel.SelectionSet, depth+1) {
				return true
			}
		case *ast.FragmentSpread:
			if sel.Definition == nil || directivesUseVariables(sel.Directives) ||
				directivesUseVariables(sel.Definition.Directives) || selectionsUseVariables(sel.Definition.SelectionSet, depth+1) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

func directivesUseVariables(ds ast.DirectiveList) bool {
	for _, d := range ds {
		for _, arg := range d.Arguments {
			if valueUsesVariables(arg.Value) {
				return true
			}
		}
	}
	return false
}

func valueUsesVariables(v *ast.Value) bool {
	if v == nil {
		return false
	}
	if v.Kind == ast.Variable {
		return true
	}
	for _, c := range v.Children {
		if valueUsesVariables(c.Value) {
			return true
		}
	}
	return false
}

// eventView is what the subscribers of a broker's event share: its API form, its renderings, its
// subject.
func eventView(ev *events.Event) any {
	return &liveEvent{api: model.EventFromLog(ev), subjectLock: make(chan struct{}, 1)}
}

// liveEvent is an event as the subscriptions deliver it, shared by its subscribers; gqlgen only
// reads api. It lives as long as some subscriber's queue holds the event.
type liveEvent struct {
	api *model.Event

	mu      sync.Mutex
	renders map[renderHandle]*render

	subjectLock   chan struct{} // held while the subject loads
	subjectLoaded bool
	subject       model.Node
	subjectErr    error
}

// render is one rendering of an event: data once done is closed, nil if its renderer failed.
type render struct {
	done chan struct{}
	data json.RawMessage
}

// render returns the rendering of key, and whether the caller is to make it (mine: it must call
// rendered); nil for the zero key, which is never shared.
func (le *liveEvent) render(key renderHandle) (r *render, mine bool) {
	if key == (renderHandle{}) {
		return nil, false
	}
	le.mu.Lock()
	defer le.mu.Unlock()
	if r := le.renders[key]; r != nil {
		return r, false
	}
	if le.renders == nil {
		le.renders = make(map[renderHandle]*render, 1)
	}
	r = &render{done: make(chan struct{})}
	le.renders[key] = r
	return r, true
}

// rendered publishes r's data; nil data (a failure) lets the next subscriber try again.
func (le *liveEvent) rendered(key renderHandle, r *render, data json.RawMessage) {
	le.mu.Lock()
	r.data = data
	if data == nil {
		delete(le.renders, key)
	}
	le.mu.Unlock()
	close(r.done)
}

type liveEventKey struct{}

// sharedSubject returns the subject of the event being delivered, loading it once for all its
// subscribers. A load that failed because the caller's context ended is not kept (the next caller
// tries again); any other outcome, an error included, is the event's: thousands of subscribers
// must not each try a failing database in turn.
func (le *liveEvent) sharedSubject(ctx context.Context, load func(context.Context) (model.Node, error)) (model.Node, error) {
	select {
	case le.subjectLock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-le.subjectLock }()
	if le.subjectLoaded {
		return le.subject, le.subjectErr
	}
	node, err := load(ctx)
	if err == nil || ctx.Err() == nil {
		le.subject, le.subjectErr, le.subjectLoaded = node, err, true
	}
	return node, err
}

// liveSubject is the shared subject of obj when obj is the event a subscription is delivering in
// ctx; ok is false otherwise (a query, or an event further down).
func (r *Resolver) liveSubject(ctx context.Context, obj *model.Event) (node model.Node, ok bool, err error) {
	le, _ := ctx.Value(liveEventKey{}).(*liveEvent)
	if le == nil || le.api != obj {
		return nil, false, nil
	}
	node, err = le.sharedSubject(ctx, func(ctx context.Context) (model.Node, error) {
		return r.subject(ctx, obj.SubjectType, obj.SubjectRowID)
	})
	return node, true, err
}

// ---- websockets ----

// markWebsocket marks the requests that upgrade to a websocket with their socketLink, so that
// resolvers know the transport they run under.
func markWebsocket(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocket(r) {
			r = r.WithContext(context.WithValue(r.Context(), socketLinkKey{}, &socketLink{}))
		}
		next.ServeHTTP(w, r)
	})
}

func overWebsocket(ctx context.Context) bool {
	_, ok := ctx.Value(socketLinkKey{}).(*socketLink)
	return ok
}

// websocketExtension serves operations on websockets:
//   - each response to a query or mutation sent over the socket gets loaders of its own, made on
//     first use: the socket's request lives as long as the socket, and loaders kept that long
//     would serve stale rows and grow without bound;
//   - a subscription's operation carries a liveSubscription, through which each response takes
//     the subscriber's next event (see liveSubscription.response), and ends the stream with its
//     error.
type websocketExtension struct{ queries *db.Queries }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = websocketExtension{}

func (websocketExtension) ExtensionName() string                   { return "Websocket" }
func (websocketExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (websocketExtension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if overWebsocket(ctx) && graphql.HasOperationContext(ctx) {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
			ctx = context.WithValue(ctx, liveSubscriptionKey{}, &liveSubscription{})
		}
	}
	return next(ctx)
}

func (w websocketExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !overWebsocket(ctx) {
		return next(ctx)
	}
	if live := liveSubscriptionFrom(ctx); live != nil && live.stream != nil {
		return live.response(ctx, next, w.queries)
	}
	return next(context.WithValue(ctx, lazyLoadersKey{}, &lazyLoaders{queries: w.queries}))
}

// ---- filters ----

func kindsMatch(kinds []string) func(*events.Event) bool {
	if kinds == nil {
		return nil
	}
	return func(ev *events.Event) bool { return slices.Contains(kinds, ev.Kind) }
}

func gatewayMatch(g *model.Gateway) func(*events.Event) bool {
	if g == nil {
		return nil
	}
	want := strings.ToLower(string(*g))
	return func(ev *events.Event) bool { return ev.Gateway == want }
}

// idFilter reads a filter's global ID of one of the types allowed.
func idFilter(field string, id *string, types ...string) (typeName string, rowID int64, err error) {
	if id == nil {
		return "", 0, nil
	}
	typeName, rowID, err = model.DecodeGlobalID(*id)
	if err != nil || !slices.Contains(types, typeName) {
		return "", 0, model.BadInput("filter.%s: %q is not the ID of a %s", field, *id, strings.Join(types, " or a "))
	}
	return typeName, rowID, nil
}

func paymentMatch(field string, id *string) (func(*events.Event) bool, error) {
	_, rowID, err := idFilter(field, id, model.TypePayment)
	if err != nil || id == nil {
		return nil, err
	}
	return func(ev *events.Event) bool {
		return ev.PaymentID == rowID || (ev.SubjectType == "payment" && ev.SubjectID == rowID)
	}, nil
}

func subjectMatch(id *string, types ...string) (func(*events.Event) bool, error) {
	typeName, rowID, err := idFilter("subjectId", id, types...)
	if err != nil || id == nil {
		return nil, err
	}
	subjectType := model.StoredSubjectType(typeName)
	return func(ev *events.Event) bool { return ev.SubjectID == rowID && ev.SubjectType == subjectType }, nil
}

// allOf takes an event that every non-nil matcher takes.
func allOf(ms ...func(*events.Event) bool) func(*events.Event) bool {
	ms = slices.DeleteFunc(ms, func(m func(*events.Event) bool) bool { return m == nil })
	if len(ms) == 0 {
		return nil
	}
	return func(ev *events.Event) bool {
		for _, m := range ms {
			if !m(ev) {
				return false
			}
		}
		return true
	}
}

// customerMatch takes the events about a customer's payments and orders (events.Event.CustomerID,
// written with the event). The code is looked up once, when the subscription starts; an unknown
// code is a mistake the client is told about, not a filter that silently matches nothing.
func (r *Resolver) customerMatch(ctx context.Context, code *string) (func(*events.Event) bool, error) {
	if code == nil {
		return nil, nil
	}
	c, err := r.Queries.GetCustomerByCode(ctx, *code)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, model.BadInput("filter.customerCode: no customer has the code %q", *code)
	}
	if err != nil {
		return nil, err
	}
	id := c.ID
	return func(ev *events.Event) bool { return ev.CustomerID == id }, nil
}

// eventMatch is the matcher of paymentEvents' and fraudEvents' filters (and recentEvents' for
// those topics), which share every field but the types subjectId may name.
func (r *Resolver) eventMatch(ctx context.Context, kinds []string, gateway *model.Gateway, paymentID, subjectID, customerCode *string,
	subjectTypes ...string) (func(*events.Event) bool, error) {
	byPayment, err := paymentMatch("paymentId", paymentID)
	if err != nil {
		return nil, err
	}
	bySubject, err := subjectMatch(subjectID, subjectTypes...)
	if err != nil {
		return nil, err
	}
	byCustomer, err := r.customerMatch(ctx, customerCode)
	if err != nil {
		return nil, err
	}
	return allOf(kindsMatch(kinds), gatewayMatch(gateway), byPayment, bySubject, byCustomer), nil
}

func (r *Resolver) paymentEventMatch(ctx context.Context, f *model.PaymentEventFilter) (func(*events.Event) bool, error) {
	if f == nil {
		return nil, nil
	}
	return r.eventMatch(ctx, f.Kinds, f.Gateway, f.PaymentID, f.SubjectID, f.CustomerCode, model.TypePayment, model.TypeRefund)
}

func (r *Resolver) fraudEventMatch(ctx context.Context, f *model.FraudEventFilter) (func(*events.Event) bool, error) {
	if f == nil {
		return nil, nil
	}
	return r.eventMatch(ctx, f.Kinds, f.Gateway, f.PaymentID, f.SubjectID, f.CustomerCode, model.TypeFraudReview)
}

func anomalyEventMatch(f *model.AnomalyEventFilter) (func(*events.Event) bool, error) {
	if f == nil {
		return nil, nil
	}
	bySubject, err := subjectMatch(f.SubjectID, model.TypeAnomaly)
	if err != nil {
		return nil, err
	}
	var bySeverity func(*events.Event) bool
	if f.Severities != nil {
		want := make([]string, len(f.Severities))
		for i, s := range f.Severities {
			want[i] = strings.ToLower(string(s))
		}
		bySeverity = func(ev *events.Event) bool { return slices.Contains(want, ev.Severity) }
	}
	var byKind func(*events.Event) bool
	if f.AnomalyKinds != nil {
		byKind = func(ev *events.Event) bool { return slices.Contains(f.AnomalyKinds, ev.AnomalyKind) }
	}
	return allOf(kindsMatch(f.Kinds), bySeverity, byKind, bySubject), nil
}

// eventNode fetches an event for node(id:).
func (r *Resolver) eventNode(ctx context.Context, rowID int64) (model.Node, error) {
	row, err := r.Queries.GetEvent(ctx, rowID)
	return one(row, err, model.EventFromRow)
}

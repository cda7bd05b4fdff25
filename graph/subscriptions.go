package graph

// Subscriptions: paymentEvents, fraudEvents and anomalyEvents stream the event log through the
// process's events.Broker (see graph/events). Each subscription is one goroutine here that hands
// the broker's events, converted, to gqlgen's websocket transport; the transport writes them in
// order. How a subscription ends:
//
//   - the client stops it or goes away: the context ends, and so does the stream;
//   - the client falls behind (its queue of Broker.Buffer events is full): the stream ends with
//     a GraphQL error, code SUBSCRIBER_TOO_SLOW, whose message and extensions.cursor say where to
//     resume (graphql-transport-ws "error", graphql-ws "error");
//   - the server shuts down: the same, with code SHUTTING_DOWN.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/payhub/payhub/db"
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

// subscribe streams topic's events matching match, from after (a cursor) or from now on.
func (r *Resolver) subscribe(ctx context.Context, topic string, after *string, match func(*events.Event) bool) (<-chan *model.Event, error) {
	if !overWebsocket(ctx) {
		return nil, errNotWebsocket
	}
	if r.Events == nil {
		return nil, errNoBroker
	}
	req := events.Request{Topic: topic, Match: match}
	if after != nil {
		pos, err := events.ParseCursor(*after)
		if err != nil {
			return nil, model.BadInput("after: %q is not an event cursor of this API: pass an Event's cursor, or null to start from now", *after)
		}
		req.After = &pos
	}
	end := subscriptionEndFrom(ctx)
	out := make(chan *model.Event)
	go func() {
		defer close(out)
		err := r.Events.Stream(ctx, req, func(ev *events.Event) error {
			select {
			case out <- ev.View(eventView).(*model.Event):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err == nil || ctx.Err() != nil {
			return
		}
		var cut *events.CutOffError
		switch {
		case errors.As(err, &cut):
			code := CodeShuttingDown
			if cut.Slow {
				code = CodeSubscriberTooSlow
			}
			end.set(ctx, &gqlerror.Error{Message: cut.Error(),
				Extensions: map[string]any{"code": code, "cursor": cut.Resume.Cursor()}})
		case errors.Is(err, events.ErrStopped):
			end.set(ctx, &gqlerror.Error{Message: "the server is shutting down; reconnect to another replica or later",
				Extensions: map[string]any{"code": CodeShuttingDown}})
		default:
			r.Logger.ErrorContext(ctx, "graphql: subscription failed", "topic", topic, "err", err)
			end.set(ctx, &gqlerror.Error{Message: errInternal.Error(),
				Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}})
		}
	}()
	return out, nil
}

// eventView is the API's form of a broker's event, shared by the subscribers it goes to: gqlgen
// only reads it.
func eventView(ev *events.Event) any { return model.EventFromLog(ev) }

// subscriptionEnd carries the error that ends a subscription from the goroutine that feeds it to
// the transport's goroutine, which sends it as the operation's "error" message. The transport
// reads its errors without a lock once the operation ends, also when the context ends, so they
// are added from its own goroutine (subscriptionExtension.InterceptResponse), never from ours.
type subscriptionEnd struct {
	mu  sync.Mutex
	err *gqlerror.Error
}

type subscriptionEndKey struct{}

func subscriptionEndFrom(ctx context.Context) *subscriptionEnd {
	end, _ := ctx.Value(subscriptionEndKey{}).(*subscriptionEnd)
	return end
}

// set records err; it must be called before the subscription's channel is closed.
func (e *subscriptionEnd) set(ctx context.Context, err *gqlerror.Error) {
	if e == nil {
		return
	}
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		err.Path = ast.Path{ast.PathName(fc.Field.Name)}
	}
	e.mu.Lock()
	e.err = err
	e.mu.Unlock()
}

func (e *subscriptionEnd) take() *gqlerror.Error {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.err
	e.err = nil
	return err
}

// ---- websockets ----

type websocketKey struct{}

// markWebsocket marks the requests that upgrade to a websocket, so that resolvers know the
// transport they run under.
func markWebsocket(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocket(r) {
			r = r.WithContext(context.WithValue(r.Context(), websocketKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

func overWebsocket(ctx context.Context) bool {
	v, _ := ctx.Value(websocketKey{}).(bool)
	return v
}

// websocketExtension serves operations on websockets:
//   - each response (each event of a subscription, each query sent over the socket) gets loaders
//     of its own, made on first use: the socket's request lives as long as the socket, and
//     loaders kept that long would serve stale rows and grow without bound;
//   - a subscription's operation carries a subscriptionEnd, whose error it adds when its stream
//     ends.
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
			ctx = context.WithValue(ctx, subscriptionEndKey{}, &subscriptionEnd{})
		}
	}
	return next(ctx)
}

func (w websocketExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !overWebsocket(ctx) {
		return next(ctx)
	}
	resp := next(context.WithValue(ctx, lazyLoadersKey{}, &lazyLoaders{queries: w.queries}))
	if resp == nil {
		if end := subscriptionEndFrom(ctx); end != nil {
			if err := end.take(); err != nil {
				transport.AddSubscriptionError(ctx, err)
			}
		}
	}
	return resp
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
	return func(ev *events.Event) bool {
		return ev.SubjectID == rowID && model.SubjectTypeName(ev.SubjectType) == typeName
	}, nil
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

func paymentEventMatch(f *model.PaymentEventFilter) (func(*events.Event) bool, error) {
	if f == nil {
		return nil, nil
	}
	byPayment, err := paymentMatch("paymentId", f.PaymentID)
	if err != nil {
		return nil, err
	}
	bySubject, err := subjectMatch(f.SubjectID, model.TypePayment, model.TypeRefund)
	if err != nil {
		return nil, err
	}
	return allOf(kindsMatch(f.Kinds), gatewayMatch(f.Gateway), byPayment, bySubject), nil
}

func fraudEventMatch(f *model.FraudEventFilter) (func(*events.Event) bool, error) {
	if f == nil {
		return nil, nil
	}
	byPayment, err := paymentMatch("paymentId", f.PaymentID)
	if err != nil {
		return nil, err
	}
	bySubject, err := subjectMatch(f.SubjectID, model.TypeFraudReview)
	if err != nil {
		return nil, err
	}
	return allOf(kindsMatch(f.Kinds), gatewayMatch(f.Gateway), byPayment, bySubject), nil
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

package graph

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/events"
	"github.com/payhub/payhub/graph/model"
	hubsync "github.com/payhub/payhub/sync"
)

// Limits of the GraphQL endpoint.
const (
	// ComplexityLimitDefault caps a query's cost (one unit per field, fragments expanded), so a
	// single request cannot ask for pages within pages without bound.
	ComplexityLimitDefault = 50_000
	// websocketKeepAlive is how often a subscription socket is pinged: graphql-ws ("ka") and
	// graphql-transport-ws ("ping", which must be answered with "pong" within twice as long, or
	// the socket is closed).
	websocketKeepAlive = 15 * time.Second
	// websocketInitTimeout is how long a new websocket may take to send connection_init.
	websocketInitTimeout = 10 * time.Second
	// queryCacheSize is how many distinct query documents are kept parsed.
	queryCacheSize = 1000
)

// HandlerConfig configures NewHandler.
type HandlerConfig struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Engine does what the mutations ask (refunds, voids, reposts, ...); without it they answer
	// an UNAVAILABLE error, and the queries work as ever.
	Engine *hubsync.Engine
	// Events streams the event log to subscriptions (one broker per process, see events.Start);
	// without it they answer an UNAVAILABLE error.
	Events *events.Broker
	// Limits bounds requests' depth, complexity, size and rate (see limits.go); the zero value
	// is the defaults without a rate limit.
	Limits Limits
	// KeyRecheckInterval is how often an open websocket's API key is checked for revocation;
	// zero is KeyRecheckDefault.
	KeyRecheckInterval time.Duration
}

// NewHandler serves the GraphQL API at any path it is mounted on: POST for queries and mutations,
// GET with a browser Accept header for the GraphiQL page, websocket upgrades for subscriptions
// (see subscriptions.go).
// Every request but the GraphiQL page is authenticated by its API key (see auth.go).
func NewHandler(cfg HandlerConfig) http.Handler {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	queries := db.New(cfg.Pool)
	authn := &authenticator{queries: queries, logger: logger, recheck: cmp.Or(cfg.KeyRecheckInterval, KeyRecheckDefault)}
	limits := cfg.Limits.withDefaults()
	srv := handler.New(NewExecutableSchema(Config{
		Resolvers:  &Resolver{Queries: queries, Engine: cfg.Engine, Events: cfg.Events, Logger: logger},
		Directives: DirectiveRoot{HasRole: (&directives{queries: queries, logger: logger}).hasRole},
	}))
	srv.AddTransport(transport.Websocket{
		Implementation:        GorillaWebsocket{},
		KeepAlivePingInterval: websocketKeepAlive,
		PingPongInterval:      websocketKeepAlive,
		InitFunc:              authn.websocketInit,
		InitTimeout:           websocketInitTimeout,
		PayloadReadLimit:      &limits.MaxBodyBytes,
	})
	// Parsed and validated documents are kept by their text: every subscriber of a dashboard sends
	// the same one, and each would otherwise hold a parse of its own.
	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.Use(extension.Introspection{})
	srv.Use(websocketExtension{queries: queries})
	srv.Use(extension.AutomaticPersistedQuery{Cache: newAPQCache(limits.APQCacheSize)})
	srv.Use(operationLimits{depth: limits.DepthLimit, complexity: limits.ComplexityLimit})
	srv.SetErrorPresenter(presentError(logger))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "graphql: panic in resolver", "panic", p)
		return errInternal
	})

	graphiql := playground.Handler("Payhub GraphQL", "/graphql")
	inner := limitBody(limits.MaxBodyBytes, WithLoaders(queries, srv))
	if limits.RateLimit > 0 {
		inner = newRateLimiter(limits.RateLimit, limits.RateBurst, logger).middleware(inner)
	}
	api := markWebsocket(authn.middleware(inner))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.RawQuery == "" && !isWebsocket(r) &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			graphiql.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// errInternal is all a client learns of a failure that is not its own doing; the detail is logged.
var errInternal = errors.New("internal error; the server log has the details")

// presentError passes errors meant for the client (bad input, validation) through and replaces
// anything else, such as a database error, with errInternal after logging it.
func presentError(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var inputErr *model.InputError
		var accessErr *accessError
		var unavailable *unavailableError
		var gqlErr *gqlerror.Error
		switch {
		case errors.As(err, &unavailable):
			e := graphql.DefaultErrorPresenter(ctx, err)
			e.Message = unavailable.msg
			e.Extensions = map[string]any{"code": CodeUnavailable}
			return e
		case errors.As(err, &accessErr):
			e := graphql.DefaultErrorPresenter(ctx, err)
			e.Message = accessErr.msg
			e.Extensions = map[string]any{"code": accessErr.code}
			return e
		case errors.As(err, &inputErr):
			e := graphql.DefaultErrorPresenter(ctx, err)
			e.Message = inputErr.Error()
			e.Extensions = map[string]any{"code": "BAD_USER_INPUT"}
			return e
		case errors.Is(err, errInternal):
			return graphql.DefaultErrorPresenter(ctx, err)
		case errors.As(err, &gqlErr) && gqlErr.Err == nil:
			// Parse, validation and argument-coercion errors come from gqlgen itself.
			return graphql.DefaultErrorPresenter(ctx, err)
		}
		logger.ErrorContext(ctx, "graphql: resolver failed", "path", graphql.GetPath(ctx).String(), "err", err)
		e := graphql.DefaultErrorPresenter(ctx, errInternal)
		e.Extensions = map[string]any{"code": "INTERNAL_SERVER_ERROR"}
		return e
	}
}

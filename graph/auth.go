package graph

// Authentication and authorisation of the API.
//
// Who: an API key. HTTP requests send "Authorization: Bearer <key>"; a request without the header
// goes on unauthenticated (the GraphiQL page and introspection work, every field answers
// UNAUTHENTICATED), while a request whose header is wrong (not Bearer, unknown or revoked key) is
// answered 401 at once: a client that sends a key means to be someone, and learns at once that
// the key does not work. Websockets authenticate in the connection_init payload, as
// {"authorization": "Bearer <key>"} or {"apiKey": "<key>"}; failing that the socket is closed
// with 4403.
//
// What: the @hasRole directive on every Query, Mutation and Subscription field (see
// schema/auth.graphqls and auth.Role.Allows); a test fails on a field without it.
//
// Keys never reach a log or an error message; a revoked key is logged by its prefix only.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
)

// Error codes of refusals, in a GraphQL error's extensions.code.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
)

// WebsocketCloseForbidden closes a websocket whose connection_init does not authenticate
// (graphql-transport-ws's "4403: Forbidden").
const WebsocketCloseForbidden = 4403

// websocketCloseInternal closes a websocket when the key could not be checked (RFC 6455's 1011).
const websocketCloseInternal = 1011

// accessError is a refusal the client is told about as is: code is CodeUnauthenticated or
// CodeForbidden.
type accessError struct {
	code string
	msg  string
}

func (e *accessError) Error() string { return e.msg }

var errUnauthenticated = &accessError{code: CodeUnauthenticated,
	msg: `authentication required: send an API key in the header "Authorization: Bearer <key>"`}

// directives implements the schema's directives; it writes the audit log of mutations.
type directives struct {
	queries *db.Queries
	logger  *slog.Logger
}

// hasRole implements @hasRole: the request's key must have a role that allows the field (see
// auth.Role.Allows; a Mutation field is a write, anything else a read). As every Mutation field
// carries it, it is also where each mutation is audited, refusals included (see audit.go).
func (d *directives) hasRole(ctx context.Context, _ any, next graphql.Resolver, role model.Role) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Object == "Mutation" {
		return d.audited(ctx, fc, func(ctx context.Context) (any, error) { return checkRole(ctx, fc, role, next) })
	}
	return checkRole(ctx, fc, role, next)
}

func checkRole(ctx context.Context, fc *graphql.FieldContext, role model.Role, next graphql.Resolver) (any, error) {
	need := auth.Role(strings.ToLower(string(role)))
	field, write := "this field", false
	if fc != nil {
		field, write = fc.Object+"."+fc.Field.Name, fc.Object == "Mutation"
	}
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return nil, errUnauthenticated
	}
	if !p.Role.Allows(need, write) {
		allowed := auth.AllowedRoles(need, write)
		names := make([]string, len(allowed))
		for i, r := range allowed {
			names[i] = string(r)
		}
		return nil, &accessError{code: CodeForbidden, msg: fmt.Sprintf(
			"forbidden: %s needs a key of role %s; this key's role is %s", field, strings.Join(names, " or "), p.Role)}
	}
	return next(ctx)
}

// authenticator turns the credentials a request presents into its principal.
type authenticator struct {
	queries *db.Queries
	logger  *slog.Logger
	// recheck is how often the keys of open websockets are checked again: a socket whose key
	// was revoked meanwhile is closed with 4403.
	recheck time.Duration

	mu sync.Mutex
	// sockets are the open websockets by the key they authenticated with; a sweep runs while
	// there are any.
	sockets  map[int64]map[*socketLink]string // key id → socket → key name
	sweeping bool
}

// KeyRecheckDefault is how often open websockets' API keys are checked for revocation.
const KeyRecheckDefault = 30 * time.Second

// watchRevocation closes the websocket of ctx with 4403 once the key it authenticated with is
// revoked, so that revoking a leaked key also ends its subscriptions. One sweep per process asks
// about the keys of all open sockets at once, every a.recheck; a socket leaves it when its
// upgrade request's context ends.
func (a *authenticator) watchRevocation(ctx context.Context, p *auth.Principal) {
	link, _ := ctx.Value(socketLinkKey{}).(*socketLink)
	if link == nil || p == nil || a.recheck <= 0 {
		return
	}
	a.mu.Lock()
	if a.sockets == nil {
		a.sockets = map[int64]map[*socketLink]string{}
	}
	if a.sockets[p.KeyID] == nil {
		a.sockets[p.KeyID] = map[*socketLink]string{}
	}
	a.sockets[p.KeyID][link] = p.Name
	if !a.sweeping {
		a.sweeping = true
		go a.sweepRevoked()
	}
	a.mu.Unlock()
	context.AfterFunc(ctx, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.sockets[p.KeyID], link)
		if len(a.sockets[p.KeyID]) == 0 {
			delete(a.sockets, p.KeyID)
		}
	})
}

// sweepRevoked closes the sockets of revoked keys every a.recheck, until no socket is open. A
// failed check is tried again at the next tick; a key is never presumed revoked.
func (a *authenticator) sweepRevoked() {
	tick := time.NewTicker(a.recheck)
	defer tick.Stop()
	for range tick.C {
		a.mu.Lock()
		ids := make([]int64, 0, len(a.sockets))
		for id := range a.sockets {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			a.sweeping = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), a.recheck)
		revoked, err := a.queries.ListRevokedAPIKeys(ctx, ids)
		cancel()
		if err != nil {
			a.logger.Error("graphql: checking open websockets' API keys failed", "err", err)
			continue
		}
		for _, id := range revoked {
			a.mu.Lock()
			links := maps.Clone(a.sockets[id])
			a.mu.Unlock()
			for link, name := range links {
				a.logger.Info("graphql: closing a websocket whose API key was revoked", "key", name)
				if c := link.conn.Load(); c != nil {
					c.WriteClose(WebsocketCloseForbidden, "Forbidden: the API key was revoked") //nolint:errcheck
					c.Close()                                                                   //nolint:errcheck
				}
			}
		}
	}
}

// middleware authenticates HTTP requests by their Authorization header (see the file comment).
func (a *authenticator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" {
			next.ServeHTTP(w, r)
			return
		}
		key, ok := auth.BearerToken(header)
		if !ok {
			a.logger.InfoContext(r.Context(), "graphql: refused a request", "reason", "Authorization header is not Bearer")
			refuseHTTP(w, `the Authorization header must be "Bearer <api key>"`)
			return
		}
		p, err := a.authenticate(r.Context(), key)
		var refusal *accessError
		switch {
		case errors.As(err, &refusal):
			refuseHTTP(w, refusal.msg)
			return
		case err != nil:
			writeGraphQLError(w, http.StatusServiceUnavailable, errInternal.Error(), "INTERNAL_SERVER_ERROR")
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// authenticate checks a key, logging the outcome without the key. An unknown or revoked key is
// an *accessError; any other error is the server's.
func (a *authenticator) authenticate(ctx context.Context, key string) (*auth.Principal, error) {
	p, err := auth.Authenticate(ctx, a.queries, key)
	switch {
	case errors.Is(err, auth.ErrRevokedKey):
		a.logger.InfoContext(ctx, "graphql: refused a revoked API key", "reason", err) // names the prefix only
		return nil, &accessError{code: CodeUnauthenticated, msg: auth.ErrRevokedKey.Error()}
	case errors.Is(err, auth.ErrInvalidKey):
		a.logger.InfoContext(ctx, "graphql: refused an unknown API key")
		return nil, &accessError{code: CodeUnauthenticated, msg: auth.ErrInvalidKey.Error()}
	case err != nil:
		a.logger.ErrorContext(ctx, "graphql: checking an API key failed", "err", err)
		return nil, err
	}
	return p, nil
}

// refuseHTTP answers 401 with a GraphQL-shaped body, so that clients show the reason.
func refuseHTTP(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="payhub", error="invalid_token"`)
	writeGraphQLError(w, http.StatusUnauthorized, msg, CodeUnauthenticated)
}

func writeGraphQLError(w http.ResponseWriter, status int, msg, code string) {
	writeErrorBody(w, status, msg, map[string]any{"code": code})
}

// websocketInit authenticates a websocket by its connection_init payload: {"authorization":
// "Bearer <key>"} (any case of the name) or {"apiKey": "<key>"}. A payload without either is
// accepted only when the upgrade request itself carried a valid Authorization header. Failure
// closes the socket with 4403 (1011 when the key could not be checked).
func (a *authenticator) websocketInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	key := payload.GetString("apiKey")
	if header := payload.Authorization(); header != "" {
		var ok bool
		if key, ok = auth.BearerToken(header); !ok {
			return refuseWebsocket(ctx, `the authorization must be "Bearer <api key>"`)
		}
	}
	if key == "" {
		if p := auth.PrincipalFrom(ctx); p != nil {
			a.watchRevocation(ctx, p)
			return ctx, nil, nil
		}
		return refuseWebsocket(ctx, `authentication required: send {"authorization": "Bearer <key>"} or {"apiKey": "<key>"} in connection_init`)
	}
	p, err := a.authenticate(ctx, key)
	var refusal *accessError
	switch {
	case errors.As(err, &refusal):
		return refuseWebsocket(ctx, refusal.msg)
	case err != nil:
		ctx = transport.WithWebsocketCloseCode(ctx, websocketCloseInternal)
		return transport.AppendCloseReason(ctx, "internal error"), nil, errInternal
	}
	a.watchRevocation(ctx, p)
	return auth.WithPrincipal(ctx, p), nil, nil
}

func refuseWebsocket(ctx context.Context, msg string) (context.Context, *transport.InitPayload, error) {
	ctx = transport.WithWebsocketCloseCode(ctx, WebsocketCloseForbidden)
	reason := "Forbidden: " + msg
	if len(reason) > 123 { // a close frame's reason is at most 123 bytes
		reason = "Forbidden"
	}
	return transport.AppendCloseReason(ctx, reason), nil, &accessError{code: CodeUnauthenticated, msg: msg}
}

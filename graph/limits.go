package graph

// Limits of the API: how big, deep, costly and frequent a client's requests may be. Each refusal
// is a GraphQL error whose extensions.code says which limit was hit:
//
//   - DEPTH_LIMIT_EXCEEDED (HTTP 422): the operation nests fields deeper than Limits.DepthLimit.
//     Fragment spreads and inline fragments are followed; introspection fields (__schema,
//     __type, __typename) and everything under them do not count, so GraphiQL's introspection
//     query, about 14 levels deep, works.
//   - COMPLEXITY_LIMIT_EXCEEDED (HTTP 422): the operation costs more than Limits.ComplexityLimit
//     (gqlgen's count: one per field, fragments expanded, __schema free).
//   - REQUEST_TOO_LARGE (HTTP 413): the request body is over Limits.MaxBodyBytes. A websocket
//     message over the same size closes the socket with 1009 (message too big).
//   - RATE_LIMITED (HTTP 429 with Retry-After): the API key (or, without one, the client address)
//     made more than Limits.RateLimit requests per second beyond a burst of Limits.RateBurst.
//   - PERSISTED_QUERY_NOT_FOUND: an automatic persisted query (APQ) whose hash the hub does not
//     know; the client sends it again with the query (gqlgen's extension.AutomaticPersistedQuery).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/time/rate"

	"github.com/payhub/payhub/graph/auth"
)

// Error codes of the limits, in a GraphQL error's extensions.code.
const (
	CodeDepthLimitExceeded      = "DEPTH_LIMIT_EXCEEDED"
	CodeComplexityLimitExceeded = "COMPLEXITY_LIMIT_EXCEEDED" // gqlgen's own code
	CodeRequestTooLarge         = "REQUEST_TOO_LARGE"
	CodeRateLimited             = "RATE_LIMITED"
	CodePersistedQueryNotFound  = "PERSISTED_QUERY_NOT_FOUND" // gqlgen's own code (message "PersistedQueryNotFound")
)

// Defaults of Limits (ComplexityLimitDefault is in handler.go).
const (
	DepthLimitDefault   = 12
	MaxBodyBytesDefault = 1 << 20 // 1 MiB
	RateLimitDefault    = 50      // requests per second per API key
	RateBurstDefault    = 100
	APQCacheSizeDefault = 1000
)

const (
	// rateLimitIdle is how long a client's bucket is kept after its last request (and only once
	// it has refilled, so that forgetting it gives nothing away).
	rateLimitIdle = 10 * time.Minute
	// rateLimitSweep is how often, at most, idle buckets are looked for.
	rateLimitSweep = time.Minute
	// apqMaxQueryBytes is the longest query APQ keeps: a longer one is run but not persisted (the
	// client keeps sending it whole), so the cache holds at most APQCacheSize × 64 KiB.
	apqMaxQueryBytes = 64 << 10
)

// Limits bounds what one client may ask of the API. A zero field means its default, except
// RateLimit: zero means no rate limit (a handler in a test, or behind a limiter of its own);
// `hub serve` sets RateLimitDefault unless its config says otherwise. See DefaultLimits.
type Limits struct {
	// ComplexityLimit caps an operation's cost (ComplexityLimitDefault).
	ComplexityLimit int
	// DepthLimit caps how deep an operation nests fields (DepthLimitDefault); introspection
	// fields are exempt.
	DepthLimit int
	// MaxBodyBytes caps a request body and a websocket message (MaxBodyBytesDefault).
	MaxBodyBytes int64
	// RateLimit is how many requests per second each API key may make, and each client address
	// without a key; 0 (or less) means no limit. The buckets are this process's own: with N
	// replicas behind a load balancer a key may make up to N times as many.
	RateLimit int
	// RateBurst is how many requests a key may make at once above the rate (RateBurstDefault).
	RateBurst int
	// APQCacheSize is how many automatic persisted queries are kept (APQCacheSizeDefault).
	APQCacheSize int
}

// DefaultLimits returns every limit at its default, the rate limit included.
func DefaultLimits() Limits {
	return Limits{ComplexityLimit: ComplexityLimitDefault, DepthLimit: DepthLimitDefault,
		MaxBodyBytes: MaxBodyBytesDefault, RateLimit: RateLimitDefault, RateBurst: RateBurstDefault,
		APQCacheSize: APQCacheSizeDefault}
}

// withDefaults fills the zero fields (but RateLimit) with their defaults.
func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	if l.ComplexityLimit <= 0 {
		l.ComplexityLimit = def.ComplexityLimit
	}
	if l.DepthLimit <= 0 {
		l.DepthLimit = def.DepthLimit
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = def.MaxBodyBytes
	}
	if l.RateLimit < 0 {
		l.RateLimit = 0
	}
	if l.RateBurst <= 0 {
		l.RateBurst = def.RateBurst
	}
	if l.APQCacheSize <= 0 {
		l.APQCacheSize = def.APQCacheSize
	}
	return l
}

func init() {
	// Answer 422 (or 400 to an application/graphql-response+json client), like a validation
	// error, rather than 200: nothing of such an operation ran. gqlgen documents 422 for its
	// complexity limit but does not register the code.
	errcode.RegisterErrorType(CodeDepthLimitExceeded, errcode.KindProtocol)
	errcode.RegisterErrorType(CodeComplexityLimitExceeded, errcode.KindProtocol)
}

// ---- depth and complexity ----

// operationLimits refuses operations nested deeper than depth, and operations whose fields number
// more than complexity once fragments are expanded. That count is gqlgen's default complexity
// (the schema sets no complexity functions), so it stands in for gqlgen's complexity extension,
// reached in time linear in the document: gqlgen's walk expands every fragment spread anew, so a
// few lines of fragments that each spread the one before ten times would take it hours.
type operationLimits struct {
	depth, complexity int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = operationLimits{}

func (operationLimits) ExtensionName() string { return "OperationLimits" }

func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l operationLimits) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	m := measurer{doc: opCtx.Doc, fragments: map[string]shape{}, visiting: map[string]bool{}}
	s := m.selectionSet(opCtx.Operation.SelectionSet)
	if s.depth > l.depth {
		err := gqlerror.Errorf("operation is %d levels deep; the limit is %d", s.depth, l.depth)
		errcode.Set(err, CodeDepthLimitExceeded)
		return err
	}
	if s.fields > l.complexity {
		// The wording of gqlgen's complexity extension, which would say the same.
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", s.fields, l.complexity)
		errcode.Set(err, CodeComplexityLimitExceeded)
		return err
	}
	return nil
}

// shape is what the limits measure of a selection set: how deep it nests fields (introspection
// not counted) and how many fields it has with fragments expanded (__schema not counted).
type shape struct {
	depth, fields int
}

type measurer struct {
	doc       *ast.QueryDocument
	fragments map[string]shape // measured fragments, by name
	visiting  map[string]bool  // fragments being measured (validation already refuses cycles)
}

func (m *measurer) selectionSet(set ast.SelectionSet) shape {
	var total shape
	for _, sel := range set {
		var s shape
		switch sel := sel.(type) {
		case *ast.Field:
			s = m.field(sel)
		case *ast.InlineFragment:
			s = m.selectionSet(sel.SelectionSet)
		case *ast.FragmentSpread:
			s = m.fragment(sel)
		}
		total.depth = max(total.depth, s.depth)
		total.fields = saturatingAdd(total.fields, s.fields)
	}
	return total
}

func (m *measurer) field(f *ast.Field) shape {
	if f.Definition != nil && f.Definition.Type.Name() == "__Schema" {
		return shape{} // free in gqlgen's complexity too
	}
	inner := m.selectionSet(f.SelectionSet)
	s := shape{depth: inner.depth + 1, fields: saturatingAdd(inner.fields, 1)}
	if strings.HasPrefix(f.Name, "__") {
		s.depth = 0
	}
	return s
}

func (m *measurer) fragment(spread *ast.FragmentSpread) shape {
	if s, ok := m.fragments[spread.Name]; ok {
		return s
	}
	def := spread.Definition
	if def == nil && m.doc != nil {
		def = m.doc.Fragments.ForName(spread.Name)
	}
	if def == nil || m.visiting[spread.Name] {
		return shape{}
	}
	m.visiting[spread.Name] = true
	s := m.selectionSet(def.SelectionSet)
	delete(m.visiting, spread.Name)
	m.fragments[spread.Name] = s
	return s
}

func saturatingAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// ---- request body ----

// limitBody refuses a request body over max bytes with 413. The body is read here, whole, so
// that a body without a Content-Length (chunked) is refused the same way rather than failing
// inside gqlgen with a 200.
func limitBody(maxBytes int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBytes {
			w.Header().Set("Connection", "close") // the rest of the body is not read
			bodyTooLarge(w, maxBytes)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				bodyTooLarge(w, maxBytes)
				return
			case err != nil:
				writeGraphQLError(w, http.StatusBadRequest, "could not read the request body", "BAD_REQUEST")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

func bodyTooLarge(w http.ResponseWriter, maxBytes int64) {
	writeGraphQLError(w, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body is larger than %d bytes", maxBytes), CodeRequestTooLarge)
}

// ---- rate ----

// rateLimiter keeps a token bucket per API key, and per client address for requests without a
// key: RateLimit tokens a second, RateBurst at most. Each HTTP request takes one token; a
// websocket takes one for its upgrade request and none for what it carries. The buckets live in
// this process only.
type rateLimiter struct {
	perSecond int
	burst     int
	logger    *slog.Logger
	now       func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	limiter   *rate.Limiter
	lastSeen  time.Time
	throttled bool // refused since its last allowed request (logged once)
}

func newRateLimiter(perSecond, burst int, logger *slog.Logger) *rateLimiter {
	return &rateLimiter{perSecond: perSecond, burst: burst, logger: logger, now: time.Now,
		buckets: map[string]*bucket{}}
}

// take takes a token from client's bucket. It returns how long to wait for one when there is
// none (0: go ahead), and whether the bucket just started refusing.
func (l *rateLimiter) take(client string) (wait time.Duration, firstRefusal bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= rateLimitSweep {
		l.sweep(now)
	}
	b := l.buckets[client]
	if b == nil {
		b = &bucket{limiter: rate.NewLimiter(rate.Limit(l.perSecond), l.burst)}
		l.buckets[client] = b
	}
	b.lastSeen = now
	if b.limiter.AllowN(now, 1) {
		b.throttled = false
		return 0, false
	}
	missing := 1 - b.limiter.TokensAt(now)
	wait = time.Duration(missing / float64(l.perSecond) * float64(time.Second))
	firstRefusal = !b.throttled
	b.throttled = true
	return max(wait, time.Nanosecond), firstRefusal
}

// sweep forgets the buckets idle for rateLimitIdle that have refilled: a new one is the same.
func (l *rateLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for client, b := range l.buckets {
		if now.Sub(b.lastSeen) >= rateLimitIdle && b.limiter.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, client)
		}
	}
}

// size is how many buckets are kept.
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// middleware answers 429 to a request over its client's rate. It runs after authentication:
// a request with a key counts against the key (wherever it comes from), one without against
// its address.
func (l *rateLimiter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, whose, logAttr := rateClient(r)
		wait, first := l.take(client)
		if wait == 0 {
			next.ServeHTTP(w, r)
			return
		}
		seconds := max(1, int(math.Ceil(wait.Seconds())))
		if first {
			l.logger.InfoContext(r.Context(), "graphql: rate limit exceeded", logAttr,
				"limit_per_second", l.perSecond, "burst", l.burst)
		}
		w.Header().Set("Retry-After", strconv.Itoa(seconds))
		writeErrorBody(w, http.StatusTooManyRequests, fmt.Sprintf(
			"rate limit of %d requests/s for %s exceeded; retry after %ds", l.perSecond, whose, seconds),
			map[string]any{"code": CodeRateLimited, "retryAfterSeconds": seconds})
	})
}

// rateClient names the bucket a request draws on: its API key's, or its address's. An IPv6
// address counts by its /64, which one client usually holds whole.
func rateClient(r *http.Request) (client, whose string, logAttr slog.Attr) {
	if p := auth.PrincipalFrom(r.Context()); p != nil {
		return "key:" + strconv.FormatInt(p.KeyID, 10), "this API key", slog.String("key_prefix", p.Prefix)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		addr = addr.Unmap()
		if addr.Is6() {
			if prefix, err := addr.Prefix(64); err == nil {
				host = prefix.String()
			}
		} else {
			host = addr.String()
		}
	}
	return "addr:" + host, "unauthenticated requests from this address", slog.String("addr", host)
}

func writeErrorBody(w http.ResponseWriter, status int, msg string, extensions map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck
		"errors": []map[string]any{{"message": msg, "extensions": extensions}},
	})
}

// ---- automatic persisted queries ----

// apqCache is the cache of automatic persisted queries: an LRU of size entries that leaves out
// queries over apqMaxQueryBytes.
type apqCache struct {
	lru *lru.LRU[string]
}

var _ graphql.Cache[string] = apqCache{}

func newAPQCache(size int) apqCache { return apqCache{lru: lru.New[string](size)} }

func (c apqCache) Get(ctx context.Context, hash string) (string, bool) { return c.lru.Get(ctx, hash) }

func (c apqCache) Add(ctx context.Context, hash, query string) {
	if len(query) <= apqMaxQueryBytes {
		c.lru.Add(ctx, hash, query)
	}
}

// Package auth holds the hub's API keys and the roles they act with: making a key, recognising
// one a request presents, and the principal (key id, name, role) a request then carries in its
// context. The GraphQL layer decides what each role may do (graph's @hasRole directive).
//
// A key is "phk_" followed by 32 random bytes in unpadded base64url (47 characters in all). Only
// its SHA-256 is stored, with its first 12 characters as a prefix that tells keys apart in
// listings and logs; the key itself is shown once, when it is made.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payhub/payhub/db"
)

// Role is what an API key may do.
type Role string

// The roles, as stored in api_keys.role. Dashboard, Finance and Admin nest (each may do all the one
// before it may); Storefront, the shop's own key, stands apart.
const (
	// Storefront reads orders and payments (and an order's customer) and places orders.
	Storefront Role = "storefront"
	// Dashboard reads everything and subscribes to events.
	Dashboard Role = "dashboard"
	// Finance is Dashboard plus refunds, voids, captures, reposts, fraud reviews and anomalies.
	Finance Role = "finance"
	// Admin is Finance plus API keys and mapping rules.
	Admin Role = "admin"
)

// Roles lists every role, the shop's first, then the back office's from least to most.
var Roles = []Role{Storefront, Dashboard, Finance, Admin}

// backOffice ranks the nested roles.
var backOffice = map[Role]int{Dashboard: 1, Finance: 2, Admin: 3}

// ParseRole reads a role name (any case).
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Roles {
		if r == known {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (one of %s)", s, RoleNames())
}

// RoleNames is the list of roles for messages: "storefront, dashboard, finance, admin".
func RoleNames() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// Allows reports whether a key with role r may use what requires role need. write says whether it
// is a change (a mutation) rather than a read:
//   - a back-office requirement admits that role and the ones above it;
//   - a Storefront read admits every role, as the back office reads everything the shop reads;
//   - a Storefront write (placing an order) admits the shop's key alone.
func (r Role) Allows(need Role, write bool) bool {
	if r == need {
		return true
	}
	if need == Storefront {
		return !write && backOffice[r] > 0
	}
	return backOffice[r] > 0 && backOffice[r] >= backOffice[need]
}

// AllowedRoles lists the roles that Allows need (for messages and documentation).
func AllowedRoles(need Role, write bool) []Role {
	var out []Role
	for _, r := range Roles {
		if r.Allows(need, write) {
			out = append(out, r)
		}
	}
	return out
}

// Key format.
const (
	// KeyPrefix starts every key, so that a leaked key is recognisable (secret scanners, logs).
	KeyPrefix = "phk_"
	// keyRandomBytes is the key's entropy.
	keyRandomBytes = 32
	// prefixLen is how much of a key is kept in clear to tell keys apart: "phk_" and 8 characters.
	prefixLen = len(KeyPrefix) + 8
)

// touchInterval is how often at most a key's last_used_at is written.
const touchInterval = time.Minute

// keyLen is the length of every key: the prefix and 32 bytes of unpadded base64url.
var keyLen = len(KeyPrefix) + base64.RawURLEncoding.EncodedLen(keyRandomBytes)

// NewKey is a freshly made key: Key is shown once, Hash and Prefix are stored.
type NewKey struct {
	Key    string
	Prefix string
	Hash   []byte
}

// GenerateKey makes a random key.
func GenerateKey() (NewKey, error) {
	b := make([]byte, keyRandomBytes)
	if _, err := rand.Read(b); err != nil {
		return NewKey{}, err
	}
	key := KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return NewKey{Key: key, Prefix: key[:prefixLen], Hash: HashKey(key)}, nil
}

// HashKey is what is stored of a key. A plain SHA-256 suffices: the key has 256 random bits, so
// there is nothing to gain from a slow hash, and lookup by hash through the unique index reveals
// nothing of the key through timing.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// wellFormed reports whether s can be a key at all; anything else is refused without a lookup.
func wellFormed(s string) bool {
	if len(s) != keyLen || !strings.HasPrefix(s, KeyPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s[len(KeyPrefix):])
	return err == nil
}

// CreateKey makes a key with this name and role and stores it; the returned key is the only copy.
func CreateKey(ctx context.Context, q *db.Queries, name string, role Role) (string, db.ApiKey, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", db.ApiKey{}, errors.New("an API key needs a name")
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", db.ApiKey{}, err
	}
	for attempt := 0; ; attempt++ {
		k, err := GenerateKey()
		if err != nil {
			return "", db.ApiKey{}, err
		}
		row, err := q.CreateAPIKey(ctx, db.CreateAPIKeyParams{Name: name, Role: string(role), Prefix: k.Prefix, KeyHash: k.Hash})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" && attempt < 3 {
			continue // two keys sharing their first 48 bits: astronomically rare, but cheap to survive
		}
		if err != nil {
			return "", db.ApiKey{}, fmt.Errorf("store API key: %w", err)
		}
		return k.Key, row, nil
	}
}

// Principal is who a request acts as: an API key.
type Principal struct {
	KeyID  int64
	Name   string
	Role   Role
	Prefix string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil for an unauthenticated request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Errors of Authenticate. Their messages never contain the key.
var (
	ErrInvalidKey = errors.New("invalid API key")
	ErrRevokedKey = errors.New("API key has been revoked")
)

// Authenticate returns the principal of a key, ErrInvalidKey for a key the hub does not know,
// ErrRevokedKey for a revoked one, or a database error. It records the key's use (last_used_at)
// at most once a minute.
func Authenticate(ctx context.Context, q *db.Queries, key string) (*Principal, error) {
	if !wellFormed(key) {
		return nil, ErrInvalidKey
	}
	row, err := q.GetAPIKeyByHash(ctx, HashKey(key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrInvalidKey
	}
	if err != nil {
		return nil, fmt.Errorf("look up API key: %w", err)
	}
	if row.RevokedAt != nil {
		return nil, ErrRevokedKey
	}
	role, err := ParseRole(row.Role)
	if err != nil {
		return nil, fmt.Errorf("API key %s: %w", row.Prefix, err)
	}
	// The database re-checks the minute, so racing requests write once.
	if row.LastUsedAt == nil || time.Since(*row.LastUsedAt) >= touchInterval {
		if err := q.TouchAPIKey(ctx, row.ID); err != nil {
			return nil, fmt.Errorf("record API key use: %w", err)
		}
	}
	return &Principal{KeyID: row.ID, Name: row.Name, Role: role, Prefix: row.Prefix}, nil
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header value; ok is false
// when the header is of another scheme or empty.
func BearerToken(header string) (token string, ok bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

package graph

// Idempotency of the mutations. Every mutation input carries an idempotencyKey; the key belongs
// to the API key that sent it and to one mutation.
//
// refundPayment leaves it to the engine, whose refunds are unique by key: the key sent to the
// engine is the API key's id and the client's key, so two clients cannot collide.
//
// The other mutations keep their answers in mutation_results (migration 00005):
//
//  1. The request claims the key by inserting a pending row (its input's SHA-256, no response)
//     in a statement of its own. The primary key admits one; a concurrent claim waits for the
//     first insert to commit and then finds the row.
//  2. The claimant acts, then stores the payload it answers. A refusal (userErrors) or a failure
//     deletes the row instead: nothing was done, so the key is free again.
//  3. Whoever finds the row: other input → IDEMPOTENCY_CONFLICT; a stored payload → that payload,
//     without acting; still pending → it waits (polling) for the claimant, up to
//     pendingWaitMax, then answers IDEMPOTENCY_IN_PROGRESS. A row pending for longer than
//     pendingStaleAfter belongs to a process that died mid-way and is taken over.
//
// No connection is held while the claimant talks to a gateway, so a burst of repeats cannot
// drain the pool. A takeover may repeat an action the dead process did; the engine's own checks
// (a voided payment is not voidable, a decided review not open, a live posting not dead) refuse
// the repeat.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
	hubsync "github.com/payhub/payhub/sync"
)

// Codes of user errors the API itself gives (the engine's are in package sync).
const (
	CodeInvalidInput          = "INVALID_INPUT"
	CodeInvalidID             = "INVALID_ID"
	CodeIdempotencyConflict   = hubsync.ErrCodeIdempotencyConflict
	CodeIdempotencyInProgress = "IDEMPOTENCY_IN_PROGRESS"
	// CodeUnavailable is the GraphQL error of a mutation on a server without the sync engine.
	CodeUnavailable = "UNAVAILABLE"
)

const (
	// IdempotencyKeyMaxLen bounds an idempotency key.
	IdempotencyKeyMaxLen = 255
	// pendingStaleAfter is how long a claimed key may stay pending before a repeat takes it over:
	// far longer than any request (a gateway call times out within a minute).
	pendingStaleAfter = 5 * time.Minute
	// pendingWaitMax is how long a repeat waits for the request that holds its key.
	pendingWaitMax = 30 * time.Second
)

// unavailableError is a GraphQL error for what this server cannot do as configured.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

var errNoEngine = &unavailableError{msg: "mutations are unavailable: this server runs without the sync engine"}

// mutation describes one mutation request for runMutation. P is its payload type.
type mutation[P any] struct {
	name  string // the Mutation field
	key   string // the client's idempotencyKey
	input any    // the input object; hashed without its idempotencyKey
	// engineKeyed: the engine makes the action idempotent by the key (refundPayment); no row.
	engineKeyed bool
	// refused makes the payload of a refusal.
	refused func(errs []*model.UserError) *P
	// check validates the input and names the audit subject, before the key is claimed (also for a
	// repeat): user errors refuse the request.
	check func(ctx context.Context) []*model.UserError
	// run acts: the payload, or user errors when it did nothing, or an error.
	run func(ctx context.Context) (*P, []*model.UserError, error)
}

// runMutation runs m once per idempotency key (see the file comment).
func runMutation[P any](ctx context.Context, r *Resolver, m mutation[P]) (*P, error) {
	if r.Engine == nil {
		return nil, errNoEngine
	}
	p := auth.PrincipalFrom(ctx)
	if p == nil { // @hasRole lets no request without a key this far
		return nil, errUnauthenticated
	}
	refuse := func(errs ...*model.UserError) (*P, error) {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Code + ": " + e.Message
		}
		auditFailure(ctx, strings.Join(msgs, "; "))
		return m.refused(errs), nil
	}
	if e := checkIdempotencyKey(m.key); e != nil {
		return refuse(e)
	}
	if m.check != nil {
		if errs := m.check(ctx); len(errs) > 0 {
			return refuse(errs...)
		}
	}
	if m.engineKeyed {
		out, errs, err := m.run(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		if len(errs) > 0 {
			return refuse(errs...)
		}
		return out, nil
	}

	hash, err := inputHash(m.input)
	if err != nil {
		return nil, err
	}
	q := r.Queries
	id := db.GetMutationResultParams{ApiKeyID: p.KeyID, Mutation: m.name, IdempotencyKey: m.key}
	waitUntil := time.Now().Add(pendingWaitMax)
	pause := 10 * time.Millisecond
	for {
		_, err := q.ClaimMutation(ctx, db.ClaimMutationParams{ApiKeyID: id.ApiKeyID, Mutation: id.Mutation,
			IdempotencyKey: id.IdempotencyKey, InputHash: hash})
		if err == nil {
			return act(ctx, q, r.logger(), id, m, refuse)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		row, err := q.GetMutationResult(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released between the claim and the read: claim again
		}
		if err != nil {
			return nil, fmt.Errorf("read idempotency key: %w", err)
		}
		if !bytes.Equal(row.InputHash, hash) {
			return refuse(&model.UserError{Code: CodeIdempotencyConflict, Field: []string{"input", "idempotencyKey"},
				Message: fmt.Sprintf("idempotencyKey %q was used for a %s request with other input; use a new key for a new request", m.key, m.name)})
		}
		if row.Response != nil {
			out := new(P)
			if err := json.Unmarshal(row.Response, out); err != nil {
				return nil, fmt.Errorf("stored %s payload: %w", m.name, err)
			}
			auditReplayed(ctx)
			return out, nil
		}
		_, err = q.TakeOverMutation(ctx, db.TakeOverMutationParams{ApiKeyID: id.ApiKeyID, Mutation: id.Mutation,
			IdempotencyKey: id.IdempotencyKey, InputHash: hash, StaleSeconds: pendingStaleAfter.Seconds()})
		if err == nil {
			return act(ctx, q, r.logger(), id, m, refuse)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("take over idempotency key: %w", err)
		}
		if time.Now().After(waitUntil) {
			return refuse(&model.UserError{Code: CodeIdempotencyInProgress, Field: []string{"input", "idempotencyKey"},
				Message: fmt.Sprintf("a %s request with idempotencyKey %q is still being processed; send it again shortly for its result", m.name, m.key)})
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// act runs a mutation whose key this request holds, then stores its payload or frees the key.
func act[P any](ctx context.Context, q *db.Queries, logger *slog.Logger, id db.GetMutationResultParams, m mutation[P],
	refuse func(...*model.UserError) (*P, error)) (*P, error) {
	// An action once begun runs to its end, and its outcome is recorded, even when the client has
	// gone: money may have moved at a gateway.
	record := context.WithoutCancel(ctx)
	release := func() error {
		return q.ReleaseMutation(record, db.ReleaseMutationParams(id))
	}
	out, errs, err := m.run(record)
	if err != nil || len(errs) > 0 {
		if rerr := release(); rerr != nil {
			return nil, errors.Join(err, fmt.Errorf("release idempotency key: %w", rerr))
		}
		if err != nil {
			return nil, err
		}
		return refuse(errs...)
	}
	raw, err := json.Marshal(out)
	if err == nil {
		err = q.CompleteMutation(record, db.CompleteMutationParams{ApiKeyID: id.ApiKeyID, Mutation: id.Mutation,
			IdempotencyKey: id.IdempotencyKey, Response: raw})
	}
	if err != nil {
		// Done, but not stored: a repeat waits for the key to go stale, then acts again and is
		// refused by the engine's own checks. Answer what was done all the same.
		logger.ErrorContext(ctx, "graphql: storing a mutation's result under its idempotency key failed",
			"mutation", m.name, "err", err)
	}
	return out, nil
}

// checkIdempotencyKey refuses an empty or overlong key.
func checkIdempotencyKey(key string) *model.UserError {
	switch {
	case strings.TrimSpace(key) == "":
		return &model.UserError{Code: CodeInvalidInput, Field: []string{"input", "idempotencyKey"},
			Message: "idempotencyKey is required: a string of your choosing that names this request (e.g. a UUID)"}
	case utf8.RuneCountInString(key) > IdempotencyKeyMaxLen:
		return &model.UserError{Code: CodeInvalidInput, Field: []string{"input", "idempotencyKey"},
			Message: fmt.Sprintf("idempotencyKey is at most %d characters", IdempotencyKeyMaxLen)}
	}
	return nil
}

// inputHash is the SHA-256 of the input as canonical JSON (keys sorted), without its
// idempotencyKey.
func inputHash(input any) ([]byte, error) {
	raw, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("hash input: %w", err)
	}
	var fields map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&fields); err != nil {
		return nil, fmt.Errorf("hash input: %w", err)
	}
	delete(fields, "idempotencyKey")
	canonical, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("hash input: %w", err)
	}
	sum := sha256.Sum256(canonical)
	return sum[:], nil
}

func (r *Resolver) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

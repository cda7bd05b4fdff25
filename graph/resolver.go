// Package graph serves Payhub's canonical model over GraphQL: the gqlgen schema under schema/, its
// resolvers, the dataloaders that keep list queries free of N+1 lookups, and the HTTP handler.
package graph

//go:generate sh -c "cd .. && go run github.com/99designs/gqlgen generate"

import (
	"log/slog"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/events"
	hubsync "github.com/payhub/payhub/sync"
)

// Resolver is the root resolver; one serves every request. Queries read; the mutations act
// through the sync engine (nil: they answer that the server runs without one); subscriptions
// stream the event log through the broker (nil: they answer that the server runs without one).
type Resolver struct {
	Queries *db.Queries
	Engine  *hubsync.Engine
	Events  *events.Broker
	Logger  *slog.Logger
}

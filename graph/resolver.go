// Package graph serves Payhub's canonical model over GraphQL: the gqlgen schema under schema/, its
// resolvers, the dataloaders that keep list queries free of N+1 lookups, and the HTTP handler.
package graph

//go:generate sh -c "cd .. && go run github.com/99designs/gqlgen generate"

import "github.com/payhub/payhub/db"

// Resolver is the root resolver; one serves every request. The API only reads so far, so it needs
// the queries and not the pool itself.
type Resolver struct {
	Queries *db.Queries
}

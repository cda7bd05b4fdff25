// Package db owns Payhub's canonical PostgreSQL model: its migrations, the sqlc-generated store,
// the launcher of a private PostgreSQL cluster and the connection pool every other package uses.
//
// Hand-written SQL lives in queries/*.sql next to the generated *.sql.go (run `go generate ./db`
// after changing it); migrations live in migrations/ and are embedded into the binary.
package db

//go:generate go run github.com/sqlc-dev/sqlc/cmd/sqlc@v1.31.1 generate -f ../sqlc.yaml

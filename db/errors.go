package db

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes the hub reacts to.
const (
	codeUniqueViolation = "23505"
	codeUndefinedTable  = "42P01"
)

// IsUniqueViolation reports whether err is a unique-constraint violation, the signal that a
// duplicate (gateway transaction, idempotency key, inbound event) was refused.
func IsUniqueViolation(err error) bool { return hasCode(err, codeUniqueViolation) }

func isUndefinedTable(err error) bool { return hasCode(err, codeUndefinedTable) }

func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

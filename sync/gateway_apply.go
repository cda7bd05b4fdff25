package sync

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/payhub/payhub/db"
)

// applyGatewayTxn upserts the canonical rows t implies, in the caller's transaction.
func (e *Engine) applyGatewayTxn(ctx context.Context, tx pgx.Tx, q *db.Queries, t GatewayTxn) error {
	return errors.New("sync: not built yet")
}

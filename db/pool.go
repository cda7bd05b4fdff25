package db

import (
	"context"
	"fmt"
	"strings"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolMaxConnsDefault is the pool size when the URL does not say (pool_max_conns).
const PoolMaxConnsDefault = 20

// Connect opens a pool on databaseURL with the settings every Payhub connection needs: numeric
// columns decode to decimal.Decimal, and queries are planned with their actual parameters.
func Connect(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("db: parse database URL: %w", err)
	}
	Configure(cfg, databaseURL)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	return pool, nil
}

// Configure applies Payhub's connection settings to a parsed pool configuration; Connect uses it,
// and tests that need their own hooks (a query tracer) call it directly.
func Configure(cfg *pgxpool.Config, databaseURL string) {
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = PoolMaxConnsDefault
	}
	// The list queries use optional filters written as `(@x IS NULL OR col = @x)`. A generic plan
	// keeps both branches and turns keyset pagination into a scan; custom plans fold the NULL
	// checks away and let the (occurred_at, id) comparison drive the index.
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	cfg.ConnConfig.RuntimeParams["application_name"] = "payhub"
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		pgxdecimal.Register(conn.TypeMap())
		return nil
	}
}

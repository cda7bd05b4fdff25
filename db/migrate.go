package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// MigrationsFS holds the canonical model's migrations (migrations/NNNNN_name.sql, goose format).
//
//go:embed migrations/*.sql
var MigrationsFS embed.FS

// migrationLockKey serialises migrations across replicas starting at once: pg_advisory_lock key
// derived from the text "payhub.migrate".
const migrationLockKey = 7_219_660_341_118_502_341

// gooseTable is the table goose records applied versions in.
const gooseTable = "goose_db_version"

// Migrate applies every pending migration of the canonical model and River's own tables. It is
// safe to call from several processes at once: they take turns on an advisory lock.
func Migrate(ctx context.Context, databaseURL string) error {
	connCfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("db: parse database URL: %w", err)
	}
	sqlDB := stdlib.OpenDB(*connCfg)
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(2)

	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("db: migrate: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
		return fmt.Errorf("db: migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLockKey)) //nolint:errcheck

	if err := migrateModel(ctx, sqlDB); err != nil {
		return err
	}
	return migrateRiver(ctx, databaseURL)
}

func migrateModel(ctx context.Context, sqlDB *sql.DB) error {
	migrations, err := fs.Sub(MigrationsFS, "migrations")
	if err != nil {
		return err
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations,
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	return nil
}

func migrateRiver(ctx context.Context, databaseURL string) error {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("db: migrate river: %w", err)
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("db: migrate river: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("db: migrate river: %w", err)
	}
	return nil
}

// LatestVersion is the highest migration version embedded in this binary.
func LatestVersion() int64 {
	entries, _ := fs.ReadDir(MigrationsFS, "migrations")
	versions := make([]int64, 0, len(entries))
	for _, e := range entries {
		prefix, _, ok := strings.Cut(path.Base(e.Name()), "_")
		if !ok {
			continue
		}
		if v, err := strconv.ParseInt(prefix, 10, 64); err == nil {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return 0
	}
	return slices.Max(versions)
}

// ErrNotMigrated reports a database that is reachable but behind this binary's migrations.
var ErrNotMigrated = errors.New("db: database is not migrated to this binary's version")

// CheckReady reports whether the database answers and carries every migration this binary knows,
// River's included. It is what /readyz asks.
func CheckReady(ctx context.Context, pool *pgxpool.Pool) error {
	var applied int64
	err := pool.QueryRow(ctx,
		"SELECT coalesce(max(version_id), 0) FROM "+gooseTable+" WHERE is_applied").Scan(&applied)
	if err != nil {
		if isUndefinedTable(err) {
			return ErrNotMigrated
		}
		return fmt.Errorf("db: not reachable: %w", err)
	}
	if want := LatestVersion(); applied < want {
		return fmt.Errorf("%w (at %d, want %d)", ErrNotMigrated, applied, want)
	}
	var riverReady bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('river_job') IS NOT NULL").Scan(&riverReady); err != nil {
		return fmt.Errorf("db: not reachable: %w", err)
	}
	if !riverReady {
		return fmt.Errorf("%w (River tables missing)", ErrNotMigrated)
	}
	return nil
}

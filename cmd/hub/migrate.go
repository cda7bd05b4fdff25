package main

import (
	"context"
	"flag"
	"io"

	"github.com/payhub/payhub/db"
)

func runMigrate(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	logger := newLogger(stderr)
	database, err := openDatabase(ctx, *dataDir, logger)
	if err != nil {
		return err
	}
	defer database.Close()
	if err := db.Migrate(ctx, database.URL); err != nil {
		return err
	}
	logger.Info("database migrated", "version", db.LatestVersion())
	return nil
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/payhub/payhub/db"
)

// database is where the hub's data lives: the server at DATABASE_URL, or a private cluster under
// the data directory that this process started (or found running) and stops on close.
type database struct {
	URL     string
	cluster *db.Cluster
}

// openDatabase picks the database: DATABASE_URL when set, else the private cluster in dataDir.
func openDatabase(ctx context.Context, dataDir string, logger *slog.Logger) (*database, error) {
	if url := os.Getenv("DATABASE_URL"); url != "" {
		logger.Info("using the PostgreSQL server at DATABASE_URL")
		return &database{URL: url}, nil
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, "postgres"))
	if err != nil {
		return nil, err
	}
	cluster, err := db.StartCluster(ctx, db.ClusterOptions{Dir: dir, Logger: logger})
	if err != nil {
		return nil, err
	}
	d := &database{URL: cluster.URL(db.ClusterDatabase), cluster: cluster}
	if cluster.Started() {
		logger.Info("started private PostgreSQL", "dir", dir)
	} else {
		logger.Info("using the private PostgreSQL already running", "dir", dir)
	}
	return d, nil
}

// Close stops the private cluster if this process started it.
func (d *database) Close() error {
	if d.cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStopTimeout)
	defer cancel()
	if err := d.cluster.Stop(ctx); err != nil {
		return fmt.Errorf("stop private PostgreSQL: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/events"
	hubsync "github.com/payhub/payhub/sync"
	"github.com/payhub/payhub/web"
)

// Defaults of `hub serve`.
const (
	addrDefault        = "127.0.0.1:8080"
	dataDirDefault     = "./.hub"
	shutdownTimeout    = 15 * time.Second
	clusterStopTimeout = 30 * time.Second
	readyTimeout       = 2 * time.Second
)

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("HUB_ADDR", addrDefault), "address to listen on (env HUB_ADDR)")
	dataDir := dataDirFlag(fs)
	configPath := fs.String("config", os.Getenv("HUB_CONFIG"), "YAML configuration file of the connectors; every key can also be set by env HUB_<SECTION>_<KEY> (env HUB_CONFIG)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	logger := newLogger(stderr)
	cfg, err := loadConfig(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	on, off := cfg.Connectors()
	logger.Info("connectors", "on", on, "off", off)
	logger.Info("graphql limits", "limits", cfg.GraphQL.limits())

	// Take the address first: a port already in use should fail before a database is started.
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer listener.Close()

	database, err := openDatabase(ctx, *dataDir, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := database.Close(); err != nil {
			logger.Error("shutdown", "err", err)
		}
	}()
	if err := db.Migrate(ctx, database.URL); err != nil {
		return err
	}
	pool, err := db.Connect(ctx, database.URL)
	if err != nil {
		return err
	}
	defer pool.Close()

	engine, closeConnectors, err := startEngine(ctx, *cfg, pool, logger)
	if err != nil {
		return err
	}
	defer closeConnectors()
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := engine.Stop(stopCtx); err != nil {
			logger.Error("stopping the workers", "err", err)
		}
	}()

	// One broker per process streams the event log to every subscription (graph/events).
	brokerCtx, stopBroker := context.WithCancel(ctx)
	broker, err := events.Start(brokerCtx, events.Config{Pool: pool, Logger: logger})
	if err != nil {
		stopBroker()
		return err
	}
	defer func() {
		stopBroker()
		<-broker.Done()
	}()

	server := &http.Server{
		Handler:           withObservability(newMux(pool, logger, engine, broker, *cfg), logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	logger.Info("payhub is serving", "graphql", fmt.Sprintf("http://%s/graphql", listener.Addr()),
		"readyz", fmt.Sprintf("http://%s/readyz", listener.Addr()))

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startEngine builds the configured connectors and runs the sync workers on them. The returned
// function closes the connectors (logging off SYSPRO) after the engine has stopped.
func startEngine(ctx context.Context, cfg Config, pool *pgxpool.Pool, logger *slog.Logger) (*hubsync.Engine, func(), error) {
	engine, closeConnectors, err := buildEngine(cfg, pool, logger)
	if err != nil {
		return nil, nil, err
	}
	if err := engine.Start(ctx); err != nil {
		closeConnectors()
		return nil, nil, err
	}
	return engine, closeConnectors, nil
}

// buildEngine builds the configured connectors and an engine on them, without running its
// workers (`hub reconcile` works through it directly).
func buildEngine(cfg Config, pool *pgxpool.Pool, logger *slog.Logger) (*hubsync.Engine, func(), error) {
	ecfg := hubsync.Config{Pool: pool, Logger: logger, Metrics: hubObservability().engine}
	closeConnectors := func() {}
	cfg.Sync.applyTo(&ecfg)
	settlement, err := cfg.Settlement.engineConfig()
	if err != nil {
		return nil, nil, err
	}
	ecfg.Settlement = settlement
	if cfg.Fraud != nil {
		ecfg.Fraud = *cfg.Fraud
	}
	if c := cfg.Cybersource; c != nil {
		client, err := cybersource.New(cybersource.Config{BaseURL: c.URL, MerchantID: c.MerchantID, KeyID: c.KeyID,
			Secret: string(c.Secret), Auth: c.Auth, HTTPClient: connectorClient(connectorCybersource, cybersource.HTTPTimeoutDefault)})
		if err != nil {
			return nil, nil, fmt.Errorf("cybersource: %w", err)
		}
		ecfg.Cybersource, ecfg.Profiles = client, client
	}
	if c := cfg.Opayo; c != nil {
		client, err := opayo.New(opayo.Config{PiURL: c.PiURL, IntegrationKey: c.IntegrationKey,
			IntegrationPassword: string(c.IntegrationPassword), Vendor: c.Vendor, ReportingURL: c.ReportingURL,
			ReportingUser: c.ReportingUser, ReportingPassword: string(c.ReportingPassword),
			HTTPClient: connectorClient(connectorOpayo, opayo.HTTPTimeoutDefault)})
		if err != nil {
			return nil, nil, fmt.Errorf("opayo: %w", err)
		}
		ecfg.Opayo = client
	}
	if c := cfg.Syspro; c != nil {
		client, err := syspro.New(syspro.Config{BaseURL: c.URL, Operator: c.Operator, OperatorPassword: string(c.OperatorPassword),
			CompanyID: c.CompanyID, CompanyPassword: string(c.CompanyPassword), Seats: c.Seats,
			HTTPClient: connectorClient(connectorSyspro, syspro.HTTPTimeoutDefault)})
		if err != nil {
			return nil, nil, fmt.Errorf("syspro: %w", err)
		}
		ecfg.Syspro = client
		closeConnectors = func() {
			lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := client.Close(lctx); err != nil {
				logger.Warn("SYSPRO logoff", "err", err)
			}
		}
	}
	engine, err := hubsync.New(ecfg)
	if err != nil {
		closeConnectors()
		return nil, nil, err
	}
	return engine, closeConnectors, nil
}

// newMux routes the hub's HTTP endpoints.
func newMux(pool *pgxpool.Pool, logger *slog.Logger, engine *hubsync.Engine, broker *events.Broker, cfg Config) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/graphql", graph.NewHandler(graph.HandlerConfig{Pool: pool, Logger: logger, Engine: engine, Events: broker,
		Limits: cfg.GraphQL.limits()}))
	if c := cfg.Cybersource; c != nil {
		keys := make([]cybersource.WebhookKey, len(c.WebhookKeys))
		for i, k := range c.WebhookKeys {
			keys[i] = cybersource.WebhookKey{ID: k.ID, Key: string(k.Key)}
		}
		mux.Handle("POST /webhooks/cybersource", &hubsync.CybersourceWebhooks{Engine: engine, Keys: keys})
	}
	if c := cfg.Opayo; c != nil {
		redirect := ""
		if cfg.Sync != nil {
			redirect = cfg.Sync.OpayoRedirectURL
		}
		if redirect == "" {
			logger.Warn("sync.opayoRedirectUrl is not set: Opayo Server-protocol notifications are answered without a RedirectURL")
		}
		mux.Handle("POST /webhooks/opayo", &hubsync.OpayoNotifications{Engine: engine, RedirectURL: redirect, Vendor: c.Vendor})
	}
	mux.Handle("GET /metrics", metricsHandler())
	// The operations dashboard: whatever no other route takes (its files, else 404; 405 unless GET or HEAD).
	mux.Handle("/", web.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := db.CheckReady(ctx, pool); err != nil {
			logger.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}

package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
)

// Queue names. SYSPRO postings have their own queue so that a slow SYSPRO never starves the
// gateway work, and so that their concurrency follows the licence seats.
const (
	QueueSyspro = "syspro"
)

// When a payment becomes an AR receipt (Config.ArPaymentAt).
const (
	ArPaymentAtCapture = "capture"
	ArPaymentAtShip    = "ship"
)

// Defaults of Config.
const (
	// SysproWorkersDefault is how many postings run at once; the client's session pool still
	// limits the calls in flight to its seats.
	SysproWorkersDefault = 4
	// MaxAttemptsDefault is how many times a transiently failing posting is tried before it goes
	// dead (with BackoffDefault, about four hours of retrying).
	MaxAttemptsDefault = 25
	// DefaultWarehouseDefault is the warehouse of order lines that do not name one.
	DefaultWarehouseDefault = "FG"
	// PollIntervalDefault is how often gateways are polled and the janitor runs.
	PollIntervalDefault = time.Minute
	// RescueAfterDefault is longer than any job's timeout, so a job is only rescued from a
	// worker that is gone.
	RescueAfterDefault = 5 * time.Minute
	// StatusIntervalDefault is how often open orders' SYSPRO status is read back.
	StatusIntervalDefault = 5 * time.Minute
)

// Syspro is what the engine needs of the SYSPRO connector; *syspro.Client provides it.
type Syspro interface {
	PostSalesOrder(ctx context.Context, o syspro.SalesOrder, opt syspro.SalesOrderOptions) (*syspro.SalesOrderResult, error)
	QuerySalesOrder(ctx context.Context, salesOrder string) (*syspro.SalesOrderDetail, error)
	StockAvailable(ctx context.Context, stockCode, warehouse string) (*syspro.StockItem, error)
	ChangeOrderStatus(ctx context.Context, ch syspro.OrderStatusChange) (*syspro.OrderStatusResult, error)
	PostCreditNoteOnce(ctx context.Context, cn syspro.CreditNote) (*syspro.CreditNoteResult, error)
	QueryCustomer(ctx context.Context, customer string) (*syspro.CustomerAccount, error)
	AddCustomer(ctx context.Context, cs syspro.CustomerSetup) (string, error)
	UpdateCustomer(ctx context.Context, cs syspro.CustomerSetup) (string, error)
	PostArPaymentOnce(ctx context.Context, pay syspro.ArPayment) (*syspro.ArPaymentResult, error)
}

// Config is what an Engine runs on. Pool is required; without Syspro, postings wait in the
// outbox (their jobs are not worked) until a hub with SYSPRO configured picks them up.
type Config struct {
	Pool   *pgxpool.Pool
	Syspro Syspro
	// Cybersource and Opayo are the gateways' clients (*cybersource.Client, *opayo.Client);
	// nil when that gateway is not configured here.
	Cybersource Cybersource
	Opayo       Opayo
	// Profiles is the gateway's customer store (Cybersource TMS); nil leaves profiles alone.
	Profiles CustomerProfiles
	Logger   *slog.Logger
	// Metrics receives the engine's measurements; nil measures nothing.
	Metrics *Metrics
	// PollInterval is how often the gateways are polled for what webhooks missed and the janitor
	// re-queries payments in an unknown state; zero is PollIntervalDefault.
	PollInterval time.Duration
	// StatusInterval is how often SYSPRO is asked about open orders and customers are compared
	// across systems; zero is StatusIntervalDefault.
	StatusInterval time.Duration
	// Backoff is the retry schedule of transient failures; zero is BackoffDefault.
	Backoff Backoff
	// MaxAttempts bounds the tries of one posting; zero is MaxAttemptsDefault.
	MaxAttempts int
	// SysproWorkers is the concurrency of the SYSPRO queue; zero is SysproWorkersDefault.
	SysproWorkers int
	// CreateCustomers lets the engine add a customer SYSPRO does not know (ARSSCS) instead of
	// dead-lettering the order as "invalid customer".
	CreateCustomers bool
	// ArPaymentAt is when a captured payment is posted to SYSPRO as an AR receipt:
	// ArPaymentAtCapture (as soon as its order is in SYSPRO; the default) or ArPaymentAtShip
	// (once SYSPRO reports the order shipped: status 8 or 9).
	ArPaymentAt string
	// DefaultWarehouse is used for order lines without one; empty is DefaultWarehouseDefault.
	DefaultWarehouse string
	// RescueAfter is how long a job may stay running before River hands it to another worker:
	// what recovers the jobs of a hub that died mid-job. Zero is RescueAfterDefault.
	RescueAfter time.Duration
	// PlaceOrderWait is how long PlaceOrder waits for SYSPRO's order number before answering
	// the order as still posting; zero is PlaceOrderWaitDefault.
	PlaceOrderWait time.Duration
	// FetchPollInterval is how often idle workers look for jobs besides being woken by NOTIFY;
	// zero keeps River's default.
	FetchPollInterval time.Duration
	// Settlement is how settlements are imported, matched and journaled.
	Settlement SettlementConfig
	// Anomaly tunes the live anomaly detection.
	Anomaly AnomalyConfig
	// Fraud is the fraud policy: what the gateways' risk signals mean for a payment (review,
	// reject) and how an order under review is held. The zero value is FraudPolicy's defaults.
	Fraud FraudPolicy
}

// Engine runs Payhub's jobs on River.
type Engine struct {
	cfg     Config
	working bool // some job kind has a worker here
	log     *slog.Logger
	queries *db.Queries
	river   *river.Client[pgx.Tx]
	scanner *anomalyScanner // live anomaly detection; nil when off
}

// New builds an engine; Start runs its workers.
func New(cfg Config) (*Engine, error) {
	if cfg.Pool == nil {
		return nil, errors.New("sync: a database pool is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = BackoffDefault
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = MaxAttemptsDefault
	}
	if cfg.SysproWorkers <= 0 {
		cfg.SysproWorkers = SysproWorkersDefault
	}
	if cfg.DefaultWarehouse == "" {
		cfg.DefaultWarehouse = DefaultWarehouseDefault
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = PollIntervalDefault
	}
	switch cfg.ArPaymentAt {
	case "":
		cfg.ArPaymentAt = ArPaymentAtCapture
	case ArPaymentAtCapture, ArPaymentAtShip:
	default:
		return nil, fmt.Errorf("sync: ArPaymentAt is %q; want %q or %q", cfg.ArPaymentAt, ArPaymentAtCapture, ArPaymentAtShip)
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = RescueAfterDefault
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = StatusIntervalDefault
	}
	if err := cfg.Fraud.Validate(); err != nil {
		return nil, fmt.Errorf("sync: fraud policy: %w", err)
	}
	if err := cfg.Settlement.GL.Validate(); err != nil {
		return nil, fmt.Errorf("sync: settlement: %w", err)
	}
	if cfg.PlaceOrderWait <= 0 {
		cfg.PlaceOrderWait = PlaceOrderWaitDefault
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, queries: db.New(cfg.Pool)}

	reg := &registry{workers: river.NewWorkers(), queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}}
	if cfg.Syspro != nil {
		river.AddWorker(reg.workers, &erpPostingWorker{engine: e})
		reg.queues[QueueSyspro] = river.QueueConfig{MaxWorkers: cfg.SysproWorkers}
		reg.working = true
	}
	e.registerNormalise(reg)
	e.registerCybersource(reg)
	e.registerOpayo(reg)
	e.registerStatusBack(reg)
	e.registerCustomerSync(reg)
	e.registerSettlement(reg)
	e.registerFraudPolicy(reg)
	e.registerAnomalyScan(reg)
	e.working = reg.working
	rcfg := &river.Config{
		Logger:               cfg.Logger,
		MaxAttempts:          cfg.MaxAttempts,
		RetryPolicy:          cfg.Backoff,
		Queues:               reg.queues,
		Workers:              reg.workers,
		PeriodicJobs:         reg.periodic,
		Middleware:           e.middleware(),
		FetchPollInterval:    cfg.FetchPollInterval,
		RescueStuckJobsAfter: cfg.RescueAfter,
		JobTimeout:           e.jobTimeout(time.Minute),
		// Jobs of kinds this hub has no worker for (SYSPRO not configured here) stay for a
		// replica that has one.
		SkipUnknownJobCheck: true,
		FetchOnlyKnownKinds: true,
	}
	if !e.working {
		// Without workers the client only inserts jobs (transactional enqueue) for the replicas
		// that work them.
		rcfg.Queues, rcfg.Workers, rcfg.PeriodicJobs, rcfg.Middleware = nil, nil, nil, nil
	}
	rc, err := river.NewClient(riverpgxv5.New(cfg.Pool), rcfg)
	if err != nil {
		return nil, fmt.Errorf("sync: river client: %w", err)
	}
	e.river = rc
	return e, nil
}

// Start runs the workers until Stop.
func (e *Engine) Start(ctx context.Context) error {
	if !e.working {
		return nil
	}
	if err := e.river.Start(ctx); err != nil {
		return fmt.Errorf("sync: start: %w", err)
	}
	return nil
}

// Stop lets running jobs finish until ctx ends; jobs still running then are cancelled and handed
// back to the queue for another worker.
func (e *Engine) Stop(ctx context.Context) error {
	if !e.working {
		return nil
	}
	err := e.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return e.river.StopAndCancel(cctx)
	}
	return err
}

// inTx runs fn in one transaction: the canonical change, its events and its jobs commit together.
func (e *Engine) inTx(ctx context.Context, fn func(tx pgx.Tx, q *db.Queries) error) error {
	return pgx.BeginFunc(ctx, e.cfg.Pool, func(tx pgx.Tx) error {
		return fn(tx, e.queries.WithTx(tx))
	})
}

// registry collects what each part of the engine runs: its workers, periodic jobs and queues.
// A part that adds a worker sets working.
type registry struct {
	workers  *river.Workers
	periodic []*river.PeriodicJob
	queues   map[string]river.QueueConfig
	working  bool
}

// jobTimeout bounds one run of a job: at most max, and well under RescueAfter so that a job is
// never handed to a second worker while the first is still at it.
func (e *Engine) jobTimeout(max time.Duration) time.Duration {
	return min(max, e.cfg.RescueAfter/2)
}

// every runs args as a periodic job (on the leader only), first at start and then every interval.
func (r *registry) every(interval time.Duration, args river.JobArgs) {
	r.periodic = append(r.periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil }, &river.PeriodicJobOpts{RunOnStart: true}))
}

package sync

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/syspro"
)

// MetricsNamespace prefixes every metric name of the hub.
const MetricsNamespace = "payhub"

// statsTimeout bounds the SQL a scrape runs; a slow database yields payhub_db_stats_up 0, not a
// hanging scrape.
const statsTimeout = 2 * time.Second

// inboundWindow is how far back payhub_inbound_messages_recent counts: the table keeps every
// message ever received, and only recent ones can be counted cheaply (by received_at).
const inboundWindow = "24 hours"

// Job outcomes, as payhub_jobs_total labels them.
const (
	JobCompleted = "completed"
	JobRetried   = "retried"   // failed; River will try again
	JobDiscarded = "discarded" // failed on its last attempt
	JobCancelled = "cancelled" // the worker gave up for good (river.JobCancel)
	JobSnoozed   = "snoozed"
	JobPanicked  = "panicked"
)

// Error classes of jobs besides the posting classes (ClassTransient, ClassBusiness,
// ClassConfiguration).
const (
	ClassNotFound = "not_found"
	ClassTimeout  = "timeout"
	ClassShutdown = "shutdown" // the job's context was cancelled (the hub stopping)
	ClassOther    = "other"    // the hub's own failures: database, bugs
)

// Metrics are the engine's Prometheus collectors. Build them with NewMetrics and hand them to New
// in Config.Metrics; a nil *Metrics measures nothing.
type Metrics struct {
	jobs        *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	jobErrors   *prometheus.CounterVec
	postings    *prometheus.CounterVec
	inbound     *prometheus.CounterVec
	stats       *statsCollector
}

// NewMetrics builds the engine's collectors and registers them on reg (none when reg is nil). It
// panics if reg already holds them, like promauto. The database gauges (queue depth, postings,
// anomalies, inbound messages) are read at scrape time from the pool of the engine built with these
// Metrics; until then they are absent.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "jobs_total",
			Help: "River jobs worked, by kind, queue and outcome (completed, retried, discarded, cancelled, snoozed, panicked).",
		}, []string{"kind", "queue", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "job_duration_seconds",
			Help:    "Time spent working one River job, by kind.",
			Buckets: []float64{0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"kind"}),
		jobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "job_errors_total",
			Help: "River job attempts that failed, by kind and error class.",
		}, []string{"kind", "class"}),
		postings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "erp_posting_attempts_total",
			Help: "SYSPRO posting attempts, by posting kind, outcome (succeeded, retry, dead) and error class (none on success).",
		}, []string{"kind", "outcome", "class"}),
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "inbound_messages_total",
			Help: "Webhooks and notifications received, by source, signature verdict and whether they were duplicates.",
		}, []string{"source", "verdict", "duplicate"}),
		stats: newStatsCollector(),
	}
	if reg != nil {
		reg.MustRegister(m.jobs, m.jobDuration, m.jobErrors, m.postings, m.inbound, m.stats)
	}
	return m
}

// attach points the scrape-time gauges at the engine's database. New calls it through
// middleware(); the last engine attached wins.
func (m *Metrics) attach(pool *pgxpool.Pool, log *slog.Logger) {
	if m == nil || pool == nil {
		return
	}
	m.stats.log.Store(log)
	m.stats.pool.Store(pool)
}

// middleware is the engine's River middleware (job metrics and logging). It also attaches the
// engine's pool to Config.Metrics, since New calls it once per engine.
func (e *Engine) middleware() []rivertype.Middleware {
	e.cfg.Metrics.attach(e.cfg.Pool, e.log)
	return []rivertype.Middleware{&jobMiddleware{engine: e}}
}

// observePosting counts one posting attempt's outcome (succeeded, retry, dead) and error class.
func (e *Engine) observePosting(kind, outcome, class string) {
	if e == nil || e.cfg.Metrics == nil {
		return
	}
	e.cfg.Metrics.postings.WithLabelValues(labelValue(kind, "unknown"), labelValue(outcome, "unknown"), labelValue(class, "none")).Inc()
}

// observeInbound counts one inbound webhook or notification by source and signature verdict.
func (e *Engine) observeInbound(source, verdict string, duplicate bool) {
	if e == nil || e.cfg.Metrics == nil {
		return
	}
	e.cfg.Metrics.inbound.WithLabelValues(labelValue(source, "unknown"), labelValue(verdict, "unknown"), strconv.FormatBool(duplicate)).Inc()
}

// labelValue keeps label values short and never empty; values come from the hub's own constants,
// this only guards against a mistake turning into a cardinality problem.
func labelValue(v, empty string) string {
	if v == "" {
		return empty
	}
	if len(v) > 64 {
		return v[:64]
	}
	return v
}

// loggerKey is the context key of the logger carrying request or job ids.
type loggerKey struct{}

// WithLogger returns ctx carrying l; LoggerFrom gives it back. The HTTP server stores its
// per-request logger (request_id, method, path) this way, the job middleware a per-job one.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, loggerKey{}, l)
}

// LoggerFrom is the logger ctx carries (with the job's job_id, kind, attempt and queue inside a
// job, with request_id inside an HTTP request), else the engine's logger. It is safe on a nil
// Engine.
func (e *Engine) LoggerFrom(ctx context.Context) *slog.Logger {
	if l := LoggerFrom(ctx); l != nil {
		return l
	}
	if e == nil || e.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.log
}

// LoggerFrom is the logger ctx carries, or nil; inside the engine use (*Engine).LoggerFrom, which
// falls back to the engine's logger.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if ctx == nil {
		return nil
	}
	l, _ := ctx.Value(loggerKey{}).(*slog.Logger)
	return l
}

// jobMiddleware measures and logs every job the engine works, and gives the job a logger.
type jobMiddleware struct {
	river.MiddlewareDefaults
	engine *Engine
}

func (mw *jobMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	e := mw.engine
	log := e.log.With(slog.Int64("job_id", job.ID), slog.String("kind", job.Kind),
		slog.Int("attempt", job.Attempt), slog.String("queue", job.Queue))
	ctx = WithLogger(ctx, log)
	start := time.Now()
	returned := false
	defer func() {
		if !returned { // a panic, which River recovers and logs with its value
			e.observeJob(ctx, log, job, time.Since(start), nil, true)
		}
	}()
	err := doInner(ctx)
	returned = true
	e.observeJob(ctx, log, job, time.Since(start), err, false)
	return err
}

// observeJob counts and logs the end of one job attempt.
func (e *Engine) observeJob(ctx context.Context, log *slog.Logger, job *rivertype.JobRow, took time.Duration, err error, panicked bool) {
	outcome, class := jobOutcome(job, err, panicked)
	if m := e.cfg.Metrics; m != nil {
		m.jobs.WithLabelValues(job.Kind, job.Queue, outcome).Inc()
		m.jobDuration.WithLabelValues(job.Kind).Observe(took.Seconds())
		if class != "" {
			m.jobErrors.WithLabelValues(job.Kind, class).Inc()
		}
	}
	switch outcome {
	case JobCompleted, JobSnoozed:
		log.DebugContext(ctx, "job done", "outcome", outcome, "duration", took)
	case JobPanicked:
		log.ErrorContext(ctx, "job panicked", "outcome", outcome, "class", class, "duration", took)
	default:
		log.WarnContext(ctx, "job failed", "outcome", outcome, "class", class, "duration", took, "error", err)
	}
}

// jobOutcome sorts how a job attempt ended, and the class of its error ("" when none).
func jobOutcome(job *rivertype.JobRow, err error, panicked bool) (outcome, class string) {
	switch {
	case panicked:
		return JobPanicked, "panic"
	case err == nil:
		return JobCompleted, ""
	}
	var snooze *rivertype.JobSnoozeError
	if errors.As(err, &snooze) {
		return JobSnoozed, ""
	}
	class = jobErrorClass(err)
	var cancel *rivertype.JobCancelError
	switch {
	case errors.As(err, &cancel):
		return JobCancelled, class
	case job.Attempt >= job.MaxAttempts:
		return JobDiscarded, class
	}
	return JobRetried, class
}

// jobErrorClass sorts a job's error: the connectors' classes first, then timeouts and shutdown;
// anything else is the hub's own (ClassOther).
func jobErrorClass(err error) string {
	var perm permanentError
	switch {
	case errors.As(err, &perm), syspro.IsBusiness(err), cybersource.IsBusiness(err), opayo.IsBusiness(err),
		opayo.IsInvalidRequest(err):
		return ClassBusiness
	case syspro.IsConfiguration(err), cybersource.IsConfiguration(err), cybersource.IsAuth(err), opayo.IsConfiguration(err):
		return ClassConfiguration
	case cybersource.IsNotFound(err), opayo.IsNotFound(err):
		return ClassNotFound
	case syspro.IsTransient(err), cybersource.IsTransient(err), opayo.IsTransient(err):
		return ClassTransient
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.Is(err, context.Canceled):
		return ClassShutdown
	}
	return ClassOther
}

// statsCollector reads the queue and outbox gauges from the database at scrape time.
type statsCollector struct {
	pool atomic.Pointer[pgxpool.Pool]
	log  atomic.Pointer[slog.Logger]

	up, riverJobs, postings, anomalies, inbound *prometheus.Desc
}

func newStatsCollector() *statsCollector {
	name := func(n string) string { return prometheus.BuildFQName(MetricsNamespace, "", n) }
	return &statsCollector{
		up: prometheus.NewDesc(name("db_stats_up"),
			"1 when the last scrape could read the queue and outbox gauges from the database, else 0.", nil, nil),
		riverJobs: prometheus.NewDesc(name("river_jobs"),
			"River jobs waiting or running, by queue and state (available, scheduled, retryable, running).",
			[]string{"queue", "state"}, nil),
		postings: prometheus.NewDesc(name("erp_postings"),
			"SYSPRO postings by status: pending and in_progress are the outbox, dead is the dead-letter queue.",
			[]string{"status"}, nil),
		anomalies: prometheus.NewDesc(name("anomalies_open"),
			"Anomalies not yet resolved (open or acknowledged), by kind and severity.",
			[]string{"kind", "severity"}, nil),
		inbound: prometheus.NewDesc(name("inbound_messages_recent"),
			"Inbound webhooks and notifications received in the last 24 hours, by source and status.",
			[]string{"source", "status"}, nil),
	}
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.riverJobs
	ch <- c.postings
	ch <- c.anomalies
	ch <- c.inbound
}

// statsSQL reads every gauge in one round trip. Each part is served by an index: River's fetching
// index on (state, queue, ...), erp_postings' partial indexes on open and dead rows, anomalies'
// partial index on unresolved rows, inbound_messages' index on received_at.
const statsSQL = `
SELECT 'river', queue, state::text, count(*) FROM river_job
 WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY queue, state
UNION ALL
SELECT 'posting', status, '', count(*) FROM erp_postings
 WHERE status IN ('pending', 'in_progress', 'dead') GROUP BY status
UNION ALL
SELECT 'anomaly', kind, severity, count(*) FROM anomalies
 WHERE status <> 'resolved' GROUP BY kind, severity
UNION ALL
SELECT 'inbound', source, status, count(*) FROM inbound_messages
 WHERE received_at > now() - interval '` + inboundWindow + `' GROUP BY source, status`

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	pool := c.pool.Load()
	if pool == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	type key struct{ a, b string }
	queues := map[key]float64{}
	// The outbox statuses and the engine's queues are always reported, zero when empty, so that
	// alerts on them see a series.
	postings := map[string]float64{"pending": 0, "in_progress": 0, "dead": 0}
	for _, q := range []string{river.QueueDefault, QueueSyspro} {
		for _, s := range []string{"available", "scheduled", "retryable", "running"} {
			queues[key{q, s}] = 0
		}
	}
	anomalies, inbound := map[key]float64{}, map[key]float64{}
	err := func() error {
		rows, err := pool.Query(ctx, statsSQL)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var part, a, b string
			var n int64
			if err := rows.Scan(&part, &a, &b, &n); err != nil {
				return err
			}
			switch part {
			case "river":
				queues[key{a, b}] = float64(n)
			case "posting":
				postings[a] = float64(n)
			case "anomaly":
				anomalies[key{a, b}] = float64(n)
			case "inbound":
				inbound[key{a, b}] = float64(n)
			}
		}
		return rows.Err()
	}()
	if err != nil {
		if log := c.log.Load(); log != nil {
			log.Warn("metrics: reading queue and outbox gauges", "error", err)
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for k, n := range queues {
		ch <- prometheus.MustNewConstMetric(c.riverJobs, prometheus.GaugeValue, n, k.a, k.b)
	}
	for s, n := range postings {
		ch <- prometheus.MustNewConstMetric(c.postings, prometheus.GaugeValue, n, s)
	}
	for k, n := range anomalies {
		ch <- prometheus.MustNewConstMetric(c.anomalies, prometheus.GaugeValue, n, k.a, k.b)
	}
	for k, n := range inbound {
		ch <- prometheus.MustNewConstMetric(c.inbound, prometheus.GaugeValue, n, k.a, k.b)
	}
}

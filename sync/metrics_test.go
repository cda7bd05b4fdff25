package sync

// An internal test: it calls observePosting, observeInbound and middleware() directly. TestMain
// (dbtest.Run) is main_test.go's, shared by the whole test binary.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db/dbtest"
)

// metricValue is the value of the series name{labels} in reg (a histogram's sample count), and
// whether it exists.
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func wantMetric(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string, want float64) {
	t.Helper()
	got, ok := metricValue(t, reg, name, labels)
	if !ok || got != want {
		t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
	}
}

// syncBuffer is a log destination safe for the workers' goroutines.
type syncBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMetricsCollectorReadsQueueDepthOutboxAnomaliesAndInbound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	// No SYSPRO here: the posting's job waits in the syspro queue, which is what a scrape should see.
	e, err := New(Config{Pool: pool, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := e.EnqueuePostingTx(ctx, tx, PostingRequest{Kind: PostingCustomer, BusinessObject: "ARSSCS",
			SubjectType: "customer", SubjectID: 1, IdempotencyKey: "customer:metrics-1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key, status, error_class, dead_at)
		 VALUES ('sales_order', 'SORTOI', 'sales_order', 7, 'sales_order:metrics-dead', 'dead', 'business', now())`,
		`INSERT INTO anomalies (kind, severity, dedupe_key, summary) VALUES ('erp_posting_dead', 'warning', 'metrics:1', 'dead')`,
		`INSERT INTO anomalies (kind, severity, dedupe_key, summary, status, resolved_at) VALUES ('erp_posting_dead', 'warning', 'metrics:2', 'old', 'resolved', now())`,
		`INSERT INTO inbound_messages (source, external_event_id, body, signature_status, status) VALUES ('cybersource', 'evt-m1', '{}', 'valid', 'received')`,
		`INSERT INTO inbound_messages (source, external_event_id, body, signature_status, status, received_at) VALUES ('cybersource', 'evt-m0', '{}', 'valid', 'processed', now() - interval '3 days')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	wantMetric(t, reg, "payhub_db_stats_up", nil, 1)
	wantMetric(t, reg, "payhub_river_jobs", map[string]string{"queue": QueueSyspro, "state": "available"}, 1)
	wantMetric(t, reg, "payhub_river_jobs", map[string]string{"queue": river.QueueDefault, "state": "running"}, 0)
	wantMetric(t, reg, "payhub_erp_postings", map[string]string{"status": "pending"}, 1)
	wantMetric(t, reg, "payhub_erp_postings", map[string]string{"status": "in_progress"}, 0)
	wantMetric(t, reg, "payhub_erp_postings", map[string]string{"status": "dead"}, 1)
	wantMetric(t, reg, "payhub_anomalies_open", map[string]string{"kind": "erp_posting_dead", "severity": "warning"}, 1)
	wantMetric(t, reg, "payhub_inbound_messages_recent", map[string]string{"source": "cybersource", "status": "received"}, 1)
	if _, ok := metricValue(t, reg, "payhub_inbound_messages_recent", map[string]string{"status": "processed"}); ok {
		t.Error("a message older than the window is counted")
	}
	if n, err := testutil.GatherAndCount(reg, "payhub_erp_postings"); err != nil || n != 3 {
		t.Errorf("payhub_erp_postings has %d series (%v), want pending, in_progress and dead", n, err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}

	// A database that cannot answer is a 0, not a failed scrape.
	pool.Close()
	wantMetric(t, reg, "payhub_db_stats_up", nil, 0)
}

func TestMetricsCountPostingsAndInboundAndAreNilSafe(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	reg := prometheus.NewRegistry()
	e, err := New(Config{Pool: pool, Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	e.observePosting(PostingSalesOrder, "succeeded", "")
	e.observePosting(PostingSalesOrder, "retry", ClassTransient)
	e.observePosting(PostingSalesOrder, "retry", ClassTransient)
	e.observePosting(PostingArPayment, "dead", ClassBusiness)
	e.observeInbound("cybersource", SignatureValid, false)
	e.observeInbound("cybersource", SignatureValid, true)
	e.observeInbound("cybersource", SignatureInvalid, false)

	wantMetric(t, reg, "payhub_erp_posting_attempts_total", map[string]string{"kind": "sales_order", "outcome": "succeeded", "class": "none"}, 1)
	wantMetric(t, reg, "payhub_erp_posting_attempts_total", map[string]string{"kind": "sales_order", "outcome": "retry", "class": "transient"}, 2)
	wantMetric(t, reg, "payhub_erp_posting_attempts_total", map[string]string{"kind": "ar_payment", "outcome": "dead", "class": "business"}, 1)
	wantMetric(t, reg, "payhub_inbound_messages_total", map[string]string{"source": "cybersource", "verdict": "valid", "duplicate": "false"}, 1)
	wantMetric(t, reg, "payhub_inbound_messages_total", map[string]string{"source": "cybersource", "verdict": "valid", "duplicate": "true"}, 1)
	wantMetric(t, reg, "payhub_inbound_messages_total", map[string]string{"source": "cybersource", "verdict": "invalid", "duplicate": "false"}, 1)

	// Without Metrics, and on a nil engine, nothing is measured and nothing breaks.
	bare, err := New(Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	bare.observePosting(PostingSalesOrder, "dead", ClassBusiness)
	bare.observeInbound("opayo", SignatureValid, false)
	var none *Engine
	none.observePosting(PostingSalesOrder, "dead", ClassBusiness)
	none.observeInbound("opayo", SignatureValid, false)
	if none.LoggerFrom(context.Background()) == nil || bare.LoggerFrom(context.Background()) != bare.log {
		t.Error("LoggerFrom without a job or request logger should be the engine's")
	}
	var nilMetrics *Metrics
	nilMetrics.attach(pool, nil)
}

// testJobArgs is a job whose worker does what Mode says.
type testJobArgs struct {
	Mode string `json:"mode"`
}

func (testJobArgs) Kind() string { return "metrics_test" }

type testJobWorker struct {
	river.WorkerDefaults[testJobArgs]
	engine *Engine
}

func (w *testJobWorker) Work(ctx context.Context, job *river.Job[testJobArgs]) error {
	w.engine.LoggerFrom(ctx).Info("inside the job", "mode", job.Args.Mode)
	switch job.Args.Mode {
	case "fail":
		return errors.New("flaky")
	case "cancel":
		return river.JobCancel(permanent(errors.New("hopeless")))
	case "panic":
		panic("boom")
	case "timeout":
		return context.DeadlineExceeded
	}
	return nil
}

type retryLater struct{}

func (retryLater) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Hour) }

// The engine's middleware on a River client of the test's own, working one job per outcome.
func TestMetricsJobMiddlewareCountsOutcomesAndLogsWithJobIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	e, err := New(Config{Pool: pool, Metrics: NewMetrics(reg),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &testJobWorker{engine: e})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:           workers,
		Middleware:        e.middleware(),
		FetchPollInterval: 100 * time.Millisecond,
		RetryPolicy:       retryLater{}, // no second attempt while the test counts
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	events, cancelSub := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	defer cancelSub()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		client.Stop(sctx)
	}()

	jobs := []struct {
		mode        string
		maxAttempts int
	}{{"ok", 3}, {"fail", 3}, {"fail", 1}, {"cancel", 3}, {"panic", 1}, {"timeout", 3}}
	for _, j := range jobs {
		if _, err := client.Insert(ctx, testJobArgs{Mode: j.mode}, &river.InsertOpts{MaxAttempts: j.maxAttempts}); err != nil {
			t.Fatal(err)
		}
	}
	timeout := time.After(30 * time.Second)
	for range jobs {
		select {
		case <-events:
		case <-timeout:
			t.Fatalf("jobs not worked in 30s; log:\n%s", logs.String())
		}
	}

	kind := map[string]string{"kind": "metrics_test", "queue": river.QueueDefault}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range kind {
			m[a] = b
		}
		return m
	}
	wantMetric(t, reg, "payhub_jobs_total", with("outcome", JobCompleted), 1)
	wantMetric(t, reg, "payhub_jobs_total", with("outcome", JobRetried), 2) // fail and timeout, attempts left
	wantMetric(t, reg, "payhub_jobs_total", with("outcome", JobDiscarded), 1)
	wantMetric(t, reg, "payhub_jobs_total", with("outcome", JobCancelled), 1)
	wantMetric(t, reg, "payhub_jobs_total", with("outcome", JobPanicked), 1)
	wantMetric(t, reg, "payhub_job_duration_seconds", map[string]string{"kind": "metrics_test"}, 6)
	wantMetric(t, reg, "payhub_job_errors_total", map[string]string{"kind": "metrics_test", "class": ClassOther}, 2)
	wantMetric(t, reg, "payhub_job_errors_total", map[string]string{"kind": "metrics_test", "class": ClassBusiness}, 1)
	wantMetric(t, reg, "payhub_job_errors_total", map[string]string{"kind": "metrics_test", "class": ClassTimeout}, 1)
	wantMetric(t, reg, "payhub_job_errors_total", map[string]string{"kind": "metrics_test", "class": "panic"}, 1)

	out := logs.String()
	for _, want := range []string{
		`msg="inside the job" job_id=`, "kind=metrics_test attempt=1 queue=default mode=ok",
		`level=DEBUG msg="job done" job_id=`, "outcome=completed",
		`level=WARN msg="job failed"`, "outcome=retried class=other", "error=flaky",
		"outcome=cancelled class=business", `level=ERROR msg="job panicked"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// The engine's own River client runs the middleware: a SYSPRO posting worked against the
// simulator is counted as an erp_posting job.
func TestMetricsEngineCountsItsJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	srv := httptest.NewServer(sysprosim.New(sysprosim.Options{SeatsPerOperator: 2}))
	t.Cleanup(srv.Close)
	client, err := syspro.New(syspro.Config{BaseURL: srv.URL + sysprosim.BasePath, Operator: "ADMIN",
		OperatorPassword: "admin", CompanyID: "EDU1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(context.Background()) })
	reg := prometheus.NewRegistry()
	e, err := New(Config{Pool: pool, Syspro: client, Metrics: NewMetrics(reg), FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var customerID int64
	if err := pool.QueryRow(ctx, `INSERT INTO customers (code, name) VALUES ('WEBS01', 'Web customer') RETURNING id`).Scan(&customerID); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := e.EnqueuePostingTx(ctx, tx, PostingRequest{Kind: PostingCustomer, BusinessObject: "ARSSCS",
			SubjectType: "customer", SubjectID: customerID, IdempotencyKey: "customer:WEBS01"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	wantMetric(t, reg, "payhub_river_jobs", map[string]string{"queue": QueueSyspro, "state": "available"}, 1)
	startMetricsEngine(t, e)

	labels := map[string]string{"kind": "erp_posting", "queue": QueueSyspro, "outcome": JobCompleted}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := metricValue(t, reg, "payhub_jobs_total", labels); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			var status string
			_ = pool.QueryRow(ctx, `SELECT status FROM erp_postings`).Scan(&status)
			t.Fatalf("no completed erp_posting job counted in 30s; posting %s", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantMetric(t, reg, "payhub_river_jobs", map[string]string{"queue": QueueSyspro, "state": "available"}, 0)
	wantMetric(t, reg, "payhub_erp_postings", map[string]string{"status": "pending"}, 0)
}

func startMetricsEngine(t *testing.T, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		e.Stop(sctx)
		cancel()
	})
}

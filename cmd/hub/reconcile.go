package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/payhub/payhub/db"
	hubsync "github.com/payhub/payhub/sync"
)

// progressFrom is how many units of work a stage needs before `hub reconcile` draws a progress
// bar for it: small days finish before a bar would be read.
const progressFrom = 20000

func runReconcile(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	gateway := fs.String("gateway", "", "the gateway whose settlement to reconcile: cybersource or opayo (required)")
	date := fs.String("date", "", "the business day to reconcile, YYYY-MM-DD (required)")
	out := fs.String("out", "", "write the discrepancy report to this CSV file (- for standard output)")
	dataDir := dataDirFlag(fs)
	configPath := fs.String("config", os.Getenv("HUB_CONFIG"), "YAML configuration file of the connectors (env HUB_CONFIG)")
	progress := fs.String("progress", "auto", "progress bar: auto (on long runs), always or never")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *gateway != "cybersource" && *gateway != "opayo" {
		fmt.Fprintf(stderr, "hub reconcile: --gateway must be cybersource or opayo, not %q\n", *gateway)
		return errUsage
	}
	day, err := time.Parse(time.DateOnly, *date)
	if err != nil {
		fmt.Fprintf(stderr, "hub reconcile: --date must be a day such as 2026-11-20, not %q\n", *date)
		return errUsage
	}
	if *progress != "auto" && *progress != "always" && *progress != "never" {
		fmt.Fprintf(stderr, "hub reconcile: --progress must be auto, always or never, not %q\n", *progress)
		return errUsage
	}
	cfg, err := loadConfig(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	database, err := openDatabase(ctx, *dataDir, logger)
	if err != nil {
		return err
	}
	defer database.Close()
	if err := db.Migrate(ctx, database.URL); err != nil {
		return err
	}
	pool, err := db.Connect(ctx, database.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	engine, closeConnectors, err := buildEngine(*cfg, pool, logger)
	if err != nil {
		return err
	}
	defer closeConnectors()

	bars := &stageBars{w: stderr, mode: *progress}
	started := time.Now()
	report, err := engine.ReconcileDay(ctx, *gateway, day, bars.update)
	bars.finish()
	var ue *hubsync.UserError
	if errors.As(err, &ue) {
		return errors.New(ue.Message)
	}
	if err != nil {
		return err
	}
	printReconcileSummary(stderr, report, time.Since(started))
	if *out != "" {
		w := io.Writer(os.Stdout)
		if *out != "-" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		if err := writeDiscrepancyCSV(w, report); err != nil {
			return fmt.Errorf("writing %s: %w", *out, err)
		}
		if *out != "-" {
			fmt.Fprintf(stderr, "Discrepancy report: %s (%d rows)\n", *out, len(report.Discrepancies))
		}
	}
	return nil
}

// stageBars draws one progress bar per stage of a long run.
type stageBars struct {
	w     io.Writer
	mode  string
	stage string
	bar   *progressbar.ProgressBar
}

func (s *stageBars) update(stage string, done, total int) {
	if s.mode == "never" || (s.mode == "auto" && total < progressFrom) {
		return
	}
	if stage != s.stage || s.bar == nil {
		s.finish()
		s.stage = stage
		s.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(s.w), progressbar.OptionSetDescription(stageNames[stage]),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30))
	}
	_ = s.bar.Set(done)
}

var stageNames = map[string]string{"import": "importing", "match": "matching ", "record": "recording"}

func (s *stageBars) finish() {
	if s.bar != nil {
		_ = s.bar.Finish()
		fmt.Fprintln(s.w)
		s.bar = nil
	}
}

// printReconcileSummary says, in a few lines, how the day went.
func printReconcileSummary(w io.Writer, r *hubsync.ReconcileReport, took time.Duration) {
	fmt.Fprintf(w, "%s settlement of %s: %d batch(es), %d lines, %d candidate payments (%s)\n",
		r.Gateway, r.Day.Format(time.DateOnly), len(r.Batches), r.Lines, r.Payments, took.Round(time.Millisecond))
	for _, b := range r.Batches {
		fmt.Fprintf(w, "  batch %-12s %-14s %5d lines  gross %s  refunds %s  fees %s  chargebacks %s  net %s %s\n",
			b.GatewayBatchID, strings.ToUpper(b.Status), b.LineCount, b.GrossAmount.StringFixed(2), b.RefundAmount.StringFixed(2),
			b.FeeAmount.StringFixed(2), b.ChargebackAmount.StringFixed(2), b.NetAmount.StringFixed(2), b.Currency)
	}
	res := r.Result
	fmt.Fprintf(w, "  matched %d of %d lines and %d payments; %d lines and %d payments unmatched\n",
		res.MatchedLines, r.Lines, res.MatchedPayments, res.UnmatchedLines, res.UnmatchedPayments)
	if len(r.Discrepancies) == 0 {
		fmt.Fprintln(w, "  reconciled: no discrepancies")
		return
	}
	kinds := map[string]int{}
	for _, d := range r.Discrepancies {
		kinds[d.Kind+" ("+d.Status+")"]++
	}
	fmt.Fprintf(w, "  %d discrepancies:\n", len(r.Discrepancies))
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(w, "    %6d %s\n", kinds[k], k)
	}
}

// writeDiscrepancyCSV writes the day's discrepancy report, one row per discrepancy.
func writeDiscrepancyCSV(w io.Writer, r *hubsync.ReconcileReport) error {
	batchOf := map[int64]string{}
	for _, b := range r.Batches {
		batchOf[b.ID] = b.GatewayBatchID
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"gateway", "date", "batch", "kind", "status", "lines", "payments", "merchant_reference",
		"gateway_transaction_id", "currency", "expected", "actual", "difference", "explanation"})
	for _, d := range r.Discrepancies {
		batch := ""
		if d.SettlementBatchID != nil {
			batch = batchOf[*d.SettlementBatchID]
		}
		lines := make([]string, len(d.LineNumbers))
		for i, n := range d.LineNumbers {
			lines[i] = strconv.Itoa(int(n))
		}
		payments := make([]string, len(d.PaymentIds))
		for i, p := range d.PaymentIds {
			payments[i] = strconv.FormatInt(p, 10)
		}
		expected, actual, diff := "", "", ""
		if d.Expected.Valid && d.Actual.Valid {
			expected, actual = d.Expected.Decimal.StringFixed(2), d.Actual.Decimal.StringFixed(2)
			diff = d.Actual.Decimal.Sub(d.Expected.Decimal).StringFixed(2)
		}
		if err := cw.Write([]string{d.Gateway, d.SettlementDate.Format(time.DateOnly), batch, d.Kind, d.Status,
			strings.Join(lines, " "), strings.Join(payments, " "), deref(d.MerchantReference), deref(d.GatewayTransactionID),
			strings.TrimSpace(deref(d.Currency)), expected, actual, diff, d.Explanation}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

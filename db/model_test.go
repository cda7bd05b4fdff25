package db_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}

func TestMigrationsBuildTheWholeModelAndRiver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.NewURL(t)
	pool, err := db.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	for _, table := range []string{"customers", "customer_links", "payment_tokens", "sales_orders",
		"sales_order_lines", "payments", "refunds", "settlement_batches", "settlement_lines", "gl_journals",
		"gl_journal_lines", "erp_postings", "fraud_reviews", "anomalies", "inbound_messages", "events",
		"sync_cursors", "api_keys", "audit_log", "mapping_rules", "state_transitions", "river_job", "river_leader"} {
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil || !exists {
			t.Errorf("table %s missing (%v)", table, err)
		}
	}
	if err := db.CheckReady(ctx, pool); err != nil {
		t.Fatalf("CheckReady on a migrated database: %v", err)
	}
	// Migrating again, from several processes at once, changes nothing and fails nowhere.
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- db.Migrate(ctx, url) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent re-migration: %v", err)
		}
	}
}

func TestCheckReadyReportsAMissingMigration(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	mustExec(t, pool, "DELETE FROM goose_db_version WHERE version_id = $1", db.LatestVersion())
	if err := db.CheckReady(context.Background(), pool); !errors.Is(err, db.ErrNotMigrated) {
		t.Fatalf("CheckReady = %v, want ErrNotMigrated", err)
	}
}

func TestDuplicatesAreRefusedByTheSchema(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	mustExec(t, pool, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status, amount,
		currency, occurred_at) VALUES ('opayo', 'T1', 'R1', 'sale', 'captured', 10, 'GBP', now())`)

	tests := []struct {
		name string
		sql  string
	}{
		{"same gateway transaction", `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind,
			status, amount, currency, occurred_at) VALUES ('opayo', 'T2', 'R2', 'sale', 'pending', 1, 'GBP', now())`},
		{"same refund idempotency key", `INSERT INTO refunds (payment_id, amount, currency, requested_by, idempotency_key)
			SELECT id, 1, 'GBP', 'clerk', 'K1' FROM payments WHERE gateway_transaction_id = 'T1'`},
		{"same inbound event", `INSERT INTO inbound_messages (source, external_event_id, body, signature_status)
			VALUES ('cybersource', 'evt-1', '{}', 'valid')`},
		{"same ERP posting", `INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key)
			VALUES ('sales_order', 'SORTOI', 'sales_order', 1, 'sortoi:R1')`},
		{"same customer PO number", `INSERT INTO sales_orders (customer_po_number, source, currency, total_amount)
			VALUES ('R1', 'opayo', 'GBP', 10)`},
		{"same anomaly", `INSERT INTO anomalies (kind, severity, dedupe_key, summary)
			VALUES ('unmatched_settlement_line', 'warning', 'batch-1/line-3', 'x')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pool.Exec(ctx, tt.sql); err != nil {
				t.Fatalf("first insert: %v", err)
			}
			if _, err := pool.Exec(ctx, tt.sql); !db.IsUniqueViolation(err) {
				t.Fatalf("second insert: %v, want a unique violation", err)
			}
		})
	}

	// A message too malformed to carry an event id is still kept, every time it arrives.
	for range 2 {
		mustExec(t, pool, `INSERT INTO inbound_messages (source, body, signature_status, status)
			VALUES ('opayo', 'garbage', 'missing', 'rejected')`)
	}
}

func TestStatusChangesFollowTheDeclaredStateMachine(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	mustExec(t, pool, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status, amount,
		currency, occurred_at) VALUES ('cybersource', 'T1', 'R1', 'sale', 'captured', 10, 'GBP', now())`)
	mustExec(t, pool, `INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key, status)
		VALUES ('ar_payment', 'ARSTPY', 'payment', 1, 'arstpy:1', 'in_progress')`)

	tests := []struct {
		sql   string
		legal bool
	}{
		{"UPDATE payments SET status = 'pending'", false},
		{"UPDATE payments SET status = 'partially_refunded'", true},
		{"UPDATE payments SET status = 'captured'", false},
		{"UPDATE payments SET status = 'refunded'", true},
		{"UPDATE payments SET gateway_status = 'REFUNDED'", true}, // no status change: always allowed
		{"UPDATE erp_postings SET status = 'dead'", true},
		{"UPDATE erp_postings SET status = 'pending'", true}, // an operator's repost
		{"UPDATE erp_postings SET status = 'succeeded'", false},
	}
	for _, tt := range tests {
		_, err := pool.Exec(ctx, tt.sql)
		if tt.legal && err != nil {
			t.Errorf("%s: %v", tt.sql, err)
		}
		if !tt.legal && err == nil {
			t.Errorf("%s: allowed, want refused", tt.sql)
		}
	}
}

func TestMoneyAndCardColumns(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	amount := decimal.RequireFromString("123456789012345.1234")
	var id int64
	if err := pool.QueryRow(ctx, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status,
		amount, currency, card_last_four, occurred_at) VALUES ('opayo', 'T1', 'R1', 'sale', 'captured', $1, 'GBP', '1111', now())
		RETURNING id`, amount).Scan(&id); err != nil {
		t.Fatal(err)
	}
	p, err := db.New(pool).GetPayment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Amount.Equal(amount) {
		t.Errorf("amount read back as %s, want %s", p.Amount, amount)
	}
	// The card columns hold a last four, nothing longer: a PAN cannot be stored by mistake.
	_, err = pool.Exec(ctx, `UPDATE payments SET card_last_four = '4111111111111111' WHERE id = $1`, id)
	if err == nil {
		t.Error("a full card number was accepted as last four")
	}
	_, err = pool.Exec(ctx, `INSERT INTO payment_tokens (gateway, kind, token, last_four) VALUES
		('cybersource', 'tms_payment_instrument', 'PI-1', '41111')`)
	if err == nil {
		t.Error("payment_tokens accepted a five-digit last four")
	}
}

func TestEventsRecordTheirWritingTransaction(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var want string
	if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::text").Scan(&want); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO events (topic, kind, subject_type, subject_id) VALUES
		('payment', 'payment.captured', 'payment', 1), ('payment', 'payment.refunded', 'payment', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM events WHERE xact_id::text = $1", want).Scan(&n); err != nil || n != 2 {
		t.Fatalf("events with the writer's transaction id: %d (%v), want 2", n, err)
	}
}

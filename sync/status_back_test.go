package sync_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

// readBackEnv is an engine on a fresh database with a SYSPRO simulator over HTTP, and a second
// client for the test to change SYSPRO behind the hub's back. The engine runs its River jobs only
// when started; otherwise the test drives RefreshOrderStatus and SyncCustomer itself.
type readBackEnv struct {
	pool   *pgxpool.Pool
	sim    *sysprosim.Server
	erp    *syspro.Client // the test's own SYSPRO client ("someone in SYSPRO")
	engine *hubsync.Engine
}

func newReadBackEnv(t *testing.T, cfg hubsync.Config, start bool) *readBackEnv {
	t.Helper()
	pool := dbtest.New(t)
	sim := sysprosim.New(sysprosim.Options{SeatsPerOperator: 8})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg.Pool, cfg.Syspro = pool, newSysproClient(t, srv.URL)
	cfg.FetchPollInterval = 100 * time.Millisecond
	cfg.Backoff = hubsync.Backoff{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond}
	e, err := hubsync.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if start {
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
	return &readBackEnv{pool: pool, sim: sim, erp: newSysproClient(t, srv.URL), engine: e}
}

// sysproOrder adds an order to SYSPRO for customer and returns its number.
func (env *readBackEnv) sysproOrder(t *testing.T, po, customer string) string {
	t.Helper()
	res, err := env.erp.PostSalesOrder(context.Background(), syspro.SalesOrder{
		CustomerPoNumber: po, Customer: customer, OrderDate: time.Now(), Warehouse: "FG",
		Lines: []syspro.SalesOrderLine{{StockCode: "B100", Warehouse: "FG", Quantity: decimal.NewFromInt(1), Price: decimal.RequireFromString("8.00")}},
	}, syspro.SalesOrderOptions{})
	if err != nil || res.SalesOrder == "" {
		t.Fatalf("SORTOI %s: %+v %v", po, res, err)
	}
	return res.SalesOrder
}

// canonicalOrder writes a canonical order already in SYSPRO (number may be one SYSPRO does not
// know; sysproStatus "" is none recorded).
func (env *readBackEnv) canonicalOrder(t *testing.T, po, customer, number, status, sysproStatus string) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := pgx.BeginFunc(ctx, env.pool, func(tx pgx.Tx) error {
		var customerID int64
		if err := tx.QueryRow(ctx, `INSERT INTO customers (code, name) VALUES ($1, $2)
			ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id`, customer, "Customer "+customer).Scan(&customerID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO sales_orders (customer_id, customer_po_number, syspro_order_number, status,
			syspro_status, source, currency, total_amount) VALUES ($1, $2, $3, $4, nullif($5, ''), 'shop', 'GBP', 8) RETURNING id`,
			customerID, po, number, status, sysproStatus).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (env *readBackEnv) changeStatus(t *testing.T, number string, to syspro.OrderStatus) {
	t.Helper()
	if _, err := env.erp.ChangeOrderStatus(context.Background(), syspro.OrderStatusChange{SalesOrder: number, NewStatus: to}); err != nil {
		t.Fatalf("SORTOS %s → %s: %v", number, to, err)
	}
}

func (env *readBackEnv) refresh(t *testing.T, id int64) {
	t.Helper()
	if err := env.engine.RefreshOrderStatus(context.Background(), id); err != nil {
		t.Fatalf("RefreshOrderStatus(%d): %v", id, err)
	}
}

func (env *readBackEnv) order(t *testing.T, id int64) db.SalesOrder {
	t.Helper()
	o, err := db.New(env.pool).GetSalesOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// loggedEvent is one row of the event log, its payload decoded.
type loggedEvent struct {
	Kind    string
	Subject int64
	Payload map[string]any
}

// readBackEvents returns the events of the given kinds, in log order.
func readBackEvents(t *testing.T, pool *pgxpool.Pool, kinds ...string) []loggedEvent {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT kind, subject_id, payload FROM events
		WHERE kind = ANY($1) ORDER BY xact_id, id`, kinds)
	if err != nil {
		t.Fatal(err)
	}
	var out []loggedEvent
	for rows.Next() {
		var ev loggedEvent
		var raw []byte
		if err := rows.Scan(&ev.Kind, &ev.Subject, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &ev.Payload); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// readBackAnomalies counts the open anomalies of kind about subject.
func readBackAnomalies(t *testing.T, pool *pgxpool.Pool, kind string, subjectID int64) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM anomalies
		WHERE kind = $1 AND subject_id = $2 AND status = 'open'`, kind, subjectID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStatusBackFollowsAnOrderThroughSysproToComplete(t *testing.T) {
	t.Parallel()
	env := newReadBackEnv(t, hubsync.Config{}, false)
	number := env.sysproOrder(t, "SB-1001", "WEBS01")
	id := env.canonicalOrder(t, "SB-1001", "WEBS01", number, "open", "1")
	before := env.order(t, id)

	// Nothing changed in SYSPRO: the check is recorded, the order is not touched, no event.
	env.refresh(t, id)
	o := env.order(t, id)
	if o.Status != "open" || o.SysproCheckedAt == nil || !o.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("after a check that found nothing: status %s checked %v updated %v (was %v)",
			o.Status, o.SysproCheckedAt, o.UpdatedAt, before.UpdatedAt)
	}
	if evs := readBackEvents(t, env.pool, "order.status_changed"); len(evs) != 0 {
		t.Fatalf("events %+v after an unchanged check", evs)
	}
	// An order whose posting did not report SYSPRO's status: the first answer is recorded quietly.
	number0 := env.sysproOrder(t, "SB-1000", "WEBS01")
	id0 := env.canonicalOrder(t, "SB-1000", "WEBS01", number0, "open", "")
	env.refresh(t, id0)
	if o := env.order(t, id0); o.SysproStatus == nil || *o.SysproStatus != "1" || o.Status != "open" {
		t.Fatalf("first read-back: %s / %v", o.Status, o.SysproStatus)
	}
	if evs := readBackEvents(t, env.pool, "order.status_changed"); len(evs) != 0 {
		t.Fatalf("events %+v after the first read-back of an open order", evs)
	}

	env.changeStatus(t, number, syspro.OrderStatusInWarehouse)
	env.refresh(t, id)
	if o := env.order(t, id); o.Status != "in_warehouse" || o.SysproStatus == nil || *o.SysproStatus != "4" {
		t.Fatalf("after SYSPRO status 4: %s / %v", o.Status, o.SysproStatus)
	}
	env.changeStatus(t, number, syspro.OrderStatusComplete)
	env.refresh(t, id)
	if o := env.order(t, id); o.Status != "complete" || *o.SysproStatus != "9" {
		t.Fatalf("after SYSPRO status 9: %s / %v", o.Status, *o.SysproStatus)
	}
	env.refresh(t, id) // a complete order is not asked about again

	evs := readBackEvents(t, env.pool, "order.status_changed")
	if len(evs) != 2 {
		t.Fatalf("events %+v, want two status changes", evs)
	}
	want := []map[string]any{
		{"orderId": float64(id), "customerPoNumber": "SB-1001", "sysproOrderNumber": number, "from": "open", "to": "in_warehouse", "sysproStatus": "4"},
		{"orderId": float64(id), "customerPoNumber": "SB-1001", "sysproOrderNumber": number, "from": "in_warehouse", "to": "complete", "sysproStatus": "9", "shipped": true},
	}
	for i, w := range want {
		for k, v := range w {
			if evs[i].Payload[k] != v {
				t.Errorf("event %d %s = %v, want %v (payload %v)", i, k, evs[i].Payload[k], v, evs[i].Payload)
			}
		}
		if evs[i].Subject != id {
			t.Errorf("event %d is about %d", i, evs[i].Subject)
		}
	}
	if _, shipped := evs[0].Payload["shipped"]; shipped {
		t.Error("an order in the warehouse is not shipped yet")
	}
}

func TestStatusBackFollowsTheMappingRules(t *testing.T) {
	t.Parallel()
	env := newReadBackEnv(t, hubsync.Config{}, false)
	ctx := context.Background()
	number := env.sysproOrder(t, "SB-2001", "WEBS01")
	id := env.canonicalOrder(t, "SB-2001", "WEBS01", number, "open", "1")

	// A site where "in warehouse" means the goods are gone: status 4 maps to to_invoice.
	if _, err := env.pool.Exec(ctx, `UPDATE mapping_rules SET value = '{"status": "to_invoice"}', updated_by = 'ops'
		WHERE kind = 'status_map' AND scope = 'syspro' AND key = '4'`); err != nil {
		t.Fatal(err)
	}
	env.changeStatus(t, number, syspro.OrderStatusInWarehouse)
	env.refresh(t, id)
	if o := env.order(t, id); o.Status != "to_invoice" {
		t.Fatalf("status %s, want to_invoice under the edited rule", o.Status)
	}
	evs := readBackEvents(t, env.pool, "order.status_changed")
	if len(evs) != 1 || evs[0].Payload["to"] != "to_invoice" || evs[0].Payload["shipped"] != true {
		t.Fatalf("events %+v", evs)
	}

	// A status no rule maps: the order stays, SYSPRO's status is recorded, an anomaly is raised once.
	if _, err := env.pool.Exec(ctx, `DELETE FROM mapping_rules WHERE kind = 'status_map' AND scope = 'syspro' AND key = 'S'`); err != nil {
		t.Fatal(err)
	}
	number2 := env.sysproOrder(t, "SB-2002", "WEBS01")
	id2 := env.canonicalOrder(t, "SB-2002", "WEBS01", number2, "open", "1")
	env.changeStatus(t, number2, syspro.OrderStatusSuspense)
	env.refresh(t, id2)
	env.refresh(t, id2)
	if o := env.order(t, id2); o.Status != "open" || *o.SysproStatus != "S" {
		t.Fatalf("unmapped status: %s / %s", o.Status, *o.SysproStatus)
	}
	if n := readBackAnomalies(t, env.pool, "syspro_status_unmapped", id2); n != 1 {
		t.Errorf("%d unmapped-status anomalies, want 1", n)
	}
	if raised := readBackEvents(t, env.pool, "anomaly.raised"); len(raised) != 1 {
		t.Errorf("anomaly events %+v, want one", raised)
	}
	// The rule added back applies at the next check.
	if _, err := env.pool.Exec(ctx, `INSERT INTO mapping_rules (kind, scope, key, value) VALUES ('status_map', 'syspro', 'S', '{"status": "on_hold"}')`); err != nil {
		t.Fatal(err)
	}
	env.refresh(t, id2)
	if o := env.order(t, id2); o.Status != "on_hold" {
		t.Fatalf("status %s after the rule came back, want on_hold", o.Status)
	}
}

func TestStatusBackSkipsMovesTheOrderStateMachineRefuses(t *testing.T) {
	t.Parallel()
	env := newReadBackEnv(t, hubsync.Config{}, false)
	number := env.sysproOrder(t, "SB-3001", "WEBS01")
	env.changeStatus(t, number, syspro.OrderStatusInWarehouse)
	// The hub already saw it ready to invoice; SYSPRO moved it back to the warehouse.
	id := env.canonicalOrder(t, "SB-3001", "WEBS01", number, "to_invoice", "8")
	env.refresh(t, id)
	env.refresh(t, id)
	o := env.order(t, id)
	if o.Status != "to_invoice" || *o.SysproStatus != "4" {
		t.Fatalf("order %s / %s, want to_invoice kept and SYSPRO's 4 recorded", o.Status, *o.SysproStatus)
	}
	if n := readBackAnomalies(t, env.pool, "order_status_move_refused", id); n != 1 {
		t.Errorf("%d refused-move anomalies, want 1", n)
	}
	evs := readBackEvents(t, env.pool, "order.status_changed")
	if len(evs) != 1 || evs[0].Payload["from"] != "to_invoice" || evs[0].Payload["to"] != "to_invoice" || evs[0].Payload["sysproStatus"] != "4" {
		t.Errorf("events %+v, want one recording SYSPRO's new status", evs)
	}
}

func TestStatusBackRaisesAnAnomalyForAnOrderSysproDoesNotKnow(t *testing.T) {
	t.Parallel()
	env := newReadBackEnv(t, hubsync.Config{}, false)
	id := env.canonicalOrder(t, "SB-4001", "WEBS01", "999999", "open", "1")
	env.refresh(t, id)
	env.refresh(t, id)
	o := env.order(t, id)
	if o.Status != "open" || o.SysproCheckedAt == nil {
		t.Fatalf("order %s checked %v", o.Status, o.SysproCheckedAt)
	}
	if n := readBackAnomalies(t, env.pool, "syspro_order_missing", id); n != 1 {
		t.Errorf("%d missing-order anomalies, want 1", n)
	}
	if raised := readBackEvents(t, env.pool, "anomaly.raised"); len(raised) != 1 {
		t.Errorf("anomaly events %+v, want one however often the order is checked", raised)
	}
}

func TestStatusBackRunsOnRiver(t *testing.T) {
	t.Parallel()
	env := newReadBackEnv(t, hubsync.Config{StatusInterval: 300 * time.Millisecond}, true)
	n1 := env.sysproOrder(t, "SB-5001", "WEBS01")
	n2 := env.sysproOrder(t, "SB-5002", "000001")
	id1 := env.canonicalOrder(t, "SB-5001", "WEBS01", n1, "open", "1")
	id2 := env.canonicalOrder(t, "SB-5002", "000001", n2, "open", "1")
	// Finished or not-in-SYSPRO orders are never asked about.
	done := env.canonicalOrder(t, "SB-5003", "WEBS01", "888888", "complete", "9")

	waitStatus := func(id int64, want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for env.order(t, id).Status != want {
			if time.Now().After(deadline) {
				t.Fatalf("order %d is %s, want %s", id, env.order(t, id).Status, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	env.changeStatus(t, n1, syspro.OrderStatusInWarehouse)
	env.changeStatus(t, n2, syspro.OrderStatusCancelled)
	waitStatus(id1, "in_warehouse")
	waitStatus(id2, "cancelled")
	env.changeStatus(t, n1, syspro.OrderStatusComplete)
	waitStatus(id1, "complete")

	if o := env.order(t, done); o.SysproCheckedAt != nil {
		t.Error("a complete order was read back")
	}
	var queues []string
	rows, _ := env.pool.Query(context.Background(), `SELECT DISTINCT queue FROM river_job WHERE kind = 'syspro_order_status_check'`)
	queues, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(queues) != 1 || queues[0] != hubsync.QueueSyspro {
		t.Errorf("check jobs ran on queues %v (%v), want only %s", queues, err, hubsync.QueueSyspro)
	}
	evs := readBackEvents(t, env.pool, "order.status_changed")
	if len(evs) != 3 {
		t.Errorf("events %+v, want three changes", evs)
	}
}

func TestStatusBackPicksTheOrdersCheckedLongestAgo(t *testing.T) {
	t.Parallel()
	env := newReadBackEnv(t, hubsync.Config{}, false)
	ctx := context.Background()
	hourAgo := env.canonicalOrder(t, "SB-6001", "WEBS01", "600001", "in_warehouse", "4")
	never := env.canonicalOrder(t, "SB-6002", "WEBS01", "600002", "on_hold", "S")
	twoHoursAgo := env.canonicalOrder(t, "SB-6003", "WEBS01", "600003", "to_invoice", "8")
	env.canonicalOrder(t, "SB-6004", "WEBS01", "600004", "complete", "9")
	env.canonicalOrder(t, "SB-6005", "WEBS01", "600005", "cancelled", `\`)
	var notPosted int64
	env.pool.QueryRow(ctx, `INSERT INTO sales_orders (customer_po_number, source, currency, total_amount)
		VALUES ('SB-6006', 'shop', 'GBP', 1) RETURNING id`).Scan(&notPosted)
	for id, ago := range map[int64]string{hourAgo: "1 hour", twoHoursAgo: "2 hours"} {
		if _, err := env.pool.Exec(ctx, `UPDATE sales_orders SET syspro_checked_at = now() - $2::interval WHERE id = $1`, id, ago); err != nil {
			t.Fatal(err)
		}
	}
	q := db.New(env.pool)
	for _, tc := range []struct {
		limit int32
		want  []int64
	}{{2, []int64{never, twoHoursAgo}}, {10, []int64{never, twoHoursAgo, hourAgo}}} {
		got, err := q.ListSalesOrdersForStatusBack(ctx, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("limit %d: %v, want %v", tc.limit, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("limit %d: %v, want %v", tc.limit, got, tc.want)
			}
		}
	}
}

package sync_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	hubsync "github.com/payhub/payhub/sync"
)

// customerSyncEnv adds a Cybersource simulator (TMS) to a readBackEnv; tms is the test's own
// client, for changes made at the gateway.
type customerSyncEnv struct {
	*readBackEnv
	tms *cybersource.Client
}

func newCustomerSyncEnv(t *testing.T, cfg hubsync.Config, start bool) *customerSyncEnv {
	t.Helper()
	sim := cybersourcesim.New(cybersourcesim.Options{})
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg.Profiles = newCybersourceClient(t, srv.URL)
	return &customerSyncEnv{readBackEnv: newReadBackEnv(t, cfg, start), tms: newCybersourceClient(t, srv.URL)}
}

// customer writes a canonical customer linked to SYSPRO under its code.
func (env *customerSyncEnv) customer(t *testing.T, code, name, email, billing string) int64 {
	t.Helper()
	ctx := context.Background()
	if billing == "" {
		billing = "{}"
	}
	var id int64
	if err := env.pool.QueryRow(ctx, `INSERT INTO customers (code, name, email, billing_address) VALUES ($1, $2, $3, $4) RETURNING id`,
		code, name, email, billing).Scan(&id); err != nil {
		t.Fatal(err)
	}
	env.link(t, id, "syspro", code)
	return id
}

func (env *customerSyncEnv) link(t *testing.T, customerID int64, system, externalID string) {
	t.Helper()
	if _, err := env.pool.Exec(context.Background(), `INSERT INTO customer_links (customer_id, system, external_id) VALUES ($1, $2, $3)`,
		customerID, system, externalID); err != nil {
		t.Fatal(err)
	}
}

// tmsCustomer creates a TMS customer as checkout would, and links it.
func (env *customerSyncEnv) tmsCustomer(t *testing.T, customerID int64, email string) string {
	t.Helper()
	c, err := env.tms.CreateCustomer(context.Background(), cybersource.CustomerRequest{Email: email})
	if err != nil {
		t.Fatal(err)
	}
	env.link(t, customerID, "cybersource", c.ID)
	return c.ID
}

func (env *customerSyncEnv) sync(t *testing.T, id int64) {
	t.Helper()
	if err := env.engine.SyncCustomer(context.Background(), id); err != nil {
		t.Fatalf("SyncCustomer(%d): %v", id, err)
	}
}

func (env *customerSyncEnv) canonical(t *testing.T, id int64) db.Customer {
	t.Helper()
	c, err := db.New(env.pool).GetCustomer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (env *customerSyncEnv) inSyspro(t *testing.T, code string) sysprosim.Customer {
	t.Helper()
	for _, c := range env.sim.State().Customers {
		if c.Customer == code {
			return c
		}
	}
	t.Fatalf("SYSPRO has no customer %s", code)
	return sysprosim.Customer{}
}

func (env *customerSyncEnv) inTms(t *testing.T, id string) *cybersource.Customer {
	t.Helper()
	c, err := env.tms.GetCustomer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (env *customerSyncEnv) inSysproChange(t *testing.T, cs syspro.CustomerSetup) {
	t.Helper()
	if _, err := env.erp.UpdateCustomer(context.Background(), cs); err != nil {
		t.Fatalf("ARSSCS %+v: %v", cs, err)
	}
}

func (env *customerSyncEnv) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := env.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func TestCustomerSyncPullsWhatSysproOwnsAndFillsItsGaps(t *testing.T) {
	t.Parallel()
	env := newCustomerSyncEnv(t, hubsync.Config{}, false)
	id := env.customer(t, "000001", "Customer 000001", "shop@bayside.example",
		`{"line1": "1 Harbour Road", "city": "Bristol", "postalCode": "bs1 1aa", "name": "Accounts"}`)

	// First sync: SYSPRO's name wins, the shop's e-mail goes to SYSPRO, and SYSPRO, which has no
	// sold-to address, gets the canonical one. Nothing had been agreed before: no conflict.
	env.sync(t, id)
	c := env.canonical(t, id)
	if c.Name != "Bayside Bikes" || deref(c.Email) != "shop@bayside.example" || c.Status != "active" {
		t.Fatalf("canonical after the first sync: %+v", c)
	}
	s := env.inSyspro(t, "000001")
	if s.Email != "shop@bayside.example" || s.SoldToAddr1 != "1 Harbour Road" || s.SoldToAddr2 != "Bristol" || s.SoldPostalCode != "BS1 1AA" {
		t.Fatalf("SYSPRO after the first sync: %+v", s)
	}

	// Renamed in SYSPRO: the name flows to canonical.
	env.inSysproChange(t, syspro.CustomerSetup{Customer: "000001", Name: "Bayside Bicycles Ltd"})
	env.sync(t, id)
	if c := env.canonical(t, id); c.Name != "Bayside Bicycles Ltd" {
		t.Fatalf("name %q, want SYSPRO's new name", c.Name)
	}
	// Moved in SYSPRO: the address keeps its shape (and keys SYSPRO does not hold).
	env.inSysproChange(t, syspro.CustomerSetup{Customer: "000001", SoldToAddr: [5]string{"2 Dock Road", "Bath"}, SoldPostalCode: "BA1 1AA"})
	env.sync(t, id)
	var addr map[string]string
	if err := json.Unmarshal(env.canonical(t, id).BillingAddress, &addr); err != nil {
		t.Fatal(err)
	}
	if addr["line1"] != "2 Dock Road" || addr["city"] != "Bath" || addr["postalCode"] != "BA1 1AA" || addr["name"] != "Accounts" || len(addr) != 4 {
		t.Fatalf("billing address %v", addr)
	}
	// In agreement, a sync changes nothing and says nothing.
	before := len(readBackEvents(t, env.pool, "customer.updated"))
	env.sync(t, id)
	if after := len(readBackEvents(t, env.pool, "customer.updated")); after != before {
		t.Errorf("a sync in agreement emitted %d customer.updated", after-before)
	}

	evs := readBackEvents(t, env.pool, "customer.updated")
	if len(evs) != 3 {
		t.Fatalf("customer.updated %+v, want three", evs)
	}
	first := evs[0].Payload
	if first["system"] != "syspro" || first["changes"].(map[string]any)["name"] == nil ||
		first["pushed"].(map[string]any)["email"] == nil || first["pushed"].(map[string]any)["billing_address"] == nil {
		t.Errorf("first customer.updated %v", first)
	}
	if rename := evs[1].Payload["changes"].(map[string]any)["name"].(map[string]any); rename["from"] != "Bayside Bikes" || rename["to"] != "Bayside Bicycles Ltd" {
		t.Errorf("rename event %v", evs[1].Payload)
	}
	if n := len(readBackEvents(t, env.pool, "customer.sync_conflict")); n != 0 {
		t.Errorf("%d conflicts where only one side changed", n)
	}
}

func TestCustomerSyncPushesACanonicalEmailToSysproAndTms(t *testing.T) {
	t.Parallel()
	env := newCustomerSyncEnv(t, hubsync.Config{}, false)
	id := env.customer(t, "000002", "Outdoor World", "ap@outdoor.example", "")
	tmsID := env.tmsCustomer(t, id, "ap@outdoor.example")
	env.sync(t, id)
	if p := env.inTms(t, tmsID); p.BuyerInformation.MerchantCustomerID != "000002" {
		t.Errorf("TMS merchantCustomerID %q, want the customer code", p.BuyerInformation.MerchantCustomerID)
	}

	env.exec(t, `UPDATE customers SET email = 'payables@outdoor.example' WHERE id = $1`, id)
	env.sync(t, id)
	if s := env.inSyspro(t, "000002"); s.Email != "payables@outdoor.example" {
		t.Errorf("SYSPRO e-mail %q", s.Email)
	}
	if p := env.inTms(t, tmsID); p.BuyerInformation.Email != "payables@outdoor.example" {
		t.Errorf("TMS e-mail %q", p.BuyerInformation.Email)
	}
	var pushed []string
	for _, ev := range readBackEvents(t, env.pool, "customer.updated") {
		if ch, ok := ev.Payload["pushed"].(map[string]any)["email"].(map[string]any); ok && ch["to"] == "payables@outdoor.example" {
			pushed = append(pushed, ev.Payload["system"].(string))
		}
	}
	if len(pushed) != 2 || pushed[0] != "syspro" || pushed[1] != "cybersource" {
		t.Errorf("e-mail pushes announced for %v, want syspro then cybersource", pushed)
	}
	// Both links record what was agreed.
	rows, err := env.pool.Query(context.Background(), `SELECT system, synced_fields->>'email', synced_at IS NOT NULL FROM customer_links
		WHERE customer_id = $1 ORDER BY system`, id)
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for rows.Next() {
		var system, email string
		var synced bool
		if err := rows.Scan(&system, &email, &synced); err != nil {
			t.Fatal(err)
		}
		links++
		if email != "payables@outdoor.example" || !synced {
			t.Errorf("%s link: agreed e-mail %q, synced %v", system, email, synced)
		}
	}
	if links != 2 {
		t.Errorf("%d links, want the SYSPRO and the TMS one", links)
	}
}

func TestCustomerSyncRecordsAConflictOnce(t *testing.T) {
	t.Parallel()
	env := newCustomerSyncEnv(t, hubsync.Config{}, false)
	id := env.customer(t, "WEBS01", "Web Sales", "web@shop.example", "")
	tmsID := env.tmsCustomer(t, id, "web@shop.example")
	env.sync(t, id)

	// Both sides change the name, the e-mail, and TMS's e-mail, before the next sync.
	env.inSysproChange(t, syspro.CustomerSetup{Customer: "WEBS01", Name: "Web Sales (SYSPRO)", Email: "ar@syspro.example"})
	if _, err := env.tms.UpdateCustomer(context.Background(), tmsID, cybersource.CustomerRequest{Email: "card@tms.example"}); err != nil {
		t.Fatal(err)
	}
	env.exec(t, `UPDATE customers SET name = 'Web Sales (shop)', email = 'orders@shop.example' WHERE id = $1`, id)
	env.sync(t, id)
	env.sync(t, id)
	env.sync(t, id)

	c := env.canonical(t, id)
	if c.Name != "Web Sales (SYSPRO)" || deref(c.Email) != "orders@shop.example" {
		t.Fatalf("canonical %q %q: SYSPRO owns the name, the shop the e-mail", c.Name, deref(c.Email))
	}
	if s := env.inSyspro(t, "WEBS01"); s.Email != "orders@shop.example" || s.Name != "Web Sales (SYSPRO)" {
		t.Errorf("SYSPRO %q %q", s.Name, s.Email)
	}
	if p := env.inTms(t, tmsID); p.BuyerInformation.Email != "orders@shop.example" {
		t.Errorf("TMS e-mail %q", p.BuyerInformation.Email)
	}

	conflicts, err := db.New(env.pool).ListCustomerSyncConflicts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ field, system, canonical, other, base, winner string }
	got := map[key]int{}
	for _, cf := range conflicts {
		got[key{cf.Field, cf.System, cf.CanonicalValue, cf.OtherValue, deref(cf.BaseValue), cf.Winner}]++
		if cf.Resolved {
			t.Errorf("conflict %d recorded as resolved", cf.ID)
		}
	}
	want := map[key]int{
		{"name", "syspro", "Web Sales (shop)", "Web Sales (SYSPRO)", "Web Sales", "syspro"}:                  1,
		{"email", "syspro", "orders@shop.example", "ar@syspro.example", "web@shop.example", "canonical"}:     1,
		{"email", "cybersource", "orders@shop.example", "card@tms.example", "web@shop.example", "canonical"}: 1,
	}
	if len(got) != len(want) || len(conflicts) != len(want) {
		t.Fatalf("conflicts %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("conflict %+v recorded %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
	evs := readBackEvents(t, env.pool, "customer.sync_conflict")
	if len(evs) != 3 {
		t.Fatalf("%d customer.sync_conflict events, want 3: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		if ev.Subject != id || ev.Payload["conflictId"] == nil || ev.Payload["winner"] == nil {
			t.Errorf("conflict event %+v", ev)
		}
	}

	// Reviewed, and a later one-sided change is no conflict.
	if _, err := db.New(env.pool).ResolveCustomerSyncConflict(context.Background(), db.ResolveCustomerSyncConflictParams{
		ID: conflicts[0].ID, ResolvedBy: "ops@example.com"}); err != nil {
		t.Fatal(err)
	}
	env.inSysproChange(t, syspro.CustomerSetup{Customer: "WEBS01", Name: "Web Sales Ltd"})
	env.sync(t, id)
	if n := len(readBackEvents(t, env.pool, "customer.sync_conflict")); n != 3 {
		t.Errorf("%d conflict events after a one-sided change, want still 3", n)
	}
}

func TestCustomerSyncFollowsTheSysproCreditHold(t *testing.T) {
	t.Parallel()
	env := newCustomerSyncEnv(t, hubsync.Config{}, false)
	hold := env.customer(t, "HOLD01", "Slow Payer Ltd", "", "")
	good := env.customer(t, "000001", "Bayside Bikes", "", "")
	closed := env.customer(t, "000002", "Outdoor World", "", "")
	env.exec(t, `UPDATE customers SET status = 'closed' WHERE id = $1`, closed)
	env.inSysproChange(t, syspro.CustomerSetup{Customer: "000002", OnHold: holdPtr(true)})
	for _, id := range []int64{hold, good, closed} {
		env.sync(t, id)
	}
	if s := env.canonical(t, hold).Status; s != "on_hold" {
		t.Errorf("HOLD01 is %s, want on_hold as in SYSPRO", s)
	}
	if s := env.canonical(t, good).Status; s != "active" {
		t.Errorf("000001 is %s", s)
	}
	if s := env.canonical(t, closed).Status; s != "closed" {
		t.Errorf("a closed customer became %s", s)
	}
	// The shop cannot lift a hold; SYSPRO can. Holds and releases in SYSPRO flow.
	env.exec(t, `UPDATE customers SET status = 'active' WHERE id = $1`, hold)
	env.sync(t, hold)
	if s := env.canonical(t, hold).Status; s != "on_hold" {
		t.Errorf("HOLD01 released canonically is %s after the sync, want on_hold (SYSPRO owns it)", s)
	}
	if !env.inSyspro(t, "HOLD01").OnHold {
		t.Error("the canonical release reached SYSPRO")
	}
	env.inSysproChange(t, syspro.CustomerSetup{Customer: "HOLD01", OnHold: holdPtr(false)})
	env.inSysproChange(t, syspro.CustomerSetup{Customer: "000001", OnHold: holdPtr(true)})
	env.sync(t, hold)
	env.sync(t, good)
	if s := env.canonical(t, hold).Status; s != "active" {
		t.Errorf("HOLD01 released in SYSPRO is %s", s)
	}
	if s := env.canonical(t, good).Status; s != "on_hold" {
		t.Errorf("000001 put on hold in SYSPRO is %s", s)
	}
}

func TestCustomerSyncRaisesAnomaliesForAccountsThatAreGone(t *testing.T) {
	t.Parallel()
	env := newCustomerSyncEnv(t, hubsync.Config{}, false)
	gone := env.customer(t, "GONE01", "Gone Ltd", "gone@example.com", "")
	env.link(t, gone, "cybersource", "F2F3ADA770102B51E053A2598D0A9078")
	env.sync(t, gone)
	env.sync(t, gone)
	if n := readBackAnomalies(t, env.pool, "syspro_customer_missing", gone); n != 1 {
		t.Errorf("%d syspro_customer_missing anomalies", n)
	}
	if n := readBackAnomalies(t, env.pool, "tms_customer_missing", gone); n != 1 {
		t.Errorf("%d tms_customer_missing anomalies", n)
	}
	if n := len(readBackEvents(t, env.pool, "anomaly.raised")); n != 2 {
		t.Errorf("%d anomaly events, want one per account however often it is synced", n)
	}
	var unsynced int
	env.pool.QueryRow(context.Background(), `SELECT count(*) FROM customer_links WHERE customer_id = $1 AND synced_at IS NULL`, gone).Scan(&unsynced)
	if unsynced != 0 {
		t.Errorf("%d links without a sync time: a missing account would be first in every round", unsynced)
	}
}

func TestCustomerSyncRunsOnRiverForCustomersWithSysproOrders(t *testing.T) {
	t.Parallel()
	env := newCustomerSyncEnv(t, hubsync.Config{StatusInterval: 300 * time.Millisecond}, true)
	// No link yet: an order in SYSPRO is what says SYSPRO knows the customer.
	env.canonicalOrder(t, "CS-1001", "000002", "000777", "complete", "9")
	var id int64
	env.pool.QueryRow(context.Background(), `SELECT id FROM customers WHERE code = '000002'`).Scan(&id)
	// A customer neither in SYSPRO nor in TMS is left alone.
	var loner int64
	env.pool.QueryRow(context.Background(), `INSERT INTO customers (code, name) VALUES ('SHOP99', 'Shop Only') RETURNING id`).Scan(&loner)

	deadline := time.Now().Add(30 * time.Second)
	for env.canonical(t, id).Name != "Outdoor World" {
		if time.Now().After(deadline) {
			t.Fatalf("customer 000002 is still %q", env.canonical(t, id).Name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	env.inSysproChange(t, syspro.CustomerSetup{Customer: "000002", Name: "Outdoor World plc"})
	for env.canonical(t, id).Name != "Outdoor World plc" {
		if time.Now().After(deadline) {
			t.Fatalf("customer 000002 is still %q", env.canonical(t, id).Name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var links, lonerJobs int
	env.pool.QueryRow(context.Background(), `SELECT count(*) FROM customer_links WHERE customer_id = $1 AND system = 'syspro'
		AND external_id = '000002'`, id).Scan(&links)
	env.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'customer_sync_customer'
		AND (args->>'customerId')::bigint = $1`, loner).Scan(&lonerJobs)
	if links != 1 || lonerJobs != 0 {
		t.Errorf("%d SYSPRO links for 000002 (want 1), %d sync jobs for a shop-only customer (want 0)", links, lonerJobs)
	}
}

func holdPtr(v bool) *bool { return &v }

func TestCustomerSyncPicksTheCustomersComparedLongestAgo(t *testing.T) {
	t.Parallel()
	env := newCustomerSyncEnv(t, hubsync.Config{}, false)
	ctx := context.Background()
	hourAgo := env.customer(t, "C00001", "Synced an hour ago", "", "")
	never := env.customer(t, "C00002", "Never synced", "", "")
	env.canonicalOrder(t, "CS-2001", "C00003", "700001", "open", "1") // no link, an order in SYSPRO
	var ordersOnly, tmsOnly, neither int64
	env.pool.QueryRow(ctx, `SELECT id FROM customers WHERE code = 'C00003'`).Scan(&ordersOnly)
	env.pool.QueryRow(ctx, `INSERT INTO customers (code, name) VALUES ('C00004', 'TMS only') RETURNING id`).Scan(&tmsOnly)
	env.link(t, tmsOnly, "cybersource", "AAAABBBBCCCCDDDDEEEEFFFF00001111")
	env.pool.QueryRow(ctx, `INSERT INTO customers (code, name) VALUES ('C00005', 'Shop only') RETURNING id`).Scan(&neither)
	env.exec(t, `UPDATE customer_links SET synced_at = now() - interval '1 hour' WHERE customer_id = $1`, hourAgo)
	env.exec(t, `UPDATE customer_links SET synced_at = now() - interval '2 hours' WHERE customer_id = $1`, tmsOnly)

	q := db.New(env.pool)
	for _, tc := range []struct {
		syspro, tms bool
		limit       int32
		want        []int64
	}{
		{true, true, 10, []int64{never, ordersOnly, tmsOnly, hourAgo}},
		{true, true, 2, []int64{never, ordersOnly}},
		{true, false, 10, []int64{never, ordersOnly, hourAgo}},
		{false, true, 10, []int64{tmsOnly}},
	} {
		got, err := q.ListCustomersDueForSync(ctx, db.ListCustomersDueForSyncParams{WithSyspro: tc.syspro, WithTms: tc.tms, RowLimit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("syspro %v tms %v limit %d: %v, want %v", tc.syspro, tc.tms, tc.limit, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("syspro %v tms %v limit %d: %v, want %v", tc.syspro, tc.tms, tc.limit, got, tc.want)
			}
		}
	}
}

package graph_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
)

// seedBackoffice adds to seedFixture what the back office lists: refunds, SYSPRO postings, fraud
// reviews and anomalies (mapping rules come with the migrations, plus one awkward key). Their
// times repeat in pairs, so a list must break ties on id to page stably.
func seedBackoffice(t testing.TB, pool *pgxpool.Pool) fixture {
	t.Helper()
	f := seedFixture(t, pool)
	// 12 refunds: on the Cybersource sale, the Opayo authorisation and the Opayo declined sale in
	// turn, four statuses in turn, two a minute from 2026-11-05T00:00Z.
	exec(t, pool, `INSERT INTO refunds (payment_id, amount, currency, reason, requested_by, idempotency_key, status, created_at)
		SELECT (ARRAY[$1::bigint, $2::bigint, $3::bigint])[1 + i % 3], i, 'GBP', 'reason ' || i, 'clerk', 'bo-refund-' || i,
		       (ARRAY['submitted', 'succeeded', 'failed', 'unknown'])[1 + i % 4],
		       timestamptz '2026-11-05T00:00:00Z' + make_interval(mins => i / 2)
		FROM generate_series(1, 12) AS i`, f.saleID, f.authID, f.declinedID)
	// 20 postings: four kinds in turn (about order 1 or 2, the sale, a refund, Acme), five
	// statuses in turn (two of them dead, with an error class), two a minute.
	exec(t, pool, `INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key, status,
		error_class, last_error, dead_at, created_at)
		SELECT (ARRAY['sales_order', 'ar_payment', 'credit_note', 'customer'])[1 + i % 4],
		       (ARRAY['SORTOI', 'ARSTPY', 'SORTCH', 'ARSSCS'])[1 + i % 4],
		       (ARRAY['sales_order', 'payment', 'refund', 'customer'])[1 + i % 4],
		       CASE i % 4 WHEN 0 THEN (CASE WHEN i % 8 = 0 THEN $1::bigint ELSE $2::bigint END)
		                  WHEN 1 THEN $3::bigint WHEN 2 THEN (SELECT min(id) FROM refunds) ELSE $4::bigint END,
		       'bo-posting-' || i,
		       (ARRAY['pending', 'succeeded', 'dead', 'dead', 'cancelled'])[1 + i % 5],
		       CASE WHEN i % 5 IN (2, 3) THEN (ARRAY['business', 'transient', 'configuration'])[1 + i % 3] END,
		       CASE WHEN i % 5 IN (2, 3) THEN 'refused' END,
		       CASE WHEN i % 5 IN (2, 3) THEN timestamptz '2026-11-06T00:00:00Z' + make_interval(mins => i) END,
		       timestamptz '2026-11-05T00:00:00Z' + make_interval(mins => i / 2)
		FROM generate_series(1, 20) AS i`, f.order1ID, f.order2ID, f.saleID, f.acmeID)
	// 12 fraud reviews, one per payment of seedPayments (both gateways), four statuses in turn.
	seedPayments(t, pool, 12)
	exec(t, pool, `INSERT INTO fraud_reviews (payment_id, gateway, gateway_decision, score, reasons, status, created_at)
		SELECT id, gateway, 'review', 40 + n, '["AVS_FAILED"]', (ARRAY['open', 'accepted', 'rejected', 'open'])[1 + n % 4],
		       timestamptz '2026-11-05T00:00:00Z' + make_interval(mins => n / 2)
		FROM (SELECT id, gateway, row_number() OVER (ORDER BY id)::int AS n FROM payments WHERE gateway_transaction_id LIKE 'TX%') p`)
	// 15 anomalies: three kinds, severities and statuses in turn; about a posting, the sale or
	// the authorisation, or nothing.
	exec(t, pool, `INSERT INTO anomalies (kind, severity, subject_type, subject_id, dedupe_key, summary, details, status, detected_at)
		SELECT (ARRAY['erp_posting_dead', 'unmapped_gateway_status', 'stock_short'])[1 + i % 3],
		       (ARRAY['info', 'warning', 'critical', 'warning'])[1 + i % 4],
		       CASE i % 3 WHEN 0 THEN 'erp_posting' WHEN 1 THEN 'payment' END,
		       CASE i % 3 WHEN 0 THEN (SELECT min(id) FROM erp_postings)
		                  WHEN 1 THEN (CASE WHEN i % 2 = 1 THEN $1::bigint ELSE $2::bigint END) END,
		       'bo-anomaly-' || i, 'anomaly ' || i, jsonb_build_object('n', i),
		       (ARRAY['open', 'acknowledged', 'resolved', 'open', 'resolved'])[1 + i % 5],
		       timestamptz '2026-11-05T00:00:00Z' + make_interval(mins => i / 2)
		FROM generate_series(1, 15) AS i`, f.saleID, f.authID)
	// A key a cursor must carry whole: quotes, a backslash, a colon, non-ASCII.
	exec(t, pool, `INSERT INTO mapping_rules (kind, scope, key, value) VALUES
		('stock_code', 'opayo', 'SKU "odd" \ key:1 ✓', '{"stockCode": "A100"}')`)
	return f
}

// boConnection is any of the back office's connections, nodes reduced to their ids.
type boConnection struct {
	TotalCount int
	Edges      []struct {
		Cursor string
		Node   struct{ ID string }
	}
	Nodes    []struct{ ID string }
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
}

// listAll pages through a list, first rows at a time, checking every page (no id twice, edges
// and nodes alike, pageInfo consistent, totalCount the same on every page and equal to what the
// pages held), and returns the ids in list order.
func listAll(t *testing.T, b *bundle, field, filterType string, filter any, first int) []string {
	t.Helper()
	q := fmt.Sprintf(`query($f: %s, $first: Int, $after: String) { %s(filter: $f, first: $first, after: $after) {
		totalCount edges { cursor node { id } } nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
		filterType, field)
	var ids []string
	seen := map[string]bool{}
	var after any
	total := -1
	for page := 1; ; page++ {
		if page > 1000 {
			t.Fatalf("%s: more than 1000 pages of %d", field, first)
		}
		var data map[string]boConnection
		b.query(t, q, map[string]any{"f": filter, "first": first, "after": after}, &data)
		c := data[field]
		if total >= 0 && c.TotalCount != total {
			t.Fatalf("%s page %d: totalCount %d, earlier pages said %d", field, page, c.TotalCount, total)
		}
		total = c.TotalCount
		if len(c.Edges) > first || len(c.Nodes) != len(c.Edges) {
			t.Fatalf("%s page %d: %d edges, %d nodes for first %d", field, page, len(c.Edges), len(c.Nodes), first)
		}
		if c.PageInfo.HasPreviousPage != (after != nil) {
			t.Errorf("%s page %d: hasPreviousPage %v", field, page, c.PageInfo.HasPreviousPage)
		}
		if c.PageInfo.HasNextPage && len(c.Edges) != first {
			t.Fatalf("%s page %d: %d rows but a next page", field, page, len(c.Edges))
		}
		for i, e := range c.Edges {
			if seen[e.Node.ID] {
				t.Fatalf("%s page %d: %s listed twice", field, page, e.Node.ID)
			}
			seen[e.Node.ID] = true
			if c.Nodes[i].ID != e.Node.ID {
				t.Fatalf("%s page %d: nodes and edges differ at %d", field, page, i)
			}
			ids = append(ids, e.Node.ID)
		}
		if n := len(c.Edges); n > 0 && (c.PageInfo.StartCursor == nil || *c.PageInfo.StartCursor != c.Edges[0].Cursor ||
			c.PageInfo.EndCursor == nil || *c.PageInfo.EndCursor != c.Edges[n-1].Cursor) {
			t.Fatalf("%s page %d: start/end cursors are not the edges'", field, page)
		}
		if !c.PageInfo.HasNextPage {
			break
		}
		after = *c.PageInfo.EndCursor
	}
	if total != len(ids) {
		t.Errorf("%s: totalCount %d, but the pages held %d", field, total, len(ids))
	}
	return ids
}

// globalIDs runs a query of row ids and returns them as global IDs of typeName, in its order.
func globalIDs(t testing.TB, pool *pgxpool.Pool, typeName, sql string, args ...any) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, id := range ids {
		out = append(out, model.EncodeGlobalID(typeName, id))
	}
	return out
}

// listCase is a filter and the SQL condition its rows meet.
type listCase struct {
	name   string
	filter map[string]any
	where  string
	args   []any
	empty  bool // the filter matches nothing, by design
}

// checkList runs every case of a list: the pages (3 rows each) must hold exactly the table's
// rows that meet the case's condition, in the list's order. Unfiltered, it also pages 1, 2 and
// 500 at a time, across the ties the fixture holds.
func checkList(t *testing.T, b *bundle, field, filterType, table, typeName, order string, cases []listCase) {
	t.Helper()
	all := globalIDs(t, b.pool, typeName, `SELECT id FROM `+table+` ORDER BY `+order)
	if len(all) < 8 {
		t.Fatalf("fixture: only %d %s", len(all), table)
	}
	for _, first := range []int{1, 2, 500} {
		if got := listAll(t, b, field, filterType, nil, first); !slices.Equal(got, all) {
			t.Errorf("%s, %d a page:\n got %v\nwant %v", field, first, got, all)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := globalIDs(t, b.pool, typeName, `SELECT id FROM `+table+` WHERE `+c.where+` ORDER BY `+order, c.args...)
			switch {
			case c.empty && len(want) > 0:
				t.Fatalf("fixture: %d rows meet %s", len(want), c.where)
			case !c.empty && (len(want) == 0 || len(want) == len(all)):
				t.Fatalf("fixture: %d of %d rows meet %s; the case would test nothing", len(want), len(all), c.where)
			}
			if got := listAll(t, b, field, filterType, c.filter, 3); !slices.Equal(got, want) {
				t.Errorf("filter %v:\n got %v\nwant %v", c.filter, got, want)
			}
		})
	}
}

func TestBackofficeRefunds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedBackoffice(t, b.pool)
	checkList(t, b, "refunds", "RefundFilter", "refunds", model.TypeRefund, "created_at DESC, id DESC", []listCase{
		{name: "status", filter: map[string]any{"status": []string{"SUCCEEDED"}}, where: "status = 'succeeded'"},
		{name: "statuses", filter: map[string]any{"status": []string{"FAILED", "UNKNOWN"}}, where: "status IN ('failed', 'unknown')"},
		{name: "no status", filter: map[string]any{"status": []string{}}, where: "false", empty: true},
		{name: "payment", filter: map[string]any{"paymentId": model.EncodeGlobalID(model.TypePayment, f.authID)},
			where: "payment_id = $1", args: []any{f.authID}},
		{name: "gateway", filter: map[string]any{"gateway": "OPAYO"}, where: "payment_id IN ($1, $2)", args: []any{f.authID, f.declinedID}},
		{name: "created [after, before)", filter: map[string]any{"createdAfter": "2026-11-05T00:02:00Z", "createdBefore": "2026-11-05T00:04:00Z"},
			where: "created_at >= '2026-11-05T00:02:00Z' AND created_at < '2026-11-05T00:04:00Z'"},
		{name: "combined", filter: map[string]any{"gateway": "CYBERSOURCE", "status": []string{"SUCCEEDED", "SUBMITTED"}},
			where: "payment_id = $1 AND status IN ('succeeded', 'submitted')", args: []any{f.saleID}},
	})

	// The nodes are whole refunds, with their payment.
	var out struct {
		Refunds struct {
			Nodes []struct {
				ID, Status, Reason, RequestedBy string
				Amount                          struct{ Amount, Currency string }
				Payment                         struct{ ID, Gateway string }
			}
		}
	}
	b.query(t, `{ refunds(first: 1, filter: {gateway: OPAYO, status: [SUCCEEDED]}) {
		nodes { id status reason requestedBy amount { amount currency } payment { id gateway } } } }`, nil, &out)
	// Opayo (i % 3 != 0) and succeeded (i % 4 = 1): i = 1 and 5, and 5 is the newer.
	want := scalar[int64](t, b.pool, `SELECT id FROM refunds WHERE idempotency_key = 'bo-refund-5'`)
	if n := out.Refunds.Nodes; len(n) != 1 || n[0].ID != model.EncodeGlobalID(model.TypeRefund, want) || n[0].Status != "SUCCEEDED" ||
		n[0].Reason != "reason 5" || n[0].RequestedBy != "clerk" || n[0].Amount.Amount != "5.00" || n[0].Amount.Currency != "GBP" ||
		n[0].Payment.Gateway != "OPAYO" {
		t.Errorf("refund node = %+v", out.Refunds.Nodes)
	}
}

func TestBackofficeErpPostings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedBackoffice(t, b.pool)
	checkList(t, b, "erpPostings", "ErpPostingFilter", "erp_postings", model.TypeErpPosting, "created_at DESC, id DESC", []listCase{
		{name: "dead", filter: map[string]any{"status": []string{"DEAD"}}, where: "status = 'dead'"},
		{name: "statuses", filter: map[string]any{"status": []string{"PENDING", "CANCELLED"}}, where: "status IN ('pending', 'cancelled')"},
		{name: "no status", filter: map[string]any{"status": []string{}}, where: "false", empty: true},
		{name: "kinds", filter: map[string]any{"kind": []string{"SALES_ORDER", "CREDIT_NOTE"}}, where: "kind IN ('sales_order', 'credit_note')"},
		// As in DeadLetterFilter, one kind alone: GraphQL makes it a list of one.
		{name: "one kind", filter: map[string]any{"kind": "AR_PAYMENT"}, where: "kind = 'ar_payment'"},
		{name: "error class", filter: map[string]any{"errorClass": "BUSINESS"}, where: "error_class = 'business'"},
		{name: "subject order", filter: map[string]any{"subjectId": model.EncodeGlobalID(model.TypeOrder, f.order1ID)},
			where: "subject_type = 'sales_order' AND subject_id = $1", args: []any{f.order1ID}},
		{name: "subject payment", filter: map[string]any{"subjectId": model.EncodeGlobalID(model.TypePayment, f.saleID)},
			where: "subject_type = 'payment' AND subject_id = $1", args: []any{f.saleID}},
		{name: "subject customer", filter: map[string]any{"subjectId": model.EncodeGlobalID(model.TypeCustomer, f.acmeID)},
			where: "subject_type = 'customer' AND subject_id = $1", args: []any{f.acmeID}},
		// A type no posting is about.
		{name: "subject of another type", filter: map[string]any{"subjectId": model.EncodeGlobalID(model.TypeMappingRule, 1)},
			where: "subject_type = 'mapping_rule'", empty: true},
		{name: "created [after, before)", filter: map[string]any{"createdAfter": "2026-11-05T00:03:00Z", "createdBefore": "2026-11-05T00:06:00Z"},
			where: "created_at >= '2026-11-05T00:03:00Z' AND created_at < '2026-11-05T00:06:00Z'"},
		{name: "combined", filter: map[string]any{"status": []string{"DEAD"}, "kind": []string{"AR_PAYMENT", "CUSTOMER"}},
			where: "status = 'dead' AND kind IN ('ar_payment', 'customer')"},
	})

	// A node's subject is the record it is about.
	var out struct {
		ErpPostings struct {
			Nodes []struct {
				Kind, Status, BusinessObject, IdempotencyKey string
				ErrorClass                                   string
				Subject                                      struct{ CustomerPoNumber string }
			}
		}
	}
	b.query(t, `query($order: ID) { erpPostings(filter: {subjectId: $order, status: [DEAD]}) {
		nodes { kind status businessObject idempotencyKey errorClass subject { ... on Order { customerPoNumber } } } } }`,
		map[string]any{"order": model.EncodeGlobalID(model.TypeOrder, f.order2ID)}, &out)
	// Order 2's postings are i = 4, 12, 20 (i % 4 = 0, i % 8 != 0); of them only 12 is dead (i % 5 = 2).
	if n := out.ErpPostings.Nodes; len(n) != 1 || n[0].IdempotencyKey != "bo-posting-12" || n[0].Kind != "SALES_ORDER" ||
		n[0].Status != "DEAD" || n[0].BusinessObject != "SORTOI" || n[0].ErrorClass != "BUSINESS" ||
		n[0].Subject.CustomerPoNumber != "OPY-2002" {
		t.Errorf("posting nodes = %+v", out.ErpPostings.Nodes)
	}
}

func TestBackofficeFraudReviews(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedBackoffice(t, b.pool)
	checkList(t, b, "fraudReviews", "FraudReviewFilter", "fraud_reviews", model.TypeFraudReview, "created_at DESC, id DESC", []listCase{
		{name: "open", filter: map[string]any{"status": []string{"OPEN"}}, where: "status = 'open'"},
		{name: "decided", filter: map[string]any{"status": []string{"ACCEPTED", "REJECTED"}}, where: "status IN ('accepted', 'rejected')"},
		{name: "none decided yet", filter: map[string]any{"status": []string{"EXPIRED"}}, where: "status = 'expired'", empty: true},
		{name: "gateway", filter: map[string]any{"gateway": "OPAYO"}, where: "gateway = 'opayo'"},
		{name: "open at Cybersource", filter: map[string]any{"status": []string{"OPEN"}, "gateway": "CYBERSOURCE"},
			where: "status = 'open' AND gateway = 'cybersource'"},
	})

	var out struct {
		FraudReviews struct {
			Nodes []struct {
				Status, Gateway, GatewayDecision string
				Score                            int
				Reasons                          []string
				Payment                          struct{ ID, Gateway string }
			}
		}
	}
	b.query(t, `{ fraudReviews(first: 5, filter: {status: [OPEN], gateway: OPAYO}) {
		nodes { status gateway gatewayDecision score reasons payment { id gateway } } } }`, nil, &out)
	if len(out.FraudReviews.Nodes) == 0 {
		t.Fatal("no open Opayo reviews")
	}
	for _, n := range out.FraudReviews.Nodes {
		if n.Status != "OPEN" || n.Gateway != "OPAYO" || n.Payment.Gateway != "OPAYO" || n.GatewayDecision != "REVIEW" ||
			n.Score < 40 || !slices.Equal(n.Reasons, []string{"AVS_FAILED"}) {
			t.Errorf("review node = %+v", n)
		}
	}
}

func TestBackofficeAnomalies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedBackoffice(t, b.pool)
	checkList(t, b, "anomalies", "AnomalyFilter", "anomalies", model.TypeAnomaly, "detected_at DESC, id DESC", []listCase{
		{name: "unresolved", filter: map[string]any{"status": []string{"OPEN", "ACKNOWLEDGED"}}, where: "status <> 'resolved'"},
		{name: "resolved", filter: map[string]any{"status": []string{"RESOLVED"}}, where: "status = 'resolved'"},
		{name: "severity", filter: map[string]any{"severity": []string{"CRITICAL"}}, where: "severity = 'critical'"},
		{name: "severities", filter: map[string]any{"severity": []string{"WARNING", "CRITICAL"}}, where: "severity IN ('warning', 'critical')"},
		{name: "kind", filter: map[string]any{"kind": []string{"erp_posting_dead"}}, where: "kind = 'erp_posting_dead'"},
		{name: "kinds", filter: map[string]any{"kind": []string{"stock_short", "unmapped_gateway_status"}},
			where: "kind IN ('stock_short', 'unmapped_gateway_status')"},
		{name: "no kind", filter: map[string]any{"kind": []string{}}, where: "false", empty: true},
		{name: "subject payment", filter: map[string]any{"subjectId": model.EncodeGlobalID(model.TypePayment, f.saleID)},
			where: "subject_type = 'payment' AND subject_id = $1", args: []any{f.saleID}},
		{name: "combined", filter: map[string]any{"status": []string{"OPEN"}, "severity": []string{"WARNING"}, "kind": []string{"erp_posting_dead", "stock_short"}},
			where: "status = 'open' AND severity = 'warning' AND kind IN ('erp_posting_dead', 'stock_short')"},
	})

	// The subject of an anomaly about a posting is that posting.
	postingID := scalar[int64](t, b.pool, `SELECT min(id) FROM erp_postings`)
	var out struct {
		Anomalies struct {
			TotalCount int
			Nodes      []struct {
				Kind, SubjectType string
				Details           map[string]int
				Subject           struct{ ID, IdempotencyKey string }
			}
		}
	}
	b.query(t, `query($s: ID) { anomalies(filter: {subjectId: $s}) {
		totalCount nodes { kind subjectType details subject { ... on ErpPosting { id idempotencyKey } } } } }`,
		map[string]any{"s": model.EncodeGlobalID(model.TypeErpPosting, postingID)}, &out)
	if out.Anomalies.TotalCount != 5 || len(out.Anomalies.Nodes) != 5 {
		t.Fatalf("anomalies about posting %d: %+v", postingID, out.Anomalies)
	}
	for _, n := range out.Anomalies.Nodes {
		if n.Kind != "erp_posting_dead" || n.SubjectType != "erp_posting" || n.Details["n"]%3 != 0 ||
			n.Subject.ID != model.EncodeGlobalID(model.TypeErpPosting, postingID) || n.Subject.IdempotencyKey != "bo-posting-1" {
			t.Errorf("anomaly node = %+v", n)
		}
	}
}

func TestBackofficeMappingRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedBackoffice(t, b.pool)
	checkList(t, b, "mappingRules", "MappingRuleFilter", "mapping_rules", model.TypeMappingRule, "kind, scope, key", []listCase{
		{name: "kind", filter: map[string]any{"kind": []string{"STATUS_MAP"}}, where: "kind = 'status_map'"},
		{name: "kinds", filter: map[string]any{"kind": []string{"STOCK_CODE", "ADDRESS"}}, where: "kind IN ('stock_code', 'address')"},
		{name: "scope", filter: map[string]any{"scope": "opayo"}, where: "scope = 'opayo'"},
		{name: "scope for all", filter: map[string]any{"scope": "*"}, where: "scope = '*'"},
		{name: "kind and scope", filter: map[string]any{"kind": []string{"STATUS_MAP"}, "scope": "cybersource"},
			where: "kind = 'status_map' AND scope = 'cybersource'"},
		{name: "unknown scope", filter: map[string]any{"scope": "paypal"}, where: "scope = 'paypal'", empty: true},
	})

	// The awkward key pages like any other: page one rule at a time through the Opayo stock codes.
	var keys []string
	var after any
	for range 10 {
		var out struct {
			MappingRules struct {
				Nodes    []struct{ Kind, Scope, Key string }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		b.query(t, `query($after: String) { mappingRules(first: 1, after: $after, filter: {kind: [STOCK_CODE], scope: "opayo"}) {
			nodes { kind scope key } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after}, &out)
		for _, n := range out.MappingRules.Nodes {
			keys = append(keys, n.Key)
		}
		if !out.MappingRules.PageInfo.HasNextPage {
			break
		}
		after = out.MappingRules.PageInfo.EndCursor
	}
	if !slices.Contains(keys, `SKU "odd" \ key:1 ✓`) || !slices.Contains(keys, "*") || len(keys) != 2 {
		t.Errorf("Opayo stock codes one by one: %q", keys)
	}
}

// deadLetterIDs are the global IDs of the seeded dead letters dlq-<n>, in the order given.
func deadLetterIDs(t *testing.T, pool *pgxpool.Pool, ns ...int) []string {
	t.Helper()
	out := []string{}
	for _, n := range ns {
		id := scalar[int64](t, pool, `SELECT id FROM erp_postings WHERE idempotency_key = $1`, fmt.Sprintf("dlq-%d", n))
		out = append(out, model.EncodeGlobalID(model.TypeErpPosting, id))
	}
	return out
}

// TestBackofficeDeadLettersListWhatRepostDeadLettersReposts previews each repostDeadLetters with
// deadLetters under the same filter: the preview, page by page, is exactly what is then reposted.
func TestBackofficeDeadLettersListWhatRepostDeadLettersReposts(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	// 20 dead letters dlq-1..20: AR payments (even n) and customers (odd), error classes business,
	// business, transient in turn; the later n died earlier, four to a second, so death order is
	// neither id nor creation order, and ties fall back to id. Live postings of the same kinds must
	// never show.
	exec(t, r.pool, `INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key, status,
		error_class, last_error, dead_at)
		SELECT (ARRAY['ar_payment', 'customer'])[1 + i % 2], (ARRAY['ARSTPY', 'ARSSCS'])[1 + i % 2],
		       (ARRAY['payment', 'customer'])[1 + i % 2], 900000 + i, 'dlq-' || i, 'dead',
		       (ARRAY['business', 'business', 'transient'])[1 + i % 3], 'refused',
		       timestamptz '2026-11-10T00:00:00Z' + make_interval(secs => (20 - i) / 4)
		FROM generate_series(1, 20) AS i`)
	exec(t, r.pool, `INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key, status, error_class)
		SELECT 'ar_payment', 'ARSTPY', 'payment', 800000 + i, 'live-' || i, (ARRAY['pending', 'succeeded'])[1 + i % 2],
		       CASE WHEN i % 2 = 0 THEN 'business' END
		FROM generate_series(1, 6) AS i`)
	dash := r.as(r.keys[auth.Dashboard])

	const repost = `mutation($input: RepostDeadLettersInput!) { repostDeadLetters(input: $input) {
		reposted { id status } count userErrors { code message field } } }`
	round := func(name string, filter map[string]any, first int, want []string) {
		t.Helper()
		var f any
		if filter != nil {
			f = filter
		}
		preview := listAll(t, dash, "deadLetters", "DeadLetterFilter", f, first)
		if !slices.Equal(preview, want) {
			t.Fatalf("%s: deadLetters\n got %v\nwant %v", name, preview, want)
		}
		var out struct {
			Reposted []struct{ ID, Status string }
			Count    int
		}
		input := map[string]any{"idempotencyKey": "bo-" + name}
		if filter != nil {
			input["filter"] = filter
		}
		r.mutate(t, repost, input, &out)
		var reposted []string
		for _, p := range out.Reposted {
			reposted = append(reposted, p.ID)
			if p.Status != "PENDING" {
				t.Errorf("%s: reposted %s is %s", name, p.ID, p.Status)
			}
		}
		if !slices.Equal(reposted, preview) || out.Count != len(preview) {
			t.Fatalf("%s: previewed %v, reposted %v (count %d)", name, preview, reposted, out.Count)
		}
	}

	// Deaths: 17..20 at +0s, 13..16 at +1s, 9..12 at +2s, 5..8 at +3s, 1..4 at +4s.
	// AR payments refused as business errors: n = 4, 6, 10, 12, 16, 18, oldest death first 18,
	// 16, 10, 12 (together, by id), 6, 4; limit 4 takes the first four.
	round("ar-business-4", map[string]any{"kind": "AR_PAYMENT", "errorClass": "BUSINESS", "limit": 4}, 3,
		deadLetterIDs(t, r.pool, 18, 16, 10, 12))
	round("ar-business-rest", map[string]any{"kind": "AR_PAYMENT", "errorClass": "BUSINESS"}, 1,
		deadLetterIDs(t, r.pool, 6, 4))
	// Customers (odd n), every class; the limit's default (100) takes them all.
	round("customers", map[string]any{"kind": "CUSTOMER"}, 3,
		deadLetterIDs(t, r.pool, 17, 19, 13, 15, 9, 11, 5, 7, 1, 3))
	// No filter: what is left (the transient AR payments: 20, 14, 8, 2).
	round("all", nil, 3, deadLetterIDs(t, r.pool, 20, 14, 8, 2))
	round("none-left", nil, 3, []string{})

	var left struct {
		ErpPostings struct{ TotalCount int }
		DeadLetters struct{ TotalCount int }
	}
	dash.query(t, `{ erpPostings(filter: {status: [PENDING]}) { totalCount } deadLetters { totalCount } }`, nil, &left)
	if left.ErpPostings.TotalCount != 23 || left.DeadLetters.TotalCount != 0 {
		t.Errorf("after the reposts: %d pending (want 20 reposted + 3 live), %d dead", left.ErpPostings.TotalCount, left.DeadLetters.TotalCount)
	}
}

// TestBackofficeListsAreForbiddenToTheStorefront: the shop's key reads none of the lists; every
// back-office key reads all of them.
func TestBackofficeListsAreForbiddenToTheStorefront(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedBackoffice(t, b.pool)
	fields := []string{"refunds", "erpPostings", "deadLetters", "fraudReviews", "anomalies", "mappingRules"}
	for _, role := range auth.Roles {
		key := newKey(t, b.pool, "bo-"+string(role), role)
		for _, field := range fields {
			resp := b.as(key).do(t, `{ `+field+` { totalCount nodes { id } } }`, nil)
			var data map[string]json.RawMessage
			json.Unmarshal(resp.Data, &data) //nolint:errcheck
			if role == auth.Storefront {     // a non-null field refused: the whole data is null
				if resp.Status != http.StatusOK || len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != graph.CodeForbidden ||
					!strings.Contains(resp.Errors[0].Message, "Query."+field) || (len(data[field]) > 0 && string(data[field]) != "null") {
					t.Errorf("%s as storefront: HTTP %d, errors %+v, data %s", field, resp.Status, resp.Errors, resp.Data)
				}
				continue
			}
			var c boConnection
			if len(resp.Errors) > 0 || json.Unmarshal(data[field], &c) != nil || c.TotalCount == 0 || len(c.Nodes) == 0 {
				t.Errorf("%s as %s: errors %+v, data %s", field, role, resp.Errors, resp.Data)
			}
		}
	}
}

func TestBackofficeListsRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedBackoffice(t, b.pool)
	endCursor := func(query string) string {
		var data map[string]boConnection
		b.query(t, query, nil, &data)
		for _, c := range data {
			if c.PageInfo.EndCursor != nil {
				return *c.PageInfo.EndCursor
			}
		}
		t.Fatalf("no end cursor from %s", query)
		return ""
	}
	erpCursor := endCursor(`{ erpPostings(first: 1) { pageInfo { endCursor } } }`)
	deadCursor := endCursor(`{ deadLetters(first: 1) { pageInfo { endCursor } } }`)
	payCursor := endCursor(`{ payments(first: 1) { pageInfo { endCursor } } }`)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

	tests := []struct{ name, query, want string }{
		{"first over the maximum", `{ refunds(first: 501) { totalCount } }`, "first must be at most 500"},
		{"negative first", `{ anomalies(first: -1) { totalCount } }`, "first must not be negative"},
		{"a payments cursor", `{ refunds(after: "` + payCursor + `") { totalCount } }`, "unknown cursor"},
		{"an erpPostings cursor in deadLetters", `{ deadLetters(after: "` + erpCursor + `") { totalCount } }`, "unknown cursor"},
		{"a deadLetters cursor in erpPostings", `{ erpPostings(after: "` + deadCursor + `") { totalCount } }`, "unknown cursor"},
		{"a mapping rule cursor of two keys", `{ mappingRules(after: "` + b64(`map:["status_map","opayo"]`) + `") { totalCount } }`, "unknown cursor"},
		{"a mapping rule cursor not JSON", `{ mappingRules(after: "` + b64(`map:status_map`) + `") { totalCount } }`, "unknown cursor"},
		{"garbage cursor", `{ fraudReviews(after: "%%%") { totalCount } }`, "unknown cursor"},
		{"paymentId of an order", `{ refunds(filter: {paymentId: "` + model.EncodeGlobalID(model.TypeOrder, f.order1ID) + `"}) { totalCount } }`,
			"expected the ID of a Payment"},
		{"subjectId not an ID", `{ erpPostings(filter: {subjectId: "42"}) { totalCount } }`, "filter.subjectId: invalid ID"},
		{"subjectId of no type", `{ anomalies(filter: {subjectId: "` + model.EncodeGlobalID("Invoice", 1) + `"}) { totalCount } }`,
			"filter.subjectId: invalid ID"},
		{"dead letter limit 0", `{ deadLetters(filter: {limit: 0}) { totalCount } }`, "filter.limit is 1..500, not 0"},
		{"dead letter limit 501", `{ deadLetters(filter: {limit: 501}) { totalCount } }`, "filter.limit is 1..500, not 501"},
		{"bad enum", `{ erpPostings(filter: {status: [LOST]}) { totalCount } }`, "LOST"},
		{"bad date", `{ refunds(filter: {createdAfter: "yesterday"}) { totalCount } }`, "RFC 3339"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := b.do(t, tt.query, nil)
			if resp.Status >= 500 || len(resp.Errors) == 0 {
				t.Fatalf("HTTP %d, data %s, no error", resp.Status, resp.Data)
			}
			if !strings.Contains(resp.Errors[0].Message, tt.want) {
				t.Errorf("error %q does not say %q", resp.Errors[0].Message, tt.want)
			}
		})
	}

	// first: 0 is a count alone.
	var out struct {
		Refunds boConnection
	}
	b.query(t, `{ refunds(first: 0) { totalCount edges { cursor } nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`, nil, &out)
	if c := out.Refunds; c.TotalCount != 12 || len(c.Edges) != 0 || !c.PageInfo.HasNextPage || c.PageInfo.EndCursor != nil {
		t.Errorf("first: 0 = %+v", c)
	}
}

// sqlRecorder keeps the text of every statement a pool runs.
type sqlRecorder struct {
	mu  sync.Mutex
	sql []string
}

func (r *sqlRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql = append(r.sql, d.SQL)
	return ctx
}
func (r *sqlRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// counts returns how many of the statements run since the last call were sqlc Count queries.
func (r *sqlRecorder) counts() (n int, names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sql {
		if name, ok := strings.CutPrefix(s, "-- name: Count"); ok {
			n++
			names = append(names, "Count"+strings.Fields(name)[0])
		}
	}
	r.sql = nil
	return n, names
}

// TestBackofficeTotalCountIsCountedOnlyWhenAsked: a page without totalCount runs no count query;
// asking for it runs exactly one, its list's.
func TestBackofficeTotalCountIsCountedOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	recorder := &sqlRecorder{}
	pool := tracedPool(t, recorder)
	b := newBundle(t, pool)
	seedBackoffice(t, pool)

	lists := map[string]string{"refunds": "CountRefunds", "erpPostings": "CountErpPostings", "deadLetters": "CountDeadLetters",
		"fraudReviews": "CountFraudReviews", "anomalies": "CountAnomalies", "mappingRules": "CountMappingRules"}
	for field, count := range lists {
		var data map[string]boConnection
		recorder.counts()
		b.query(t, `{ `+field+`(first: 2) { nodes { id } pageInfo { endCursor } } }`, nil, &data)
		if n, names := recorder.counts(); n != 0 || len(data[field].Nodes) != 2 {
			t.Errorf("%s without totalCount: %d nodes, count queries %v", field, len(data[field].Nodes), names)
		}
		b.query(t, `{ `+field+`(first: 2) { totalCount nodes { id } } }`, nil, &data)
		if n, names := recorder.counts(); n != 1 || names[0] != count || data[field].TotalCount <= 2 {
			t.Errorf("%s with totalCount %d: count queries %v, want [%s]", field, data[field].TotalCount, names, count)
		}
	}
}

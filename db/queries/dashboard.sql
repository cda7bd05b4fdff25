-- The operations dashboard (graph/schema/dashboard.graphqls): payments at a glance, reconciliation
-- per settlement day, and the links of an order's chain, read a page at a time (the ...Of* lists
-- take the ids of a whole page of parents at once: the API's dataloaders batch them).

-- PaymentStatsGroups counts and sums the payments that occurred in [occurred_from, occurred_to),
-- by gateway, kind, status and currency.
-- name: PaymentStatsGroups :many
SELECT gateway, kind, status, currency, count(*) AS payments, sum(amount)::numeric AS amount
FROM payments
WHERE occurred_at >= @occurred_from::timestamptz AND occurred_at < @occurred_to::timestamptz
GROUP BY gateway, kind, status, currency
ORDER BY gateway, kind, status, currency;

-- PaymentVolume is the money taken (sales and captures that took it: captured, settled, refunded
-- in part or whole since) in [occurred_from, occurred_to), per bucket of bucket_minutes counted
-- from occurred_from and per currency. Buckets without such payments have no row.
-- name: PaymentVolume :many
SELECT date_bin(make_interval(mins => @bucket_minutes::int), occurred_at, @occurred_from::timestamptz)::timestamptz AS bucket_start,
       currency, count(*) AS payments, sum(amount)::numeric AS amount
FROM payments
WHERE occurred_at >= @occurred_from::timestamptz AND occurred_at < @occurred_to::timestamptz
  AND kind IN ('sale', 'capture')
  AND status IN ('captured', 'settled', 'partially_refunded', 'refunded')
GROUP BY bucket_start, currency
ORDER BY bucket_start, currency;

-- SettlementDayBatches counts and sums the settlement batches of the days date_from..date_to (of
-- one gateway, when given) by gateway, day, status and currency.
-- name: SettlementDayBatches :many
SELECT gateway, batch_date, status, currency, count(*) AS batches, coalesce(sum(line_count), 0)::bigint AS lines,
       sum(net_amount)::numeric AS net
FROM settlement_batches
WHERE batch_date >= @date_from::date AND batch_date <= @date_to::date
  AND (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
GROUP BY gateway, batch_date, status, currency
ORDER BY batch_date DESC, gateway, status, currency;

-- SettlementDayDiscrepancies counts the discrepancies of the days date_from..date_to (of one
-- gateway, when given), all and open, by gateway and day: those of the day's batches and those of
-- the day alone (payments no batch settled).
-- name: SettlementDayDiscrepancies :many
SELECT gateway, settlement_date, count(*) AS discrepancies,
       count(*) FILTER (WHERE status = 'open') AS open_discrepancies
FROM settlement_discrepancies
WHERE settlement_date >= @date_from::date AND settlement_date <= @date_to::date
  AND (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
GROUP BY gateway, settlement_date
ORDER BY settlement_date DESC, gateway;

-- ListErpPostingsOfSubjects is the SYSPRO postings about any of these records of one subject type
-- (payment, sales_order, ...), each record's oldest first.
-- name: ListErpPostingsOfSubjects :many
SELECT * FROM erp_postings
WHERE subject_type = @subject_type AND subject_id = ANY(@subject_ids::bigint[])
ORDER BY subject_id, created_at, id;

-- ListRefundsOfPayments is the refunds of these payments, each payment's oldest first.
-- name: ListRefundsOfPayments :many
SELECT * FROM refunds WHERE payment_id = ANY(@payment_ids::bigint[])
ORDER BY payment_id, created_at, id;

-- ListFraudReviewsOfPayments is the fraud reviews of these payments (a payment has at most one).
-- name: ListFraudReviewsOfPayments :many
SELECT * FROM fraud_reviews WHERE payment_id = ANY(@payment_ids::bigint[]);

-- ListSettlementLinesOfPayments is the settlement lines these payments were matched to (through
-- settlement_matches), each payment's in batch and line order.
-- name: ListSettlementLinesOfPayments :many
SELECT m.payment_id, sqlc.embed(l)
FROM settlement_matches m JOIN settlement_lines l ON l.id = m.settlement_line_id
WHERE m.payment_id = ANY(@payment_ids::bigint[])
ORDER BY m.payment_id, l.settlement_batch_id, l.line_number;

-- Settlement reconciliation (sync/settlement.go): imported batches and their lines, the matches
-- and discrepancies a run finds, and the GL journal a reconciled batch becomes.

-- UpsertSettlementBatch records a batch as imported. A batch already known with the same digest
-- is left alone (no row returned: the caller reads it); one whose content changed is refreshed,
-- unless its journal is already posted.
-- name: UpsertSettlementBatch :one
INSERT INTO settlement_batches (gateway, gateway_batch_id, batch_date, currency, gross_amount, refund_amount,
                                fee_amount, chargeback_amount, net_amount, line_count, reported_totals, digest)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (gateway, gateway_batch_id) DO UPDATE
SET batch_date = EXCLUDED.batch_date, currency = EXCLUDED.currency, gross_amount = EXCLUDED.gross_amount,
    refund_amount = EXCLUDED.refund_amount, fee_amount = EXCLUDED.fee_amount,
    chargeback_amount = EXCLUDED.chargeback_amount, net_amount = EXCLUDED.net_amount,
    line_count = EXCLUDED.line_count, reported_totals = EXCLUDED.reported_totals, digest = EXCLUDED.digest
WHERE settlement_batches.digest <> EXCLUDED.digest AND settlement_batches.status <> 'journal_posted'
RETURNING *;

-- name: GetSettlementBatchByGatewayID :one
SELECT * FROM settlement_batches WHERE gateway = $1 AND gateway_batch_id = $2;

-- name: GetSettlementBatch :one
SELECT * FROM settlement_batches WHERE id = $1;

-- name: GetSettlementBatchForUpdate :one
SELECT * FROM settlement_batches WHERE id = $1 FOR UPDATE;

-- name: ListSettlementBatchesForDay :many
SELECT * FROM settlement_batches WHERE gateway = $1 AND batch_date = $2 ORDER BY id;

-- name: DeleteSettlementLines :exec
DELETE FROM settlement_lines WHERE settlement_batch_id = $1;

-- name: InsertSettlementLines :copyfrom
INSERT INTO settlement_lines (settlement_batch_id, line_number, kind, gateway_transaction_id, merchant_reference,
                              amount, fee_amount, currency, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- ListSettlementLinesOfBatches reads the lines of a day's batches, for matching.
-- name: ListSettlementLinesOfBatches :many
SELECT id, settlement_batch_id, line_number, kind, gateway_transaction_id, merchant_reference, amount, currency,
       occurred_at
FROM settlement_lines WHERE settlement_batch_id = ANY(@batch_ids::bigint[])
ORDER BY settlement_batch_id, line_number;

-- ListSettlementCandidates lists the money movements at a gateway that a settlement may hold:
-- captures and sales that took money, and refunds that gave it back, between from and to, that
-- no batch outside this day's has settled already.
-- name: ListSettlementCandidates :many
SELECT p.id, p.gateway_transaction_id, p.merchant_reference, p.kind, p.amount, p.currency, p.occurred_at
FROM payments p
WHERE p.gateway = @gateway AND p.occurred_at >= @occurred_from AND p.occurred_at < @occurred_to
  AND ((p.kind IN ('sale', 'capture') AND p.status IN ('captured', 'settled', 'partially_refunded', 'refunded'))
       OR (p.kind = 'refund' AND p.status = 'refunded'))
  AND NOT EXISTS (
        SELECT 1 FROM settlement_matches m JOIN settlement_lines l ON l.id = m.settlement_line_id
        WHERE m.payment_id = p.id AND l.settlement_batch_id <> ALL(@day_batch_ids::bigint[]))
ORDER BY p.id;

-- name: ClearSettlementMatches :exec
DELETE FROM settlement_matches m USING settlement_lines l
WHERE l.id = m.settlement_line_id AND l.settlement_batch_id = ANY(@batch_ids::bigint[]);

-- SetSettlementLineMatches records the outcome of many lines at once (every line of a batch each run).
-- name: SetSettlementLineMatches :exec
UPDATE settlement_lines l
SET match_status = u.match_status, match_method = nullif(u.match_method, ''), payment_id = nullif(u.payment_id, 0),
    match_note = nullif(u.match_note, '')
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@match_statuses::text[]) AS match_status,
             unnest(@match_methods::text[]) AS match_method, unnest(@payment_ids::bigint[]) AS payment_id,
             unnest(@match_notes::text[]) AS match_note) AS u
WHERE l.id = u.id;

-- name: InsertSettlementMatches :copyfrom
INSERT INTO settlement_matches (settlement_line_id, payment_id, method) VALUES ($1, $2, $3);

-- UpsertSettlementDiscrepancies records discrepancies of a day, many at once: rows is a JSON array
-- of {settlement_batch_id, kind, dedupe_key, line_numbers, payment_ids, currency, expected,
-- actual, merchant_reference, gateway_transaction_id, explanation}. One a previous run recorded
-- is refreshed only when something about it changed (an accepted or resolved one keeps its
-- status, unless a re-run had resolved it). The rows that come back are the ones inserted or
-- changed; the others stand as they were (ListSettlementDiscrepanciesByKeys reads them).
-- name: UpsertSettlementDiscrepancies :many
INSERT INTO settlement_discrepancies (gateway, settlement_date, settlement_batch_id, kind, dedupe_key, line_numbers,
                                      payment_ids, currency, expected, actual, merchant_reference,
                                      gateway_transaction_id, explanation)
SELECT @gateway::text, @settlement_date::date, r.settlement_batch_id, r.kind, r.dedupe_key, r.line_numbers,
       r.payment_ids, r.currency, r.expected, r.actual, r.merchant_reference, r.gateway_transaction_id, r.explanation
FROM jsonb_to_recordset(@rows::jsonb) AS r(settlement_batch_id bigint, kind text, dedupe_key text, line_numbers integer[],
                                          payment_ids bigint[], currency char(3), expected numeric, actual numeric,
                                          merchant_reference text, gateway_transaction_id text, explanation text)
ON CONFLICT (gateway, settlement_date, dedupe_key) DO UPDATE
SET settlement_batch_id = EXCLUDED.settlement_batch_id, explanation = EXCLUDED.explanation,
    expected = EXCLUDED.expected, actual = EXCLUDED.actual,
    status = CASE WHEN settlement_discrepancies.status = 'resolved'
                       AND settlement_discrepancies.resolved_by = 'reconciliation' THEN 'open'
                  ELSE settlement_discrepancies.status END
WHERE settlement_discrepancies.settlement_batch_id IS DISTINCT FROM EXCLUDED.settlement_batch_id
   OR settlement_discrepancies.explanation IS DISTINCT FROM EXCLUDED.explanation
   OR settlement_discrepancies.expected IS DISTINCT FROM EXCLUDED.expected
   OR settlement_discrepancies.actual IS DISTINCT FROM EXCLUDED.actual
   OR (settlement_discrepancies.status = 'resolved' AND settlement_discrepancies.resolved_by = 'reconciliation')
RETURNING *;

-- name: ListSettlementDiscrepanciesByKeys :many
SELECT * FROM settlement_discrepancies
WHERE gateway = @gateway AND settlement_date = @settlement_date AND dedupe_key = ANY(@dedupe_keys::text[]);

-- ResolveVanishedDiscrepancies resolves the open discrepancies of a day that its latest run no
-- longer finds (a late batch arrived, a mapping was fixed).
-- name: ResolveVanishedDiscrepancies :execrows
UPDATE settlement_discrepancies
SET status = 'resolved', resolved_by = 'reconciliation', resolved_at = now(),
    resolution_note = 'no longer found when the day was reconciled again'
WHERE gateway = @gateway AND settlement_date = @settlement_date AND status = 'open'
  AND dedupe_key <> ALL(@keep_keys::text[]);

-- name: CountOpenDiscrepanciesOfBatch :one
SELECT count(*) FROM settlement_discrepancies WHERE settlement_batch_id = $1 AND status = 'open';

-- name: SetSettlementBatchStatus :one
UPDATE settlement_batches SET status = @status, reconciled_at = coalesce(sqlc.narg(reconciled_at), reconciled_at)
WHERE id = @id RETURNING *;

-- AcceptSettlementBatch records finance's acceptance of a mismatched batch as it stands; its open
-- discrepancies become accepted.
-- name: AcceptSettlementBatch :one
UPDATE settlement_batches SET status = 'accepted', accepted_by = @accepted_by, accepted_at = now(),
    acceptance_note = @acceptance_note
WHERE id = @id AND status = 'mismatched' RETURNING *;

-- name: AcceptDiscrepanciesOfBatch :execrows
UPDATE settlement_discrepancies SET status = 'accepted', resolved_by = @resolved_by, resolved_at = now(),
    resolution_note = @resolution_note
WHERE settlement_batch_id = @settlement_batch_id AND status = 'open';

-- name: GetSettlementDiscrepancy :one
SELECT * FROM settlement_discrepancies WHERE id = $1;

-- name: ResolveSettlementDiscrepancy :one
UPDATE settlement_discrepancies SET status = 'resolved', resolved_by = @resolved_by, resolved_at = now(),
    resolution_note = @resolution_note
WHERE id = @id AND status = 'open' RETURNING *;

-- ListSettlementDiscrepancies lists the discrepancies of a day or of a batch, oldest first.
-- name: ListSettlementDiscrepancies :many
SELECT * FROM settlement_discrepancies
WHERE (sqlc.narg(settlement_batch_id)::bigint IS NULL OR settlement_batch_id = sqlc.narg(settlement_batch_id)::bigint)
  AND (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
  AND (sqlc.narg(settlement_date)::date IS NULL OR settlement_date = sqlc.narg(settlement_date)::date)
  AND (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND id > sqlc.arg(after_id)
ORDER BY id
LIMIT sqlc.arg(row_limit);

-- name: CountSettlementDiscrepancies :one
SELECT count(*) FROM settlement_discrepancies
WHERE (sqlc.narg(settlement_batch_id)::bigint IS NULL OR settlement_batch_id = sqlc.narg(settlement_batch_id)::bigint)
  AND (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
  AND (sqlc.narg(settlement_date)::date IS NULL OR settlement_date = sqlc.narg(settlement_date)::date)
  AND (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]));

-- name: ListSettlementBatchesByIDs :many
SELECT * FROM settlement_batches WHERE id = ANY(@ids::bigint[]);

-- ListSettlementBatches is one page of batches, newest batch date first.
-- name: ListSettlementBatches :many
SELECT * FROM settlement_batches
WHERE (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
  AND (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(date_from)::date IS NULL OR batch_date >= sqlc.narg(date_from)::date)
  AND (sqlc.narg(date_to)::date IS NULL OR batch_date <= sqlc.narg(date_to)::date)
  AND (sqlc.narg(after_date)::date IS NULL
       OR (batch_date, id) < (sqlc.narg(after_date)::date, sqlc.narg(after_id)::bigint))
ORDER BY batch_date DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: CountSettlementBatches :one
SELECT count(*) FROM settlement_batches
WHERE (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
  AND (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(date_from)::date IS NULL OR batch_date >= sqlc.narg(date_from)::date)
  AND (sqlc.narg(date_to)::date IS NULL OR batch_date <= sqlc.narg(date_to)::date);

-- ListSettlementLines is one page of a batch's lines, in line order.
-- name: ListSettlementLines :many
SELECT * FROM settlement_lines
WHERE settlement_batch_id = @settlement_batch_id
  AND (sqlc.narg(match_statuses)::text[] IS NULL OR match_status = ANY(sqlc.narg(match_statuses)::text[]))
  AND line_number > @after_line
ORDER BY line_number
LIMIT @row_limit;

-- name: CountSettlementLines :one
SELECT count(*) FROM settlement_lines
WHERE settlement_batch_id = @settlement_batch_id
  AND (sqlc.narg(match_statuses)::text[] IS NULL OR match_status = ANY(sqlc.narg(match_statuses)::text[]));

-- name: ListSettlementMatchesOfLines :many
SELECT * FROM settlement_matches WHERE settlement_line_id = ANY(@line_ids::bigint[])
ORDER BY settlement_line_id, payment_id;

-- CreateGlJournal drafts the journal of a batch; a batch that already has a live one keeps it.
-- name: CreateGlJournal :one
INSERT INTO gl_journals (settlement_batch_id, journal_date, description, reference, currency)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (settlement_batch_id) WHERE status <> 'cancelled' DO NOTHING
RETURNING *;

-- name: InsertGlJournalLine :exec
INSERT INTO gl_journal_lines (gl_journal_id, line_number, ledger_code, description, amount)
VALUES ($1, $2, $3, $4, $5);

-- name: GetGlJournal :one
SELECT * FROM gl_journals WHERE id = $1;

-- name: GetLiveGlJournalOfBatch :one
SELECT * FROM gl_journals WHERE settlement_batch_id = $1 AND status <> 'cancelled';

-- name: ListGlJournalsOfBatches :many
SELECT * FROM gl_journals WHERE settlement_batch_id = ANY(@batch_ids::bigint[]) ORDER BY id;

-- name: ListGlJournalLines :many
SELECT * FROM gl_journal_lines WHERE gl_journal_id = ANY(@journal_ids::bigint[]) ORDER BY gl_journal_id, line_number;

-- name: SetGlJournalStatus :one
UPDATE gl_journals SET status = @status, last_error = sqlc.narg(last_error) WHERE id = @id RETURNING *;

-- name: MarkGlJournalPosted :one
UPDATE gl_journals SET status = 'posted', syspro_journal_number = @syspro_journal_number, syspro_year = @syspro_year,
    syspro_period = @syspro_period, posted_at = now(), last_error = NULL
WHERE id = @id RETURNING *;

-- ListPaymentsForScoring feeds the anomaly detector: payments, refunds and declines after a
-- position, with who paid. Rows younger than settle_before are left for the next scan, so a
-- payment is judged once its outcome is known.
-- name: ListPaymentsForScoring :many
SELECT p.id, p.gateway, p.kind, p.status, p.merchant_reference, p.amount, p.currency, p.occurred_at,
       p.parent_payment_id, p.card_brand, p.card_last_four, p.card_expiry_month, p.card_expiry_year,
       p.payment_token_id, p.client_ip, c.code AS customer_code, c.email AS customer_email
FROM payments p LEFT JOIN customers c ON c.id = p.customer_id
WHERE p.id > @after_id AND p.created_at < @settle_before
ORDER BY p.id
LIMIT @row_limit;

-- ListDeadPostingsForScoring feeds the detector the postings that went dead after a position.
-- name: ListDeadPostingsForScoring :many
SELECT id, kind, business_object, subject_type, subject_id, last_error, dead_at
FROM erp_postings
WHERE status = 'dead' AND dead_at > @dead_after
ORDER BY dead_at, id
LIMIT @row_limit;

-- ListDiscrepanciesForScoring feeds the detector the discrepancies recorded after a position.
-- name: ListDiscrepanciesForScoring :many
SELECT id, gateway, kind, currency, expected, actual, explanation, created_at
FROM settlement_discrepancies
WHERE id > @after_id
ORDER BY id
LIMIT @row_limit;

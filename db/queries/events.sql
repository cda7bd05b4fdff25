-- AppendEvent adds one row to the ordered event log in the caller's transaction; the statement
-- trigger NOTIFYs listeners when that transaction commits. The same statement records the
-- customer the event is about (customer_id, what subscriptions filter customerCode on), as the
-- caller's transaction sees it now: a payment's or an order's own customer; for any other
-- subject (a refund, a fraud review, ...) the customer of the payment its payload names
-- ("paymentId", a whole number), else of the refund's or fraud review's payment; else NULL.
-- Only the branch taken is looked up (one index probe at most). The paymentId guard sits inside
-- the lookup's CASE, so a payload whose paymentId is not a number is never cast, not even by the
-- planner folding constants.
-- name: AppendEvent :one
INSERT INTO events (topic, kind, subject_type, subject_id, payload, customer_id)
VALUES (sqlc.arg(topic)::text, sqlc.arg(kind)::text, sqlc.arg(subject_type)::text, sqlc.arg(subject_id)::bigint,
        sqlc.arg(payload)::jsonb,
        CASE
            WHEN sqlc.arg(subject_type)::text = 'payment' THEN
                (SELECT p.customer_id FROM payments p WHERE p.id = sqlc.arg(subject_id)::bigint)
            WHEN sqlc.arg(subject_type)::text = 'sales_order' THEN
                (SELECT o.customer_id FROM sales_orders o WHERE o.id = sqlc.arg(subject_id)::bigint)
            WHEN jsonb_typeof(sqlc.arg(payload)::jsonb -> 'paymentId') = 'number' THEN
                (SELECT p.customer_id FROM payments p
                 WHERE p.id = CASE WHEN jsonb_typeof(sqlc.arg(payload)::jsonb -> 'paymentId') = 'number'
                                        AND sqlc.arg(payload)::jsonb ->> 'paymentId' ~ '^[0-9]{1,18}$'
                                   THEN (sqlc.arg(payload)::jsonb ->> 'paymentId')::bigint END)
            WHEN sqlc.arg(subject_type)::text = 'refund' THEN
                (SELECT p.customer_id FROM refunds r JOIN payments p ON p.id = r.payment_id
                 WHERE r.id = sqlc.arg(subject_id)::bigint)
            WHEN sqlc.arg(subject_type)::text = 'fraud_review' THEN
                (SELECT p.customer_id FROM fraud_reviews f JOIN payments p ON p.id = f.payment_id
                 WHERE f.id = sqlc.arg(subject_id)::bigint)
        END)
RETURNING *;

-- ListEventsAfter reads the log in commit-safe order: only rows whose transaction is older than
-- every transaction still running can be read, so a row with a lower position can never appear
-- behind a reader that has moved past it.
-- name: ListEventsAfter :many
SELECT * FROM events
WHERE (xact_id, id) > (sqlc.arg(after_xact_id)::xid8, sqlc.arg(after_id)::bigint)
  AND xact_id < pg_snapshot_xmin(pg_current_snapshot())
  AND (sqlc.narg(topics)::text[] IS NULL OR topic = ANY(sqlc.narg(topics)::text[]))
ORDER BY xact_id, id
LIMIT sqlc.arg(row_limit);

-- LastReadableEvent is the head of the log as ListEventsAfter sees it: the last event every reader
-- can already read. Whatever becomes readable later lies after it. No row: the log is empty (or
-- nothing in it is readable yet).
-- name: LastReadableEvent :one
SELECT xact_id, id FROM events
WHERE xact_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY xact_id DESC, id DESC
LIMIT 1;

-- ListEventsBefore reads one topic of the log backwards, newest first: the events before a position
-- (exclusive), under ListEventsAfter's rule (only rows whose transaction is older than every one
-- still running), one page at a time along events_topic_idx. recentEvents reads it from just after
-- LastReadableEvent down: everything at or before that head had committed (or aborted) when the
-- head was read, so every page, whenever it runs, sees the same rows there.
-- name: ListEventsBefore :many
SELECT * FROM events
WHERE topic = sqlc.arg(topic)::text
  AND (xact_id, id) < (sqlc.arg(before_xact_id)::xid8, sqlc.arg(before_id)::bigint)
  AND xact_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY xact_id DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- HasEventsAfter says whether any committed event lies after a position. Right after
-- ListEventsAfter has read everything readable, true means events that committed but cannot be
-- read yet, because an older transaction is still running: a reader then looks again shortly,
-- as their commit's notification has already gone.
-- name: HasEventsAfter :one
SELECT EXISTS (
    SELECT 1 FROM events WHERE (xact_id, id) > (sqlc.arg(after_xact_id)::xid8, sqlc.arg(after_id)::bigint)
) AS pending;

-- name: GetEvent :one
SELECT * FROM events WHERE id = $1;

-- RaiseAnomaly records an anomaly, or refreshes the one with the same dedupe key. opened says
-- whether it opened now (new, or resolved before): only then is it news for an operator. An open
-- or acknowledged anomaly that is raised again stays as it is, with its details refreshed.
-- name: RaiseAnomaly :one
WITH prev AS (SELECT status FROM anomalies WHERE dedupe_key = $5)
INSERT INTO anomalies (kind, severity, subject_type, subject_id, dedupe_key, summary, details, score, explanation)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (dedupe_key) DO UPDATE
SET summary = EXCLUDED.summary, details = EXCLUDED.details, severity = EXCLUDED.severity,
    score = EXCLUDED.score, explanation = EXCLUDED.explanation,
    status = CASE WHEN anomalies.status = 'resolved' THEN 'open' ELSE anomalies.status END,
    detected_at = now()
RETURNING anomalies.id, (xmax = 0 OR coalesce((SELECT status FROM prev), 'resolved') = 'resolved')::boolean AS opened;

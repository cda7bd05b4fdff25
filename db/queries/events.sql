-- AppendEvent adds one row to the ordered event log in the caller's transaction; the statement
-- trigger NOTIFYs listeners when that transaction commits.
-- name: AppendEvent :one
INSERT INTO events (topic, kind, subject_type, subject_id, payload)
VALUES ($1, $2, $3, $4, $5)
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

-- name: RaiseAnomaly :one
INSERT INTO anomalies (kind, severity, subject_type, subject_id, dedupe_key, summary, details)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (dedupe_key) DO UPDATE
SET summary = EXCLUDED.summary, details = EXCLUDED.details, severity = EXCLUDED.severity,
    status = CASE WHEN anomalies.status = 'resolved' THEN 'open' ELSE anomalies.status END,
    detected_at = now()
RETURNING *;

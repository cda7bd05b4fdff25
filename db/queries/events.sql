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

-- LastReadableEvent is the head of the log as ListEventsAfter sees it: the last event every reader
-- can already read. Whatever becomes readable later lies after it. No row: the log is empty (or
-- nothing in it is readable yet).
-- name: LastReadableEvent :one
SELECT xact_id, id FROM events
WHERE xact_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY xact_id DESC, id DESC
LIMIT 1;

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

-- The back office's lists (graph/schema/backoffice.graphqls): refunds, SYSPRO postings and the
-- dead-letter queue, fraud reviews, anomalies and mapping rules. Each list is one page, keyset-
-- paginated; every filter is optional (NULL = no filter; an empty array matches nothing). Each
-- Count* query takes the same filter as its list and counts over all pages.

-- ListRefunds is one page of refunds, newest first, on (created_at, id).
-- name: ListRefunds :many
SELECT * FROM refunds
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(payment_id)::bigint IS NULL OR payment_id = sqlc.narg(payment_id)::bigint)
  AND (sqlc.narg(gateway)::text IS NULL OR EXISTS (
        SELECT 1 FROM payments p WHERE p.id = refunds.payment_id AND p.gateway = sqlc.narg(gateway)::text))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from)::timestamptz)
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to)::timestamptz)
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::bigint))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: CountRefunds :one
SELECT count(*) FROM refunds
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(payment_id)::bigint IS NULL OR payment_id = sqlc.narg(payment_id)::bigint)
  AND (sqlc.narg(gateway)::text IS NULL OR EXISTS (
        SELECT 1 FROM payments p WHERE p.id = refunds.payment_id AND p.gateway = sqlc.narg(gateway)::text))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from)::timestamptz)
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to)::timestamptz);

-- ListErpPostings is one page of the SYSPRO outbox, newest first, on (created_at, id).
-- name: ListErpPostings :many
SELECT * FROM erp_postings
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(error_class)::text IS NULL OR error_class = sqlc.narg(error_class)::text)
  AND (sqlc.narg(subject_type)::text IS NULL
       OR (subject_type = sqlc.narg(subject_type)::text AND subject_id = sqlc.narg(subject_id)::bigint))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from)::timestamptz)
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to)::timestamptz)
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::bigint))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: CountErpPostings :one
SELECT count(*) FROM erp_postings
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(error_class)::text IS NULL OR error_class = sqlc.narg(error_class)::text)
  AND (sqlc.narg(subject_type)::text IS NULL
       OR (subject_type = sqlc.narg(subject_type)::text AND subject_id = sqlc.narg(subject_id)::bigint))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from)::timestamptz)
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to)::timestamptz);

-- ListDeadLetters is one page of the dead-letter queue as repostDeadLetters sees it (the same
-- filter and order as ListDeadErpPostings in postings.sql): the first queue_limit dead postings,
-- oldest death first, on (dead_at, id); a page of them after the cursor. A dead posting always has
-- dead_at (KillErpPosting sets it, ReviveErpPosting clears it as the posting leaves the queue).
-- name: ListDeadLetters :many
SELECT * FROM erp_postings
WHERE id IN (
        SELECT q.id FROM erp_postings q
        WHERE q.status = 'dead'
          AND (sqlc.narg(kind)::text IS NULL OR q.kind = sqlc.narg(kind)::text)
          AND (sqlc.narg(error_class)::text IS NULL OR q.error_class = sqlc.narg(error_class)::text)
        ORDER BY q.dead_at, q.id
        LIMIT sqlc.arg(queue_limit))
  AND (sqlc.narg(after_dead_at)::timestamptz IS NULL
       OR (dead_at, id) > (sqlc.narg(after_dead_at)::timestamptz, sqlc.narg(after_id)::bigint))
ORDER BY dead_at, id
LIMIT sqlc.arg(row_limit);

-- CountDeadLetters is how many ListDeadLetters holds over all pages: at most queue_limit.
-- name: CountDeadLetters :one
SELECT count(*) FROM (
    SELECT 1 FROM erp_postings
    WHERE status = 'dead'
      AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind)::text)
      AND (sqlc.narg(error_class)::text IS NULL OR error_class = sqlc.narg(error_class)::text)
    LIMIT sqlc.arg(queue_limit)
) AS queue;

-- ListFraudReviews is one page of fraud reviews, newest first, on (created_at, id).
-- name: ListFraudReviews :many
SELECT * FROM fraud_reviews
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::bigint))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: CountFraudReviews :one
SELECT count(*) FROM fraud_reviews
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text);

-- ListAnomalies is one page of anomalies, newest first, on (detected_at, id).
-- name: ListAnomalies :many
SELECT * FROM anomalies
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(severities)::text[] IS NULL OR severity = ANY(sqlc.narg(severities)::text[]))
  AND (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(subject_type)::text IS NULL
       OR (subject_type = sqlc.narg(subject_type)::text AND subject_id = sqlc.narg(subject_id)::bigint))
  AND (sqlc.narg(after_detected_at)::timestamptz IS NULL
       OR (detected_at, id) < (sqlc.narg(after_detected_at)::timestamptz, sqlc.narg(after_id)::bigint))
ORDER BY detected_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: CountAnomalies :one
SELECT count(*) FROM anomalies
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(severities)::text[] IS NULL OR severity = ANY(sqlc.narg(severities)::text[]))
  AND (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(subject_type)::text IS NULL
       OR (subject_type = sqlc.narg(subject_type)::text AND subject_id = sqlc.narg(subject_id)::bigint));

-- ListMappingRulesPage is one page of mapping rules in (kind, scope, key) order, the table's unique key.
-- name: ListMappingRulesPage :many
SELECT * FROM mapping_rules
WHERE (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(scope)::text IS NULL OR scope = sqlc.narg(scope)::text)
  AND (sqlc.narg(after_kind)::text IS NULL
       OR (kind, scope, key) > (sqlc.narg(after_kind)::text, sqlc.narg(after_scope)::text, sqlc.narg(after_key)::text))
ORDER BY kind, scope, key
LIMIT sqlc.arg(row_limit);

-- name: CountMappingRules :one
SELECT count(*) FROM mapping_rules
WHERE (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(scope)::text IS NULL OR scope = sqlc.narg(scope)::text);

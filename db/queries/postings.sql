-- CreateErpPosting records a call the hub owes SYSPRO. A second request for the same idempotency
-- key returns nothing: the posting already exists and keeps its own history.
-- name: CreateErpPosting :one
INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key, request)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *;

-- name: GetErpPosting :one
SELECT * FROM erp_postings WHERE id = $1;

-- name: GetErpPostingByIdempotencyKey :one
SELECT * FROM erp_postings WHERE idempotency_key = $1;

-- ClaimErpPosting marks a posting as being worked on and counts the attempt. A posting left
-- in_progress by a worker that died is claimed again; a finished one is not.
-- name: ClaimErpPosting :one
UPDATE erp_postings
SET status = 'in_progress', attempts = attempts + 1, next_attempt_at = NULL
WHERE id = $1 AND status IN ('pending', 'in_progress')
RETURNING *;

-- name: CompleteErpPosting :one
UPDATE erp_postings
SET status = 'succeeded', response = $2, syspro_reference = $3, succeeded_at = now(),
    last_error = NULL, error_class = NULL, syspro_error_number = NULL
WHERE id = $1 AND status = 'in_progress'
RETURNING *;

-- DeferErpPosting hands a posting back after a transient failure; the job retries it.
-- name: DeferErpPosting :one
UPDATE erp_postings
SET status = 'pending', last_error = $2, error_class = $3, syspro_error_number = $4
WHERE id = $1 AND status = 'in_progress'
RETURNING *;

-- KillErpPosting moves a posting to the dead-letter queue with SYSPRO's own message.
-- name: KillErpPosting :one
UPDATE erp_postings
SET status = 'dead', last_error = $2, error_class = $3, syspro_error_number = $4, response = $5,
    dead_at = now(), next_attempt_at = NULL
WHERE id = $1 AND status IN ('pending', 'in_progress')
RETURNING *;

-- ReviveErpPosting puts a dead posting back in the queue, after its data was fixed.
-- name: ReviveErpPosting :one
UPDATE erp_postings
SET status = 'pending', dead_at = NULL, next_attempt_at = now()
WHERE id = $1 AND status = 'dead'
RETURNING *;

-- name: ListDeadErpPostings :many
SELECT * FROM erp_postings
WHERE status = 'dead'
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind)::text)
  AND (sqlc.narg(error_class)::text IS NULL OR error_class = sqlc.narg(error_class)::text)
ORDER BY dead_at, id
LIMIT sqlc.arg(row_limit);

-- name: ListErpPostingsBySubject :many
SELECT * FROM erp_postings WHERE subject_type = $1 AND subject_id = $2 ORDER BY id;

-- name: CountErpPostingsByStatus :many
SELECT kind, status, count(*) AS postings FROM erp_postings GROUP BY kind, status ORDER BY kind, status;

-- ClaimMutation takes an idempotency key for the caller: a row is returned only when the key was
-- free, and the caller then does the work. A concurrent claim of the same key waits for this
-- one's commit and returns nothing.
-- name: ClaimMutation :one
INSERT INTO mutation_results (api_key_id, mutation, idempotency_key, input_hash)
VALUES ($1, $2, $3, $4)
ON CONFLICT (api_key_id, mutation, idempotency_key) DO NOTHING
RETURNING *;

-- name: GetMutationResult :one
SELECT * FROM mutation_results WHERE api_key_id = $1 AND mutation = $2 AND idempotency_key = $3;

-- TakeOverMutation claims a row still pending after stale_seconds: its caller died mid-way.
-- name: TakeOverMutation :one
UPDATE mutation_results SET created_at = now()
WHERE api_key_id = $1 AND mutation = $2 AND idempotency_key = $3 AND input_hash = $4
  AND response IS NULL AND created_at < now() - make_interval(secs => sqlc.arg(stale_seconds)::float8)
RETURNING *;

-- CompleteMutation stores the payload a claimed key answered.
-- name: CompleteMutation :exec
UPDATE mutation_results SET response = $4, completed_at = now()
WHERE api_key_id = $1 AND mutation = $2 AND idempotency_key = $3 AND response IS NULL;

-- ReleaseMutation frees a claimed key whose request did nothing (refused, or failed).
-- name: ReleaseMutation :exec
DELETE FROM mutation_results
WHERE api_key_id = $1 AND mutation = $2 AND idempotency_key = $3 AND response IS NULL;

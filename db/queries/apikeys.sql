-- CreateAPIKey stores a new key of the GraphQL API. The key itself is never stored: key_hash is
-- its SHA-256, prefix its first characters (shown to operators to tell keys apart).
-- name: CreateAPIKey :one
INSERT INTO api_keys (name, role, prefix, key_hash) VALUES ($1, $2, $3, $4) RETURNING *;

-- GetAPIKeyByHash finds the key a request presents (revoked or not: the caller tells them apart).
-- name: GetAPIKeyByHash :one
SELECT * FROM api_keys WHERE key_hash = $1;

-- TouchAPIKey records a use, at most once a minute per key, so that a busy key does not write a
-- row version per request.
-- name: TouchAPIKey :exec
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: ListAPIKeys :many
SELECT * FROM api_keys ORDER BY created_at, id;

-- RevokeAPIKey revokes the live key with this prefix; no row when there is none.
-- name: RevokeAPIKey :one
UPDATE api_keys SET revoked_at = now() WHERE prefix = $1 AND revoked_at IS NULL RETURNING *;

-- ListRevokedAPIKeys picks, of the given keys, those revoked (or gone): the open websockets of
-- these are closed.
-- name: ListRevokedAPIKeys :many
SELECT k.id::bigint FROM unnest(sqlc.arg(ids)::bigint[]) AS k(id)
WHERE NOT EXISTS (SELECT 1 FROM api_keys a WHERE a.id = k.id AND a.revoked_at IS NULL);

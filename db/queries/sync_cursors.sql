-- name: GetSyncCursor :one
SELECT * FROM sync_cursors WHERE name = $1;

-- GetSyncCursorForUpdate locks the cursor row so that one poller at a time advances it.
-- name: GetSyncCursorForUpdate :one
SELECT * FROM sync_cursors WHERE name = $1 FOR UPDATE;

-- name: UpsertSyncCursor :exec
INSERT INTO sync_cursors (name, position) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now();

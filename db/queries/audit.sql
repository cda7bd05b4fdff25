-- InsertAuditLog records who (actor, api_key_id) did what (action, subject), with which input, and
-- how it ended (outcome: ok, refused or failed; details hold e.g. the error).
-- name: InsertAuditLog :one
INSERT INTO audit_log (actor, api_key_id, action, subject_type, subject_id, input, outcome, details)
VALUES (@actor, sqlc.narg('api_key_id'), @action, sqlc.narg('subject_type'), sqlc.narg('subject_id'),
        sqlc.narg('input'), @outcome, @details)
RETURNING *;

-- ListAuditLog returns the newest entries first, optionally of one subject.
-- name: ListAuditLog :many
SELECT * FROM audit_log
WHERE (sqlc.narg('subject_type')::text IS NULL OR subject_type = sqlc.narg('subject_type'))
  AND (sqlc.narg('subject_id')::bigint IS NULL OR subject_id = sqlc.narg('subject_id'))
ORDER BY occurred_at DESC, id DESC
LIMIT @row_limit;

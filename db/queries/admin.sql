-- name: GetAnomaly :one
SELECT * FROM anomalies WHERE id = $1;

-- name: GetAnomalyForUpdate :one
SELECT * FROM anomalies WHERE id = $1 FOR UPDATE;

-- ResolveAnomaly closes an anomaly (open or acknowledged: state_transitions allow both).
-- name: ResolveAnomaly :one
UPDATE anomalies SET status = 'resolved', resolved_by = $2, resolved_at = now(), resolution_note = $3
WHERE id = $1
RETURNING *;

-- name: GetMappingRule :one
SELECT * FROM mapping_rules WHERE id = $1;

-- name: GetMappingRuleForUpdate :one
SELECT * FROM mapping_rules WHERE kind = $1 AND scope = $2 AND key = $3 FOR UPDATE;

-- UpsertMappingRule adds a rule or changes the value of the one with this kind, scope and key.
-- name: UpsertMappingRule :one
INSERT INTO mapping_rules (kind, scope, key, value, updated_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (kind, scope, key) DO UPDATE
SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING *;

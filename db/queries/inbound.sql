-- RecordInboundMessage keeps a webhook or notification as received. A redelivery of an event
-- already recorded (same source and external event id) returns nothing and changes nothing.
-- name: RecordInboundMessage :one
INSERT INTO inbound_messages (source, external_event_id, content_type, headers, body, signature_status, status, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (source, external_event_id) DO NOTHING
RETURNING *;

-- name: GetInboundMessage :one
SELECT * FROM inbound_messages WHERE id = $1;

-- name: CountInboundMessages :many
SELECT source, signature_status, status, count(*) AS messages FROM inbound_messages
GROUP BY source, signature_status, status ORDER BY source, signature_status, status;

-- name: MarkInboundMessage :exec
UPDATE inbound_messages SET status = $2, error = $3, processed_at = now() WHERE id = $1;

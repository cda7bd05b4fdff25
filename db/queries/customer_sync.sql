-- ListCustomersDueForSync names the customers to compare with SYSPRO (with_syspro: linked to
-- SYSPRO, or with an order in SYSPRO) and Cybersource TMS (with_tms: linked to a TMS customer),
-- never compared or compared longest ago first.
-- name: ListCustomersDueForSync :many
SELECT c.id
FROM customers c
CROSS JOIN LATERAL (
    SELECT count(*) AS links, bool_or(l.synced_at IS NULL) AS never, min(l.synced_at) AS oldest
    FROM customer_links l
    WHERE l.customer_id = c.id
      AND ((sqlc.arg(with_syspro)::boolean AND l.system = 'syspro')
           OR (sqlc.arg(with_tms)::boolean AND l.system = 'cybersource'))
) s
WHERE s.links > 0
   OR (sqlc.arg(with_syspro)::boolean AND EXISTS (
        SELECT 1 FROM sales_orders o WHERE o.customer_id = c.id AND o.syspro_order_number IS NOT NULL))
ORDER BY (s.links = 0 OR coalesce(s.never, false)) DESC, s.oldest NULLS FIRST, c.id
LIMIT sqlc.arg(row_limit);

-- name: CustomerHasSysproOrders :one
SELECT EXISTS (
    SELECT 1 FROM sales_orders WHERE customer_id = $1 AND syspro_order_number IS NOT NULL
) AS has_orders;

-- name: LockCustomer :one
SELECT * FROM customers WHERE id = $1 FOR UPDATE;

-- name: ListCustomerLinks :many
SELECT * FROM customer_links WHERE customer_id = $1 ORDER BY system, id;

-- EnsureCustomerLink adds the link, or returns it when it exists.
-- name: EnsureCustomerLink :one
INSERT INTO customer_links (customer_id, system, external_id)
VALUES ($1, $2, $3)
ON CONFLICT (customer_id, system, external_id) DO UPDATE SET external_id = EXCLUDED.external_id
RETURNING *;

-- MarkCustomerLinkSynced records a comparison; synced_fields NULL keeps the previous base.
-- name: MarkCustomerLinkSynced :one
UPDATE customer_links
SET synced_at = now(), synced_fields = coalesce(sqlc.narg(synced_fields)::jsonb, synced_fields)
WHERE id = sqlc.arg(id)
RETURNING *;

-- UpdateCustomerSyncedFields writes the fields a sync takes from another system.
-- name: UpdateCustomerSyncedFields :one
UPDATE customers
SET name = sqlc.arg(name), email = sqlc.narg(email), phone = sqlc.narg(phone), currency = sqlc.arg(currency),
    billing_address = sqlc.arg(billing_address), status = sqlc.arg(status)
WHERE id = sqlc.arg(id)
RETURNING *;

-- RecordCustomerSyncConflict adds a conflict unless the same disagreement is already recorded and
-- not yet reviewed (then no row).
-- name: RecordCustomerSyncConflict :one
INSERT INTO customer_sync_conflicts (customer_id, field, system, canonical_value, other_value, base_value, winner)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (customer_id, system, field, md5(canonical_value), md5(other_value)) WHERE NOT resolved DO NOTHING
RETURNING *;

-- name: ListCustomerSyncConflicts :many
SELECT * FROM customer_sync_conflicts
WHERE customer_id = $1
ORDER BY detected_at DESC, id DESC;

-- ResolveCustomerSyncConflict marks a conflict reviewed.
-- name: ResolveCustomerSyncConflict :one
UPDATE customer_sync_conflicts
SET resolved = true, resolved_by = sqlc.arg(resolved_by)::text, resolved_at = now()
WHERE id = sqlc.arg(id) AND NOT resolved
RETURNING *;

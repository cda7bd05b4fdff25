-- name: GetPayment :one
SELECT * FROM payments WHERE id = $1;

-- name: GetPaymentByGatewayTransaction :one
SELECT * FROM payments WHERE gateway = $1 AND gateway_transaction_id = $2;

-- name: ListPaymentsByIDs :many
SELECT * FROM payments WHERE id = ANY(sqlc.arg(ids)::bigint[]);

-- name: ListPaymentsByOrderIDs :many
SELECT * FROM payments
WHERE sales_order_id = ANY(sqlc.arg(order_ids)::bigint[])
ORDER BY sales_order_id, occurred_at, id;

-- ListPayments is one page of payments, newest first, keyset-paginated on (occurred_at, id).
-- Every filter is optional (NULL = no filter).
-- name: ListPayments :many
SELECT * FROM payments
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
  AND (sqlc.narg(customer_id)::bigint IS NULL OR customer_id = sqlc.narg(customer_id)::bigint)
  AND (sqlc.narg(sales_order_id)::bigint IS NULL OR sales_order_id = sqlc.narg(sales_order_id)::bigint)
  AND (sqlc.narg(merchant_reference)::text IS NULL OR merchant_reference = sqlc.narg(merchant_reference)::text)
  AND (sqlc.narg(occurred_from)::timestamptz IS NULL OR occurred_at >= sqlc.narg(occurred_from)::timestamptz)
  AND (sqlc.narg(occurred_to)::timestamptz IS NULL OR occurred_at < sqlc.narg(occurred_to)::timestamptz)
  AND (sqlc.narg(after_occurred_at)::timestamptz IS NULL
       OR (occurred_at, id) < (sqlc.narg(after_occurred_at)::timestamptz, sqlc.narg(after_id)::bigint))
ORDER BY occurred_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: CountPayments :one
SELECT count(*) FROM payments
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(kinds)::text[] IS NULL OR kind = ANY(sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(gateway)::text IS NULL OR gateway = sqlc.narg(gateway)::text)
  AND (sqlc.narg(customer_id)::bigint IS NULL OR customer_id = sqlc.narg(customer_id)::bigint)
  AND (sqlc.narg(sales_order_id)::bigint IS NULL OR sales_order_id = sqlc.narg(sales_order_id)::bigint)
  AND (sqlc.narg(merchant_reference)::text IS NULL OR merchant_reference = sqlc.narg(merchant_reference)::text)
  AND (sqlc.narg(occurred_from)::timestamptz IS NULL OR occurred_at >= sqlc.narg(occurred_from)::timestamptz)
  AND (sqlc.narg(occurred_to)::timestamptz IS NULL OR occurred_at < sqlc.narg(occurred_to)::timestamptz);

-- ListPaymentsToRecheck is the janitor's work: payments whose gateway state is not known yet.
-- name: ListPaymentsToRecheck :many
SELECT gateway, gateway_transaction_id FROM payments
WHERE status IN ('unknown', 'pending')
ORDER BY updated_at
LIMIT $1;

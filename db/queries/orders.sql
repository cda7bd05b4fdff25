-- name: GetSalesOrder :one
SELECT * FROM sales_orders WHERE id = $1;

-- name: GetSalesOrderBySysproNumber :one
SELECT * FROM sales_orders WHERE syspro_order_number = $1;

-- name: GetSalesOrderByCustomerPoNumber :one
SELECT * FROM sales_orders WHERE customer_po_number = $1;

-- name: ListSalesOrdersByIDs :many
SELECT * FROM sales_orders WHERE id = ANY(sqlc.arg(ids)::bigint[]);

-- name: ListSalesOrderLinesByOrderIDs :many
SELECT sqlc.embed(l), o.currency FROM sales_order_lines l
JOIN sales_orders o ON o.id = l.sales_order_id
WHERE l.sales_order_id = ANY(sqlc.arg(order_ids)::bigint[])
ORDER BY l.sales_order_id, l.line_number;

-- ListSalesOrders is one page of orders, newest first, keyset-paginated on (ordered_at, id).
-- name: ListSalesOrders :many
SELECT * FROM sales_orders
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(customer_id)::bigint IS NULL OR customer_id = sqlc.narg(customer_id)::bigint)
  AND (sqlc.narg(source)::text IS NULL OR source = sqlc.narg(source)::text)
  AND (sqlc.narg(ordered_from)::timestamptz IS NULL OR ordered_at >= sqlc.narg(ordered_from)::timestamptz)
  AND (sqlc.narg(ordered_to)::timestamptz IS NULL OR ordered_at < sqlc.narg(ordered_to)::timestamptz)
  AND (sqlc.narg(after_ordered_at)::timestamptz IS NULL
       OR (ordered_at, id) < (sqlc.narg(after_ordered_at)::timestamptz, sqlc.narg(after_id)::bigint))
ORDER BY ordered_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: CountSalesOrders :one
SELECT count(*) FROM sales_orders
WHERE (sqlc.narg(statuses)::text[] IS NULL OR status = ANY(sqlc.narg(statuses)::text[]))
  AND (sqlc.narg(customer_id)::bigint IS NULL OR customer_id = sqlc.narg(customer_id)::bigint)
  AND (sqlc.narg(source)::text IS NULL OR source = sqlc.narg(source)::text)
  AND (sqlc.narg(ordered_from)::timestamptz IS NULL OR ordered_at >= sqlc.narg(ordered_from)::timestamptz)
  AND (sqlc.narg(ordered_to)::timestamptz IS NULL OR ordered_at < sqlc.narg(ordered_to)::timestamptz);

-- MarkSalesOrderPosted records SYSPRO's number once SORTOI (or its find-first) answered.
-- name: MarkSalesOrderPosted :one
UPDATE sales_orders
SET syspro_order_number = sqlc.arg(syspro_order_number), syspro_status = sqlc.narg(syspro_status),
    status = CASE WHEN status IN ('received', 'posting') THEN 'open' ELSE status END
WHERE id = sqlc.arg(id)
RETURNING *;

-- MarkSalesOrderFailed flags an order whose posting went to the dead-letter queue.
-- name: MarkSalesOrderFailed :one
UPDATE sales_orders
SET status = CASE WHEN status IN ('received', 'posting') THEN 'failed' ELSE status END
WHERE id = $1
RETURNING *;

-- RetrySalesOrderPosting moves a failed order back to posting when its posting is reposted.
-- name: RetrySalesOrderPosting :one
UPDATE sales_orders SET status = 'posting' WHERE id = $1 AND status = 'failed' RETURNING *;

-- SetSalesOrderAmounts re-splits an order's total into subtotal, tax and shipping once its lines
-- are known (an order made from a gateway record that carried none); never once SYSPRO has it.
-- name: SetSalesOrderAmounts :exec
UPDATE sales_orders
SET subtotal_amount = sqlc.arg(subtotal_amount), tax_amount = sqlc.arg(tax_amount), shipping_amount = sqlc.arg(shipping_amount)
WHERE id = sqlc.arg(id) AND syspro_order_number IS NULL;

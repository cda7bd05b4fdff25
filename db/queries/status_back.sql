-- ListSalesOrdersForStatusBack names the orders whose status SYSPRO may still change: in SYSPRO
-- and not finished, those checked longest ago (never first).
-- name: ListSalesOrdersForStatusBack :many
SELECT id FROM sales_orders
WHERE syspro_order_number IS NOT NULL AND status IN ('open', 'in_warehouse', 'to_invoice', 'on_hold')
ORDER BY syspro_checked_at NULLS FIRST, id
LIMIT sqlc.arg(row_limit);

-- name: LockSalesOrder :one
SELECT * FROM sales_orders WHERE id = $1 FOR UPDATE;

-- ApplySysproOrderStatus records what SYSPRO said about an order and when it was asked.
-- name: ApplySysproOrderStatus :one
UPDATE sales_orders
SET status = sqlc.arg(status), syspro_status = sqlc.narg(syspro_status), syspro_checked_at = now()
WHERE id = sqlc.arg(id)
RETURNING *;

-- MarkSalesOrderSysproChecked records a read-back that changed nothing (it keeps updated_at).
-- name: MarkSalesOrderSysproChecked :exec
UPDATE sales_orders SET syspro_checked_at = now() WHERE id = $1;



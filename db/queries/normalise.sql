-- name: ListMappingRules :many
SELECT * FROM mapping_rules ORDER BY kind, scope, key;

-- name: LockKey :exec
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(key)::text, 0));

-- name: InsertGatewayPayment :one
INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, parent_payment_id,
    sales_order_id, customer_id, status, gateway_status, gateway_status_code, gateway_status_detail,
    amount, currency, card_brand, card_last_four, card_expiry_month, card_expiry_year, avs_result,
    cvc_result, three_ds_status, risk_score, risk_decision, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
RETURNING *;

-- name: GetPaymentForUpdate :one
SELECT * FROM payments WHERE gateway = $1 AND gateway_transaction_id = $2 FOR UPDATE;

-- UpdateGatewayPayment refreshes what the gateway says of a payment; links only fill gaps.
-- name: UpdateGatewayPayment :one
UPDATE payments
SET status = sqlc.arg(status), gateway_status = sqlc.arg(gateway_status),
    gateway_status_code = sqlc.arg(gateway_status_code), gateway_status_detail = sqlc.arg(gateway_status_detail),
    parent_payment_id = coalesce(parent_payment_id, sqlc.narg(parent_payment_id)),
    sales_order_id = coalesce(sales_order_id, sqlc.narg(sales_order_id)),
    customer_id = coalesce(customer_id, sqlc.narg(customer_id)),
    card_brand = coalesce(sqlc.narg(card_brand), card_brand),
    card_last_four = coalesce(sqlc.narg(card_last_four), card_last_four),
    avs_result = coalesce(sqlc.narg(avs_result), avs_result),
    cvc_result = coalesce(sqlc.narg(cvc_result), cvc_result),
    three_ds_status = coalesce(sqlc.narg(three_ds_status), three_ds_status),
    risk_score = coalesce(sqlc.narg(risk_score), risk_score),
    risk_decision = coalesce(sqlc.narg(risk_decision), risk_decision)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: SetPaymentStatus :one
UPDATE payments SET status = $2 WHERE id = $1 RETURNING *;

-- name: SumChildPayments :one
SELECT coalesce(sum(amount), 0)::numeric(19, 4) AS total FROM payments
WHERE parent_payment_id = $1 AND kind = $2 AND status = ANY(sqlc.arg(statuses)::text[]);

-- name: IsStatusMoveAllowed :one
SELECT EXISTS (SELECT 1 FROM state_transitions WHERE entity = $1 AND from_status = $2 AND to_status = $3);

-- name: GetSalesOrderForUpdate :one
SELECT * FROM sales_orders WHERE customer_po_number = $1 FOR UPDATE;

-- name: CreateSalesOrder :one
INSERT INTO sales_orders (customer_id, customer_po_number, status, source, currency, subtotal_amount,
    tax_amount, shipping_amount, total_amount, ship_to, hold_reason, ordered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING *;

-- name: CreateSalesOrderLine :exec
INSERT INTO sales_order_lines (sales_order_id, line_number, stock_code, description, warehouse, quantity,
    unit_price, tax_code, line_total)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: SetSalesOrderStatus :one
UPDATE sales_orders SET status = $2, hold_reason = $3 WHERE id = $1 RETURNING *;

-- name: GetCustomerByEmail :one
SELECT * FROM customers WHERE lower(email) = lower(sqlc.arg(email)::text) ORDER BY id LIMIT 1;

-- name: GetCustomerByLink :one
SELECT c.* FROM customers c JOIN customer_links l ON l.customer_id = c.id
WHERE l.system = $1 AND l.external_id = $2;

-- name: NextCustomerCode :one
SELECT ('W' || lpad(nextval('customer_code_seq')::text, 6, '0'))::text AS code;

-- name: CreateCustomer :one
INSERT INTO customers (code, name, email, phone, currency, billing_address, shipping_address)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: LinkCustomer :exec
INSERT INTO customer_links (customer_id, system, external_id, synced_at) VALUES ($1, $2, $3, now())
ON CONFLICT DO NOTHING;

-- name: OpenFraudReview :one
INSERT INTO fraud_reviews (payment_id, gateway, gateway_decision, score, reasons)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (payment_id) DO NOTHING
RETURNING *;

-- CloseFraudReview settles an open review because the gateway decided (accepted or rejected).
-- name: CloseFraudReview :one
UPDATE fraud_reviews SET status = $2, decided_by = $3, decided_at = now(), note = $4
WHERE payment_id = $1 AND status = 'open'
RETURNING *;

-- placeOrder (sync/place_order.go).

-- name: CreatePlacedSalesOrder :one
INSERT INTO sales_orders (customer_id, customer_po_number, status, source, currency, subtotal_amount,
    tax_amount, shipping_amount, total_amount, ship_to, ordered_at, placement_key)
VALUES ($1, $2, 'received', 'shop', $3, $4, 0, 0, $4, $5, $6, $7)
RETURNING *;

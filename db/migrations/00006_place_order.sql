-- +goose Up
-- placeOrder (issue 6): an order the storefront placed through the hub remembers the idempotency
-- key of the placement that made it, so that a repeat of that placement (after a crash, or once
-- its key's stored answer is gone) answers the order as it stands instead of REFERENCE_IN_USE,
-- and never charges the card again.
ALTER TABLE sales_orders ADD COLUMN placement_key text UNIQUE CHECK (placement_key <> '');

-- +goose Down
ALTER TABLE sales_orders DROP COLUMN placement_key;

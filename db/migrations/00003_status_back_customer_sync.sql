-- +goose Up
-- Reading SYSPRO back: order statuses (SORQRY) and customers (ARSQRY, ARSSCS, Cybersource TMS).

-- syspro_checked_at is when the hub last asked SYSPRO about the order; the read-back takes the
-- orders checked longest ago (never first).
ALTER TABLE sales_orders ADD COLUMN syspro_checked_at timestamptz;
CREATE INDEX sales_orders_status_back_idx ON sales_orders (syspro_checked_at NULLS FIRST, id)
    WHERE syspro_order_number IS NOT NULL AND status IN ('open', 'in_warehouse', 'to_invoice', 'on_hold');

-- Asking is not changing: an update that only records a check keeps the order's updated_at, so
-- that readers of updated_at do not see every open order "change" at each read-back. Triggers of
-- one event fire in name order, so this one runs after sales_orders_touch.
-- +goose StatementBegin
CREATE FUNCTION keep_updated_at_on_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - '{syspro_checked_at,updated_at}'::text[]) = (to_jsonb(OLD) - '{syspro_checked_at,updated_at}'::text[]) THEN
        NEW.updated_at := OLD.updated_at;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER sales_orders_untouched_by_check BEFORE UPDATE OF syspro_checked_at ON sales_orders
    FOR EACH ROW WHEN (OLD.syspro_checked_at IS DISTINCT FROM NEW.syspro_checked_at)
    EXECUTE FUNCTION keep_updated_at_on_check();

-- SYSPRO order status (syspro.md §3.2) → canonical order status. Operators may change a value or
-- add a key (e.g. a site's own codes); a status without a rule raises an anomaly.
INSERT INTO mapping_rules (kind, scope, key, value) VALUES
    ('status_map', 'syspro', '0', '{"status": "open"}'),          -- in process (being maintained)
    ('status_map', 'syspro', '1', '{"status": "open"}'),          -- open order
    ('status_map', 'syspro', '2', '{"status": "open"}'),          -- open back order
    ('status_map', 'syspro', '3', '{"status": "open"}'),          -- released back order
    ('status_map', 'syspro', '4', '{"status": "in_warehouse"}'),  -- in warehouse
    ('status_map', 'syspro', '8', '{"status": "to_invoice"}'),    -- ready to invoice
    ('status_map', 'syspro', '9', '{"status": "complete"}'),      -- complete
    ('status_map', 'syspro', 'S', '{"status": "on_hold"}'),       -- suspense
    ('status_map', 'syspro', '*', '{"status": "cancelled"}'),     -- cancelled during entry
    ('status_map', 'syspro', '\', '{"status": "cancelled"}')      -- cancelled
ON CONFLICT (kind, scope, key) DO NOTHING;

-- synced_fields is what the customer and the linked system agreed on at the last sync (field →
-- value): the base that tells which side changed a field since. NULL until the first sync.
-- synced_at is when the hub last compared them.
ALTER TABLE customer_links ADD COLUMN synced_fields jsonb;
CREATE INDEX customer_links_sync_idx ON customer_links (system, synced_at NULLS FIRST, customer_id);

-- customer_sync_conflicts records each field both sides changed since the last sync, differently.
-- The field's owner wins automatically; the row keeps the losing value for an operator to review.
-- Values are text: plain for scalar fields, JSON for addresses; '' is "no value".
CREATE TABLE customer_sync_conflicts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id     bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    field           text NOT NULL CHECK (field IN ('name', 'email', 'phone', 'currency', 'on_hold', 'billing_address')),
    system          text NOT NULL CHECK (system IN ('syspro', 'cybersource')),
    canonical_value text NOT NULL,
    other_value     text NOT NULL,
    base_value      text,
    winner          text NOT NULL CHECK (winner IN ('canonical', 'syspro', 'cybersource')),
    detected_at     timestamptz NOT NULL DEFAULT now(),
    resolved        boolean NOT NULL DEFAULT false,
    resolved_by     text,
    resolved_at     timestamptz,
    CHECK (resolved = (resolved_at IS NOT NULL))
);
-- One unreviewed row per disagreement: a sync that runs again before the winner's value reached
-- the other side finds the row instead of adding another.
CREATE UNIQUE INDEX customer_sync_conflicts_open_uniq
    ON customer_sync_conflicts (customer_id, system, field, md5(canonical_value), md5(other_value)) WHERE NOT resolved;
CREATE INDEX customer_sync_conflicts_customer_idx ON customer_sync_conflicts (customer_id, detected_at DESC, id DESC);
CREATE INDEX customer_sync_conflicts_open_idx ON customer_sync_conflicts (detected_at DESC, id DESC) WHERE NOT resolved;

-- +goose Down
DROP TABLE customer_sync_conflicts;
DROP INDEX customer_links_sync_idx;
ALTER TABLE customer_links DROP COLUMN synced_fields;
DELETE FROM mapping_rules WHERE kind = 'status_map' AND scope = 'syspro' AND updated_by = 'migration';
DROP TRIGGER sales_orders_untouched_by_check ON sales_orders;
DROP FUNCTION keep_updated_at_on_check();
DROP INDEX sales_orders_status_back_idx;
ALTER TABLE sales_orders DROP COLUMN syspro_checked_at;

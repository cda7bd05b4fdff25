-- +goose Up
-- The canonical model: one row per real-world thing, whichever system it came from.
-- Money is numeric(19,4) (decimal.Decimal in Go), never a float. Card data is limited to
-- tokens, brand, last four and expiry: there is deliberately no column that could hold a PAN or CVV.

-- State machines are declared once, here, and enforced for every writer by a trigger.
CREATE TABLE state_transitions (
    entity      text NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    PRIMARY KEY (entity, from_status, to_status)
);

INSERT INTO state_transitions (entity, from_status, to_status) VALUES
    ('payment', 'pending', 'review'), ('payment', 'pending', 'authorized'), ('payment', 'pending', 'captured'),
    ('payment', 'pending', 'declined'), ('payment', 'pending', 'failed'), ('payment', 'pending', 'voided'),
    ('payment', 'pending', 'unknown'),
    ('payment', 'unknown', 'pending'), ('payment', 'unknown', 'review'), ('payment', 'unknown', 'authorized'),
    ('payment', 'unknown', 'captured'), ('payment', 'unknown', 'settled'), ('payment', 'unknown', 'declined'),
    ('payment', 'unknown', 'failed'), ('payment', 'unknown', 'voided'),
    ('payment', 'review', 'authorized'), ('payment', 'review', 'captured'), ('payment', 'review', 'declined'),
    ('payment', 'review', 'voided'), ('payment', 'review', 'failed'),
    ('payment', 'authorized', 'captured'), ('payment', 'authorized', 'voided'), ('payment', 'authorized', 'unknown'),
    ('payment', 'authorized', 'failed'),
    ('payment', 'captured', 'settled'), ('payment', 'captured', 'partially_refunded'),
    ('payment', 'captured', 'refunded'), ('payment', 'captured', 'voided'), ('payment', 'captured', 'unknown'),
    ('payment', 'settled', 'partially_refunded'), ('payment', 'settled', 'refunded'),
    ('payment', 'partially_refunded', 'refunded'),

    ('sales_order', 'received', 'on_hold'), ('sales_order', 'received', 'posting'),
    ('sales_order', 'received', 'open'), ('sales_order', 'received', 'cancelled'),
    ('sales_order', 'received', 'failed'),
    ('sales_order', 'on_hold', 'received'), ('sales_order', 'on_hold', 'posting'),
    ('sales_order', 'on_hold', 'cancelled'),
    ('sales_order', 'posting', 'open'), ('sales_order', 'posting', 'failed'),
    ('sales_order', 'posting', 'on_hold'), ('sales_order', 'posting', 'cancelled'),
    ('sales_order', 'failed', 'posting'), ('sales_order', 'failed', 'received'),
    ('sales_order', 'failed', 'cancelled'),
    ('sales_order', 'open', 'in_warehouse'), ('sales_order', 'open', 'to_invoice'),
    ('sales_order', 'open', 'complete'), ('sales_order', 'open', 'cancelled'), ('sales_order', 'open', 'on_hold'),
    ('sales_order', 'in_warehouse', 'to_invoice'), ('sales_order', 'in_warehouse', 'complete'),
    ('sales_order', 'in_warehouse', 'open'), ('sales_order', 'in_warehouse', 'cancelled'),
    ('sales_order', 'to_invoice', 'complete'), ('sales_order', 'to_invoice', 'open'),

    ('refund', 'requested', 'submitted'), ('refund', 'requested', 'succeeded'),
    ('refund', 'requested', 'failed'), ('refund', 'requested', 'unknown'),
    ('refund', 'submitted', 'succeeded'), ('refund', 'submitted', 'failed'), ('refund', 'submitted', 'unknown'),
    ('refund', 'unknown', 'succeeded'), ('refund', 'unknown', 'failed'),

    ('erp_posting', 'pending', 'in_progress'), ('erp_posting', 'pending', 'cancelled'),
    ('erp_posting', 'pending', 'dead'),
    ('erp_posting', 'in_progress', 'succeeded'), ('erp_posting', 'in_progress', 'pending'),
    ('erp_posting', 'in_progress', 'dead'),
    ('erp_posting', 'dead', 'pending'), ('erp_posting', 'dead', 'cancelled'),

    ('fraud_review', 'open', 'accepted'), ('fraud_review', 'open', 'rejected'), ('fraud_review', 'open', 'expired'),

    ('anomaly', 'open', 'acknowledged'), ('anomaly', 'open', 'resolved'),
    ('anomaly', 'acknowledged', 'resolved'), ('anomaly', 'acknowledged', 'open'),
    ('anomaly', 'resolved', 'open'),

    ('settlement_batch', 'imported', 'matched'), ('settlement_batch', 'imported', 'mismatched'),
    ('settlement_batch', 'mismatched', 'matched'), ('settlement_batch', 'matched', 'mismatched'),
    ('settlement_batch', 'matched', 'journal_posted'), ('settlement_batch', 'matched', 'failed'),
    ('settlement_batch', 'failed', 'matched'), ('settlement_batch', 'failed', 'journal_posted'),

    ('gl_journal', 'draft', 'posting'), ('gl_journal', 'posting', 'posted'), ('gl_journal', 'posting', 'failed'),
    ('gl_journal', 'failed', 'posting'), ('gl_journal', 'draft', 'cancelled'), ('gl_journal', 'failed', 'cancelled');

-- +goose StatementBegin
CREATE FUNCTION enforce_state_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM state_transitions
        WHERE entity = TG_ARGV[0] AND from_status = OLD.status AND to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'illegal % status change from % to %', TG_ARGV[0], OLD.status, NEW.status
            USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'status';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TABLE customers (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The SYSPRO customer code; the hub assigns one when it creates the customer in SYSPRO.
    code             text NOT NULL UNIQUE CHECK (code <> ''),
    name             text NOT NULL,
    email            text,
    phone            text,
    currency         char(3) NOT NULL DEFAULT 'GBP',
    billing_address  jsonb NOT NULL DEFAULT '{}',
    shipping_address jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'on_hold', 'closed')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_email_idx ON customers (lower(email));
CREATE INDEX customers_name_idx ON customers (name, id);
CREATE TRIGGER customers_touch BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- customer_links ties a customer to its identity in each outside system.
CREATE TABLE customer_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    system      text NOT NULL CHECK (system IN ('syspro', 'cybersource', 'opayo', 'shop')),
    external_id text NOT NULL CHECK (external_id <> ''),
    synced_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (system, external_id),
    UNIQUE (customer_id, system, external_id)
);

CREATE TABLE payment_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  bigint REFERENCES customers (id) ON DELETE SET NULL,
    gateway      text NOT NULL CHECK (gateway IN ('opayo', 'cybersource')),
    -- kind says what the token is at the gateway: a Cybersource TMS payment instrument or
    -- customer, an Opayo reusable card identifier.
    kind         text NOT NULL CHECK (kind IN ('tms_payment_instrument', 'tms_customer', 'tms_instrument_identifier',
                                                'opayo_card_identifier', 'opayo_token')),
    token        text NOT NULL CHECK (token <> ''),
    card_brand   text,
    last_four    char(4) CHECK (last_four ~ '^[0-9]{4}$'),
    expiry_month smallint CHECK (expiry_month BETWEEN 1 AND 12),
    expiry_year  smallint CHECK (expiry_year BETWEEN 2000 AND 2100),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'revoked')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (gateway, token)
);
CREATE INDEX payment_tokens_customer_idx ON payment_tokens (customer_id);
CREATE TRIGGER payment_tokens_touch BEFORE UPDATE ON payment_tokens FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE sales_orders (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id         bigint REFERENCES customers (id),
    -- The shop's reference, equal to Opayo vendorTxCode / Cybersource clientReferenceInformation.code,
    -- and sent to SYSPRO as CustomerPoNumber so a retried SORTOI finds the order instead of adding another.
    customer_po_number  text NOT NULL UNIQUE CHECK (customer_po_number <> ''),
    syspro_order_number text UNIQUE,
    status              text NOT NULL DEFAULT 'received',
    syspro_status       text,
    source              text NOT NULL CHECK (source IN ('opayo', 'cybersource', 'shop', 'syspro')),
    currency            char(3) NOT NULL,
    subtotal_amount     numeric(19, 4) NOT NULL DEFAULT 0,
    tax_amount          numeric(19, 4) NOT NULL DEFAULT 0,
    shipping_amount     numeric(19, 4) NOT NULL DEFAULT 0,
    total_amount        numeric(19, 4) NOT NULL CHECK (total_amount >= 0),
    ship_to             jsonb NOT NULL DEFAULT '{}',
    hold_reason         text,
    ordered_at          timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('received', 'on_hold', 'posting', 'open', 'in_warehouse', 'to_invoice', 'complete',
                      'cancelled', 'failed'))
);
CREATE INDEX sales_orders_customer_idx ON sales_orders (customer_id, ordered_at DESC, id DESC);
CREATE INDEX sales_orders_ordered_idx ON sales_orders (ordered_at DESC, id DESC);
CREATE INDEX sales_orders_status_idx ON sales_orders (status, ordered_at DESC, id DESC);
CREATE TRIGGER sales_orders_touch BEFORE UPDATE ON sales_orders FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER sales_orders_transition BEFORE UPDATE OF status ON sales_orders
    FOR EACH ROW EXECUTE FUNCTION enforce_state_transition('sales_order');

CREATE TABLE sales_order_lines (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sales_order_id   bigint NOT NULL REFERENCES sales_orders (id) ON DELETE CASCADE,
    line_number      integer NOT NULL CHECK (line_number > 0),
    stock_code       text NOT NULL CHECK (stock_code <> ''),
    description      text NOT NULL DEFAULT '',
    warehouse        text,
    quantity         numeric(19, 6) NOT NULL CHECK (quantity > 0),
    unit_price       numeric(19, 4) NOT NULL CHECK (unit_price >= 0),
    discount_percent numeric(7, 4) NOT NULL DEFAULT 0 CHECK (discount_percent BETWEEN 0 AND 100),
    tax_code         text,
    line_total       numeric(19, 4) NOT NULL,
    UNIQUE (sales_order_id, line_number)
);

CREATE TABLE payments (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gateway                text NOT NULL CHECK (gateway IN ('opayo', 'cybersource')),
    gateway_transaction_id text NOT NULL CHECK (gateway_transaction_id <> ''),
    merchant_reference     text NOT NULL,
    kind                   text NOT NULL CHECK (kind IN ('authorization', 'capture', 'sale', 'refund', 'void')),
    -- For a refund, capture or void: the payment it acts on.
    parent_payment_id      bigint REFERENCES payments (id),
    sales_order_id         bigint REFERENCES sales_orders (id),
    customer_id            bigint REFERENCES customers (id),
    payment_token_id       bigint REFERENCES payment_tokens (id),
    status                 text NOT NULL,
    gateway_status         text NOT NULL DEFAULT '',
    gateway_status_code    text NOT NULL DEFAULT '',
    gateway_status_detail  text NOT NULL DEFAULT '',
    amount                 numeric(19, 4) NOT NULL CHECK (amount >= 0),
    currency               char(3) NOT NULL,
    card_brand             text,
    card_last_four         char(4) CHECK (card_last_four ~ '^[0-9]{4}$'),
    card_expiry_month      smallint CHECK (card_expiry_month BETWEEN 1 AND 12),
    card_expiry_year       smallint CHECK (card_expiry_year BETWEEN 2000 AND 2100),
    avs_result             text,
    cvc_result             text,
    three_ds_status        text,
    risk_score             integer,
    risk_decision          text CHECK (risk_decision IN ('accept', 'review', 'reject')),
    occurred_at            timestamptz NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (gateway, gateway_transaction_id),
    CHECK (status IN ('pending', 'review', 'authorized', 'captured', 'settled', 'partially_refunded', 'refunded',
                      'voided', 'declined', 'failed', 'unknown'))
);
-- Keyset pagination runs newest first on (occurred_at, id); each filter has an index that keeps that order.
CREATE INDEX payments_occurred_idx ON payments (occurred_at DESC, id DESC);
CREATE INDEX payments_status_idx ON payments (status, occurred_at DESC, id DESC);
CREATE INDEX payments_gateway_idx ON payments (gateway, occurred_at DESC, id DESC);
CREATE INDEX payments_customer_idx ON payments (customer_id, occurred_at DESC, id DESC);
CREATE INDEX payments_order_idx ON payments (sales_order_id, occurred_at DESC, id DESC);
CREATE INDEX payments_reference_idx ON payments (merchant_reference);
CREATE INDEX payments_parent_idx ON payments (parent_payment_id) WHERE parent_payment_id IS NOT NULL;
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER payments_transition BEFORE UPDATE OF status ON payments
    FOR EACH ROW EXECUTE FUNCTION enforce_state_transition('payment');

CREATE TABLE refunds (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id        bigint NOT NULL REFERENCES payments (id),
    amount            numeric(19, 4) NOT NULL CHECK (amount > 0),
    currency          char(3) NOT NULL,
    reason            text NOT NULL DEFAULT '',
    requested_by      text NOT NULL,
    idempotency_key   text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    status            text NOT NULL DEFAULT 'requested',
    gateway_refund_id text,
    -- The gateway transaction the refund became, once known.
    refund_payment_id bigint REFERENCES payments (id),
    syspro_credit_ref text,
    failure_reason    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('requested', 'submitted', 'succeeded', 'failed', 'unknown'))
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
CREATE TRIGGER refunds_touch BEFORE UPDATE ON refunds FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER refunds_transition BEFORE UPDATE OF status ON refunds
    FOR EACH ROW EXECUTE FUNCTION enforce_state_transition('refund');

CREATE TABLE settlement_batches (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gateway               text NOT NULL CHECK (gateway IN ('opayo', 'cybersource')),
    gateway_batch_id      text NOT NULL CHECK (gateway_batch_id <> ''),
    batch_date            date NOT NULL,
    currency              char(3) NOT NULL,
    gross_amount          numeric(19, 4) NOT NULL DEFAULT 0,
    refund_amount         numeric(19, 4) NOT NULL DEFAULT 0,
    fee_amount            numeric(19, 4) NOT NULL DEFAULT 0,
    chargeback_amount     numeric(19, 4) NOT NULL DEFAULT 0,
    net_amount            numeric(19, 4) NOT NULL DEFAULT 0,
    line_count            integer NOT NULL DEFAULT 0,
    status                text NOT NULL DEFAULT 'imported',
    reconciled_at         timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (gateway, gateway_batch_id),
    CHECK (status IN ('imported', 'matched', 'mismatched', 'journal_posted', 'failed'))
);
CREATE INDEX settlement_batches_date_idx ON settlement_batches (batch_date DESC, id DESC);
CREATE TRIGGER settlement_batches_touch BEFORE UPDATE ON settlement_batches
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER settlement_batches_transition BEFORE UPDATE OF status ON settlement_batches
    FOR EACH ROW EXECUTE FUNCTION enforce_state_transition('settlement_batch');

CREATE TABLE settlement_lines (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    settlement_batch_id    bigint NOT NULL REFERENCES settlement_batches (id) ON DELETE CASCADE,
    line_number            integer NOT NULL CHECK (line_number > 0),
    kind                   text NOT NULL CHECK (kind IN ('sale', 'refund', 'fee', 'chargeback', 'adjustment')),
    gateway_transaction_id text,
    merchant_reference     text,
    amount                 numeric(19, 4) NOT NULL,
    fee_amount             numeric(19, 4) NOT NULL DEFAULT 0,
    currency               char(3) NOT NULL,
    payment_id             bigint REFERENCES payments (id),
    match_status           text NOT NULL DEFAULT 'unmatched'
                           CHECK (match_status IN ('unmatched', 'matched', 'amount_mismatch', 'duplicate', 'ignored')),
    match_note             text,
    occurred_at            timestamptz,
    UNIQUE (settlement_batch_id, line_number)
);
CREATE INDEX settlement_lines_payment_idx ON settlement_lines (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX settlement_lines_txn_idx ON settlement_lines (gateway_transaction_id);

CREATE TABLE gl_journals (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    settlement_batch_id   bigint REFERENCES settlement_batches (id),
    journal_date          date NOT NULL,
    description           text NOT NULL DEFAULT '',
    status                text NOT NULL DEFAULT 'draft',
    syspro_journal_number text,
    syspro_year           integer,
    syspro_period         integer,
    posted_at             timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('draft', 'posting', 'posted', 'failed', 'cancelled'))
);
-- A settlement batch has at most one live journal; a cancelled one can be replaced.
CREATE UNIQUE INDEX gl_journals_batch_uniq ON gl_journals (settlement_batch_id) WHERE status <> 'cancelled';
CREATE TRIGGER gl_journals_touch BEFORE UPDATE ON gl_journals FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER gl_journals_transition BEFORE UPDATE OF status ON gl_journals
    FOR EACH ROW EXECUTE FUNCTION enforce_state_transition('gl_journal');

CREATE TABLE gl_journal_lines (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gl_journal_id bigint NOT NULL REFERENCES gl_journals (id) ON DELETE CASCADE,
    line_number   integer NOT NULL CHECK (line_number > 0),
    ledger_code   text NOT NULL CHECK (ledger_code <> ''),
    description   text NOT NULL DEFAULT '',
    -- Positive is a debit, negative a credit, as GENTJL expects.
    amount        numeric(19, 4) NOT NULL CHECK (amount <> 0),
    UNIQUE (gl_journal_id, line_number)
);

-- erp_postings is the outbox towards SYSPRO; its dead rows are the dead-letter queue.
CREATE TABLE erp_postings (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('customer', 'sales_order', 'order_status', 'ar_payment',
                                                      'credit_note', 'gl_journal')),
    business_object     text NOT NULL CHECK (business_object IN ('ARSSCS', 'SORTOI', 'SORTOS', 'ARSTPY', 'SORTCH',
                                                                 'SORTCL', 'ARSTIN', 'GENTJL')),
    subject_type        text NOT NULL,
    subject_id          bigint NOT NULL,
    idempotency_key     text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    request             text,
    response            text,
    status              text NOT NULL DEFAULT 'pending',
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error          text,
    error_class         text CHECK (error_class IN ('transient', 'business', 'configuration')),
    syspro_error_number text,
    syspro_reference    text,
    next_attempt_at     timestamptz,
    succeeded_at        timestamptz,
    dead_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('pending', 'in_progress', 'succeeded', 'dead', 'cancelled'))
);
CREATE INDEX erp_postings_subject_idx ON erp_postings (subject_type, subject_id);
CREATE INDEX erp_postings_dead_idx ON erp_postings (dead_at DESC, id DESC) WHERE status = 'dead';
CREATE INDEX erp_postings_open_idx ON erp_postings (created_at, id) WHERE status IN ('pending', 'in_progress');
CREATE TRIGGER erp_postings_touch BEFORE UPDATE ON erp_postings FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER erp_postings_transition BEFORE UPDATE OF status ON erp_postings
    FOR EACH ROW EXECUTE FUNCTION enforce_state_transition('erp_posting');

CREATE TABLE fraud_reviews (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id      bigint NOT NULL UNIQUE REFERENCES payments (id),
    gateway         text NOT NULL CHECK (gateway IN ('opayo', 'cybersource')),
    gateway_decision text NOT NULL CHECK (gateway_decision IN ('review', 'reject')),
    score           integer,
    reasons         jsonb NOT NULL DEFAULT '[]',
    status          text NOT NULL DEFAULT 'open',
    decided_by      text,
    decided_at      timestamptz,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('open', 'accepted', 'rejected', 'expired'))
);
CREATE INDEX fraud_reviews_open_idx ON fraud_reviews (created_at, id) WHERE status = 'open';
CREATE TRIGGER fraud_reviews_touch BEFORE UPDATE ON fraud_reviews FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER fraud_reviews_transition BEFORE UPDATE OF status ON fraud_reviews
    FOR EACH ROW EXECUTE FUNCTION enforce_state_transition('fraud_review');

CREATE TABLE anomalies (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind <> ''),
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    subject_type    text,
    subject_id      bigint,
    -- One open anomaly per detected condition: detectors re-running find it instead of adding another.
    dedupe_key      text NOT NULL UNIQUE CHECK (dedupe_key <> ''),
    summary         text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'open',
    resolved_by     text,
    resolved_at     timestamptz,
    resolution_note text,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('open', 'acknowledged', 'resolved'))
);
CREATE INDEX anomalies_open_idx ON anomalies (detected_at DESC, id DESC) WHERE status <> 'resolved';
CREATE TRIGGER anomalies_touch BEFORE UPDATE ON anomalies FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER anomalies_transition BEFORE UPDATE OF status ON anomalies
    FOR EACH ROW EXECUTE FUNCTION enforce_state_transition('anomaly');

-- inbound_messages keeps every webhook/notification as received (redacted), valid or not.
CREATE TABLE inbound_messages (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source            text NOT NULL CHECK (source IN ('opayo', 'cybersource')),
    -- NULL when the message is too malformed to carry one; such rows are kept but never deduplicated.
    external_event_id text,
    content_type      text NOT NULL DEFAULT '',
    headers           jsonb NOT NULL DEFAULT '{}',
    body              text NOT NULL,
    signature_status  text NOT NULL CHECK (signature_status IN ('valid', 'invalid', 'missing', 'expired',
                                                                 'unverifiable')),
    status            text NOT NULL DEFAULT 'received'
                      CHECK (status IN ('received', 'processed', 'rejected', 'failed')),
    error             text,
    received_at       timestamptz NOT NULL DEFAULT now(),
    processed_at      timestamptz,
    UNIQUE (source, external_event_id)
);
CREATE INDEX inbound_messages_received_idx ON inbound_messages (received_at DESC, id DESC);

-- events is the ordered log behind subscriptions. Readers take only rows whose writing transaction
-- is older than their snapshot's xmin, ordered by (xact_id, id): that is commit-safe order without
-- a global lock, because a lower serial id can commit after a higher one.
CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xact_id      xid8 NOT NULL DEFAULT pg_current_xact_id(),
    topic        text NOT NULL CHECK (topic IN ('payment', 'order', 'fraud', 'anomaly', 'erp', 'settlement',
                                                'customer')),
    kind         text NOT NULL,
    subject_type text NOT NULL,
    subject_id   bigint NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_order_idx ON events (xact_id, id);
CREATE INDEX events_topic_idx ON events (topic, xact_id, id);

-- +goose StatementBegin
CREATE FUNCTION notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('payhub_events', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION notify_events();

CREATE TABLE sync_cursors (
    name       text PRIMARY KEY,
    position   text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (name <> ''),
    role         text NOT NULL CHECK (role IN ('admin', 'finance', 'operator', 'shop', 'viewer')),
    -- The first characters of the key, shown to operators to tell keys apart; the key itself is only
    -- kept as a SHA-256 hash.
    prefix       text NOT NULL UNIQUE,
    key_hash     bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor        text NOT NULL,
    api_key_id   bigint REFERENCES api_keys (id),
    action       text NOT NULL,
    subject_type text,
    subject_id   bigint,
    details      jsonb NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id);
CREATE INDEX audit_log_time_idx ON audit_log (occurred_at DESC, id DESC);

-- mapping_rules hold the rules normalisation and GL derivation follow: status maps, ledger codes,
-- FX rates, address rules. scope is a gateway name or '*'.
CREATE TABLE mapping_rules (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('status_map', 'gl_account', 'fx_rate', 'address', 'stock_code')),
    scope      text NOT NULL DEFAULT '*',
    key        text NOT NULL,
    value      jsonb NOT NULL,
    updated_by text NOT NULL DEFAULT 'migration',
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, scope, key)
);

-- +goose Down
DROP TABLE mapping_rules, audit_log, api_keys, sync_cursors, events, inbound_messages, anomalies, fraud_reviews,
    erp_postings, gl_journal_lines, gl_journals, settlement_lines, settlement_batches, refunds, payments,
    sales_order_lines, sales_orders, payment_tokens, customer_links, customers, state_transitions;
DROP FUNCTION notify_events(), touch_updated_at(), enforce_state_transition();

-- +goose Up
-- Settlement reconciliation, GL journals and anomaly scores (issue 7).

-- A batch with discrepancies that finance accepted as they stand may be journaled like a matched one.
ALTER TABLE settlement_batches DROP CONSTRAINT settlement_batches_status_check;
ALTER TABLE settlement_batches ADD CONSTRAINT settlement_batches_status_check
    CHECK (status IN ('imported', 'matched', 'mismatched', 'accepted', 'journal_posted', 'failed'));
INSERT INTO state_transitions (entity, from_status, to_status) VALUES
    ('settlement_batch', 'mismatched', 'accepted'), ('settlement_batch', 'accepted', 'journal_posted'),
    ('settlement_batch', 'accepted', 'mismatched'), ('settlement_batch', 'accepted', 'failed'),
    ('settlement_batch', 'failed', 'accepted'),
    ('settlement_batch', 'failed', 'mismatched');

ALTER TABLE settlement_batches
    -- The gateway's own totals for the batch (sales, refunds, fees, chargebacks and counts per
    -- currency), as reported beside the lines; the matching engine checks the lines against them.
    ADD COLUMN reported_totals jsonb NOT NULL DEFAULT '[]',
    -- A hash of what was imported: re-importing the same day finds the same digest and changes nothing.
    ADD COLUMN digest          text NOT NULL DEFAULT '',
    ADD COLUMN accepted_by     text,
    ADD COLUMN accepted_at     timestamptz,
    ADD COLUMN acceptance_note text;
CREATE INDEX settlement_batches_gateway_date_idx ON settlement_batches (gateway, batch_date, id);
CREATE INDEX settlement_batches_status_idx ON settlement_batches (status, batch_date DESC, id DESC);

ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_match_status_check;
ALTER TABLE settlement_lines ADD CONSTRAINT settlement_lines_match_status_check
    CHECK (match_status IN ('unmatched', 'matched', 'amount_mismatch', 'currency_mismatch', 'kind_mismatch',
                            'duplicate', 'ignored'));
ALTER TABLE settlement_lines
    -- How the line was matched: gateway_id, reference, split, group or leg (matching engine).
    ADD COLUMN match_method text;

-- settlement_matches links lines and payments: one line to one payment, a split capture (one
-- payment, several lines) or a group (several payments, one line, e.g. partial refunds).
CREATE TABLE settlement_matches (
    settlement_line_id bigint NOT NULL REFERENCES settlement_lines (id) ON DELETE CASCADE,
    payment_id         bigint NOT NULL REFERENCES payments (id),
    method             text NOT NULL CHECK (method IN ('gateway_id', 'reference', 'split', 'group', 'leg')),
    PRIMARY KEY (settlement_line_id, payment_id)
);
CREATE INDEX settlement_matches_payment_idx ON settlement_matches (payment_id);

-- settlement_discrepancies is the discrepancy report of a gateway's settlement day. A discrepancy
-- about a line belongs to that line's batch; an expected payment that no batch settled belongs to
-- the day only (settlement_batch_id NULL). Re-running a day finds the same rows by dedupe_key;
-- one that no longer occurs is resolved by the re-run.
CREATE TABLE settlement_discrepancies (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gateway                text NOT NULL CHECK (gateway IN ('opayo', 'cybersource')),
    settlement_date        date NOT NULL,
    settlement_batch_id    bigint REFERENCES settlement_batches (id) ON DELETE CASCADE,
    kind                   text NOT NULL CHECK (kind IN ('unmatched_settlement_line', 'unmatched_payment',
                                                         'amount_mismatch', 'currency_mismatch', 'kind_mismatch',
                                                         'duplicate_settlement_line', 'total_mismatch',
                                                         'invalid_input')),
    dedupe_key             text NOT NULL CHECK (dedupe_key <> ''),
    line_numbers           integer[] NOT NULL DEFAULT '{}',
    payment_ids            bigint[] NOT NULL DEFAULT '{}',
    currency               char(3),
    expected               numeric(19, 4),
    actual                 numeric(19, 4),
    merchant_reference     text,
    gateway_transaction_id text,
    explanation            text NOT NULL,
    status                 text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'resolved')),
    resolved_by            text,
    resolved_at            timestamptz,
    resolution_note        text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (gateway, settlement_date, dedupe_key)
);
CREATE INDEX settlement_discrepancies_batch_idx ON settlement_discrepancies (settlement_batch_id, id);
CREATE INDEX settlement_discrepancies_open_idx ON settlement_discrepancies (settlement_date DESC, id DESC)
    WHERE status = 'open';
CREATE TRIGGER settlement_discrepancies_touch BEFORE UPDATE ON settlement_discrepancies
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- A GL journal carries the reference it is posted under (GENTJL JournalReference), which is how a
-- retry after a lost answer finds it in SYSPRO, and the currency its amounts are in.
ALTER TABLE gl_journals
    ADD COLUMN reference text UNIQUE CHECK (reference <> ''),
    ADD COLUMN currency  char(3),
    ADD COLUMN last_error text;
INSERT INTO state_transitions (entity, from_status, to_status) VALUES ('gl_journal', 'posting', 'draft');

-- Anomalies carry how unusual they are (the detector's score) and a plain-language explanation.
ALTER TABLE anomalies
    ADD COLUMN score       double precision,
    ADD COLUMN explanation text;

-- What the anomaly detector learns from: where the shopper came from. A card is known by its
-- brand, last four and expiry only; an e-mail by the customer's.
ALTER TABLE payments ADD COLUMN client_ip text;

-- +goose Down
ALTER TABLE payments DROP COLUMN client_ip;
ALTER TABLE anomalies DROP COLUMN explanation, DROP COLUMN score;
DELETE FROM state_transitions WHERE entity = 'gl_journal' AND from_status = 'posting' AND to_status = 'draft';
ALTER TABLE gl_journals DROP COLUMN last_error, DROP COLUMN currency, DROP COLUMN reference;
DROP TABLE settlement_discrepancies, settlement_matches;
ALTER TABLE settlement_lines DROP COLUMN match_method;
ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_match_status_check;
ALTER TABLE settlement_lines ADD CONSTRAINT settlement_lines_match_status_check
    CHECK (match_status IN ('unmatched', 'matched', 'amount_mismatch', 'duplicate', 'ignored'));
DROP INDEX settlement_batches_status_idx, settlement_batches_gateway_date_idx;
ALTER TABLE settlement_batches DROP COLUMN acceptance_note, DROP COLUMN accepted_at, DROP COLUMN accepted_by,
    DROP COLUMN digest, DROP COLUMN reported_totals;
DELETE FROM state_transitions WHERE entity = 'settlement_batch'
    AND (from_status, to_status) IN (('mismatched', 'accepted'), ('accepted', 'journal_posted'),
        ('accepted', 'mismatched'), ('accepted', 'failed'), ('failed', 'accepted'), ('failed', 'mismatched'));
ALTER TABLE settlement_batches DROP CONSTRAINT settlement_batches_status_check;
ALTER TABLE settlement_batches ADD CONSTRAINT settlement_batches_status_check
    CHECK (status IN ('imported', 'matched', 'mismatched', 'journal_posted', 'failed'));

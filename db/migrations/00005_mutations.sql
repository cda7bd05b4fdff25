-- +goose Up
-- The GraphQL mutations (issue 6): their idempotency, and an event topic for configuration edits.

-- mutation_results makes a mutation idempotent by the key its caller sends: one row per API key,
-- mutation and idempotency key. The caller that inserts the row does the work while the row is
-- pending (response NULL), then stores the payload it answered; a repeat with the same input
-- (input_hash, the SHA-256 of the input without the key) gets that payload back, one with other
-- input is refused. A refusal stores nothing: the row is deleted, so the key may be used again.
-- A row left pending by a process that died is taken over after a few minutes.
CREATE TABLE mutation_results (
    api_key_id      bigint NOT NULL REFERENCES api_keys (id),
    mutation        text NOT NULL CHECK (mutation <> ''),
    idempotency_key text NOT NULL CHECK (idempotency_key <> ''),
    input_hash      bytea NOT NULL CHECK (octet_length(input_hash) = 32),
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    PRIMARY KEY (api_key_id, mutation, idempotency_key),
    CHECK ((response IS NULL) = (completed_at IS NULL))
);
CREATE INDEX mutation_results_created_idx ON mutation_results (created_at);

-- Edits of mapping_rules (updateMappingRule) are events too, on a topic of their own.
ALTER TABLE events DROP CONSTRAINT events_topic_check;
ALTER TABLE events ADD CONSTRAINT events_topic_check
    CHECK (topic IN ('payment', 'order', 'fraud', 'anomaly', 'erp', 'settlement', 'customer', 'config'));

-- +goose Down
DELETE FROM events WHERE topic = 'config';
ALTER TABLE events DROP CONSTRAINT events_topic_check;
ALTER TABLE events ADD CONSTRAINT events_topic_check
    CHECK (topic IN ('payment', 'order', 'fraud', 'anomaly', 'erp', 'settlement', 'customer'));
DROP TABLE mutation_results;

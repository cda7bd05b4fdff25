-- +goose Up
-- The back office's lists (graph/schema/backoffice.graphqls): indexes for their orders and their
-- most used filters, so a page reads a few index entries instead of sorting the table.

-- refunds, newest first; by payment is refunds_payment_idx.
CREATE INDEX refunds_created_idx ON refunds (created_at DESC, id DESC);

-- The SYSPRO outbox, newest first, whole or by status (DEAD, PENDING, ...). The dead-letter
-- queue in death order is erp_postings_dead_idx; by subject, erp_postings_subject_idx.
CREATE INDEX erp_postings_created_idx ON erp_postings (created_at DESC, id DESC);
CREATE INDEX erp_postings_status_created_idx ON erp_postings (status, created_at DESC, id DESC);

-- Fraud reviews, newest first, whatever their status (fraud_reviews_open_idx is the open ones only).
CREATE INDEX fraud_reviews_created_idx ON fraud_reviews (created_at DESC, id DESC);

-- Anomalies, newest first, resolved ones included (anomalies_open_idx leaves them out), and by
-- what they are about.
CREATE INDEX anomalies_detected_idx ON anomalies (detected_at DESC, id DESC);
CREATE INDEX anomalies_subject_idx ON anomalies (subject_type, subject_id) WHERE subject_id IS NOT NULL;

-- +goose Down
DROP INDEX anomalies_subject_idx, anomalies_detected_idx, fraud_reviews_created_idx,
    erp_postings_status_created_idx, erp_postings_created_idx, refunds_created_idx;

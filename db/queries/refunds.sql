-- name: GetRefund :one
SELECT * FROM refunds WHERE id = $1;

-- name: GetRefundByIdempotencyKey :one
SELECT * FROM refunds WHERE idempotency_key = $1;

-- CreateRefund records a refund about to be sent to the gateway. A second request with the same
-- idempotency key returns nothing (it waits for the first to commit, then sees its row).
-- name: CreateRefund :one
INSERT INTO refunds (payment_id, amount, currency, reason, requested_by, idempotency_key, status)
VALUES ($1, $2, $3, $4, $5, $6, 'submitted')
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *;

-- SumRefundsHeld is what a payment's refunds have taken or may yet take: every refund not failed.
-- name: SumRefundsHeld :one
SELECT coalesce(sum(amount), 0)::numeric(19, 4) AS total FROM refunds
WHERE payment_id = $1 AND status IN ('requested', 'submitted', 'succeeded', 'unknown');

-- name: SettleRefund :one
UPDATE refunds SET status = $2, gateway_refund_id = coalesce(sqlc.narg(gateway_refund_id), gateway_refund_id),
    refund_payment_id = coalesce(sqlc.narg(refund_payment_id), refund_payment_id), failure_reason = sqlc.narg(failure_reason)
WHERE id = $1
RETURNING *;

-- ListRefundsToRecheck is the refunds whose gateway outcome is not known, oldest first.
-- name: ListRefundsToRecheck :many
SELECT * FROM refunds WHERE status IN ('unknown', 'submitted') AND updated_at < now() - make_interval(secs => sqlc.arg(older_than_seconds)::float8)
ORDER BY updated_at LIMIT $1;

-- name: GetPaymentByIDForUpdate :one
SELECT * FROM payments WHERE id = $1 FOR UPDATE;

-- name: GetFraudReview :one
SELECT * FROM fraud_reviews WHERE id = $1;

-- CancelPendingPostings withdraws postings of a subject that are no longer owed (its order was
-- cancelled before SYSPRO had it).
-- name: CancelPendingPostings :exec
UPDATE erp_postings SET status = 'cancelled' WHERE subject_type = $1 AND subject_id = $2 AND status = 'pending';

-- name: GetFraudReviewByPayment :one
SELECT * FROM fraud_reviews WHERE payment_id = $1;

-- name: SetRefundCreditRef :exec
UPDATE refunds SET syspro_credit_ref = $2 WHERE id = $1;

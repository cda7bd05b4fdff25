-- +goose Up
-- The customer an event is about (subscriptions' customerCode filter): the customer of its payment
-- or order as it stood when the event was written, filled in by AppendEvent from the event's
-- subject (or its payload's paymentId). NULL when the event is about no customer's payment or
-- order. No foreign key: the log outlives what it tells of, and writing an event must never wait
-- on, or fail for, a customer row.
ALTER TABLE events ADD COLUMN customer_id bigint;

-- +goose Down
ALTER TABLE events DROP COLUMN customer_id;

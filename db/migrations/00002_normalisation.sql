-- +goose Up
-- Normalisation: the rules that turn gateway records into canonical rows, seeded with defaults an
-- admin can edit (mapping_rules), and what the normaliser needs to look rows up quickly.

-- A refund or void is its own gateway transaction: first seen pending or unknown, then done.
INSERT INTO state_transitions (entity, from_status, to_status) VALUES
    ('payment', 'pending', 'refunded'), ('payment', 'unknown', 'refunded'),
    ('payment', 'unknown', 'partially_refunded'), ('payment', 'review', 'unknown'),
    ('payment', 'settled', 'voided'),
    -- SYSPRO releases a suspended order (status S → 1/4/8): the hold ends where SYSPRO is.
    ('sales_order', 'on_hold', 'open'), ('sales_order', 'on_hold', 'in_warehouse'),
    ('sales_order', 'on_hold', 'to_invoice')
ON CONFLICT DO NOTHING;

-- Codes of the customers the hub creates (web shoppers SYSPRO does not know yet): W000001 ...
CREATE SEQUENCE customer_code_seq;

CREATE INDEX payments_recheck_idx ON payments (updated_at) WHERE status IN ('unknown', 'pending');

-- Gateway status -> canonical payment status. key is "<kind>:<gateway status>", or "*:<status>"
-- for every kind; the most specific rule wins. A status no rule maps makes the payment
-- 'unknown' and raises an anomaly, so a new gateway status is noticed, never guessed.
INSERT INTO mapping_rules (kind, scope, key, value) VALUES
    -- Cybersource Transaction Details (status of the transaction, by SCMP application).
    ('status_map', 'cybersource', 'authorization:AUTHORIZED', '{"status": "authorized"}'),
    ('status_map', 'cybersource', 'authorization:PARTIAL_AUTHORIZED', '{"status": "authorized"}'),
    ('status_map', 'cybersource', 'authorization:PENDING', '{"status": "authorized"}'),
    ('status_map', 'cybersource', 'authorization:COMPLETED', '{"status": "authorized"}'),
    ('status_map', 'cybersource', 'sale:AUTHORIZED', '{"status": "captured"}'),
    ('status_map', 'cybersource', 'sale:PARTIAL_AUTHORIZED', '{"status": "captured"}'),
    ('status_map', 'cybersource', 'sale:PENDING', '{"status": "captured"}'),
    ('status_map', 'cybersource', 'sale:COMPLETED', '{"status": "captured"}'),
    ('status_map', 'cybersource', 'sale:TRANSMITTED', '{"status": "settled"}'),
    ('status_map', 'cybersource', 'sale:SETTLED', '{"status": "settled"}'),
    ('status_map', 'cybersource', 'sale:BATCHED', '{"status": "settled"}'),
    ('status_map', 'cybersource', 'capture:BATCHED', '{"status": "settled"}'),
    ('status_map', 'cybersource', 'refund:BATCHED', '{"status": "refunded"}'),
    ('status_map', 'cybersource', 'void:CANCELLED', '{"status": "failed"}'),
    ('status_map', 'cybersource', 'void:FAILED', '{"status": "failed"}'),
    ('status_map', 'cybersource', 'capture:PENDING', '{"status": "captured"}'),
    ('status_map', 'cybersource', 'capture:COMPLETED', '{"status": "captured"}'),
    ('status_map', 'cybersource', 'capture:AUTHORIZED', '{"status": "captured"}'),
    ('status_map', 'cybersource', 'capture:TRANSMITTED', '{"status": "settled"}'),
    ('status_map', 'cybersource', 'capture:SETTLED', '{"status": "settled"}'),
    ('status_map', 'cybersource', 'refund:PENDING', '{"status": "refunded"}'),
    ('status_map', 'cybersource', 'refund:COMPLETED', '{"status": "refunded"}'),
    ('status_map', 'cybersource', 'refund:TRANSMITTED', '{"status": "refunded"}'),
    ('status_map', 'cybersource', 'refund:SETTLED', '{"status": "refunded"}'),
    ('status_map', 'cybersource', 'void:VOIDED', '{"status": "voided"}'),
    ('status_map', 'cybersource', 'void:REVERSED', '{"status": "voided"}'),
    ('status_map', 'cybersource', 'void:PENDING', '{"status": "voided"}'),
    ('status_map', 'cybersource', 'void:COMPLETED', '{"status": "voided"}'),
    ('status_map', 'cybersource', '*:AUTHORIZED_PENDING_REVIEW', '{"status": "review"}'),
    ('status_map', 'cybersource', '*:PENDING_REVIEW', '{"status": "review"}'),
    ('status_map', 'cybersource', '*:AUTHORIZED_RISK_DECLINED', '{"status": "declined"}'),
    ('status_map', 'cybersource', '*:DECLINED', '{"status": "declined"}'),
    ('status_map', 'cybersource', '*:INVALID_REQUEST', '{"status": "failed"}'),
    ('status_map', 'cybersource', '*:SERVER_ERROR', '{"status": "unknown"}'),
    ('status_map', 'cybersource', '*:VOIDED', '{"status": "voided"}'),
    ('status_map', 'cybersource', '*:REVERSED', '{"status": "voided"}'),
    ('status_map', 'cybersource', '*:PENDING_AUTHENTICATION', '{"status": "pending"}'),
    -- Opayo: Pi statuses, and Reporting transaction states named the same way.
    ('status_map', 'opayo', 'sale:Ok', '{"status": "captured"}'),
    ('status_map', 'opayo', 'authorization:Ok', '{"status": "captured"}'),
    ('status_map', 'opayo', 'authorization:Deferred', '{"status": "authorized"}'),
    ('status_map', 'opayo', 'authorization:Authenticated', '{"status": "authorized"}'),
    ('status_map', 'opayo', 'authorization:Registered', '{"status": "authorized"}'),
    ('status_map', 'opayo', 'refund:Ok', '{"status": "refunded"}'),
    ('status_map', 'opayo', 'void:Ok', '{"status": "voided"}'),
    ('status_map', 'opayo', 'sale:Registered', '{"status": "pending"}'),
    ('status_map', 'opayo', '*:Pending', '{"status": "pending"}'),
    ('status_map', 'opayo', '*:3DAuth', '{"status": "pending"}'),
    ('status_map', 'opayo', '*:NotAuthed', '{"status": "declined"}'),
    ('status_map', 'opayo', '*:Rejected', '{"status": "declined"}'),
    ('status_map', 'opayo', '*:Malformed', '{"status": "failed"}'),
    ('status_map', 'opayo', '*:Invalid', '{"status": "failed"}'),
    ('status_map', 'opayo', '*:Error', '{"status": "failed"}'),
    ('status_map', 'opayo', '*:Voided', '{"status": "voided"}'),
    ('status_map', 'opayo', '*:Aborted', '{"status": "voided"}'),
    ('status_map', 'opayo', '*:Cancelled', '{"status": "voided"}'),
    -- Opayo carries no basket: a payment without lines becomes one line of this stock code
    -- (a non-stocked "web sale" item), priced at the payment's amount.
    ('stock_code', 'opayo', '*', '{"stockCode": "WEBSALE", "description": "Web sale"}'),
    -- Addresses: SYSPRO's five 40-character lines, filled in this order, postcode upper case.
    ('address', '*', 'syspro', '{"lines": ["line1", "line2", "city", "region", "country"], "maxLength": 40, "postcodeUpper": true}');

-- +goose Down
DELETE FROM mapping_rules WHERE updated_by = 'migration' AND kind IN ('status_map', 'stock_code', 'address');
DROP INDEX payments_recheck_idx;
DROP SEQUENCE customer_code_seq;
DELETE FROM state_transitions WHERE entity = 'payment' AND (from_status, to_status) IN
    (('pending', 'refunded'), ('unknown', 'refunded'), ('unknown', 'partially_refunded'), ('review', 'unknown'),
     ('settled', 'voided'));
DELETE FROM state_transitions WHERE entity = 'sales_order' AND from_status = 'on_hold'
    AND to_status IN ('open', 'in_warehouse', 'to_invoice');

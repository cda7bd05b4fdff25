-- +goose Up
-- Authentication of the GraphQL API (issue 6): API keys act with one of four roles, and every
-- mutation leaves an audit record of who asked for what, with which input, and how it ended.

-- The roles of the first model become the API's: the shop's key is 'storefront'; 'viewer' and
-- 'operator' keys become 'dashboard' (read-only), the safe side for a key whose rights shrink.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
UPDATE api_keys SET role = CASE role WHEN 'shop' THEN 'storefront' ELSE 'dashboard' END
    WHERE role IN ('shop', 'viewer', 'operator');
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('storefront', 'dashboard', 'finance', 'admin'));
-- key_hash is the SHA-256 of the whole key; prefix its first 12 characters ("phk_" and eight
-- more), enough to tell keys apart and far too little to guess the rest.
ALTER TABLE api_keys ADD CONSTRAINT api_keys_key_hash_check CHECK (octet_length(key_hash) = 32);

-- input is what the caller sent (the mutation's arguments); outcome how it ended: 'ok', 'refused'
-- (not authorised) or 'failed' (details.error says why).
ALTER TABLE audit_log ADD COLUMN input jsonb;
ALTER TABLE audit_log ADD COLUMN outcome text NOT NULL DEFAULT 'ok' CHECK (outcome <> '');
ALTER TABLE audit_log ALTER COLUMN outcome DROP DEFAULT;
CREATE INDEX audit_log_api_key_idx ON audit_log (api_key_id, occurred_at DESC) WHERE api_key_id IS NOT NULL;

-- +goose Down
DROP INDEX audit_log_api_key_idx;
ALTER TABLE audit_log DROP COLUMN outcome;
ALTER TABLE audit_log DROP COLUMN input;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_key_hash_check;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
UPDATE api_keys SET role = CASE role WHEN 'storefront' THEN 'shop' WHEN 'dashboard' THEN 'viewer' ELSE role END;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('admin', 'finance', 'operator', 'shop', 'viewer'));

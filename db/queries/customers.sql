-- name: GetCustomer :one
SELECT * FROM customers WHERE id = $1;

-- name: GetCustomerByCode :one
SELECT * FROM customers WHERE code = $1;

-- name: ListCustomersByIDs :many
SELECT * FROM customers WHERE id = ANY(sqlc.arg(ids)::bigint[]);

-- name: ListCustomerLinksByCustomerIDs :many
SELECT * FROM customer_links
WHERE customer_id = ANY(sqlc.arg(customer_ids)::bigint[])
ORDER BY customer_id, system, external_id;

-- ListCustomers is one page of customers in code order, keyset-paginated on code.
-- search matches the start of the code, or any part of the name or e-mail, case-insensitively.
-- name: ListCustomers :many
SELECT * FROM customers
WHERE (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(search)::text IS NULL
       OR code ILIKE sqlc.narg(search)::text || '%'
       OR name ILIKE '%' || sqlc.narg(search)::text || '%'
       OR email ILIKE '%' || sqlc.narg(search)::text || '%')
  AND (sqlc.narg(after_code)::text IS NULL OR code > sqlc.narg(after_code)::text)
ORDER BY code
LIMIT sqlc.arg(row_limit);

-- name: CountCustomers :one
SELECT count(*) FROM customers
WHERE (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(search)::text IS NULL
       OR code ILIKE sqlc.narg(search)::text || '%'
       OR name ILIKE '%' || sqlc.narg(search)::text || '%'
       OR email ILIKE '%' || sqlc.narg(search)::text || '%');

CREATE OR REPLACE VIEW core.active_customers AS
SELECT id, email, full_name, country, created_at
FROM core.customers
WHERE status = 'active';

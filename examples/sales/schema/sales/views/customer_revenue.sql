-- A view over a view of this project and a view of core.
CREATE OR REPLACE VIEW sales.customer_revenue AS
SELECT c.id AS customer_id,
       c.full_name,
       c.country,
       count(t.order_id) AS orders,
       coalesce(sum(t.total) FILTER (WHERE t.status <> 'cancelled'), 0) AS revenue
FROM active_customers c
LEFT JOIN sales.order_totals t ON t.customer_id = c.id
GROUP BY c.id, c.full_name, c.country;

CREATE OR REPLACE VIEW sales.order_totals AS
SELECT o.id AS order_id,
       o.customer_id,
       o.status,
       o.ordered_at,
       coalesce(sum(sales.line_amount(l.quantity, l.unit_price)), 0) AS total
FROM sales.orders o
LEFT JOIN sales.order_lines l ON l.order_id = o.id
GROUP BY o.id, o.customer_id, o.status, o.ordered_at;

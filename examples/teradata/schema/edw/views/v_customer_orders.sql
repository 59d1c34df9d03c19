-- Orders with their customer, for reporting. LOCKING ROW FOR ACCESS: readers never block a deployment.
REPLACE VIEW {{env}}_EDW.v_customer_orders AS
LOCKING ROW FOR ACCESS
SELECT o.order_id,
       o.order_date,
       o.status,
       o.amount,
       c.customer_id,
       c.customer_name,
       c.segment
FROM {{env}}_EDW.orders o
INNER JOIN {{env}}_EDW.customers c
  ON c.customer_id = o.customer_id;

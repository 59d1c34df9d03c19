-- Orders pre-joined to their customer and hashed on customer_id: the optimizer uses it for queries that join
-- the two (it is never queried by name). Teradata keeps it up to date as either table changes.
CREATE JOIN INDEX {{env}}_EDW.ji_orders_by_customer AS
SELECT o.order_id,
       o.customer_id,
       o.order_date,
       o.amount,
       c.customer_name,
       c.segment
FROM {{env}}_EDW.orders o
INNER JOIN {{env}}_EDW.customers c
  ON c.customer_id = o.customer_id
PRIMARY INDEX (customer_id);

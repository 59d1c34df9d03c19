-- Orders: a MULTISET table, hashed on customer_id so a customer's orders sit on one AMP,
-- partitioned by month so date-bounded queries read only the partitions they need.
CREATE MULTISET TABLE {{env}}_EDW.orders, NO FALLBACK (
  order_id     BIGINT NOT NULL,
  customer_id  INTEGER NOT NULL,
  order_date   DATE NOT NULL,
  status       CHAR(1) NOT NULL,
  amount       DECIMAL(18,2) NOT NULL,
  note         VARCHAR(500) CHARACTER SET UNICODE
)
PRIMARY INDEX (customer_id)
PARTITION BY RANGE_N(order_date BETWEEN DATE '2020-01-01' AND DATE '2030-12-31' EACH INTERVAL '1' MONTH);

COLLECT STATISTICS COLUMN (customer_id), COLUMN (order_date) ON {{env}}_EDW.orders;

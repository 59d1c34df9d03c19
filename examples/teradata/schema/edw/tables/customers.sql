-- Customers: a SET table (duplicate rows are rejected) with a unique primary index.
CREATE SET TABLE {{env}}_EDW.customers, FALLBACK (
  customer_id   INTEGER NOT NULL,
  customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL,
  segment       CHAR(1) NOT NULL DEFAULT 'R',
  created_at    TIMESTAMP(0) NOT NULL
)
UNIQUE PRIMARY INDEX (customer_id);

COMMENT ON TABLE {{env}}_EDW.customers AS 'One row per customer; segment R = retail, B = business';

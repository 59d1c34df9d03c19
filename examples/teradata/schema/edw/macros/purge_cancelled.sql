-- Remove cancelled orders older than a date; returns how many are left. A macro runs as one transaction.
REPLACE MACRO {{env}}_EDW.purge_cancelled (before_date DATE) AS (
  DELETE FROM {{env}}_EDW.orders
   WHERE status = 'X'          -- 'X' = cancelled; a ';' in a comment does not end the macro
     AND order_date < :before_date;
  SELECT COUNT(*) AS remaining FROM {{env}}_EDW.orders WHERE status = 'X';
);

-- Landing table for the daily load: no primary index (rows land on AMPs round-robin), dropped and
-- recreated on change (see conflicts in db.yaml).
CREATE MULTISET TABLE {{env}}_EDW.stage_orders, NO FALLBACK (
  order_id     BIGINT,
  customer_id  INTEGER,
  order_date   DATE,
  status       CHAR(1),
  amount       DECIMAL(18,2)
)
NO PRIMARY INDEX;

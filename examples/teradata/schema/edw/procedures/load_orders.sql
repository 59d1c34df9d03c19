-- Move one day's rows from the landing table into orders (yesterday when no date is given), and report how
-- many were loaded (-1 on error).
REPLACE PROCEDURE {{env}}_EDW.load_orders (IN load_date DATE, OUT loaded INTEGER)
BEGIN
  DECLARE d DATE;
  DECLARE n INTEGER DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    SET loaded = -1;
  END;

  IF load_date IS NULL THEN
    SET d = CURRENT_DATE - 1;
  ELSE
    SET d = load_date;
  END IF;

  INSERT INTO {{env}}_EDW.orders (order_id, customer_id, order_date, status, amount)
  SELECT s.order_id, s.customer_id, s.order_date, COALESCE(s.status, 'O'), s.amount
  FROM {{env}}_EDW.stage_orders s
  WHERE s.order_date = :d
    AND s.order_id IS NOT NULL;
  SET n = ACTIVITY_COUNT;

  DELETE FROM {{env}}_EDW.stage_orders WHERE order_date = :d;
  SET loaded = n;
END;

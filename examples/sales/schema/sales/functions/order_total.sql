CREATE OR REPLACE FUNCTION sales.order_total(p_order_id bigint)
RETURNS numeric
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
  total numeric;
BEGIN
  SELECT coalesce(sum(line_amount(l.quantity, l.unit_price)), 0)
    INTO total
    FROM sales.order_lines l
   WHERE l.order_id = p_order_id;
  RETURN total;
END;
$$;

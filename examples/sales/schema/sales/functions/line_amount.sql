CREATE OR REPLACE FUNCTION sales.line_amount(quantity integer, unit_price numeric)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
AS $$ SELECT round(quantity * unit_price, 2) $$;

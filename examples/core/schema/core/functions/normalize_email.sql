-- Used by the customers table for its generated lookup column.
CREATE OR REPLACE FUNCTION core.normalize_email(email text)
RETURNS text
LANGUAGE sql
IMMUTABLE
RETURN lower(btrim(email));

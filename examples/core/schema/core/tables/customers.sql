CREATE TABLE core.customers (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email       text NOT NULL,
  email_key   text GENERATED ALWAYS AS (core.normalize_email(email)) STORED,
  full_name   text NOT NULL,
  status      core.customer_status NOT NULL DEFAULT 'prospect',
  country     char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key_idx ON core.customers (email_key);
COMMENT ON TABLE core.customers IS 'One row per customer account';

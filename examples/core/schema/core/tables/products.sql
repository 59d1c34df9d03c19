CREATE TABLE core.products (
  sku         text PRIMARY KEY,
  name        text NOT NULL,
  unit_price  numeric(12, 2) NOT NULL CHECK (unit_price >= 0),
  active      boolean NOT NULL DEFAULT true,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_active_idx ON core.products (name) WHERE active;

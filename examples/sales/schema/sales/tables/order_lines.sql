CREATE TABLE sales.order_lines (
  order_id    bigint NOT NULL REFERENCES sales.orders (id) ON DELETE CASCADE,
  line_no     integer NOT NULL,
  sku         text NOT NULL REFERENCES products (sku),
  quantity    integer NOT NULL CHECK (quantity > 0),
  unit_price  numeric(12, 2) NOT NULL,
  PRIMARY KEY (order_id, line_no)
);

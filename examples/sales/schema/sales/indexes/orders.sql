CREATE INDEX orders_customer_idx ON sales.orders (customer_id);
CREATE INDEX orders_open_idx ON sales.orders (ordered_at) WHERE status = 'open';

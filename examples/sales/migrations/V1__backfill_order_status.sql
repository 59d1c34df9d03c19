-- Data fix that a declarative definition cannot express.
UPDATE sales.orders SET status = 'open' WHERE status IS NULL;

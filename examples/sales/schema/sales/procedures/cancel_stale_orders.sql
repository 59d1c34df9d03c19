CREATE OR REPLACE PROCEDURE sales.cancel_stale_orders(older_than interval DEFAULT interval '30 days')
LANGUAGE plpgsql
AS $$
BEGIN
  UPDATE sales.orders
     SET status = 'cancelled'
   WHERE status = 'open'
     AND ordered_at < now() - older_than;
END;
$$;

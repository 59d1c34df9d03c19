-- name: cancelling stale orders runs without warnings (rolled back afterwards)
CALL sales.cancel_stale_orders(interval '90 days');

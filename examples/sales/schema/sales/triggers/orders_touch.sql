-- Reuses core's trigger function.
CREATE TRIGGER orders_touch BEFORE UPDATE ON sales.orders
  FOR EACH ROW EXECUTE FUNCTION core.touch_updated_at();

CREATE TRIGGER customers_touch BEFORE UPDATE ON core.customers
  FOR EACH ROW EXECUTE FUNCTION core.touch_updated_at();

CREATE TRIGGER products_touch BEFORE UPDATE ON core.products
  FOR EACH ROW EXECUTE FUNCTION core.touch_updated_at();

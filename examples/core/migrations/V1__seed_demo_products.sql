-- Reference data: run once, recorded in the ledger.
INSERT INTO core.products (sku, name, unit_price) VALUES
  ('TEA-001', 'Green tea, 100 g', 6.50),
  ('TEA-002', 'Black tea, 100 g', 5.90),
  ('MUG-001', 'Stoneware mug', 12.00);

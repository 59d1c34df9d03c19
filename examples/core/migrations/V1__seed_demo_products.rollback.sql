DELETE FROM core.products WHERE sku IN ('TEA-001', 'TEA-002', 'MUG-001');

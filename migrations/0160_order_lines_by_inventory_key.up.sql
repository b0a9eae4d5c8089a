-- The inventory pages name each stock item by the newest order line that
-- sold it (title, SKU, variant): found per item through this index.
CREATE INDEX order_lines_view_inventory_key ON order_lines_view (shop, inventory_key);

ALTER TABLE inventory_view DROP COLUMN shortfall, DROP COLUMN shopify_levels;

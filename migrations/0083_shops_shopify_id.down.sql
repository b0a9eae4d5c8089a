ALTER TABLE shops DROP COLUMN shopify_id;

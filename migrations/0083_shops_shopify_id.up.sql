-- Shopify's id of the shop, when given at registration. Webhooks that name
-- their shop (the privacy topics, app/uninstalled) are checked against it.
ALTER TABLE shops ADD COLUMN shopify_id bigint CHECK (shopify_id > 0);

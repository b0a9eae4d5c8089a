-- Which stock key each Shopify inventory item maps to, with the catalog's
-- names of its variant (products/* webhooks): the inventory pages name an
-- item by them, before any order has sold it.
CREATE TABLE inventory_items_view (
    shop              text   NOT NULL,
    inventory_item_id bigint NOT NULL,
    key               text   NOT NULL,
    product_title     text   NOT NULL,
    variant_title     text   NOT NULL,
    version           bigint NOT NULL,
    PRIMARY KEY (shop, inventory_item_id)
);
CREATE INDEX inventory_items_view_key ON inventory_items_view (shop, key);

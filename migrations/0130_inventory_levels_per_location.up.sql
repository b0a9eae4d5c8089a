-- A stock item keeps Shopify's available figure per location, and the units
-- shipped beyond its figures, so its row can be continued without replaying
-- its whole stream.
ALTER TABLE inventory_view
    ADD COLUMN shortfall      integer NOT NULL DEFAULT 0,
    ADD COLUMN shopify_levels jsonb   NOT NULL DEFAULT '{}';

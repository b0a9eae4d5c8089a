-- The names of each shop's Shopify locations (locations/* webhooks), which
-- stock levels name by id only.
CREATE TABLE locations_view (
    shop        text        NOT NULL,
    location_id bigint      NOT NULL,
    name        text        NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint      NOT NULL,
    PRIMARY KEY (shop, location_id)
);

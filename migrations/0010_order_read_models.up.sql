-- Read models for orders and stock. Owned by their projectors; any of them can
-- be emptied and rebuilt from events.
CREATE TABLE orders_view (
    id                 uuid        PRIMARY KEY,
    shop               text        NOT NULL,
    name               text        NOT NULL,
    shopify_id         bigint,
    source             text        NOT NULL,
    email              text        NOT NULL DEFAULT '',
    customer_name      text        NOT NULL DEFAULT '',
    currency           text        NOT NULL,
    subtotal           bigint      NOT NULL,
    total              bigint      NOT NULL,
    paid               bigint      NOT NULL DEFAULT 0,
    refunded           bigint      NOT NULL DEFAULT 0,
    status             text        NOT NULL,
    financial_status   text        NOT NULL,
    fulfillment_status text        NOT NULL,
    item_count         integer     NOT NULL,
    placed_at          timestamptz NOT NULL,
    cancelled_at       timestamptz,
    shopify_updated_at timestamptz,
    version            bigint      NOT NULL,
    updated_at         timestamptz NOT NULL
);
-- Keyset pagination: newest first, ties broken by id, so pages stay stable
-- while orders are inserted.
CREATE INDEX orders_view_shop_placed ON orders_view (shop, placed_at DESC, id DESC);
CREATE INDEX orders_view_shop_status ON orders_view (shop, status);
CREATE INDEX orders_view_shop_email ON orders_view (shop, lower(email));
CREATE UNIQUE INDEX orders_view_shopify ON orders_view (shop, shopify_id) WHERE shopify_id IS NOT NULL;

CREATE TABLE order_lines_view (
    order_id           uuid    NOT NULL REFERENCES orders_view (id) ON DELETE CASCADE,
    line_id            text    NOT NULL,
    position           integer NOT NULL,
    shop               text    NOT NULL,
    sku                text    NOT NULL DEFAULT '',
    variant_id         bigint,
    inventory_key      text    NOT NULL,
    title              text    NOT NULL,
    quantity           integer NOT NULL,
    fulfilled_quantity integer NOT NULL DEFAULT 0,
    refunded_quantity  integer NOT NULL DEFAULT 0,
    unit_price         bigint  NOT NULL,
    PRIMARY KEY (order_id, line_id)
);

CREATE TABLE inventory_view (
    shop        text        NOT NULL,
    key         text        NOT NULL, -- the SKU, or variant-<id> when the line had none
    on_hand     integer     NOT NULL,
    reserved    integer     NOT NULL,
    available   integer     NOT NULL,
    backordered integer     NOT NULL,
    version     bigint      NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (shop, key)
);
CREATE INDEX inventory_view_backordered ON inventory_view (shop) WHERE backordered > 0;

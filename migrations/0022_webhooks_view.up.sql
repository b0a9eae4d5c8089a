-- The webhook log: one row per captured Shopify webhook and where its
-- processing stands. Owned by the webhooks projector; rebuildable from events.
CREATE TABLE webhooks_view (
    id           uuid        PRIMARY KEY, -- the webhook.received event id
    stream_id    text        NOT NULL UNIQUE,
    shop         text        NOT NULL,
    webhook_id   text        NOT NULL,
    topic        text        NOT NULL,
    event_id     text        NOT NULL, -- Shopify's X-Shopify-Event-Id
    received_at  timestamptz NOT NULL,
    status       text        NOT NULL, -- received | processed | failed
    result       text        NOT NULL DEFAULT '',
    error        text        NOT NULL DEFAULT '',
    order_id     uuid,
    processed_at timestamptz,
    transaction_id  xid8     NOT NULL,
    global_position bigint   NOT NULL
);
-- The log lists newest first; the cursor is (received_at, id).
CREATE INDEX webhooks_view_shop ON webhooks_view (shop, received_at DESC, id DESC);
CREATE INDEX webhooks_view_shop_status ON webhooks_view (shop, status, received_at DESC, id DESC);

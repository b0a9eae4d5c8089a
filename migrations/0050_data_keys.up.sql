-- Data keys for crypto-shredding: one per shop (subject 'shop') and one per
-- Shopify customer of a shop (subject 'customer:<id>'). Personal fields of
-- events are sealed with them; destroying a key (wrapped_key set to NULL)
-- erases those fields everywhere at once without rewriting an event. The
-- key itself is sealed with the master key, so the database alone opens
-- nothing. Rows are kept after destruction so a reader can tell an erased
-- field from an unknown key.
CREATE TABLE data_keys (
    id           uuid        PRIMARY KEY,
    shop         text        NOT NULL,
    subject      text        NOT NULL CHECK (subject = 'shop' OR subject ~ '^customer:[0-9]+$'),
    wrapped_key  bytea       CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL)),
    created_at   timestamptz NOT NULL DEFAULT now(),
    rewrapped_at timestamptz,
    destroyed_at timestamptz
);

-- One live key per subject; after destruction a new one may be made (say, a
-- returning customer), which never opens what the old one sealed.
CREATE UNIQUE INDEX data_keys_live ON data_keys (shop, subject) WHERE destroyed_at IS NULL;
CREATE INDEX data_keys_shop ON data_keys (shop);

-- Erasure finds a customer's orders by the Shopify customer id on order.placed.
CREATE INDEX events_order_customer ON events (tenant_id, ((data ->> 'customer_id')))
    WHERE event_type = 'order.placed';

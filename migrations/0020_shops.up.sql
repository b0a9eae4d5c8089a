-- Registered Shopify shops and their credentials. Secrets are sealed with
-- AES-GCM under the master key (internal/secrets); the database never sees
-- them in clear. The shop's history is in its event stream (shop-<domain>).
CREATE TABLE shops (
    domain          text        PRIMARY KEY,
    name            text        NOT NULL,
    currency        text        NOT NULL,
    -- One or two active webhook secrets, so a secret can be rotated without
    -- rejecting webhooks signed with the old one in the meantime.
    webhook_secrets bytea[]     NOT NULL CHECK (cardinality(webhook_secrets) BETWEEN 1 AND 2),
    access_token    bytea       NOT NULL,
    installed       boolean     NOT NULL DEFAULT true,
    registered_at   timestamptz NOT NULL,
    uninstalled_at  timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Shops install through OAuth, token exchange or the client-credentials
-- grant, and their Admin API tokens expire: the table keeps, sealed, the
-- current access token, what renews it (a refresh token, or the merchant's
-- own app credentials) and when each expires. A registered shop may have no
-- token yet (registered for development) or no more (uninstalled).
ALTER TABLE shops
    ALTER COLUMN access_token DROP NOT NULL,
    ADD COLUMN token_grant              text NOT NULL DEFAULT 'static'
        CHECK (token_grant IN ('static', 'authorization_code', 'token_exchange', 'client_credentials')),
    ADD COLUMN access_token_expires_at  timestamptz,
    ADD COLUMN refresh_token            bytea,
    ADD COLUMN refresh_token_expires_at timestamptz,
    ADD COLUMN scopes                   text NOT NULL DEFAULT '',
    ADD COLUMN client_id                text,
    ADD COLUMN client_secret            bytea,
    -- The last time the webhook subscriptions were checked; the periodic
    -- check takes the shops checked longest ago first.
    ADD COLUMN subscriptions_checked_at timestamptz;

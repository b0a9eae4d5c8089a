-- Refuses (NOT NULL) while a shop has no access token, rather than drop it.
ALTER TABLE shops
    DROP COLUMN subscriptions_checked_at,
    DROP COLUMN client_secret,
    DROP COLUMN client_id,
    DROP COLUMN scopes,
    DROP COLUMN refresh_token_expires_at,
    DROP COLUMN refresh_token,
    DROP COLUMN access_token_expires_at,
    DROP COLUMN token_grant,
    ALTER COLUMN access_token SET NOT NULL;

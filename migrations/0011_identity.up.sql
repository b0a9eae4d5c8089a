-- Identity write models, kept inline: each row changes in the same transaction
-- as the user or token event, so sign-in never waits for a projector.
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    shop          text        NOT NULL,
    email         text        NOT NULL UNIQUE CHECK (email = lower(email)),
    name          text        NOT NULL,
    role          text        NOT NULL,
    password_hash text        NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    version       bigint      NOT NULL
);
CREATE INDEX users_shop ON users (shop, created_at, id);

CREATE TABLE api_tokens (
    id          uuid        PRIMARY KEY,
    shop        text        NOT NULL,
    name        text        NOT NULL,
    role        text        NOT NULL,
    token_hash  text        NOT NULL UNIQUE, -- hex SHA-256 of the secret
    prefix      text        NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz,
    version     bigint      NOT NULL
);
CREATE INDEX api_tokens_shop ON api_tokens (shop, created_at, id);

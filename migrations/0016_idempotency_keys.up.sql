-- Idempotency-Key replay for API writes. A row is inserted in the same
-- transaction as the events it answers for, so a key is never stored for a
-- write that did not happen, nor a write stored without its key.
CREATE TABLE idempotency_keys (
    shop         text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL, -- method, route and canonical body
    status       integer     NOT NULL,
    headers      jsonb       NOT NULL,
    body         bytea       NOT NULL, -- byte-exact, so a replay is identical
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop, key)
);
-- Keys live 24 hours; expired rows are overwritten on reuse and can be purged by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

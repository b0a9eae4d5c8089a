-- Signed checkpoints: an Ed25519 signature over every stream's chain head at a
-- commit-order position. The hash chain proves no event was altered in place;
-- a signed head proves a whole chain was not rewritten (recomputed) after the
-- signature, because the forger cannot produce the key holder's signature.
CREATE TABLE signed_checkpoints (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8        NOT NULL, -- the newest signed event, in commit order
    global_position bigint      NOT NULL,
    -- Every transaction below settled_xid had finished when signing, so the
    -- number of events they wrote can never change: settled_events.
    settled_xid     xid8        NOT NULL,
    settled_events  bigint      NOT NULL,
    streams         bigint      NOT NULL,
    signed_at       timestamptz NOT NULL,
    public_key      bytea       NOT NULL,
    signature       bytea       NOT NULL
);

CREATE TABLE signed_checkpoint_heads (
    checkpoint_id  bigint  NOT NULL REFERENCES signed_checkpoints (id),
    stream_id      text    NOT NULL,
    stream_version integer NOT NULL,
    hash           bytea   NOT NULL,
    PRIMARY KEY (checkpoint_id, stream_id)
);

-- Evidence is append-only, like the events it vouches for.
CREATE FUNCTION audit_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'P0001', HINT = 'ordermill:immutable';
END
$$;

CREATE TRIGGER signed_checkpoints_immutable BEFORE UPDATE OR DELETE ON signed_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER signed_checkpoint_heads_immutable BEFORE UPDATE OR DELETE ON signed_checkpoint_heads
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();

-- Outcome of each verification run, so the audit pages can show the last one
-- without walking every chain on each page view.
CREATE TABLE verify_runs (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL,
    events        bigint      NOT NULL,
    streams       bigint      NOT NULL,
    checkpoint_id bigint      REFERENCES signed_checkpoints (id),
    ok            boolean     NOT NULL,
    finding_count bigint      NOT NULL,
    findings      jsonb       NOT NULL  -- the first findings, enough to start looking
);

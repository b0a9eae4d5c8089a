-- The event store: the only source of truth. Everything else is derived.
CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Identity values are handed out before commit, so readers page by
    -- (transaction_id, global_position) below pg_snapshot_xmin, never by position alone.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL CHECK (stream_id ~ '^[a-z_]+-.+$'),
    stream_version  integer     NOT NULL CHECK (stream_version > 0),
    event_type      text        NOT NULL CHECK (event_type <> ''),
    schema_version  integer     NOT NULL DEFAULT 1 CHECK (schema_version > 0),
    tenant_id       text        NOT NULL DEFAULT '',
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at     timestamptz NOT NULL DEFAULT date_trunc('microseconds', clock_timestamp()),
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_commit_order ON events (transaction_id, global_position);
CREATE INDEX events_tenant_recorded ON events (tenant_id, recorded_at);
CREATE INDEX events_causation ON events ((metadata ->> 'causation_id')) WHERE metadata ? 'causation_id';
CREATE INDEX events_correlation ON events ((metadata ->> 'correlation_id')) WHERE metadata ? 'correlation_id';

-- The bytes a hash covers. The replay tool rebuilds them outside the database
-- from the same columns (data and metadata in jsonb's normalised text form).
CREATE FUNCTION event_canonical_bytes(e events) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(
        e.event_id::text || E'\n' ||
        e.stream_id || E'\n' ||
        e.stream_version::text || E'\n' ||
        e.event_type || E'\n' ||
        e.schema_version::text || E'\n' ||
        e.tenant_id || E'\n' ||
        (extract(epoch FROM e.recorded_at) * 1000000)::bigint::text || E'\n' ||
        e.data::text || E'\n' ||
        e.metadata::text,
        'UTF8')
$$;

-- Chains each event to its predecessor in the stream: hash = sha256(prev_hash || canonical bytes).
-- A stream's first event chains to 32 zero bytes. A missing predecessor is a gap and is refused.
CREATE FUNCTION events_chain_hash() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    prev bytea;
BEGIN
    NEW.recorded_at := date_trunc('microseconds', NEW.recorded_at);
    IF NEW.stream_version = 1 THEN
        prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    ELSE
        SELECT hash INTO prev FROM events
         WHERE stream_id = NEW.stream_id AND stream_version = NEW.stream_version - 1;
        IF prev IS NULL THEN
            RAISE EXCEPTION 'stream % has no version %', NEW.stream_id, NEW.stream_version - 1
                USING ERRCODE = 'P0001', HINT = 'ordermill:stream_gap';
        END IF;
    END IF;
    NEW.prev_hash := prev;
    NEW.hash := sha256(prev || event_canonical_bytes(NEW));
    RETURN NEW;
END
$$;

CREATE TRIGGER events_chain_hash BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_chain_hash();

-- Immutability is enforced here, not by convention.
CREATE FUNCTION events_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % is not allowed', TG_OP
        USING ERRCODE = 'P0001', HINT = 'ordermill:immutable';
END
$$;

CREATE TRIGGER events_immutable_rows BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_reject_change();
CREATE TRIGGER events_immutable_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();

-- Where each reader of "all" (the relay, rebuilds) has got to, in commit order.
CREATE TABLE checkpoints (
    name            text        PRIMARY KEY,
    transaction_id  xid8        NOT NULL,
    global_position bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

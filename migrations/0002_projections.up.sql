-- Per projector and stream: the last stream version applied. The runner
-- checks and bumps it in the same transaction as the read-model change, which
-- is what makes every projector idempotent under at-least-once delivery.
CREATE TABLE projection_streams (
    projection      text    NOT NULL,
    stream_id       text    NOT NULL,
    version         bigint  NOT NULL,
    transaction_id  xid8    NOT NULL DEFAULT '0'::xid8,
    global_position bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (projection, stream_id)
);

-- Per projector: the newest event applied, for lag and read-your-writes.
CREATE TABLE projection_progress (
    projection      text        PRIMARY KEY,
    transaction_id  xid8        NOT NULL,
    global_position bigint      NOT NULL,
    event_recorded_at timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Events a worker gave up on after its retries. The message also went to the
-- dead-letter Redis stream; this table is what the app lists and re-queues.
CREATE TABLE dead_letters (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop           text        NOT NULL,
    handler        text        NOT NULL,
    event_id       uuid        NOT NULL,
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    event_type     text        NOT NULL,
    error          text        NOT NULL,
    attempts       integer     NOT NULL,
    failed_at      timestamptz NOT NULL DEFAULT now(),
    requeued_at    timestamptz
);
-- One open dead letter per handler and event: failing again before a requeue
-- updates it instead of listing the event twice.
CREATE UNIQUE INDEX dead_letters_open ON dead_letters (handler, event_id) WHERE requeued_at IS NULL;
CREATE INDEX dead_letters_shop ON dead_letters (shop, id DESC);

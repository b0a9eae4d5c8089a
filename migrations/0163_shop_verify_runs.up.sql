-- A verify run of one shop's streams that a merchant started from the audit
-- page: its totals when it started, how far it has come (updated while it
-- runs, so the page can show progress) and, once finished, its outcome.
CREATE TABLE shop_verify_runs (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop           text        NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    events_total   bigint      NOT NULL,
    streams_total  bigint      NOT NULL,
    events_checked bigint      NOT NULL DEFAULT 0,
    report         jsonb,      -- the AuditReport once finished
    error          text        NOT NULL DEFAULT ''
);
CREATE INDEX shop_verify_runs_shop ON shop_verify_runs (shop, id DESC);

-- Where each shop's reconciliation job has read Shopify's orders up to, and
-- how its install backfill is doing. One row per shop; a run holds the row
-- locked, so one process reconciles a shop at a time.
CREATE TABLE shopify_reconciliation (
    shop                text PRIMARY KEY,
    updated_since       timestamptz NOT NULL,
    last_run_at         timestamptz,
    last_error          text,
    orders_read         bigint NOT NULL DEFAULT 0,
    snapshots_appended  bigint NOT NULL DEFAULT 0,
    backfill_started_at timestamptz,
    backfill_done_at    timestamptz
);

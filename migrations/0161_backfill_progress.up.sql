-- How far an install's backfill has come: the orders and pages read so far
-- and, from Shopify's count when it started, how many there are to read.
ALTER TABLE shopify_reconciliation
    ADD COLUMN backfill_orders_read  bigint  NOT NULL DEFAULT 0,
    ADD COLUMN backfill_pages        integer NOT NULL DEFAULT 0,
    ADD COLUMN backfill_orders_total bigint,
    ADD COLUMN backfill_total_exact  boolean NOT NULL DEFAULT true;

ALTER TABLE shopify_reconciliation
    DROP COLUMN backfill_orders_read,
    DROP COLUMN backfill_pages,
    DROP COLUMN backfill_orders_total,
    DROP COLUMN backfill_total_exact;

ALTER TABLE shopify_reconciliation
    DROP COLUMN claimed_by,
    DROP COLUMN claimed_until;

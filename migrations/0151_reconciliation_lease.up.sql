-- A run claims its shop with a lease instead of holding the row locked: a
-- transaction left open across Admin API calls (and their retries) would
-- hold back every reader of the event log until Shopify answered.
ALTER TABLE shopify_reconciliation
    ADD COLUMN claimed_by    uuid,
    ADD COLUMN claimed_until timestamptz;

DROP TABLE shopify_reconciliation;

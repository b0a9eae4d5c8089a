-- What Shopify states about an order besides its statuses: current and
-- original totals, tags, note, the test flag, the cancel reason, shipments
-- with tracking and refunds with reasons. Orders deleted in Shopify keep
-- their row, hidden from lists and lookups. Rebuild the orders projection to
-- fill them for orders projected before.
ALTER TABLE orders_view
    ADD COLUMN totals         jsonb   NOT NULL DEFAULT '{}',
    ADD COLUMN tags           text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN note           text    NOT NULL DEFAULT '',
    ADD COLUMN test           boolean NOT NULL DEFAULT false,
    ADD COLUMN deleted        boolean NOT NULL DEFAULT false,
    ADD COLUMN cancel_reason  text    NOT NULL DEFAULT '',
    ADD COLUMN shipments      jsonb   NOT NULL DEFAULT '[]',
    ADD COLUMN refund_details jsonb   NOT NULL DEFAULT '[]';

ALTER TABLE order_lines_view ADD COLUMN original_quantity integer NOT NULL DEFAULT 0;

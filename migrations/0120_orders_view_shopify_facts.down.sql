ALTER TABLE order_lines_view DROP COLUMN original_quantity;

ALTER TABLE orders_view
    DROP COLUMN totals,
    DROP COLUMN tags,
    DROP COLUMN note,
    DROP COLUMN test,
    DROP COLUMN deleted,
    DROP COLUMN cancel_reason,
    DROP COLUMN shipments,
    DROP COLUMN refund_details;

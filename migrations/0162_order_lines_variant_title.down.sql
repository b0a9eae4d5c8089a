ALTER TABLE order_lines_view DROP COLUMN variant_title;

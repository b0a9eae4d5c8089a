DROP TABLE inventory_view;
DROP TABLE order_lines_view;
DROP TABLE orders_view;

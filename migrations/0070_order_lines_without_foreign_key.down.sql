ALTER TABLE order_lines_view
    ADD CONSTRAINT order_lines_view_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders_view (id) ON DELETE CASCADE;

-- Orders listed by total or by name page by (column, id) like the default
-- (placed_at, id); the name index also serves lookups by order name.
CREATE INDEX orders_view_shop_total ON orders_view (shop, total, id);
CREATE INDEX orders_view_shop_name ON orders_view (shop, name, id);

DROP INDEX IF EXISTS orders_view_shop_total;
DROP INDEX IF EXISTS orders_view_shop_name;

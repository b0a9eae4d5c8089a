DROP INDEX events_order_customer;
DROP TABLE data_keys;

DROP TABLE inventory_items_view;

DROP TABLE locations_view;

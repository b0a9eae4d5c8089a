DROP TABLE webhooks_view;

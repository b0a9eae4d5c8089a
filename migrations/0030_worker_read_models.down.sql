DROP TABLE IF EXISTS report_files;
DROP TABLE IF EXISTS reports_view;
DROP TABLE IF EXISTS emails_view;
DROP TABLE IF EXISTS fulfillments_view;

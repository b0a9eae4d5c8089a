DROP TABLE shop_verify_runs;

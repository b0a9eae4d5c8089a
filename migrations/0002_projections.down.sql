DROP TABLE projection_progress;
DROP TABLE projection_streams;

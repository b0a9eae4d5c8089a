ALTER TABLE api_tokens DROP COLUMN owner_id;

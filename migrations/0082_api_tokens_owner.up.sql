-- The user a token derives its authority from: its creator, or the owner of
-- the token that created it. A token works only while that user is active
-- and holds a role covering the token's, and deactivating the user revokes
-- it (api/auth.go, api/users.go).
ALTER TABLE api_tokens ADD COLUMN owner_id uuid;
WITH RECURSIVE owned AS (
    SELECT id, substring(created_by FROM 6)::uuid AS owner_id FROM api_tokens WHERE created_by LIKE 'user:%'
    UNION
    SELECT t.id, o.owner_id FROM api_tokens t JOIN owned o ON t.created_by = 'token:' || o.id::text
)
UPDATE api_tokens t SET owner_id = owned.owner_id FROM owned WHERE owned.id = t.id;
CREATE INDEX api_tokens_owner ON api_tokens (owner_id) WHERE revoked_at IS NULL;

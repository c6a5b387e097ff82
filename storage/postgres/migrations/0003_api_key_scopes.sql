-- API key scopes and expiry (storage.APIKey.Scopes, ExpiresAt). scopes is
-- NULL for keys created before scopes: they keep every scope, admin
-- included; '{}' is a key with no scope.
ALTER TABLE api_keys
    ADD COLUMN scopes     text[],
    ADD COLUMN expires_at timestamptz;  -- NULL = never

-- The API key that created a link (storage.Link.CreatedBy; '' = unknown)
-- and keys limited to their own links (storage.APIKey.OwnLinksOnly).
ALTER TABLE links ADD COLUMN created_by text NOT NULL DEFAULT '';
-- A restricted key's list: its live links, newest first.
CREATE INDEX links_live_creator_newest ON links (created_by, created_at DESC, code DESC)
    WHERE deleted_at IS NULL AND created_by <> '';
ALTER TABLE api_keys ADD COLUMN own_links_only boolean NOT NULL DEFAULT false;

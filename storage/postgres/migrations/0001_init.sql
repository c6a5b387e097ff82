-- Links and API keys. Codes compare in byte order (COLLATE "C") whatever the
-- database's locale, so listing order and case-sensitivity never depend on it.
CREATE TABLE links (
    code            text COLLATE "C" PRIMARY KEY,
    url             text        NOT NULL,
    title           text        NOT NULL DEFAULT '',
    tags            text[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    expires_at      timestamptz,          -- NULL: never expires
    max_visits      bigint,               -- NULL: unlimited
    redirect_status integer     NOT NULL DEFAULT 302,
    forward_query   boolean     NOT NULL DEFAULT false,
    cache_max_age   integer     NOT NULL DEFAULT -1,  -- -1: server default
    version         bigint      NOT NULL DEFAULT 1,
    deleted_at      timestamptz           -- set by DeleteLink; the code stays taken
);

-- Newest-first keyset pagination over live links:
--   WHERE deleted_at IS NULL AND (created_at, code) < ($1, $2)
--   ORDER BY created_at DESC, code DESC LIMIT n
CREATE INDEX links_live_newest ON links (created_at DESC, code DESC) WHERE deleted_at IS NULL;

-- Tag filter: WHERE tags @> ARRAY['summer'].
CREATE INDEX links_live_tags ON links USING GIN (tags) WHERE deleted_at IS NULL;

CREATE TABLE api_keys (
    id         text COLLATE "C" PRIMARY KEY,
    name       text        NOT NULL,
    hash       text COLLATE "C" NOT NULL UNIQUE,  -- hex SHA-256 of the secret
    prefix     text        NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz                        -- NULL while valid
);

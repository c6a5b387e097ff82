-- The default domain's "not found" redirects (storage.DomainRedirects): one
-- row at most, id = 1. '' = not set.
CREATE TABLE domain_redirects (
    id                smallint PRIMARY KEY CHECK (id = 1),
    base_url          text NOT NULL DEFAULT '',
    regular_404       text NOT NULL DEFAULT '',
    invalid_short_url text NOT NULL DEFAULT ''
);

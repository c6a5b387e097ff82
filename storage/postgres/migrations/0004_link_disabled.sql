-- Disabled links (storage.Link.Disabled): 410 at redirect, still listed
-- and editable; PATCH /api/v1/links/{code} {"disabled": false} restores.
ALTER TABLE links ADD COLUMN disabled boolean NOT NULL DEFAULT false;

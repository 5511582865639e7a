-- Version 9: Keystone's project hierarchy and project tags.
--
-- Only adds, like every version after the first, so that nodes of the
-- previous build keep working against a migrated database (their inserts
-- get a top-level project without tags).

-- The parent project; NULL for a project at the top of its domain (whose
-- parent, as Keystone renders it, is the domain). No cascade: a project
-- with children cannot be deleted (Keystone's 403, checked first by the
-- service; the key keeps a racing delete from orphaning a child).
ALTER TABLE projects ADD COLUMN parent_id TEXT REFERENCES projects (id);
CREATE INDEX projects_parent ON projects (parent_id);

-- The project's tags, a JSON array of strings in the caller's order
-- (Keystone allows at most 80, each 1 to 255 characters without ',' or '/').
ALTER TABLE projects ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

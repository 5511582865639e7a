-- Version 8: Keystone's catalog administration. Regions (with parents),
-- free-form attributes of services and endpoints (Keystone's `extra`:
-- a service's description, anything a client adds), and OS-EP-FILTER's
-- project-endpoint associations and endpoint groups.
--
-- Only adds. `endpoints.region` is the endpoint's region id; the store
-- checks, in the writing transaction, that it names a region (SQLite
-- cannot add a foreign key to an existing column). Every catalog write
-- moves the token revision: the catalog is in token bodies.

CREATE TABLE regions (
    id               TEXT NOT NULL PRIMARY KEY,
    description      TEXT NOT NULL DEFAULT '',
    parent_region_id TEXT,
    extra            TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX regions_parent ON regions (parent_region_id);

-- The regions endpoints already name (bootstrap's) become regions.
INSERT INTO regions (id)
    SELECT DISTINCT region FROM endpoints WHERE region IS NOT NULL;

ALTER TABLE services ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE endpoints ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
CREATE INDEX endpoints_region ON endpoints (region);

CREATE TABLE project_endpoints (
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    PRIMARY KEY (endpoint_id, project_id)
);
CREATE INDEX project_endpoints_project ON project_endpoints (project_id);

-- filters: one JSON object (service_id, region_id, interface).
CREATE TABLE endpoint_groups (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    filters     TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE project_endpoint_groups (
    endpoint_group_id TEXT NOT NULL REFERENCES endpoint_groups (id) ON DELETE CASCADE,
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    PRIMARY KEY (endpoint_group_id, project_id)
);
CREATE INDEX project_endpoint_groups_project ON project_endpoint_groups (project_id);

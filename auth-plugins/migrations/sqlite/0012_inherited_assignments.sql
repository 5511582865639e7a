-- Version 12: Keystone's OS-INHERIT. An assignment marked `inherited` is
-- not held on its target but on every project below it: on a domain, every
-- project of the domain; on a project, every project of its subtree. A
-- direct and an inherited grant of the same role to the same actor on the
-- same target are two assignments (Keystone's `inherited` column is part of
-- its key too), so the flag joins the primary key. There is no inherited
-- grant on the system.
--
-- SQLite cannot change a primary key in place: the table is built again,
-- with the same columns, checks and indexes plus the flag, and the rows
-- copied (each a direct grant). Nothing references the table, so dropping
-- the old one cascades nowhere.
--
-- Unlike the versions before it, this one changes the key: a node of an
-- earlier build keeps working against it (its inserts are direct grants,
-- by the column's default), but would read an inherited grant as a direct
-- one and revoke both of a pair at once. Grant inherited roles only once
-- every node runs a build that knows this version.
CREATE TABLE assignments_v12 (
    actor_type  TEXT    NOT NULL CHECK (actor_type IN ('user', 'group')),
    actor_id    TEXT    NOT NULL,
    target_type TEXT    NOT NULL CHECK (target_type IN ('project', 'domain', 'system')),
    target_id   TEXT    NOT NULL,
    role_id     TEXT    NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    user_id     TEXT    REFERENCES users (id) ON DELETE CASCADE,
    group_id    TEXT    REFERENCES groups (id) ON DELETE CASCADE,
    project_id  TEXT    REFERENCES projects (id) ON DELETE CASCADE,
    domain_id   TEXT    REFERENCES domains (id) ON DELETE CASCADE,
    inherited   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id, inherited),
    CHECK ((actor_type = 'user' AND user_id = actor_id AND group_id IS NULL)
        OR (actor_type = 'group' AND group_id = actor_id AND user_id IS NULL)),
    CHECK ((target_type = 'project' AND project_id = target_id AND domain_id IS NULL)
        OR (target_type = 'domain' AND domain_id = target_id AND project_id IS NULL)
        OR (target_type = 'system' AND target_id = 'all' AND project_id IS NULL AND domain_id IS NULL)),
    CHECK (NOT inherited OR target_type <> 'system')
);

INSERT INTO assignments_v12 (actor_type, actor_id, target_type, target_id, role_id,
                             user_id, group_id, project_id, domain_id, inherited)
SELECT actor_type, actor_id, target_type, target_id, role_id,
       user_id, group_id, project_id, domain_id, FALSE
FROM assignments;

DROP TABLE assignments;
ALTER TABLE assignments_v12 RENAME TO assignments;

CREATE INDEX assignments_role ON assignments (role_id);
CREATE INDEX assignments_user ON assignments (user_id);
CREATE INDEX assignments_group ON assignments (group_id);
CREATE INDEX assignments_project ON assignments (project_id);
CREATE INDEX assignments_domain ON assignments (domain_id);

-- Version 12: Keystone's OS-INHERIT. An assignment marked `inherited` is
-- not held on its target but on every project below it: on a domain, every
-- project of the domain; on a project, every project of its subtree. A
-- direct and an inherited grant of the same role to the same actor on the
-- same target are two assignments (Keystone's `inherited` column is part of
-- its key too), so the flag joins the primary key. There is no inherited
-- grant on the system.
--
-- Unlike the versions before it, this one changes the key: a node of an
-- earlier build keeps working against it (its inserts are direct grants,
-- by the column's default), but would read an inherited grant as a direct
-- one and revoke both of a pair at once. Grant inherited roles only once
-- every node runs a build that knows this version.
ALTER TABLE assignments ADD COLUMN inherited BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE assignments DROP CONSTRAINT assignments_pkey;
ALTER TABLE assignments
    ADD PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id, inherited);
ALTER TABLE assignments
    ADD CONSTRAINT assignments_no_inherited_system CHECK (NOT inherited OR target_type <> 'system');

-- Version 6: implied roles, Keystone's `implied_role` table. A rule says
-- that whoever holds the prior role on a scope also holds the implied one
-- there (bootstrap creates admin -> manager -> member -> reader).
--
-- Deleting either role deletes its rules (the cascades), and every change
-- moves the token revision in the same transaction, since rules change the
-- roles of tokens. The store refuses a rule that would close a cycle or
-- make too long a chain, reading the rules inside the inserting
-- transaction. Numbered 6 so that versions 4 and 5 stay free for the
-- changes developed beside it.
CREATE TABLE implied_roles (
    prior_role_id   TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    implied_role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (prior_role_id, implied_role_id)
);

-- The cascade from the implied side looks rules up by the implied role.
CREATE INDEX implied_roles_implied ON implied_roles (implied_role_id);

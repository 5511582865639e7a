-- Version 3: the token revision, a counter every write that can change the
-- outcome or the body of a token validation increments in the same
-- transaction (users, projects, domains, groups, roles, assignments,
-- application credentials, the catalog, revocation events).
--
-- Nodes cache validated tokens and serve a cached result only while the
-- revision they read at the start of the request equals the one the entry
-- was computed under, so a change committed on any node is seen by every
-- node's next validation. Numbered 3 so that version 2 stays free for the
-- event-handler tables developed beside it.
CREATE TABLE token_revision (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    value BIGINT  NOT NULL
);

INSERT INTO token_revision (id, value) VALUES (1, 0);

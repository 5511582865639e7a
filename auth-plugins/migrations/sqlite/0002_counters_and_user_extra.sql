-- Version 2: what the event handlers need.
--
-- Only adds, like every version after the first, so that nodes of the
-- previous build keep working against a migrated database (they never
-- read the new column, and their inserts get its default).

-- Free-form user attributes (Keystone's `extra`: email, description, …),
-- one JSON object as TEXT.
ALTER TABLE users ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';

-- Named counters shared by every node. Changed only by single
-- `INSERT … ON CONFLICT DO UPDATE … RETURNING` statements, which are atomic
-- on both databases.
CREATE TABLE counters (
    name  TEXT   NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL DEFAULT 0
);

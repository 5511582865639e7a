-- Version 7: what the Orthanc authorization door keeps, so that every node
-- on one database answers the plugin alike.
--
-- `settings` holds JSON values by key; the door keeps the Orthanc role map
-- there (`PUT settings/roles`), which wins over the configuration file's.
-- Replacing a value moves the token revision in the same transaction,
-- since the role map decides what tokens may do.
--
-- `share_tokens` holds the links the plugin asks for (`PUT tokens/{type}`).
-- Only the SHA-256 digest of the token string is kept (lowercase hex,
-- unique), so a dump of this table grants nothing; `resources` is the
-- plugin's JSON list of shared resources. Deleting a token moves the token
-- revision; expired ones are pruned by `expires_at` (NULL: never expires).
CREATE TABLE settings (
    key        TEXT   NOT NULL PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE share_tokens (
    id         TEXT   NOT NULL PRIMARY KEY,
    digest     TEXT   NOT NULL UNIQUE,
    token_type TEXT   NOT NULL,
    resources  TEXT   NOT NULL,
    server_id  TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

-- Pruning finds expired tokens by expiry.
CREATE INDEX share_tokens_expires_at ON share_tokens (expires_at);

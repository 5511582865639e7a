-- Version 14: OAuth1 (OS-OAUTH1) request and access tokens, and the nonces
-- their signed requests used. Consumers are documents (collection
-- `oauth1_consumer`), so consumer_id has no foreign key: deleting a
-- consumer deletes its tokens in the same service call. Secrets are sealed
-- with the credential key set under `oauth1-request-token:<id>` /
-- `oauth1-access-token:<id>` (they key HMAC-SHA1 signatures, so they cannot
-- be hashed); a verifier is kept as its SHA-256. role_ids is a JSON array.
-- Times are unix microseconds; a NULL expires_at never expires.
CREATE TABLE oauth1_request_tokens (
    id                  TEXT   NOT NULL PRIMARY KEY,
    secret_sealed       TEXT   NOT NULL,
    consumer_id         TEXT   NOT NULL,
    project_id          TEXT   NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    expires_at          BIGINT,
    authorizing_user_id TEXT   REFERENCES users (id) ON DELETE CASCADE,
    role_ids            TEXT   NOT NULL DEFAULT '[]',
    verifier_hash       TEXT
);
CREATE INDEX oauth1_request_tokens_by_consumer ON oauth1_request_tokens (consumer_id);

CREATE TABLE oauth1_access_tokens (
    id                  TEXT   NOT NULL PRIMARY KEY,
    secret_sealed       TEXT   NOT NULL,
    consumer_id         TEXT   NOT NULL,
    authorizing_user_id TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id          TEXT   NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role_ids            TEXT   NOT NULL,
    expires_at          BIGINT
);
CREATE INDEX oauth1_access_tokens_by_user ON oauth1_access_tokens (authorizing_user_id);
CREATE INDEX oauth1_access_tokens_by_consumer ON oauth1_access_tokens (consumer_id);

-- A nonce is kept until the end of its request's timestamp window, so a
-- replay within the window is refused on every node.
CREATE TABLE oauth1_nonces (
    consumer_id TEXT   NOT NULL,
    nonce       TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (consumer_id, nonce)
);
CREATE INDEX oauth1_nonces_expires ON oauth1_nonces (expires_at);

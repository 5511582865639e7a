-- Version 10: JSON documents the server keeps for the Keystone API but does
-- not interpret: the policy blobs of `/v3/policies` (collection `policy`)
-- and domain-specific configuration (`/v3/domains/{d}/config`, collection
-- `domain_config`, one per domain, by domain id). None changes a token, so
-- writes do not move the token revision.
CREATE TABLE documents (
    collection TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (collection, id)
);

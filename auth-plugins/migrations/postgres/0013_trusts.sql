-- Version 13: trusts (Keystone's OS-TRUST). A trust goes with its trustor,
-- its trustee and its project (Keystone deletes the trusts of a deleted
-- user or project), and with the trust it was redelegated from (Keystone
-- deletes a trust's redelegated trusts with it). The delegated roles are
-- kept by id without a foreign key, as Keystone keeps them: a role deleted
-- since is no longer held by the trustor, which invalidates the trust's
-- tokens, and the trust shows the roles that still exist.
CREATE TABLE trusts (
    id                   TEXT    NOT NULL PRIMARY KEY,
    trustor_user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    trustee_user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id           TEXT    REFERENCES projects (id) ON DELETE CASCADE,
    impersonation        BOOLEAN NOT NULL,
    expires_at           BIGINT,
    remaining_uses       BIGINT,
    redelegated_trust_id TEXT    REFERENCES trusts (id) ON DELETE CASCADE,
    redelegation_count   BIGINT  NOT NULL DEFAULT 0,
    created_at           BIGINT  NOT NULL,
    -- Keystone's duplicate_trust_constraint.
    UNIQUE (trustor_user_id, trustee_user_id, project_id, impersonation, expires_at)
);

CREATE INDEX trusts_by_trustee ON trusts (trustee_user_id);
CREATE INDEX trusts_by_project ON trusts (project_id);
CREATE INDEX trusts_by_parent ON trusts (redelegated_trust_id);

CREATE TABLE trust_roles (
    trust_id TEXT   NOT NULL REFERENCES trusts (id) ON DELETE CASCADE,
    role_id  TEXT   NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (trust_id, role_id)
);

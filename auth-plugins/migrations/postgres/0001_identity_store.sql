-- Version 1 of the identity store, PostgreSQL dialect (also for
-- PostgreSQL-compatible distributed engines: no extensions, no triggers, no
-- functions, no sequences beyond identity columns).
--
-- The SQLite file of the same version describes the same tables, columns,
-- keys and indexes; only type names and the audit/revocation id columns
-- differ. Later versions only add (columns, tables, indexes), so that nodes
-- of the previous version keep working against a migrated database.
--
-- Conventions: ids are TEXT chosen by the caller; times are BIGINT unix
-- microseconds UTC (one portable representation for both drivers); JSON
-- values are TEXT; booleans are BOOLEAN.

CREATE TABLE domains (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE projects (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    domain_id   TEXT    NOT NULL REFERENCES domains (id),
    description TEXT    NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (domain_id, name)
);

-- The lockout bookkeeping lives on the user row: one UPDATE increments it
-- atomically, and `password_seq` serialises concurrent password changes.
CREATE TABLE users (
    id                 TEXT    NOT NULL PRIMARY KEY,
    name               TEXT    NOT NULL,
    domain_id          TEXT    NOT NULL REFERENCES domains (id),
    enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    default_project_id TEXT    REFERENCES projects (id) ON DELETE SET NULL,
    options            TEXT    NOT NULL DEFAULT '{}',
    failed_auth_count  BIGINT  NOT NULL DEFAULT 0,
    failed_auth_at     BIGINT,
    last_active_at     BIGINT,
    password_seq       BIGINT  NOT NULL DEFAULT 0,
    created_at         BIGINT  NOT NULL,
    UNIQUE (domain_id, name)
);
CREATE INDEX users_default_project ON users (default_project_id);

-- Every password a user had; the current one has the highest seq.
CREATE TABLE passwords (
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq          BIGINT  NOT NULL,
    hash         TEXT    NOT NULL CHECK (hash <> ''),
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    self_service BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, seq)
);

CREATE TABLE groups (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL REFERENCES domains (id),
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (domain_id, name)
);

CREATE TABLE group_members (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_members_group ON group_members (group_id);

-- A NULL domain_id is a global role; NULLs never collide in a UNIQUE
-- constraint, hence two partial indexes.
CREATE TABLE roles (
    id        TEXT NOT NULL PRIMARY KEY,
    name      TEXT NOT NULL,
    domain_id TEXT REFERENCES domains (id)
);
CREATE UNIQUE INDEX roles_global_name ON roles (name) WHERE domain_id IS NULL;
CREATE UNIQUE INDEX roles_domain_name ON roles (domain_id, name) WHERE domain_id IS NOT NULL;

-- (actor, target, role) is the key and what the hot query reads. The typed
-- columns repeat the actor and target so that foreign keys validate them and
-- deleting a user, group, project, domain or role cascades; the CHECKs keep
-- the two in step. A system assignment has target ('system', 'all').
CREATE TABLE assignments (
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('user', 'group')),
    actor_id    TEXT NOT NULL,
    target_type TEXT NOT NULL CHECK (target_type IN ('project', 'domain', 'system')),
    target_id   TEXT NOT NULL,
    role_id     TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    group_id    TEXT REFERENCES groups (id) ON DELETE CASCADE,
    project_id  TEXT REFERENCES projects (id) ON DELETE CASCADE,
    domain_id   TEXT REFERENCES domains (id) ON DELETE CASCADE,
    PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id),
    CHECK ((actor_type = 'user' AND user_id = actor_id AND group_id IS NULL)
        OR (actor_type = 'group' AND group_id = actor_id AND user_id IS NULL)),
    CHECK ((target_type = 'project' AND project_id = target_id AND domain_id IS NULL)
        OR (target_type = 'domain' AND domain_id = target_id AND project_id IS NULL)
        OR (target_type = 'system' AND target_id = 'all' AND project_id IS NULL AND domain_id IS NULL))
);
CREATE INDEX assignments_role ON assignments (role_id);
CREATE INDEX assignments_user ON assignments (user_id);
CREATE INDEX assignments_group ON assignments (group_id);
CREATE INDEX assignments_project ON assignments (project_id);
CREATE INDEX assignments_domain ON assignments (domain_id);

-- sealed_blob is the credential sealed with the credential key set under the
-- purpose `credential:<id>`; the clear blob is never stored.
CREATE TABLE credentials (
    id          TEXT   NOT NULL PRIMARY KEY,
    user_id     TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT   NOT NULL,
    project_id  TEXT,
    sealed_blob BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX credentials_user_kind ON credentials (user_id, kind);

-- One row per accepted one-time passcode: the primary key makes a replay
-- lose the insert race on every node.
CREATE TABLE used_passcodes (
    credential_id TEXT   NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    step          BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (credential_id, step)
);
CREATE INDEX used_passcodes_expires ON used_passcodes (expires_at);

-- project_id has no foreign key: deleting a project deletes its assignments
-- and nothing else; an application credential whose owner lost the project
-- fails at authentication, where the roles are checked again.
CREATE TABLE application_credentials (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    project_id   TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL CHECK (secret_hash <> ''),
    expires_at   BIGINT,
    unrestricted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT  NOT NULL,
    UNIQUE (user_id, name)
);

-- The delegated roles as they were when delegated (id and name); position
-- keeps the caller's order.
CREATE TABLE application_credential_roles (
    application_credential_id TEXT   NOT NULL REFERENCES application_credentials (id) ON DELETE CASCADE,
    role_id                   TEXT   NOT NULL,
    role_name                 TEXT   NOT NULL,
    position                  BIGINT NOT NULL,
    PRIMARY KEY (application_credential_id, role_id)
);

CREATE TABLE application_credential_access_rules (
    application_credential_id TEXT   NOT NULL REFERENCES application_credentials (id) ON DELETE CASCADE,
    id                        TEXT   NOT NULL,
    service                   TEXT   NOT NULL,
    path                      TEXT   NOT NULL,
    method                    TEXT   NOT NULL,
    position                  BIGINT NOT NULL,
    PRIMARY KEY (application_credential_id, id)
);

CREATE TABLE services (
    id      TEXT    NOT NULL PRIMARY KEY,
    kind    TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE endpoints (
    id         TEXT    NOT NULL PRIMARY KEY,
    service_id TEXT    NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    interface  TEXT    NOT NULL CHECK (interface IN ('public', 'internal', 'admin')),
    region     TEXT,
    url        TEXT    NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX endpoints_service ON endpoints (service_id);

-- No foreign keys: an event outlives the user or project it names.
CREATE TABLE revocation_events (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    audit_id       TEXT,
    audit_chain_id TEXT,
    user_id        TEXT,
    project_id     TEXT,
    domain_id      TEXT,
    role_id        TEXT,
    issued_before  BIGINT NOT NULL,
    revoked_at     BIGINT NOT NULL
);
CREATE INDEX revocation_events_revoked_at ON revocation_events (revoked_at);

-- version is the optimistic-concurrency counter of save_key_set.
CREATE TABLE key_sets (
    purpose    TEXT   NOT NULL PRIMARY KEY,
    material   TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Ids only increase (an identity column), which is what
-- before_id pagination relies on. No foreign keys: the log outlives users.
CREATE TABLE audit_log (
    id          BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('call', 'handler')),
    event       TEXT    NOT NULL,
    success     BOOLEAN NOT NULL,
    duration_us BIGINT,
    client_addr TEXT,
    user_id     TEXT,
    project_id  TEXT,
    request_id  TEXT,
    detail      TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_event ON audit_log (event, id);

CREATE TABLE handler_bindings (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    events         TEXT    NOT NULL,
    module         TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    options        TEXT    NOT NULL DEFAULT '{}',
    conditions     TEXT    NOT NULL DEFAULT '[]',
    position       TEXT    NOT NULL CHECK (position IN ('pre', 'post')),
    ordering       BIGINT  NOT NULL DEFAULT 0,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    abort_on_error BOOLEAN NOT NULL DEFAULT FALSE
);

-- Version 11: access rules belong to their user, as in Keystone, and are
-- shared by that user's application credentials: a rule asked for again
-- (same service, path and method) is the same rule, it outlives the
-- credentials that named it, and it can be deleted only when none does.
-- The rules of existing credentials become their users' rules.
CREATE TABLE access_rules (
    id      TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    path    TEXT NOT NULL,
    method  TEXT NOT NULL
);

CREATE INDEX access_rules_by_user ON access_rules (user_id);

INSERT INTO access_rules (id, user_id, service, path, method)
SELECT r.id, c.user_id, r.service, r.path, r.method
FROM application_credential_access_rules r
JOIN application_credentials c ON c.id = r.application_credential_id
ON CONFLICT (id) DO NOTHING;

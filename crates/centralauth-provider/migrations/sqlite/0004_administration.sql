-- Administration (issue #3): keys for prefix search by name, indexes for filtered keyset pages,
-- delegated administrators, and API tokens (stored as SHA-256 digests).
-- Mirrors migrations/postgres/0004_administration.sql.

ALTER TABLE users ADD COLUMN first_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_name_key TEXT NOT NULL DEFAULT '';
UPDATE users SET first_name_key = lower(first_name), last_name_key = lower(last_name);
CREATE INDEX users_first_name_key ON users (first_name_key);
CREATE INDEX users_last_name_key ON users (last_name_key);
CREATE INDEX users_admin_username ON users (is_admin, username_key);
CREATE INDEX users_active_username ON users (is_active, username_key);

-- An administrator limited to these applications (users.is_admin is the unlimited one).
CREATE TABLE application_admins (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, application_id)
);
CREATE INDEX application_admins_application ON application_admins (application_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_digest BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

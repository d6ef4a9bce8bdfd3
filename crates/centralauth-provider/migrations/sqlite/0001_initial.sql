-- The data model of DESIGN §2 plus grants, sessions, throttling and audit.
-- Mirrors migrations/postgres/0001_initial.sql; secrets are stored only as SHA-256 digests.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    email_key TEXT NOT NULL DEFAULT '',
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    date_joined BIGINT NOT NULL,
    last_login BIGINT
);
CREATE INDEX users_email_key ON users (email_key);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    client_secret_digest BLOB NOT NULL,
    redirect_uris TEXT NOT NULL,
    redirect_uri_match TEXT NOT NULL,
    pkce TEXT NOT NULL,
    access_token_lifetime BIGINT NOT NULL,
    refresh_token_lifetime BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    app_label TEXT NOT NULL,
    codename TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (application_id, app_label, codename)
);

CREATE TABLE permission_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    UNIQUE (application_id, name)
);

CREATE TABLE group_permissions (
    group_id BIGINT NOT NULL REFERENCES permission_groups (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, permission_id)
);
CREATE INDEX group_permissions_permission ON group_permissions (permission_id);

CREATE TABLE memberships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    is_staff BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (application_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE membership_permissions (
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (membership_id, permission_id)
);
CREATE INDEX membership_permissions_permission ON membership_permissions (permission_id);

CREATE TABLE membership_groups (
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES permission_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (membership_id, group_id)
);
CREATE INDEX membership_groups_group ON membership_groups (group_id);

CREATE TABLE token_families (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX token_families_expires ON token_families (expires_at);
CREATE INDEX token_families_user ON token_families (user_id);

CREATE TABLE authorization_codes (
    code_digest BLOB PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    family_id BIGINT
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE access_tokens (
    token_digest BLOB PRIMARY KEY,
    family_id BIGINT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_family ON access_tokens (family_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    token_digest BLOB PRIMARY KEY,
    family_id BIGINT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    access_token_digest BLOB NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_rotated ON refresh_tokens (rotated_at);

CREATE TABLE sessions (
    id_digest BLOB PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    throttle_key TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (throttle_key, failed_at);
CREATE INDEX login_failures_at ON login_failures (failed_at);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    application_id BIGINT,
    user_id BIGINT,
    target TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, at);
CREATE INDEX audit_events_application ON audit_events (application_id, at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);

-- Strong sign-in (#15): second factors, recovery codes, sign-ins between their steps and WebAuthn
-- ceremonies, what each session has proven, and the applications' policies.
-- Mirrors migrations/postgres/0011_strong_sign_in.sql.

-- The authentication methods the session has proven (RFC 8176 `amr` values, space-separated, in
-- the order they were proven); sessions from before this migration proved a password.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- A user's second factors and passkeys.
CREATE TABLE user_factors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'totp' or 'passkey'
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    -- TOTP: the shared secret sealed with the master key (never in plain text).
    sealed_secret BLOB,
    -- TOTP: the last time step accepted, so that no code is accepted twice.
    last_step BIGINT NOT NULL DEFAULT 0,
    -- Passkey: the credential id, and webauthn-rs's credential (public key, sign counter,
    -- backup flags) as JSON; neither is a secret.
    credential_id BLOB UNIQUE,
    credential TEXT
);
CREATE INDEX user_factors_user ON user_factors (user_id);

-- Single-use recovery codes, as digests.
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, digest)
);

-- A sign-in between its steps, a step-up, a TOTP enrolment before its first code, or a WebAuthn
-- ceremony: keyed by the digest of a random value held in the browser, short-lived, single-use.
CREATE TABLE sign_in_flows (
    id_digest BLOB PRIMARY KEY,
    -- 'second_step', 'totp_enrolment', 'passkey_registration', 'passkey_authentication'
    purpose TEXT NOT NULL,
    -- NULL for a passkey sign-in that does not know its user until the passkey names it.
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    -- The methods proven so far (RFC 8176 values, space-separated).
    amr TEXT NOT NULL DEFAULT '',
    -- What the purpose needs to carry (a ceremony's state as JSON, a sealed TOTP secret, ...).
    state TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sign_in_flows_expires ON sign_in_flows (expires_at);

-- An application's sign-in policy, checked at authorization.
ALTER TABLE applications ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE applications ADD COLUMN require_passkey BOOLEAN NOT NULL DEFAULT FALSE;

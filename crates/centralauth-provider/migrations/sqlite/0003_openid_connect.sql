-- OpenID Connect (issue #5): signing keys kept in the database so that every instance signs
-- with the same keys, the provider session's public id (`sid`) and the request's `nonce`
-- carried from the authorization request to the id_token, logout settings of applications,
-- and the outbox of back-channel deliveries (logout tokens and access-change events).
-- Mirrors migrations/postgres/0003_openid_connect.sql.

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    -- The private key, sealed with the master key (AES-256-GCM: nonce || ciphertext).
    sealed_private_key BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Set at rotation: the key no longer signs, and leaves the JWKS at expires_at.
    retired_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX signing_keys_algorithm ON signing_keys (algorithm, created_at);

ALTER TABLE sessions ADD COLUMN sid TEXT;
CREATE INDEX sessions_sid ON sessions (sid);

ALTER TABLE authorization_codes ADD COLUMN nonce TEXT;
ALTER TABLE authorization_codes ADD COLUMN sid TEXT;
ALTER TABLE token_families ADD COLUMN sid TEXT;
CREATE INDEX token_families_sid ON token_families (sid);

ALTER TABLE applications ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN id_token_signing_alg TEXT NOT NULL DEFAULT 'RS256';

CREATE TABLE event_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    sid TEXT,
    jti TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT
);
CREATE INDEX event_deliveries_due ON event_deliveries (next_attempt_at);
CREATE INDEX event_deliveries_application ON event_deliveries (application_id, id);

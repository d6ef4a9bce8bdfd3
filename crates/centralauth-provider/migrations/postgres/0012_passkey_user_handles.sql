-- Passkeys (#15): the WebAuthn user handle of each user who has registered a passkey. A random
-- value (WebAuthn §14.6.1: no personal data in it, the user's id included), made at the first
-- registration and never changed: authenticators store it with the credential and return it at
-- a passwordless sign-in, which finds the user by it. Mirrors migrations/sqlite/0012_passkey_user_handles.sql.
CREATE TABLE passkey_user_handles (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- 16 random bytes (webauthn-rs takes the handle as a UUID).
    handle BYTEA NOT NULL UNIQUE
);

-- API tokens get an expiry, a last-used time and an optional scope (#13 finding 7).
-- Existing tokens keep working as before: no expiry (NULL), full scope.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
-- Whether the token is limited to the applications listed in api_token_applications; kept
-- apart from the list so that a token whose applications were all deleted reaches nothing
-- rather than everything.
ALTER TABLE api_tokens ADD COLUMN application_scoped BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE api_token_applications (
    token_id BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, application_id)
);
CREATE INDEX api_token_applications_application ON api_token_applications (application_id);

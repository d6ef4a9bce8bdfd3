-- What the sign-in behind a grant proved (RFC 8176 `amr` values, space-separated, as
-- sessions.amr holds them), carried from the authorization code to the token family like
-- auth_time and sid, so that the id_token of the code exchange and of every refresh carries the
-- original authentication's `amr` and `acr` (OpenID Connect Core §2, §12.2). `acr` is derived
-- from it. Codes and families from before this migration came from password sign-ins.
-- Mirrors migrations/sqlite/0013_authentication_methods.sql.
ALTER TABLE authorization_codes ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE token_families ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

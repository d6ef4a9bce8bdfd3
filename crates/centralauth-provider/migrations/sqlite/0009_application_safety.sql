-- Secure defaults for new applications (issue #13): two per-application allowances, both off
-- for applications created from now on. Applications that exist keep answering introspection
-- by GET, as every application did before, so that nothing breaks on upgrade; an administrator
-- turns it off per application. Redirect URIs registered before keep working whatever the
-- allowance says (the rules apply to URIs registered from now on).
-- Mirrors migrations/postgres/0009_application_safety.sql.

-- Plain http redirect URIs to hosts other than loopback (a test environment).
ALTER TABLE applications ADD COLUMN allow_insecure_redirect_uris BOOLEAN NOT NULL DEFAULT FALSE;
-- Introspection by GET ?token= (django-centralauth compatibility; RFC 7662 says POST).
ALTER TABLE applications ADD COLUMN allow_introspection_get BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE applications SET allow_introspection_get = TRUE;

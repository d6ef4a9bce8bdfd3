-- A counter that every change of what `/user/` and userinfo answer, and of an application,
-- moves on, in the changing transaction itself: the provider keeps those answers and the
-- applications (for client authentication) in memory while it is unchanged
-- (src/store/epoch_cache.rs). Triggers, so that no write path (console, API, CLI, import, a
-- cascade) can forget it; once per statement, so that a bulk change costs one update.
-- Mirrors migrations/sqlite/0005_hot_paths.sql.

CREATE TABLE cache_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO cache_epoch (id, epoch) VALUES (1, 1);

CREATE FUNCTION cache_epoch_advance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_epoch SET epoch = epoch + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_view_update AFTER UPDATE OF username, email, first_name, last_name, is_active ON users
    FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();
CREATE TRIGGER users_view_delete AFTER DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();
CREATE TRIGGER memberships_view AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();
CREATE TRIGGER membership_permissions_view AFTER INSERT OR DELETE ON membership_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();
CREATE TRIGGER membership_groups_view AFTER INSERT OR DELETE ON membership_groups
    FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();
CREATE TRIGGER group_permissions_view AFTER INSERT OR DELETE ON group_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();
CREATE TRIGGER applications_cache AFTER INSERT OR UPDATE OR DELETE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();
-- A new permission is in nobody's answer until it is granted (a link row above).
CREATE TRIGGER permissions_view_update AFTER UPDATE OF app_label, codename ON permissions
    FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();
CREATE TRIGGER permissions_view_delete AFTER DELETE ON permissions FOR EACH STATEMENT EXECUTE FUNCTION cache_epoch_advance();

-- No statement looks refresh tokens up by expiry (they go with their family, or when rotated),
-- and every refresh grant inserts one: the index only cost a page write per grant.
DROP INDEX refresh_tokens_expires;

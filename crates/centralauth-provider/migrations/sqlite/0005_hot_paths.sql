-- A counter that every change of what `/user/` and userinfo answer, and of an application,
-- moves on, in the changing transaction itself: the provider keeps those answers and the
-- applications (for client authentication) in memory while it is unchanged
-- (src/store/epoch_cache.rs). Triggers, so that no write path (console, API, CLI, import, a
-- cascade) can forget it. Mirrors migrations/postgres/0005_hot_paths.sql, which fires once per
-- statement; SQLite only has row triggers.

CREATE TABLE cache_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO cache_epoch (id, epoch) VALUES (1, 1);

CREATE TRIGGER users_view_update AFTER UPDATE OF username, email, first_name, last_name, is_active ON users
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER users_view_delete AFTER DELETE ON users
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER memberships_view_insert AFTER INSERT ON memberships
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER memberships_view_update AFTER UPDATE ON memberships
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER memberships_view_delete AFTER DELETE ON memberships
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER membership_permissions_view_insert AFTER INSERT ON membership_permissions
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER membership_permissions_view_delete AFTER DELETE ON membership_permissions
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER membership_groups_view_insert AFTER INSERT ON membership_groups
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER membership_groups_view_delete AFTER DELETE ON membership_groups
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER group_permissions_view_insert AFTER INSERT ON group_permissions
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER group_permissions_view_delete AFTER DELETE ON group_permissions
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER applications_cache_insert AFTER INSERT ON applications
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER applications_cache_update AFTER UPDATE ON applications
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER applications_cache_delete AFTER DELETE ON applications
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;

-- A new permission is in nobody's answer until it is granted (a link row above).
CREATE TRIGGER permissions_view_update AFTER UPDATE OF app_label, codename ON permissions
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER permissions_view_delete AFTER DELETE ON permissions
BEGIN UPDATE cache_epoch SET epoch = epoch + 1; END;

-- No statement looks refresh tokens up by expiry (they go with their family, or when rotated),
-- and every refresh grant inserts one: the index only cost a page write per grant.
DROP INDEX refresh_tokens_expires;

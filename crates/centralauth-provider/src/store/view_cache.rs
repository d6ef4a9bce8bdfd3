//! What `/user/` and userinfo answer — a user as one application sees them — kept in memory
//! while the database's view epoch stands still. The epoch is a counter that triggers move on
//! in every transaction that changes such an answer (migrations 0005), and it is read in the
//! same statement as the access token, before the view itself: an entry is used only when it
//! was loaded at the epoch the database has now, so a change is seen by the next request after
//! its commit, by every provider instance on the database, whichever process made it.

use std::sync::Arc;

use super::MembershipView;
use crate::domain::application::ApplicationId;
use crate::domain::user::UserId;

/// Entries, one per (application, user): about 2 KiB each with 20 permissions.
const CAPACITY: usize = 10_000;

#[derive(Clone)]
struct Entry {
    epoch: i64,
    /// `None`: the user has no membership in the application.
    view: Option<Arc<MembershipView>>,
}

pub struct ViewCache {
    entries: quick_cache::sync::Cache<(ApplicationId, UserId), Entry>,
}

impl Default for ViewCache {
    fn default() -> Self {
        Self { entries: quick_cache::sync::Cache::new(CAPACITY) }
    }
}

impl ViewCache {
    /// The view loaded at `epoch`; `None` when there is none or it is from another epoch.
    pub fn get(&self, epoch: i64, app: ApplicationId, user: UserId) -> Option<Option<Arc<MembershipView>>> {
        self.entries.get(&(app, user)).filter(|entry| entry.epoch == epoch).map(|entry| entry.view)
    }

    /// Keeps a view read after the database's epoch was `epoch`.
    pub fn insert(&self, epoch: i64, app: ApplicationId, user: UserId, view: Option<Arc<MembershipView>>) {
        self.entries.insert((app, user), Entry { epoch, view });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::membership::MembershipFlags;
    use crate::domain::user::{Role, User};

    fn view(username: &str) -> Option<Arc<MembershipView>> {
        let user = User {
            id: UserId(7),
            username: username.into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            role: Role::User,
            date_joined: 0,
            last_login: None,
            password_hash: None,
        };
        Some(Arc::new(MembershipView { user, flags: MembershipFlags::default(), permissions: vec![] }))
    }

    #[test]
    fn an_entry_serves_only_its_own_epoch() {
        let cache = ViewCache::default();
        let (app, user) = (ApplicationId(1), UserId(7));
        assert!(cache.get(3, app, user).is_none());
        cache.insert(3, app, user, view("before"));
        assert_eq!(cache.get(3, app, user).unwrap().unwrap().user.username, "before");
        // The database moved on: the entry is stale, also for a reader that saw an older epoch.
        assert!(cache.get(4, app, user).is_none());
        assert!(cache.get(2, app, user).is_none());
        cache.insert(4, app, user, None);
        assert!(cache.get(4, app, user).unwrap().is_none(), "no membership is remembered too");
        assert!(cache.get(4, ApplicationId(2), user).is_none());
    }
}

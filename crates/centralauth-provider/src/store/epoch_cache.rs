//! Answers of the hot paths kept in memory while the database's cache epoch stands still: a
//! user as one application sees them (`/user/`, userinfo) and the applications (client
//! authentication). The epoch is a counter that triggers move on in every transaction that
//! changes such an answer (migrations 0005). A reader reads the epoch before the data it
//! caches, and an entry is used only when it was loaded at the epoch the database has now: a
//! change is seen by the next request after its commit, by every provider instance on the
//! database, whichever process made it.

use std::hash::Hash;
use std::sync::Arc;

use crate::domain::ports::MembershipView;
use crate::domain::application::{Application, ApplicationId};
use crate::domain::user::UserId;

/// A user's view per (application, user); `None`: no membership. About 2 KiB each with 20
/// permissions.
pub type ViewCache = EpochCache<(ApplicationId, UserId), Option<Arc<MembershipView>>>;

/// Applications by client id; `None`: no such client.
pub type ApplicationCache = EpochCache<String, Option<Arc<Application>>>;

/// Entries per cache.
const CAPACITY: usize = 10_000;

pub struct EpochCache<K, V> {
    entries: quick_cache::sync::Cache<K, (i64, V)>,
}

impl<K: Eq + Hash + Clone, V: Clone> Default for EpochCache<K, V> {
    fn default() -> Self {
        Self { entries: quick_cache::sync::Cache::new(CAPACITY) }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> EpochCache<K, V> {
    /// The value loaded at `epoch`; `None` when there is none or it is from another epoch.
    pub fn get(&self, epoch: i64, key: &K) -> Option<V> {
        self.entries.get(key).filter(|(loaded_at, _)| *loaded_at == epoch).map(|(_, value)| value)
    }

    /// Keeps a value read after the database's epoch was `epoch`.
    pub fn insert(&self, epoch: i64, key: K, value: V) {
        self.entries.insert(key, (epoch, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_serves_only_its_own_epoch() {
        let cache: EpochCache<(i64, i64), Option<&str>> = EpochCache::default();
        assert!(cache.get(3, &(1, 7)).is_none());
        cache.insert(3, (1, 7), Some("before"));
        assert_eq!(cache.get(3, &(1, 7)), Some(Some("before")));
        // The database moved on: the entry is stale, also for a reader that saw an older epoch.
        assert!(cache.get(4, &(1, 7)).is_none());
        assert!(cache.get(2, &(1, 7)).is_none());
        cache.insert(4, (1, 7), None);
        assert_eq!(cache.get(4, &(1, 7)), Some(None), "an absence is remembered too");
        assert!(cache.get(4, &(2, 7)).is_none());
    }
}

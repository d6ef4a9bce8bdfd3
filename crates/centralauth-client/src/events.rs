//! What the provider's back-channel said about each user, kept until the user's sessions act on
//! it: the receiver ([`crate::CentralAuth::backchannel_router`]) records, the [`crate::SyncLayer`]
//! reads on every request of a signed-in user.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::SystemTime;

/// The error an [`AccessEvents`] implementation may return. Recording fails the delivery with a
/// 503 (the provider delivers again later); reading fails the user's request with a 500.
pub type EventsError = Box<dyn std::error::Error + Send + Sync>;

/// A future returned by [`AccessEvents`].
pub type EventsFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, EventsError>> + Send + 'a>>;

/// One kind of back-channel event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessEvent {
    /// A back-channel logout token: the user signed out at the provider, or their account or
    /// membership in this application was deactivated or removed. Every session of the user
    /// that signed in before it ends.
    LoggedOut,
    /// An access-changed security event: the user's flags, groups or permissions here changed.
    /// Every session of the user syncs with the provider at its next request.
    AccessChanged,
}

/// What happened to one user (by the provider's `sub`), as the times this application received
/// the events: the latest of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubjectEvents {
    /// Sessions of the user that signed in at or before this time end.
    pub logged_out_at: Option<SystemTime>,
    /// Sessions of the user that last synced at or before this time sync again.
    pub access_changed_at: Option<SystemTime>,
}

impl SubjectEvents {
    /// Takes in one event, keeping the later time per kind (for implementations of
    /// [`AccessEvents`]).
    pub fn merge(&mut self, event: AccessEvent, at: SystemTime) {
        let slot = match event {
            AccessEvent::LoggedOut => &mut self.logged_out_at,
            AccessEvent::AccessChanged => &mut self.access_changed_at,
        };
        if slot.is_none_or(|previous| previous < at) {
            *slot = Some(at);
        }
    }
}

/// Where the client keeps back-channel events, keyed by the provider's `sub`.
///
/// The default, [`MemoryAccessEvents`], lives in the process. A deployment with several
/// instances of the application behind a load balancer needs every instance to see every
/// event (the provider delivers each one to one instance only): it plugs in an implementation
/// backed by its shared database or cache with [`crate::CentralAuthBuilder::access_events`].
/// [`AccessEvents::get`] is called on every request of a signed-in user, so it should be cheap.
pub trait AccessEvents: Send + Sync + 'static {
    /// Records that `event` about `sub` arrived at `at`; a later time of the same kind replaces
    /// an earlier one, an earlier one is ignored (see [`SubjectEvents::merge`]).
    fn record<'a>(&'a self, sub: &'a str, event: AccessEvent, at: SystemTime) -> EventsFuture<'a, ()>;

    /// The events recorded about `sub` (empty when there are none).
    fn get<'a>(&'a self, sub: &'a str) -> EventsFuture<'a, SubjectEvents>;
}

/// The default [`AccessEvents`]: a map in this process's memory, one small entry per user who
/// ever got an event (never pruned: a logout must keep ending sessions that signed in before it,
/// however long they live). Per process: with several instances of the application, use a
/// shared implementation instead.
#[derive(Debug, Default)]
pub struct MemoryAccessEvents {
    subjects: Mutex<HashMap<String, SubjectEvents>>,
}

impl MemoryAccessEvents {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SubjectEvents>> {
        self.subjects.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl AccessEvents for MemoryAccessEvents {
    fn record<'a>(&'a self, sub: &'a str, event: AccessEvent, at: SystemTime) -> EventsFuture<'a, ()> {
        self.lock().entry(sub.to_string()).or_default().merge(event, at);
        Box::pin(std::future::ready(Ok(())))
    }

    fn get<'a>(&'a self, sub: &'a str) -> EventsFuture<'a, SubjectEvents> {
        let events = self.lock().get(sub).copied().unwrap_or_default();
        Box::pin(std::future::ready(Ok(events)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_latest_event_of_each_kind_is_kept_per_subject() {
        let store = MemoryAccessEvents::new();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        store.record("1", AccessEvent::LoggedOut, t).await.unwrap();
        store.record("1", AccessEvent::LoggedOut, t - Duration::from_secs(5)).await.unwrap();
        store.record("1", AccessEvent::AccessChanged, t + Duration::from_secs(1)).await.unwrap();
        let one = store.get("1").await.unwrap();
        assert_eq!(one.logged_out_at, Some(t), "an older, late delivery does not move the time back");
        assert_eq!(one.access_changed_at, Some(t + Duration::from_secs(1)));
        assert_eq!(store.get("2").await.unwrap(), SubjectEvents::default());
    }
}

//! Delivers the queued back-channel events (logout tokens, access-change events) to the
//! applications: polls the outbox, leases what is due, signs each token afresh, posts it, and
//! retries with exponential backoff while the receiver is away. The outbox lives in the
//! database, so deliveries survive a restart and any instance may send them.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use crate::domain::clock::{SharedClock, UnixTime};
use crate::domain::keyring::KeyRing;
use crate::domain::oidc::{EventClaims, EventFacts, EventKind};
use crate::domain::signing::{Algorithm, SigningKey};
use crate::domain::ports::{PendingEvent, Store};

/// How often the outbox is read: a change reaches its applications within this and one request.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Deliveries sent at a time.
const BATCH: i64 = 50;
/// A delivery in flight is leased this long; after that another instance may try it.
const LEASE_SECONDS: i64 = 30;
/// Receivers get this long to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Backoff doubles from one second up to this.
const MAX_BACKOFF_SECONDS: i64 = 300;
/// A delivery that could not be made for this long is given up: by then the user's tokens have
/// expired or been refused at refresh, which is the guarantee; the push only makes it immediate.
pub const GIVE_UP_AFTER_SECONDS: i64 = 24 * 3600;

pub struct Delivery {
    store: Arc<dyn Store>,
    keys: Arc<KeyRing>,
    issuer: String,
    http: reqwest::Client,
    clock: SharedClock,
}

impl Delivery {
    pub fn new(store: Arc<dyn Store>, keys: Arc<KeyRing>, issuer: String, clock: SharedClock) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // A receiver's redirect is not followed: the token is for that URI only.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("centralauth/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { store, keys, issuer, http, clock }
    }

    pub async fn run(self) {
        let mut interval = tokio::time::interval(POLL_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match self.deliver_due().await {
                Ok(()) => {}
                // The database away: logged once by the store (`store::health`), not every round.
                Err(crate::domain::Error::Unavailable { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "back-channel delivery round failed"),
            }
        }
    }

    async fn deliver_due(&self) -> crate::domain::Result<()> {
        let now = self.clock.now();
        let due = self.store.claim_due_events(now, now + LEASE_SECONDS, BATCH).await?;
        // One key look-up per algorithm and round, not per delivery.
        let mut keys: Vec<(Algorithm, Result<SigningKey, String>)> = Vec::new();
        for event in &due {
            let algorithm = Algorithm::parse(&event.signing_alg).unwrap_or_default();
            if !keys.iter().any(|(a, _)| *a == algorithm) {
                keys.push((algorithm, self.keys.signing_key(self.store.as_ref(), algorithm).await.map_err(|e| e.to_string())));
            }
        }
        join_all(due.into_iter().map(|event| {
            let algorithm = Algorithm::parse(&event.signing_alg).unwrap_or_default();
            let key = keys.iter().find(|(a, _)| *a == algorithm).map(|(_, k)| k.clone()).unwrap_or_else(|| Err("no key".into()));
            self.deliver(event, key)
        }))
        .await;
        Ok(())
    }

    async fn deliver(&self, event: PendingEvent, key: Result<SigningKey, String>) {
        let now = self.clock.now();
        let outcome = match self.send(&event, key, now).await {
            Ok(()) => {
                tracing::info!(client_id = %event.client_id, kind = event.kind.as_str(), attempts = event.attempts + 1, "back-channel event delivered");
                self.store.finish_event(event.id).await
            }
            Err(Failure::Refused(error)) => {
                tracing::warn!(client_id = %event.client_id, kind = event.kind.as_str(), %error, "back-channel event refused by the receiver; not retried");
                self.store.finish_event(event.id).await
            }
            Err(Failure::Transient(error)) if now - event.created_at >= GIVE_UP_AFTER_SECONDS => {
                tracing::warn!(client_id = %event.client_id, kind = event.kind.as_str(), %error, "back-channel event given up");
                self.store.finish_event(event.id).await
            }
            Err(Failure::Transient(error)) => {
                let attempts = event.attempts + 1;
                tracing::info!(client_id = %event.client_id, kind = event.kind.as_str(), attempts, %error, "back-channel delivery failed; will retry");
                self.store.retry_event(event.id, attempts, now + backoff(attempts), &error).await
            }
        };
        match outcome {
            Ok(_) | Err(crate::domain::ports::StoreError::Unavailable(_)) => {}
            Err(e) => tracing::warn!(error = %e, "recording a back-channel delivery failed"),
        }
    }

    async fn send(&self, event: &PendingEvent, key: Result<SigningKey, String>, now: UnixTime) -> Result<(), Failure> {
        let key = key.map_err(Failure::Transient)?;
        let facts = EventFacts { kind: event.kind, sub: &event.subject, sid: event.sid.as_deref(), jti: &event.jti, at: event.created_at };
        let claims = EventClaims::new(facts, &self.issuer, &event.client_id, now);
        let token = key.sign(EventClaims::typ(event.kind), &claims).map_err(|e| Failure::Transient(e.to_string()))?;
        let request = match event.kind {
            // OpenID Connect Back-Channel Logout 1.0 §2.5.
            EventKind::Logout => self.http.post(&event.uri).form(&[("logout_token", token)]),
            // RFC 8935 §2: the SET is the body.
            EventKind::AccessChanged => {
                self.http.post(&event.uri).header(reqwest::header::CONTENT_TYPE, "application/secevent+jwt").body(token)
            }
        };
        let response = request.send().await.map_err(|e| Failure::Transient(e.to_string()))?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            // The receiver judged the token and said no (Back-Channel Logout §2.8, RFC 8935 §2.3):
            // the same token again would get the same answer.
            400..=499 if status != reqwest::StatusCode::REQUEST_TIMEOUT && status != reqwest::StatusCode::TOO_MANY_REQUESTS => {
                Err(Failure::Refused(format!("receiver answered {status}")))
            }
            _ => Err(Failure::Transient(format!("receiver answered {status}"))),
        }
    }
}

enum Failure {
    /// Worth trying again: no connection, a timeout, a 5xx, 408 or 429.
    Transient(String),
    /// A 4xx: the receiver rejected the token.
    Refused(String),
}

/// 1, 2, 4, … seconds, at most `MAX_BACKOFF_SECONDS`.
fn backoff(attempts: i64) -> i64 {
    1_i64.checked_shl(attempts.saturating_sub(1).clamp(0, 20) as u32).unwrap_or(MAX_BACKOFF_SECONDS).min(MAX_BACKOFF_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!([backoff(1), backoff(2), backoff(3), backoff(9), backoff(10), backoff(500)], [1, 2, 4, 256, 300, 300]);
    }
}

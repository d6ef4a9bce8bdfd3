//! What this crate keeps in the application's tower-sessions session. The tokens stay here,
//! server-side; the browser holds only the session cookie.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::principal::Principal;
use crate::provider::StoredToken;

pub(crate) const TOKEN_KEY: &str = "centralauth.token";
pub(crate) const USER_KEY: &str = "centralauth.user";
pub(crate) const LOGIN_KEY: &str = "centralauth.login";
pub(crate) const SYNC_KEY: &str = "centralauth.sync";

/// Who the session's user is at the provider and when the session last heard from it: what
/// back-channel events are matched against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SyncRecord {
    /// The user's stable id at the provider (`sub` of `/user/`); `None` with a django-centralauth
    /// provider, which does not send it, so that no event can match.
    pub sub: Option<String>,
    /// Unix microseconds when the session signed in; 0 for a session older than this record,
    /// which is older than any event.
    pub signed_in_at: u64,
    /// Unix microseconds when the last sync with the provider (sign-in or refresh) started.
    pub synced_at: u64,
}

/// A sign-in in progress: what the callback must find again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub state: String,
    pub pkce_verifier: String,
    pub next: String,
}

/// A session store failure; the request fails, the user is not half signed in.
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub(crate) struct SessionError(String);

impl From<tower_sessions::session::Error> for SessionError {
    fn from(err: tower_sessions::session::Error) -> Self {
        Self(err.to_string())
    }
}

/// The session's sign-in: tokens, user, and the record (a default one for sessions that signed
/// in before the record existed).
pub(crate) struct SignIn {
    pub token: StoredToken,
    pub user: Principal,
    pub record: SyncRecord,
}

pub(crate) async fn signed_in(session: &Session) -> Result<Option<SignIn>, SessionError> {
    let token: Option<StoredToken> = session.get(TOKEN_KEY).await?;
    let user: Option<Principal> = session.get(USER_KEY).await?;
    let Some((token, user)) = token.zip(user) else {
        return Ok(None);
    };
    let record: SyncRecord = session.get(SYNC_KEY).await?.unwrap_or_default();
    Ok(Some(SignIn { token, user, record }))
}

pub(crate) async fn store_sign_in(session: &Session, sign_in: &SignIn) -> Result<(), SessionError> {
    session.insert(TOKEN_KEY, &sign_in.token).await?;
    session.insert(USER_KEY, &sign_in.user).await?;
    session.insert(SYNC_KEY, &sign_in.record).await?;
    Ok(())
}

/// Same-site relative paths only: `/x`, never `//host` or `/\host` (no open redirect).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.chars().any(char::is_control) => n.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn unsafe_next_is_dropped() {
        assert_eq!(safe_next(Some("/whoami/?a=1")), "/whoami/?a=1");
        for bad in ["http://evil.example/", "//evil.example", "/\\evil", "evil", "/a\r\nb"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }
}

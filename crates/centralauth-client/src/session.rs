//! What this crate keeps in the application's tower-sessions session. The tokens stay here,
//! server-side; the browser holds only the session cookie.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::principal::Principal;
use crate::provider::StoredToken;

pub(crate) const TOKEN_KEY: &str = "centralauth.token";
pub(crate) const USER_KEY: &str = "centralauth.user";
pub(crate) const LOGIN_KEY: &str = "centralauth.login";

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

pub(crate) async fn signed_in(session: &Session) -> Result<Option<(StoredToken, Principal)>, SessionError> {
    let token: Option<StoredToken> = session.get(TOKEN_KEY).await?;
    let user: Option<Principal> = session.get(USER_KEY).await?;
    Ok(token.zip(user))
}

pub(crate) async fn store_sign_in(session: &Session, token: &StoredToken, user: &Principal) -> Result<(), SessionError> {
    session.insert(TOKEN_KEY, token).await?;
    session.insert(USER_KEY, user).await?;
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

//! The provider's browser session: its cookie and the extractor of the signed-in user.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;

use super::cookies::SESSION;
use crate::domain::secret::SecretDigest;
use crate::domain::session::SessionUser;
use crate::http::error::PageError;
use crate::http::state::AppState;

/// The signed-in provider user, if any.
pub struct MaybeSession(pub Option<SessionUser>);

impl<S> FromRequestParts<S> for MaybeSession
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(id) = SESSION.get(&jar, state.settings.secure_cookies) else { return Ok(Self(None)) };
        let session = state.store.find_session(&SecretDigest::of(id), state.clock.now()).await.map_err(|e| PageError::store(e, &crate::http::i18n::EN))?;
        Ok(Self(session))
    }
}

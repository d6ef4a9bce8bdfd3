//! `POST {prefix}/o/revoke_token/` (RFC 7009). A client revokes only its own tokens (§2.1);
//! the answer is 200 whether or not there was anything to revoke (§2.2).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use centralauth_wire::OAuthErrorCode;

use crate::domain::grants::revocation;
use crate::http::error::OAuthError;
use crate::http::shared::{ClientCredentials, OAuthForm};
use crate::http::state::AppState;

#[tracing::instrument(skip_all, fields(client_id))]
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, OAuthForm(params): OAuthForm) -> Result<Response, OAuthError> {
    let credentials = ClientCredentials::from_request(&headers, &params)?.ok_or_else(|| OAuthError::new(OAuthErrorCode::InvalidClient))?;
    tracing::Span::current().record("client_id", credentials.client_id.as_str());
    let app = credentials
        .authenticate(state.store.as_ref())
        .await
        .map_err(OAuthError::from)?
        .ok_or_else(|| OAuthError::new(OAuthErrorCode::InvalidClient))?;
    let token = params
        .get("token")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?
        .ok_or_else(|| OAuthError::invalid_request("Missing token parameter."))?;
    revocation::revoke(state.store.as_ref(), &app, token, state.clock.now()).await?;
    Ok(StatusCode::OK.into_response())
}

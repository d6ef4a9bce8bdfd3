//! `{issuer}/userinfo/` (OpenID Connect Core §5.3): GET or POST, the access token in the
//! `Authorization` header or, on POST, as the `access_token` form parameter (RFC 6750 §2.2), not
//! both. Standard claims for `profile` and `email`, and under `centralauth` the user's flags and
//! permissions in the token's application (the same as `/user/` says).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::grants::access_stands;
use crate::domain::membership::effective_pairs;
use crate::domain::secret::SecretDigest;
use crate::domain::oidc;
use crate::http::provider::user::unauthorized;
use crate::http::error::{ApiError, OAuthError};
use crate::http::shared::{OAuthForm, bearer_challenge, bearer_token};
use crate::http::state::AppState;

#[derive(Debug, Serialize)]
struct UserInfoClaims {
    sub: String,
    #[serde(flatten)]
    profile: Option<ProfileClaims>,
    #[serde(flatten)]
    email: Option<EmailClaims>,
    centralauth: AccessClaims,
}

#[derive(Debug, Serialize)]
struct ProfileClaims {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    given_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    family_name: String,
    preferred_username: String,
}

#[derive(Debug, Serialize)]
struct EmailClaims {
    email: String,
    /// The provider does not verify addresses, and says so.
    email_verified: bool,
}

/// Documented in the README: what the user may do in the application the token was issued to.
#[derive(Debug, Serialize)]
struct AccessClaims {
    is_superuser: bool,
    is_staff: bool,
    is_active: bool,
    permissions: Vec<(String, String)>,
}

pub async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    match bearer_token(&headers) {
        Some(token) => answer(&state, token).await,
        None => Ok(unauthorized(None)),
    }
}

pub async fn userinfo_post(State(state): State<AppState>, headers: HeaderMap, OAuthForm(params): OAuthForm) -> Result<Response, ApiError> {
    let in_body = match params.get("access_token") {
        Ok(token) => token,
        Err(e) => return Ok(OAuthError::invalid_request(e.to_string()).into_response()),
    };
    match (bearer_token(&headers), in_body) {
        (Some(_), Some(_)) => Ok(bad_request("Use one way of sending the access token (RFC 6750 §2).")),
        (Some(token), None) | (None, Some(token)) => answer(&state, token).await,
        (None, None) => Ok(unauthorized(None)),
    }
}

fn bad_request(description: &str) -> Response {
    let body = Json(serde_json::json!({"error": "invalid_request", "error_description": description}));
    let challenge = [(header::WWW_AUTHENTICATE, bearer_challenge(Some("invalid_request"), None))];
    (StatusCode::BAD_REQUEST, challenge, body).into_response()
}

async fn answer(state: &AppState, token: &str) -> Result<Response, ApiError> {
    let found = state.store.access_token_view(&SecretDigest::of(token), state.clock.now()).await.map_err(crate::domain::Error::from)?;
    let Some(found) = found else { return Ok(unauthorized(Some("invalid_token"))) };
    if !found.scope.contains("openid") {
        let challenge = [(header::WWW_AUTHENTICATE, bearer_challenge(Some("insufficient_scope"), Some("openid")))];
        return Ok((StatusCode::FORBIDDEN, challenge).into_response());
    }
    // No membership, a deactivated one, or a deactivated account: the token no longer stands
    // for anyone here (RFC 6750 §3.1 invalid_token), as introspection says `active: false`.
    let view = match found.view {
        Some(view) if access_stands(view.user.is_active, Some(view.flags.is_active)) => view,
        _ => return Ok(unauthorized(Some("invalid_token"))),
    };
    let user = &view.user;
    let profile = found.scope.contains("profile").then(|| ProfileClaims {
        name: format!("{} {}", user.first_name, user.last_name).trim().to_string(),
        given_name: user.first_name.clone(),
        family_name: user.last_name.clone(),
        preferred_username: user.username.clone(),
    });
    let email = (found.scope.contains("email") && !user.email.is_empty())
        .then(|| EmailClaims { email: user.email.clone(), email_verified: false });
    let claims = UserInfoClaims {
        sub: oidc::subject(user.id.0),
        profile,
        email,
        centralauth: AccessClaims {
            is_superuser: view.flags.is_superuser,
            is_staff: view.flags.is_staff,
            is_active: view.flags.is_active,
            permissions: effective_pairs(view.permissions.iter().cloned()),
        },
    };
    let mut response = Json(claims).into_response();
    crate::http::error::no_store(&mut response);
    Ok(response)
}

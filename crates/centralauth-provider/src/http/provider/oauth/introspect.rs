//! `{prefix}/o/introspect/` (RFC 7662), for authenticated clients and only about their own
//! tokens: another client's token is reported inactive, as an unknown one is.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use centralauth_wire::{IntrospectionResponse, OAuthErrorCode};

use crate::domain::secret::SecretDigest;
use crate::http::error::OAuthError;
use crate::http::shared::{ClientCredentials, OAuthForm, Params};
use crate::http::state::AppState;
use crate::domain::ports::TokenKind;

pub async fn introspect_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(params): OAuthForm,
) -> Result<Response, OAuthError> {
    introspect(state, headers, params, Method::Post).await
}

/// The original also answers `GET ?token=…`; kept for the applications that allow it, since
/// it puts tokens into URLs and so into logs.
pub async fn introspect_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, OAuthError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes()).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    // As OAuthForm does for the POST: no parameter twice (RFC 6749 §3.1).
    params.check_unrepeated().map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    introspect(state, headers, params, Method::Get).await
}

#[derive(PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

#[tracing::instrument(skip_all, fields(client_id))]
async fn introspect(state: AppState, headers: HeaderMap, params: Params, method: Method) -> Result<Response, OAuthError> {
    let credentials = ClientCredentials::from_request(&headers, &params)?.ok_or_else(|| OAuthError::new(OAuthErrorCode::InvalidClient))?;
    tracing::Span::current().record("client_id", credentials.client_id.as_str());
    let app = credentials.authenticate(state.store.as_ref()).await?.ok_or_else(|| OAuthError::new(OAuthErrorCode::InvalidClient))?;
    if method == Method::Get && !app.allow_introspection_get {
        // RFC 7662 §2.1 says POST; RFC 9110 §15.5.6 has a 405 name the methods that work.
        let mut response = OAuthError::invalid_request("Introspection is by POST (RFC 7662 §2.1); this application does not allow GET.")
            .with_status(StatusCode::METHOD_NOT_ALLOWED)
            .into_response();
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    let token = params
        .get("token")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?
        .ok_or_else(|| OAuthError::invalid_request("Missing token parameter."))?;
    let digest = SecretDigest::of(token);
    let now = state.clock.now();
    let store = state.store.as_ref();
    let hint_refresh = matches!(params.get("token_type_hint"), Ok(Some("refresh_token")));
    // RFC 7662 §2.1: the hint only orders the look-ups.
    let found = if hint_refresh {
        match store.find_active_refresh_token(&digest, now).await.map_err(crate::domain::Error::from)? {
            Some(t) => Some(t),
            None => store.find_active_access_token(&digest, now).await.map_err(crate::domain::Error::from)?,
        }
    } else {
        match store.find_active_access_token(&digest, now).await.map_err(crate::domain::Error::from)? {
            Some(t) => Some(t),
            None => store.find_active_refresh_token(&digest, now).await.map_err(crate::domain::Error::from)?,
        }
    };
    // A token of a deactivated user or membership is inactive at once, as its refresh would be
    // refused (the withdrawal revokes it too; this also covers a token that escaped that).
    let body = match found {
        Some(t) if t.application_id == app.id && t.grants_access() => IntrospectionResponse {
            active: true,
            scope: Some(t.scope.to_string()),
            exp: t.expires_at,
            client_id: Some(t.client_id),
            username: Some(t.username),
            // RFC 7662 §2.2 means RFC 6749 §5.1's type, which only an access token has.
            token_type: (t.kind == TokenKind::Access).then(|| "Bearer".to_string()),
        },
        _ => IntrospectionResponse::inactive(),
    };
    Ok(Json(body).into_response())
}

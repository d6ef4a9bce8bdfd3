//! `GET {issuer}/jwks/`: the public keys (RFC 7517), the active ones and the retired ones whose
//! tokens may still be in use.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::http::state::AppState;

pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.store.published_signing_keys(state.clock.now()).await.map_err(crate::domain::Error::from)?;
    let keys: Vec<serde_json::Value> = keys.iter().filter_map(|k| serde_json::from_str(&k.public_jwk).ok()).collect();
    let mut response = Json(serde_json::json!({ "keys": keys })).into_response();
    // Short, so that relying parties see a new key soon after a rotation.
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

//! RFC 8414 authorization server metadata: what this server supports, exactly. The issuer is
//! `{public_url}{prefix}/o` (DESIGN §3), so the document lives at
//! `/.well-known/oauth-authorization-server{prefix}/o` (RFC 8414 §3.1: inserted before the path).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::domain::scope;
use crate::http::state::AppState;

#[derive(Debug, Serialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub response_types_supported: &'static [&'static str],
    pub response_modes_supported: &'static [&'static str],
    pub grant_types_supported: &'static [&'static str],
    pub code_challenge_methods_supported: &'static [&'static str],
    pub token_endpoint_auth_methods_supported: &'static [&'static str],
    pub revocation_endpoint_auth_methods_supported: &'static [&'static str],
    pub introspection_endpoint_auth_methods_supported: &'static [&'static str],
    pub scopes_supported: &'static [&'static str],
}

const CLIENT_AUTH: &[&str] = &["client_secret_basic", "client_secret_post"];

/// The issuer identifier of this installation.
pub fn issuer(state: &AppState) -> String {
    format!("{}{}/o", state.settings.public_url, state.settings.prefix)
}

/// Where the metadata document is served, relative to the host.
pub fn well_known_path(prefix: &str) -> String {
    format!("/.well-known/oauth-authorization-server{prefix}/o")
}

pub async fn metadata(State(state): State<AppState>) -> Json<ServerMetadata> {
    let issuer = issuer(&state);
    Json(ServerMetadata {
        authorization_endpoint: format!("{issuer}/authorize/"),
        token_endpoint: format!("{issuer}/token/"),
        revocation_endpoint: format!("{issuer}/revoke_token/"),
        introspection_endpoint: format!("{issuer}/introspect/"),
        issuer,
        response_types_supported: &["code"],
        response_modes_supported: &["query"],
        grant_types_supported: &["authorization_code", "refresh_token"],
        code_challenge_methods_supported: &["S256"],
        token_endpoint_auth_methods_supported: CLIENT_AUTH,
        revocation_endpoint_auth_methods_supported: CLIENT_AUTH,
        introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
        scopes_supported: scope::SUPPORTED,
    })
}

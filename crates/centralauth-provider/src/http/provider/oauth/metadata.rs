//! What this server supports, exactly: OpenID Connect Discovery 1.0 at
//! `{issuer}/.well-known/openid-configuration`, and the same document as RFC 8414 metadata at
//! `/.well-known/oauth-authorization-server{prefix}/o` (§3.1: inserted before the issuer's
//! path). The issuer is `{public_url}{prefix}/o` (DESIGN §3).

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
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub response_types_supported: &'static [&'static str],
    pub response_modes_supported: &'static [&'static str],
    pub grant_types_supported: &'static [&'static str],
    pub subject_types_supported: &'static [&'static str],
    pub id_token_signing_alg_values_supported: &'static [&'static str],
    pub code_challenge_methods_supported: &'static [&'static str],
    pub token_endpoint_auth_methods_supported: &'static [&'static str],
    pub revocation_endpoint_auth_methods_supported: &'static [&'static str],
    pub introspection_endpoint_auth_methods_supported: &'static [&'static str],
    pub scopes_supported: &'static [&'static str],
    pub claims_supported: &'static [&'static str],
    /// The `acr` values of the three sign-in levels, weakest first (`domain::mfa::acr`).
    pub acr_values_supported: &'static [&'static str],
    pub claim_types_supported: &'static [&'static str],
    pub prompt_values_supported: &'static [&'static str],
    pub ui_locales_supported: &'static [&'static str],
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub frontchannel_logout_supported: bool,
    /// RFC 9207: every authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
}

const CLIENT_AUTH: &[&str] = &["client_secret_basic", "client_secret_post"];

/// Where the RFC 8414 document is served, relative to the host.
pub fn well_known_path(prefix: &str) -> String {
    format!("/.well-known/oauth-authorization-server{prefix}/o")
}

pub async fn metadata(State(state): State<AppState>) -> Json<ServerMetadata> {
    let issuer = state.issuer();
    Json(ServerMetadata {
        authorization_endpoint: format!("{issuer}/authorize/"),
        token_endpoint: format!("{issuer}/token/"),
        userinfo_endpoint: format!("{issuer}/userinfo/"),
        jwks_uri: format!("{issuer}/jwks/"),
        end_session_endpoint: format!("{issuer}/logout/"),
        revocation_endpoint: format!("{issuer}/revoke_token/"),
        introspection_endpoint: format!("{issuer}/introspect/"),
        issuer,
        response_types_supported: &["code"],
        response_modes_supported: &["query"],
        // Every code grant gets a refresh token (as django-oauth-toolkit does), rotated at each
        // use; `offline_access` makes the grant outlive a sign-out at the provider.
        grant_types_supported: &["authorization_code", "refresh_token"],
        subject_types_supported: &["public"],
        id_token_signing_alg_values_supported: &["RS256", "EdDSA"],
        code_challenge_methods_supported: &["S256"],
        token_endpoint_auth_methods_supported: CLIENT_AUTH,
        revocation_endpoint_auth_methods_supported: CLIENT_AUTH,
        introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
        scopes_supported: scope::SUPPORTED,
        claims_supported: &[
            "sub",
            "iss",
            "aud",
            "azp",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "sid",
            "amr",
            "acr",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "email",
            "email_verified",
            "centralauth",
        ],
        acr_values_supported: &crate::domain::mfa::acr::SUPPORTED,
        claim_types_supported: &["normal"],
        prompt_values_supported: &["none", "login", "consent", "select_account"],
        ui_locales_supported: &["en", "de"],
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        frontchannel_logout_supported: false,
        authorization_response_iss_parameter_supported: true,
    })
}

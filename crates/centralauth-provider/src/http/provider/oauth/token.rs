//! `POST {prefix}/o/token/` (RFC 6749 §3.2): the authorization code and refresh token grants.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use centralauth_wire::{OAuthErrorCode, TokenResponse};

use crate::domain::oidc;
use crate::domain::grants::{IssuedTokens, authorization_code, refresh_token};
use crate::http::error::{OAuthError, no_store};
use crate::http::shared::{ClientCredentials, OAuthForm, Params};
use crate::http::state::AppState;

/// A token request, decided at the edge.
#[derive(Debug)]
enum TokenRequest<'a> {
    AuthorizationCode { code: &'a str, redirect_uri: Option<&'a str>, code_verifier: Option<&'a str> },
    RefreshToken { refresh_token: &'a str, scope: Option<&'a str> },
}

fn param<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, OAuthError> {
    params.get(name).map_err(|e| OAuthError::invalid_request(e.to_string()))
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, OAuthError> {
    param(params, name)?.ok_or_else(|| OAuthError::invalid_request(format!("Missing {name} parameter.")))
}

/// The grant type alone, checked before client authentication as the original does.
fn grant_type(params: &Params) -> Result<&str, OAuthError> {
    match param(params, "grant_type")? {
        Some(g @ ("authorization_code" | "refresh_token")) => Ok(g),
        // Known grant types this provider does not allow its applications.
        Some("password" | "client_credentials" | "implicit") => Err(OAuthError::new(OAuthErrorCode::UnauthorizedClient)),
        // RFC 6749 §5.2: a missing parameter is invalid_request (the original, through
        // oauthlib, says unsupported_grant_type; a grant type it does not know stays that).
        None => Err(OAuthError::invalid_request("Missing grant_type parameter.")),
        Some(_) => Err(OAuthError::new(OAuthErrorCode::UnsupportedGrantType)),
    }
}

fn parse_request<'a>(grant: &str, params: &'a Params) -> Result<TokenRequest<'a>, OAuthError> {
    Ok(match grant {
        "authorization_code" => TokenRequest::AuthorizationCode {
            code: required(params, "code")?,
            redirect_uri: param(params, "redirect_uri")?,
            code_verifier: param(params, "code_verifier")?,
        },
        _ => TokenRequest::RefreshToken { refresh_token: required(params, "refresh_token")?, scope: param(params, "scope")? },
    })
}

#[tracing::instrument(skip_all, fields(client_id, grant_type))]
pub async fn token(State(state): State<AppState>, headers: HeaderMap, OAuthForm(params): OAuthForm) -> Result<Response, OAuthError> {
    let grant = grant_type(&params)?;
    tracing::Span::current().record("grant_type", grant);
    let credentials = ClientCredentials::from_request(&headers, &params)?.ok_or_else(|| OAuthError::new(OAuthErrorCode::InvalidClient))?;
    tracing::Span::current().record("client_id", credentials.client_id.as_str());
    let app = credentials.authenticate(state.store.as_ref()).await?.ok_or_else(|| OAuthError::new(OAuthErrorCode::InvalidClient))?;
    let now = state.clock.now();
    let issued = match parse_request(grant, &params)? {
        TokenRequest::AuthorizationCode { code, redirect_uri, code_verifier } => {
            let request = authorization_code::CodeTokenRequest { code, redirect_uri, code_verifier };
            authorization_code::exchange(state.store.as_ref(), &app, &request, now).await?
        }
        TokenRequest::RefreshToken { refresh_token, scope } => {
            refresh_token::refresh(state.store.as_ref(), &app, refresh_token, scope, state.settings.refresh, &state.refresh_key, now).await?
        }
    };
    // OpenID Connect: an id_token whenever the grant has the `openid` scope (Core §3.1.3.3, §12.2).
    let id_token = if issued.scope.contains("openid") {
        let key = state.keys.signing_key(state.store.as_ref(), app.oidc.id_token_signing_alg).await?;
        Some(oidc::sign_id_token(&key, &state.issuer(), &app, &issued, now)?)
    } else {
        None
    };
    Ok(token_response(issued, id_token))
}

fn token_response(issued: IssuedTokens, id_token: Option<String>) -> Response {
    let body = TokenResponse {
        access_token: issued.access_token.expose().to_string(),
        expires_in: issued.expires_in,
        token_type: "Bearer".to_string(),
        scope: issued.scope.to_string(),
        refresh_token: issued.refresh_token.expose().to_string(),
        id_token,
    };
    let mut response = Json(body).into_response();
    no_store(&mut response);
    response
}

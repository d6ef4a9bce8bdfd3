//! `/api/v1/applications`: client applications. Delegated administrators see their own
//! applications (others are 404 to them) but change no settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiAdmin, ApiJson, ApiPath, visible_application};
use crate::domain::Error;
use crate::domain::admin::{self, ApplicationInput, ApplicationUpdate, OidcChanges};
use crate::domain::application::{Application, ApplicationProfile, TokenLifetimes};
use crate::domain::redirect_uri::{RedirectUri, RedirectUriMatch};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::domain::ports::ApplicationUsage;

/// How strictly a requested redirect URI must equal a registered one.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedirectMatch {
    /// The registered URI plus extra query parameters (django-centralauth's client adds `next`).
    AllowExtraQuery,
    /// Byte-for-byte equality (RFC 9700 §4.1.3).
    Exact,
}

impl From<RedirectMatch> for RedirectUriMatch {
    fn from(m: RedirectMatch) -> Self {
        match m {
            RedirectMatch::AllowExtraQuery => Self::AllowExtraQuery,
            RedirectMatch::Exact => Self::Exact,
        }
    }
}

impl From<RedirectUriMatch> for RedirectMatch {
    fn from(m: RedirectUriMatch) -> Self {
        match m {
            RedirectUriMatch::AllowExtraQuery => Self::AllowExtraQuery,
            RedirectUriMatch::Exact => Self::Exact,
        }
    }
}

/// A preset of `redirect_uri_match`, `pkce` and `allow_introspection_get`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
pub enum Profile {
    /// `exact`, `required`, no introspection by GET (RFC 9700 §2.1).
    #[serde(rename = "default")]
    Default,
    /// What django-centralauth's client needs: `allow_extra_query` (it adds `next`), `optional`
    /// (it sends no PKCE), introspection by GET allowed.
    #[serde(rename = "django-centralauth")]
    DjangoCentralauth,
}

impl From<Profile> for ApplicationProfile {
    fn from(p: Profile) -> Self {
        match p {
            Profile::Default => Self::Default,
            Profile::DjangoCentralauth => Self::DjangoCentralauth,
        }
    }
}

impl From<ApplicationProfile> for Profile {
    fn from(p: ApplicationProfile) -> Self {
        match p {
            ApplicationProfile::Default => Self::Default,
            ApplicationProfile::DjangoCentralauth => Self::DjangoCentralauth,
        }
    }
}

/// Whether PKCE is demanded (it is accepted from every application).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pkce {
    Optional,
    Required,
}

impl From<Pkce> for crate::domain::application::PkcePolicy {
    fn from(p: Pkce) -> Self {
        match p {
            Pkce::Optional => Self::Optional,
            Pkce::Required => Self::Required,
        }
    }
}

impl From<crate::domain::application::PkcePolicy> for Pkce {
    fn from(p: crate::domain::application::PkcePolicy) -> Self {
        use crate::domain::application::PkcePolicy;
        match p {
            PkcePolicy::Optional => Self::Optional,
            PkcePolicy::Required => Self::Required,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationOut {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub redirect_uri_match: RedirectMatch,
    pub pkce: Pkce,
    /// Introspection also by `GET ?token=` (RFC 7662 says POST).
    pub allow_introspection_get: bool,
    /// Redirect URIs may be plain http to any host, not only to loopback.
    pub allow_insecure_redirect_uris: bool,
    /// The profile whose settings these are; none when they are mixed.
    pub profile: Option<Profile>,
    /// Seconds.
    pub access_token_lifetime: i64,
    /// Seconds.
    pub refresh_token_lifetime: i64,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// `RS256` or `EdDSA`.
    pub id_token_signing_alg: String,
    /// Sign-ins must prove a second factor before the application gets a code.
    pub require_mfa: bool,
    /// Sign-ins must use a passkey with user verification (implies a second factor).
    pub require_passkey: bool,
    /// Unix time.
    pub created_at: i64,
}

fn uris(list: &[RedirectUri]) -> Vec<String> {
    list.iter().map(|u| u.as_str().to_string()).collect()
}

impl From<Application> for ApplicationOut {
    fn from(a: Application) -> Self {
        Self {
            profile: ApplicationProfile::of(&a).map(Into::into),
            redirect_uris: uris(&a.redirect_uris),
            redirect_uri_match: a.redirect_uri_match.into(),
            pkce: a.pkce.into(),
            allow_introspection_get: a.allow_introspection_get,
            allow_insecure_redirect_uris: a.allow_insecure_redirect_uris,
            access_token_lifetime: a.lifetimes.access_token,
            refresh_token_lifetime: a.lifetimes.refresh_token,
            post_logout_redirect_uris: uris(&a.oidc.post_logout_redirect_uris),
            backchannel_logout_uri: a.oidc.backchannel_logout_uri.map(|u| u.as_str().to_string()),
            id_token_signing_alg: a.oidc.id_token_signing_alg.as_str().to_string(),
            require_mfa: a.require_mfa,
            require_passkey: a.require_passkey,
            client_id: a.client_id,
            name: a.name,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationCreate {
    pub name: String,
    /// Kept as given (moving from another installation); generated when absent.
    pub client_id: Option<String>,
    /// Kept as given (at least 16 characters); generated and returned once when absent.
    pub client_secret: Option<String>,
    /// At least one, at most 32: https, or http to 127.0.0.1, [::1] or localhost (any http
    /// with `allow_insecure_redirect_uris`).
    pub redirect_uris: Vec<String>,
    /// Presets `redirect_uri_match`, `pkce` and `allow_introspection_get` (`default` when
    /// absent); each of them given as well overrides it.
    pub profile: Option<Profile>,
    pub redirect_uri_match: Option<RedirectMatch>,
    pub pkce: Option<Pkce>,
    pub allow_introspection_get: Option<bool>,
    /// Accept plain http redirect URIs to hosts other than loopback (a test environment).
    pub allow_insecure_redirect_uris: Option<bool>,
    pub access_token_lifetime: Option<i64>,
    pub refresh_token_lifetime: Option<i64>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_signing_alg: Option<String>,
    /// Sign-ins must prove a second factor (false when absent).
    pub require_mfa: Option<bool>,
    /// Sign-ins must use a passkey with user verification, which implies a second factor
    /// (false when absent).
    pub require_passkey: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationCreated {
    pub application: ApplicationOut,
    /// Shown only in this answer (the provider keeps a digest).
    pub client_secret: String,
}

/// Changes to an application; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationPatch {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    /// Sets `redirect_uri_match`, `pkce` and `allow_introspection_get` as the profile has them;
    /// each of them given as well overrides it.
    pub profile: Option<Profile>,
    pub redirect_uri_match: Option<RedirectMatch>,
    pub pkce: Option<Pkce>,
    pub allow_introspection_get: Option<bool>,
    pub allow_insecure_redirect_uris: Option<bool>,
    pub access_token_lifetime: Option<i64>,
    pub refresh_token_lifetime: Option<i64>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// An empty string removes it.
    pub backchannel_logout_uri: Option<String>,
    pub id_token_signing_alg: Option<String>,
    /// Sign-ins must prove a second factor, from the next authorization request.
    pub require_mfa: Option<bool>,
    /// Sign-ins must use a passkey with user verification (implies a second factor).
    pub require_passkey: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretOut {
    /// The new client secret, shown only in this answer; the old one no longer works.
    pub client_secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageOut {
    pub permissions: i64,
    pub groups: i64,
    pub memberships: i64,
    /// Token families not yet revoked or expired.
    pub active_grants: i64,
}

impl From<ApplicationUsage> for UsageOut {
    fn from(u: ApplicationUsage) -> Self {
        Self { permissions: u.permissions, groups: u.groups, memberships: u.memberships, active_grants: u.active_grants }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationDeleted {
    pub client_id: String,
    /// What went with it.
    pub removed: UsageOut,
}

/// The applications this administrator may see, by name.
#[utoipa::path(get, path = "/applications", tag = "applications", responses((status = 200, body = Vec<ApplicationOut>)))]
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin) -> Result<Json<Vec<ApplicationOut>>, ApiError> {
    let apps = state.store.list_applications().await.map_err(Error::from)?;
    Ok(Json(apps.into_iter().filter(|a| admin.manages(a.id)).map(ApplicationOut::from).collect()))
}

/// Register an application; the client secret is in this answer only.
#[utoipa::path(post, path = "/applications", tag = "applications", request_body = ApplicationCreate, responses(
    (status = 201, body = ApplicationCreated),
    (status = 400, description = "Invalid input", body = super::ErrorBody),
    (status = 409, description = "The client id is taken", body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiJson(body): ApiJson<ApplicationCreate>,
) -> Result<(StatusCode, Json<ApplicationCreated>), ApiError> {
    admin.require_full()?;
    let defaults = TokenLifetimes::default();
    let oidc = OidcChanges {
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        backchannel_logout_uri: body.backchannel_logout_uri,
        id_token_signing_alg: body.id_token_signing_alg,
    };
    let input = ApplicationInput {
        name: body.name,
        client_id: body.client_id,
        client_secret: body.client_secret,
        redirect_uris: body.redirect_uris,
        profile: body.profile.map(Into::into).unwrap_or_default(),
        redirect_uri_match: body.redirect_uri_match.map(Into::into),
        pkce: body.pkce.map(Into::into),
        allow_introspection_get: body.allow_introspection_get,
        allow_insecure_redirect_uris: body.allow_insecure_redirect_uris.unwrap_or(false),
        lifetimes: TokenLifetimes {
            access_token: body.access_token_lifetime.unwrap_or(defaults.access_token),
            refresh_token: body.refresh_token_lifetime.unwrap_or(defaults.refresh_token),
        },
        oidc,
        require_mfa: body.require_mfa.unwrap_or(false),
        require_passkey: body.require_passkey.unwrap_or(false),
    };
    let (app, secret) = admin::create_application(&admin, state.store.as_ref(), input).await?;
    Ok((StatusCode::CREATED, Json(ApplicationCreated { application: app.into(), client_secret: secret.expose().to_string() })))
}

/// One application.
#[utoipa::path(get, path = "/applications/{client_id}", tag = "applications", params(("client_id" = String, Path)), responses(
    (status = 200, body = ApplicationOut), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn show(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(client_id): ApiPath<String>) -> Result<Json<ApplicationOut>, ApiError> {
    Ok(Json(visible_application(state.store.as_ref(), &admin, &client_id).await?.into()))
}

/// Change an application's settings, OpenID Connect ones included; absent fields stay.
#[utoipa::path(patch, path = "/applications/{client_id}", tag = "applications", params(("client_id" = String, Path)),
    request_body = ApplicationPatch,
    responses((status = 200, body = ApplicationOut), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn update(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath(client_id): ApiPath<String>,
    ApiJson(body): ApiJson<ApplicationPatch>,
) -> Result<Json<ApplicationOut>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let update = ApplicationUpdate {
        name: body.name,
        redirect_uris: body.redirect_uris,
        profile: body.profile.map(Into::into),
        redirect_uri_match: body.redirect_uri_match.map(Into::into),
        pkce: body.pkce.map(Into::into),
        allow_introspection_get: body.allow_introspection_get,
        allow_insecure_redirect_uris: body.allow_insecure_redirect_uris,
        access_token_lifetime: body.access_token_lifetime,
        refresh_token_lifetime: body.refresh_token_lifetime,
        oidc: OidcChanges {
            post_logout_redirect_uris: body.post_logout_redirect_uris,
            backchannel_logout_uri: body.backchannel_logout_uri,
            id_token_signing_alg: body.id_token_signing_alg,
        },
        require_mfa: body.require_mfa,
        require_passkey: body.require_passkey,
        rotate_secret: false,
    };
    Ok(Json(admin::update_application(&admin, store, app, update).await?.0.into()))
}

/// A new client secret, in this answer only; the old one stops working at once.
#[utoipa::path(post, path = "/applications/{client_id}/rotate-secret", tag = "applications", params(("client_id" = String, Path)),
    responses((status = 200, body = SecretOut), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn rotate_secret(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(client_id): ApiPath<String>) -> Result<Json<SecretOut>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let (_, secret) = admin::rotate_client_secret(&admin, store, app).await?;
    Ok(Json(SecretOut { client_secret: secret.expose().to_string() }))
}

/// Delete an application with its permissions, groups, memberships and grants.
#[utoipa::path(delete, path = "/applications/{client_id}", tag = "applications", params(("client_id" = String, Path)),
    responses((status = 200, body = ApplicationDeleted), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn delete(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(client_id): ApiPath<String>) -> Result<Json<ApplicationDeleted>, ApiError> {
    let store = state.store.as_ref();
    let app = visible_application(store, &admin, &client_id).await?;
    let usage = admin::delete_application(&admin, store, &app).await?;
    Ok(Json(ApplicationDeleted { client_id: app.client_id, removed: usage.into() }))
}

//! `/api/v1/users`: provider accounts, for administrators only (delegated ones get 403).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiAdmin, ApiJson, ApiPath, ApiQuery, page_size};
use crate::domain::admin::{self, UserInput, UserUpdate};
use crate::domain::user::{Role, User, username_key};
use crate::domain::Error;
use crate::domain::page::Page;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::domain::ports::UserQuery;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    /// May administer the whole provider.
    pub administrator: bool,
    /// Unix time.
    pub date_joined: i64,
    pub last_login: Option<i64>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            is_active: u.is_active,
            administrator: u.role == Role::Administrator,
            date_joined: u.date_joined,
            last_login: u.last_login,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserOut>,
    /// Pass as `after` for the next page; absent on the last one, and for a search.
    pub next: Option<String>,
    /// A search matched more than `limit` users; these are the best matches (username, then
    /// e-mail, first name, last name prefix). Narrow the search to see others.
    pub more_matches: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// Case-insensitive prefix of the username, e-mail address, first or last name.
    pub search: Option<String>,
    pub active: Option<bool>,
    pub administrator: Option<bool>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub administrator: bool,
    /// At least 8 characters; generated (and returned once) when absent.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserCreated {
    pub user: UserOut,
    /// The generated password, shown only in this answer; absent when one was given.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserMembershipOut {
    pub client_id: String,
    pub application: String,
    pub is_superuser: bool,
    pub is_staff: bool,
    pub is_active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetail {
    pub user: UserOut,
    pub memberships: Vec<UserMembershipOut>,
    /// Client ids of the applications this user administers as a delegated administrator.
    pub delegated_applications: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: Option<bool>,
    pub administrator: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSet {
    /// At least 8 characters; generated (and returned once) when absent.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordOut {
    /// The generated password, shown only in this answer; absent when one was given.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// Client ids of the applications the user administers; empty for none.
    pub client_ids: Vec<String>,
}

/// List users in pages by username, filtered; or search them, best match first, one page.
#[utoipa::path(get, path = "/users", tag = "users", params(UserListQuery), responses((status = 200, body = UserPage)))]
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiQuery(q): ApiQuery<UserListQuery>) -> Result<Json<UserPage>, ApiError> {
    admin.require_full()?;
    let limit = page_size(q.limit);
    let query = UserQuery {
        search: q.search,
        active: q.active,
        administrator: q.administrator,
        after_username_key: q.after.as_deref().map(username_key),
        limit: Page::<User, String>::fetch_limit(limit),
    };
    let searching = query.search.as_deref().is_some_and(|s| !s.trim().is_empty());
    let page = Page::of(state.store.list_users(&query).await.map_err(Error::from)?, limit, |u| username_key(&u.username));
    // A search answers one page, best match first; its `more_matches` asks for a narrower one.
    let more_matches = searching && page.has_more();
    let next = if searching { None } else { page.next };
    Ok(Json(UserPage { items: page.items.into_iter().map(UserOut::from).collect(), next, more_matches }))
}

/// Create a user. Without a password one is generated and returned, this once.
#[utoipa::path(post, path = "/users", tag = "users", request_body = UserCreate, responses(
    (status = 201, body = UserCreated),
    (status = 400, description = "Invalid input", body = super::ErrorBody),
    (status = 409, description = "The username is taken", body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiJson(body): ApiJson<UserCreate>,
) -> Result<(StatusCode, Json<UserCreated>), ApiError> {
    let generated = body.password.is_none().then(admin::generate_password);
    let input = UserInput {
        username: body.username,
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        administrator: body.administrator,
        password: body.password.or_else(|| generated.clone()),
    };
    let user = admin::create_user(&admin, state.store.as_ref(), input).await?;
    Ok((StatusCode::CREATED, Json(UserCreated { user: user.into(), password: generated })))
}

/// A user with their memberships and delegated applications.
#[utoipa::path(get, path = "/users/{username}", tag = "users", params(("username" = String, Path)), responses(
    (status = 200, body = UserDetail), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn show(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiPath(username): ApiPath<String>) -> Result<Json<UserDetail>, ApiError> {
    admin.require_full()?;
    let store = state.store.as_ref();
    let user = admin::find_user(store, &username).await?;
    Ok(Json(detail(store, user).await?))
}

async fn detail(store: &dyn crate::domain::ports::Store, user: User) -> Result<UserDetail, Error> {
    let memberships = store
        .memberships_of_user(user.id)
        .await?
        .into_iter()
        .map(|m| UserMembershipOut {
            client_id: m.application.client_id,
            application: m.application.name,
            is_superuser: m.flags.is_superuser,
            is_staff: m.flags.is_staff,
            is_active: m.flags.is_active,
        })
        .collect();
    let mut delegated = Vec::new();
    for id in store.delegated_applications(user.id).await? {
        if let Some(app) = store.find_application_by_id(id).await? {
            delegated.push(app.client_id);
        }
    }
    Ok(UserDetail { user: user.into(), memberships, delegated_applications: delegated })
}

/// Change a user's details, state or role; absent fields stay as they are.
#[utoipa::path(patch, path = "/users/{username}", tag = "users", params(("username" = String, Path)), request_body = UserPatch, responses(
    (status = 200, body = UserOut), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn update(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath(username): ApiPath<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> Result<Json<UserOut>, ApiError> {
    admin.require_full()?;
    let store = state.store.as_ref();
    let user = admin::find_user(store, &username).await?;
    let update = UserUpdate {
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        is_active: body.is_active,
        administrator: body.administrator,
        password: None,
    };
    Ok(Json(admin::update_user(&admin, store, user.id, update).await?.into()))
}

/// Set a user's password. Without one, a password is generated and returned, this once.
#[utoipa::path(post, path = "/users/{username}/password", tag = "users", params(("username" = String, Path)), request_body = PasswordSet,
    responses((status = 200, body = PasswordOut), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn set_password(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath(username): ApiPath<String>,
    ApiJson(body): ApiJson<PasswordSet>,
) -> Result<Json<PasswordOut>, ApiError> {
    admin.require_full()?;
    let store = state.store.as_ref();
    let user = admin::find_user(store, &username).await?;
    let generated = body.password.is_none().then(admin::generate_password);
    let password = body.password.or_else(|| generated.clone()).unwrap_or_default();
    admin::set_password(&admin, store, user.id, &password).await?;
    Ok(Json(PasswordOut { password: generated }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EndSessionsQuery {
    /// Also revoke the user's token families in every application: access and refresh tokens,
    /// `offline_access` ones included (default `true`). With `false`, only the grants made in
    /// the ended sessions go, as at sign-out.
    #[param(value_type = Option<bool>)]
    pub revoke_tokens: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    /// Browser sessions ended; the applications signed in through each were told by
    /// back-channel logout.
    pub sessions_ended: u64,
    /// Token families (a sign-in's access and refresh tokens) revoked.
    pub token_families_revoked: u64,
}

/// End every session of the user (back-channel logout to the applications signed in through
/// each) and revoke their tokens: an incident response. Audited as `user.end_sessions`.
#[utoipa::path(post, path = "/users/{username}/end-sessions", tag = "users", params(("username" = String, Path), EndSessionsQuery),
    responses((status = 200, body = SessionsEnded), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn end_sessions(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath(username): ApiPath<String>,
    ApiQuery(q): ApiQuery<EndSessionsQuery>,
) -> Result<Json<SessionsEnded>, ApiError> {
    admin.require_full()?;
    // Parsed here rather than by serde, so that the error names the parameter.
    let revoke_tokens = match q.revoke_tokens.as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(Error::invalid("revoke_tokens", "must be true or false").into()),
    };
    let store = state.store.as_ref();
    let user = admin::find_user(store, &username).await?;
    let ended = admin::end_user_sessions(&admin, store, user.id, revoke_tokens).await?;
    Ok(Json(SessionsEnded { sessions_ended: ended.sessions, token_families_revoked: ended.token_families }))
}

/// Make the user a delegated administrator of exactly these applications (none: not one).
#[utoipa::path(put, path = "/users/{username}/delegated-applications", tag = "users", params(("username" = String, Path)),
    request_body = Delegation,
    responses((status = 200, body = Delegation), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn set_delegation(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiPath(username): ApiPath<String>,
    ApiJson(body): ApiJson<Delegation>,
) -> Result<Json<Delegation>, ApiError> {
    admin.require_full()?;
    let store = state.store.as_ref();
    let user = admin::find_user(store, &username).await?;
    let apps = admin::set_delegation(&admin, store, &user, &body.client_ids).await?;
    Ok(Json(Delegation { client_ids: apps.into_iter().map(|a| a.client_id).collect() }))
}

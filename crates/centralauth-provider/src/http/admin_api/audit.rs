//! `/api/v1/audit`: the audit log, newest first. Delegated administrators read the entries of
//! their applications only, so they must name one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiAdmin, ApiQuery, page_size, visible_application};
use crate::domain::Error;
use crate::domain::admin;
use crate::domain::page::Page;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::domain::ports::{AuditQuery, AuditRecord};

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    /// Unix time.
    pub at: i64,
    /// `user:NAME` (console or API token), `cli:NAME`, `application:CLIENT_ID`, `system`.
    pub actor: String,
    /// `user.create`, `membership.update`, `group.members`, …
    pub action: String,
    pub target: String,
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    /// The state before the change, as JSON.
    pub before: Option<serde_json::Value>,
    /// The state after the change, as JSON.
    pub after: Option<serde_json::Value>,
}

impl From<AuditRecord> for AuditOut {
    fn from(r: AuditRecord) -> Self {
        let parse = |s: Option<String>| s.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)));
        Self {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            application_id: r.application_id,
            user_id: r.user_id,
            before: parse(r.before),
            after: parse(r.after),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditOut>,
    /// Pass as `before` for the next (older) page; absent on the last one.
    pub next: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditListQuery {
    /// An actor label, such as `user:alice` or `cli:root`.
    pub actor: Option<String>,
    /// A client id: entries about this application.
    pub application: Option<String>,
    /// A username: entries about this user.
    pub user: Option<String>,
    /// Only entries older than this id (the `next` of the previous page).
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

/// Audit entries matching the filters, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditListQuery), responses((status = 200, body = AuditPage)))]
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, ApiAdmin(admin): ApiAdmin, ApiQuery(q): ApiQuery<AuditListQuery>) -> Result<Json<AuditPage>, ApiError> {
    let store = state.store.as_ref();
    let application_id = match &q.application {
        Some(client_id) => Some(visible_application(store, &admin, client_id).await?.id),
        None if admin.is_full() => None,
        None => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "access_denied", "name one of your applications: ?application=CLIENT_ID"));
        }
    };
    let user_id = match &q.user {
        // A delegated administrator learns nothing of usernames from this filter: a name
        // nobody has finds no entries, like a user of whom their applications record none.
        Some(username) => match admin::find_user(store, username).await {
            Ok(user) => Some(user.id),
            Err(Error::NotFound { .. }) if !admin.is_full() => return Ok(Json(AuditPage { items: Vec::new(), next: None })),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let limit = page_size(q.limit);
    let query = AuditQuery { actor: q.actor, application_id, user_id, before_id: q.before, limit: Page::<AuditRecord, i64>::fetch_limit(limit) };
    let page = Page::of(store.query_audit(&query).await.map_err(Error::from)?, limit, |r| r.id);
    Ok(Json(AuditPage { items: page.items.into_iter().map(AuditOut::from).collect(), next: page.next }))
}

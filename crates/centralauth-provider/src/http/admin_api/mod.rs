//! The JSON admin API under `/api/v1/`: everything the console and the CLI do, for scripts.
//! Callers present an API token (`Authorization: Bearer`, RFC 6750 §2.1) and act as its owner,
//! within the owner's administrator scope. The OpenAPI document at `/api/v1/openapi.json` is
//! generated from the handlers' annotations, so it cannot drift from the routes.

pub mod applications;
pub mod audit;
pub mod extract;
pub mod factors;
pub mod groups;
pub mod memberships;
pub mod permissions;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use axum::{Extension, Router};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::routes::Routes;
use crate::http::state::AppState;

/// Where the API lives.
pub const BASE: &str = "/api/v1";

/// Membership and group bodies carry id lists; a megabyte holds about 100,000 ids.
const BODY_LIMIT: usize = 1024 * 1024;

/// The error body of every API answer that is not a success.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A machine-readable code: `invalid_request`, `invalid_token`, `access_denied`,
    /// `insufficient_scope` (a write with a read-only token), `not_found`, `conflict`, `payload_too_large`, `unsupported_media_type`, `server_error`.
    pub error: String,
    pub error_description: String,
    /// The request field at fault, for invalid input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "centralauth admin API",
        description = "Users, applications, permissions, groups, memberships, audit log and API tokens of a centralauth provider. \
                       Authenticate with an API token (`centralauth token create NAME --user USERNAME`): `Authorization: Bearer <token>`. \
                       The token acts as its owner, with the owner's rights at the time of each request: an administrator manages everything, \
                       a delegated administrator only the groups and memberships of their applications (never their own membership). \
                       A token expires (90 days unless chosen otherwise, 366 at most) and may be limited further: read-only (`GET` only), \
                       or to some applications (acting as their delegated administrator). Every change is one transaction and one audit entry."
    ),
    components(schemas(ErrorBody)),
    security(("api_token" = [])),
    tags(
        (name = "users", description = "Provider accounts (administrators only)"),
        (name = "applications", description = "Client applications"),
        (name = "permissions", description = "What applications registered about themselves"),
        (name = "groups", description = "Named sets of one application's permissions"),
        (name = "memberships", description = "A user's flags, groups and direct permissions in one application"),
        (name = "audit", description = "Who changed what, when"),
        (name = "api-tokens", description = "Tokens of this API")
    )
)]
struct ApiDoc;

/// The bearer scheme, and the error answers every operation may give.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("An API token of the provider")).build(),
            ),
        );
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                // Handlers are named after their action (`list`, `show`, …) inside a resource
                // module; operation ids must be unique in the document: `applications_list`.
                if let (Some(tag), Some(id)) = (operation.tags.as_ref().and_then(|t| t.first()), operation.operation_id.as_mut()) {
                    *id = format!("{}_{id}", tag.replace('-', "_"));
                }
                if operation.tags.as_ref().is_some_and(|t| t.iter().any(|t| t == "meta")) {
                    continue;
                }
                let responses = &mut operation.responses.responses;
                // OpenAPI requires a description of every response; a success says what it is.
                for (status, response) in responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && response.description.is_empty()
                    {
                        let reason = status.parse::<u16>().ok().and_then(|s| StatusCode::from_u16(s).ok()).and_then(|s| s.canonical_reason());
                        response.description = reason.unwrap_or("Success").to_string();
                    }
                }
                for (status, description) in [
                    ("401", "No token, or an unknown, revoked or expired one (with `WWW-Authenticate: Bearer`)"),
                    ("403", "The token's owner may not do this, or the token is read-only (`insufficient_scope`)"),
                    ("default", "Any other error"),
                ] {
                    responses.entry(status.to_string()).or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// The serialised document, handed to its handler as a request extension.
#[derive(Clone)]
struct Document(Arc<str>);

/// The OpenAPI document itself (no token needed).
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()), responses((status = 200, description = "This API's OpenAPI 3.1 document")))]
async fn openapi_document(Extension(Document(json)): Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json.to_string()).into_response()
}

/// The API's routes, with the OpenAPI document they describe.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::show, users::update))
        .routes(routes!(users::set_password))
        .routes(routes!(users::end_sessions))
        .routes(routes!(users::set_delegation))
        .routes(routes!(factors::list, factors::reset))
        .routes(routes!(factors::remove))
        .routes(routes!(applications::list, applications::create))
        .routes(routes!(applications::show, applications::update, applications::delete))
        .routes(routes!(applications::rotate_secret))
        .routes(routes!(permissions::list))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::show, groups::update, groups::delete))
        .routes(routes!(groups::set_members))
        .routes(routes!(memberships::list))
        .routes(routes!(memberships::show, memberships::save, memberships::delete))
        .routes(routes!(audit::list))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(openapi_document));
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(BASE, v1).split_for_parts();
    // After the routes are in: the conventions apply to every operation.
    Conventions.modify(&mut document);
    (router, document)
}

/// The document as served; also what tests and `openapi_document_is_generated` read.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

/// Every operation of the API may write.
pub fn routes() -> Routes {
    let (routes, document) = api();
    let document = Document(document.to_pretty_json().unwrap_or_default().into());
    let routes = routes
        .route(&format!("{BASE}/{{*rest}}"), any(not_found))
        .route(BASE, any(not_found))
        .layer(Extension(document))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Answers carry secrets shown once; no cache may keep them.
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    Routes::new().write_all(routes)
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint").into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_names_every_route_with_the_bearer_scheme() {
        let doc = super::openapi();
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3."));
        assert!(json["paths"]["/api/v1/applications/{client_id}/memberships/{username}"]["put"].is_object());
        assert_eq!(json["components"]["securitySchemes"]["api_token"]["scheme"], "bearer");
    }
}

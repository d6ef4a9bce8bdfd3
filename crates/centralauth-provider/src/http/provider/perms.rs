//! `POST {prefix}/perms/`: an application makes its registered permission set equal to the
//! list it sends, in one transaction. Unlike the original, a body without a `perms` list is
//! refused (it deleted everything) and malformed JSON is a 400 (it answered 500).
//!
//! The credentials travel inside the JSON body (the wire contract), so the body is read in two
//! steps: a small head before the client is known, the rest only for an authenticated client.
//! A large body with a wrong client costs 64 KiB, not its size in parsed JSON. A member sent twice
//! (`client_id`, `perms`) is a 400: serde refuses duplicate fields of `SyncBody`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use centralauth_wire::{PermissionDeclaration, PermsSyncResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::{self, Deserializer as _, MapAccess, Visitor};

use crate::domain::permission::{self, validate_declarations};
use crate::http::error::ApiError;
use crate::http::shared::ClientCredentials;
use crate::http::state::AppState;

/// The body as it may arrive: credentials are checked before the list is judged, so that an
/// unauthenticated caller learns nothing about what a valid list looks like.
#[derive(Deserialize)]
pub(crate) struct SyncBody {
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) perms: Option<serde_json::Value>,
}

/// Read before the client is known: the whole list of most projects (about 150 bytes per
/// permission).
pub const UNAUTHENTICATED_BODY_LIMIT: usize = 64 * 1024;
/// The most an authenticated client may send: `MAX_PERMISSIONS` entries are about 10 MB.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

fn bad_request(description: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn too_large(description: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", description)
}

fn forbidden() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "invalid_client", "client authentication failed")
}

/// Appends the body's chunks to `buf` until it ends (true) or holds more than `limit` bytes
/// (false).
async fn read_until(stream: &mut axum::body::BodyDataStream, buf: &mut Vec<u8>, limit: usize) -> Result<bool, ApiError> {
    while buf.len() <= limit {
        match stream.next().await {
            None => return Ok(true),
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            Some(Err(e)) => return Err(bad_request(format!("the body could not be read: {e}"))),
        }
    }
    Ok(false)
}

/// `client_id` and `client_secret` when they are the first members of the JSON object in
/// `head`, found without the rest of the object (which `head` may cut off anywhere). serde_json
/// has no partial parse, so a visitor reads members in order and stops at the first other one.
pub(crate) fn leading_credentials(head: &[u8]) -> Option<(String, String)> {
    struct Leading<'a>(&'a mut (Option<String>, Option<String>));
    impl<'de> Visitor<'de> for Leading<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "client_id" => self.0.0 = Some(map.next_value()?),
                    "client_secret" => self.0.1 = Some(map.next_value()?),
                    _ => break,
                }
                if self.0.0.is_some() && self.0.1.is_some() {
                    break;
                }
            }
            // Stopping early is the point; the "error" that the object goes on is expected.
            Err(de::Error::custom("stopped after the credentials"))
        }
    }
    let mut found = (None, None);
    let _ = serde_json::Deserializer::from_slice(head).deserialize_map(Leading(&mut found));
    found.0.zip(found.1)
}

#[tracing::instrument(skip_all, fields(client_id))]
pub async fn sync(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    // The credentials are the body's; HTTP Basic beside them would be a second method, perhaps
    // naming another client (RFC 6749 §2.3, as at the token endpoint).
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok()?.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
    {
        return Err(bad_request("send client_id and client_secret in the JSON body only, not also by HTTP Basic (RFC 6749 §2.3)"));
    }
    let declared_length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large(format!("the body may be at most {BODY_LIMIT} bytes")));
    }
    let mut stream = body.into_data_stream();
    let mut body = Vec::new();
    if !read_until(&mut stream, &mut body, UNAUTHENTICATED_BODY_LIMIT).await? {
        // Too long to take on trust: the client must be known from the head before the rest is
        // read (the django-centralauth client and ours put the credentials first).
        let Some((client_id, client_secret)) = leading_credentials(&body) else {
            return Err(too_large(format!(
                "a body over {UNAUTHENTICATED_BODY_LIMIT} bytes must begin with client_id and client_secret"
            )));
        };
        let credentials = ClientCredentials { client_id, client_secret: Some(client_secret) };
        credentials.authenticate(state.store.as_ref()).await?.ok_or_else(forbidden)?;
        if !read_until(&mut stream, &mut body, BODY_LIMIT).await? {
            return Err(too_large(format!("the body may be at most {BODY_LIMIT} bytes")));
        }
    }
    let parsed: SyncBody = serde_json::from_slice(&body).map_err(|e| bad_request(format!("body must be a JSON object: {e}")))?;
    let (Some(client_id), Some(client_secret)) = (parsed.client_id, parsed.client_secret) else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "invalid_client", "client_id and client_secret are required"));
    };
    tracing::Span::current().record("client_id", client_id.as_str());
    let credentials = ClientCredentials { client_id, client_secret: Some(client_secret) };
    let app = credentials.authenticate(state.store.as_ref()).await?.ok_or_else(forbidden)?;
    let perms = parsed.perms.ok_or_else(|| bad_request("perms: a list of permissions is required"))?;
    let perms: Vec<PermissionDeclaration> = serde_json::from_value(perms)
        .map_err(|e| bad_request(format!("perms: each entry needs app_label, codename and repr strings ({e})")))?;
    let synced = perms.len() as u64;
    let declared = validate_declarations(&perms)?;
    let counts = permission::sync(state.store.as_ref(), &app, declared, synced).await?;
    Ok(Json(PermsSyncResponse {
        success: true,
        synced: counts.synced,
        created: counts.created,
        deleted: counts.deleted,
        count: counts.count,
    })
    .into_response())
}

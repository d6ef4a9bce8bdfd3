//! Serde types of the django-centralauth 2.0 wire contract (DESIGN §3), shared by the provider and
//! the client library, plus the RFC 6749 §5.2 error codes. No I/O lives here.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

/// Successful answer of the token endpoint (RFC 6749 §5.1), keys in the order the original sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token for `/user/` and userinfo.
    pub access_token: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: String,
    /// Space-separated granted scopes.
    pub scope: String,
    /// The refresh token; rotated on every refresh.
    pub refresh_token: String,
    /// OpenID Connect ID token, present for the `openid` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// The error codes of RFC 6749 §4.1.2.1 and §5.2 (and RFC 6750 §3.1's `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (answered with 401).
    InvalidClient,
    /// The code or refresh token is invalid, expired, revoked, replayed or of another client.
    InvalidGrant,
    /// The client may not use this grant type or response type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, or wider than granted.
    InvalidScope,
    /// The resource owner or the server refused the request.
    AccessDenied,
    /// The response type is not supported.
    UnsupportedResponseType,
    /// The server met an unexpected condition.
    ServerError,
    /// The server is overloaded or in maintenance for now (RFC 6749 §4.1.2.1; answered with 503
    /// and `Retry-After`).
    TemporarilyUnavailable,
    /// The access token is missing, expired or revoked (RFC 6750).
    InvalidToken,
}

impl OAuthErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
        }
    }
}

impl std::fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 6749 §5.2 error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    /// The error code.
    pub error: OAuthErrorCode,
    /// Human-readable detail, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// One permission as `[app_label, codename]` on the wire.
pub type PermissionPair = (String, String);

/// Answer of `GET {prefix}/user/`: who the user is and what they may do in the calling application.
/// The flags are those of the user's membership in the token's application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user's stable identifier at the provider, the `sub` of its OpenID Connect tokens and
    /// back-channel events. Sent by centralauth only (an addition to the django-centralauth
    /// contract, whose client ignores unknown keys); absent from a Django provider's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Login name at the provider.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail address (may be empty).
    pub email: String,
    /// Holds every permission in this application.
    pub is_superuser: bool,
    /// May use the application's staff features (the Django admin, for Django clients).
    pub is_staff: bool,
    /// Whether the membership (and the user) is active.
    pub is_active: bool,
    /// Effective permissions: direct ∪ groups, without duplicates.
    pub permissions: Vec<PermissionPair>,
}

/// One permission an application declares, as sent to `{prefix}/perms/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionDeclaration {
    /// Django app label, or any namespace the application uses.
    pub app_label: String,
    /// Machine name of the permission.
    pub codename: String,
    /// Human-readable name.
    pub repr: String,
}

/// Body of `POST {prefix}/perms/`: make the application's permission set equal to `perms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermsSyncRequest {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// The complete list of the application's permissions.
    pub perms: Vec<PermissionDeclaration>,
}

/// Answer of `POST {prefix}/perms/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermsSyncResponse {
    /// Always `true` on success.
    pub success: bool,
    /// Number of entries in the request, duplicates included (as the original counts).
    pub synced: u64,
    /// Permissions newly created.
    pub created: u64,
    /// Permissions deleted because they were not listed.
    pub deleted: u64,
    /// Permissions the application has afterwards.
    pub count: u64,
}

/// RFC 7662 introspection answer. Inactive tokens carry only `active: false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectionResponse {
    /// Whether the token is currently active.
    pub active: bool,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry as a Unix timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The resource owner's username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` for an access token (RFC 7662 §2.2: the type of RFC 6749 §5.1); absent for a
    /// refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

impl IntrospectionResponse {
    /// The answer for an unknown, expired, revoked or foreign token.
    pub fn inactive() -> Self {
        Self { active: false, scope: None, exp: None, client_id: None, username: None, token_type: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_keeps_the_originals_key_order() {
        let body = TokenResponse {
            access_token: "a".into(),
            expires_in: 300,
            token_type: "Bearer".into(),
            scope: "read write".into(),
            refresh_token: "r".into(),
            id_token: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"access_token":"a","expires_in":300,"token_type":"Bearer","scope":"read write","refresh_token":"r"}"#
        );
    }

    #[test]
    fn permissions_are_pairs_on_the_wire() {
        let info: UserInfo = serde_json::from_str(
            r#"{"username":"alice","first_name":"A","last_name":"B","email":"","is_superuser":false,
               "is_staff":true,"is_active":true,"permissions":[["auth","view_group"]]}"#,
        )
        .unwrap();
        assert_eq!(info.permissions, vec![("auth".to_string(), "view_group".to_string())]);
    }

    #[test]
    fn inactive_introspection_is_only_the_flag() {
        assert_eq!(serde_json::to_string(&IntrospectionResponse::inactive()).unwrap(), r#"{"active":false}"#);
    }
}

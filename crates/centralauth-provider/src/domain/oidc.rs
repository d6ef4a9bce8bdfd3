//! OpenID Connect on top of the authorization server: the claims of the id_token, of the
//! back-channel logout token and of the access-change event, and which change of a membership
//! is worth telling an application about.

use serde::Serialize;

use super::Result;
use super::application::Application;
use super::clock::UnixTime;
use super::grants::IssuedTokens;
use super::membership::Membership;
use super::signing::{SigningKey, at_hash};

/// Lifetime of an id_token. A retired signing key stays published at least this long after its
/// last token (see `ROTATION_GRACE_SECONDS`).
pub const ID_TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// How long a retired key stays in the JWKS by default: the last id_token it signed expires,
/// plus the lifetime of a logout token and some clock skew.
pub const ROTATION_GRACE_SECONDS: i64 = ID_TOKEN_LIFETIME_SECONDS + LOGOUT_TOKEN_LIFETIME_SECONDS + 180;

/// Back-Channel Logout 1.0 §2.4 recommends logout tokens of at most two minutes.
pub const LOGOUT_TOKEN_LIFETIME_SECONDS: i64 = 120;

/// The `events` member of a logout token (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The `events` member of our access-change Security Event Token (RFC 8417): the user's
/// membership in the audience application changed; re-sync the user now.
pub const ACCESS_CHANGED_EVENT: &str = "urn:centralauth:event:access-changed";

/// The scope that keeps a grant alive beyond the sign-in session (OpenID Connect Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// OpenID Connect Core §2.
#[derive(Debug, Serialize)]
pub struct IdTokenClaims<'a> {
    pub iss: &'a str,
    pub sub: String,
    pub aud: &'a str,
    pub azp: &'a str,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
    pub at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<&'a str>,
    /// How the user signed in (RFC 8176 values; `mfa` when two factor classes were proven);
    /// left out rather than empty for a grant that knows none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<&'static str>,
    /// The level the sign-in reached (`mfa::acr`), whatever the request asked for.
    pub acr: &'static str,
}

/// Signs the id_token of freshly issued tokens (OpenID Connect Core §3.1.3.3 and §12.2).
pub fn sign_id_token(key: &SigningKey, issuer: &str, app: &Application, issued: &IssuedTokens, now: UnixTime) -> Result<String> {
    let claims = IdTokenClaims {
        iss: issuer,
        sub: subject(issued.user_id.0),
        aud: &app.client_id,
        azp: &app.client_id,
        exp: now + ID_TOKEN_LIFETIME_SECONDS,
        iat: now,
        auth_time: issued.auth_time,
        nonce: issued.nonce.as_deref(),
        at_hash: at_hash(issued.access_token.expose(), key.algorithm),
        sid: issued.sid.as_deref(),
        amr: issued.amr.claim(),
        acr: issued.amr.level().acr(),
    };
    key.sign("JWT", &claims)
}

/// What a delivery tells an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A logout token: the user's sessions (or the one session `sid`) end.
    Logout,
    /// An access-change event: flags, groups or permissions changed.
    AccessChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::AccessChanged => "access-changed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "logout" => Some(Self::Logout),
            "access-changed" => Some(Self::AccessChanged),
            _ => None,
        }
    }
}

/// The claims of a logout token (Back-Channel Logout 1.0 §2.4) or of an access-change event
/// (RFC 8417), which share their shape; `iat` is when the change happened, `exp` (logout tokens
/// only) is set at each delivery attempt, which is signed afresh.
#[derive(Debug, Serialize)]
pub struct EventClaims<'a> {
    pub iss: &'a str,
    pub aud: &'a str,
    pub iat: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    pub jti: &'a str,
    pub sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<&'a str>,
    pub events: serde_json::Value,
}

/// What happened to whom, as the outbox keeps it.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub kind: EventKind,
    pub sub: &'a str,
    pub sid: Option<&'a str>,
    pub jti: &'a str,
    /// When the change happened.
    pub at: UnixTime,
}

impl<'a> EventClaims<'a> {
    /// The claims for `aud`, signed at `now`.
    pub fn new(facts: EventFacts<'a>, iss: &'a str, aud: &'a str, now: UnixTime) -> Self {
        let (event, exp) = match facts.kind {
            EventKind::Logout => (BACKCHANNEL_LOGOUT_EVENT, Some(now + LOGOUT_TOKEN_LIFETIME_SECONDS)),
            EventKind::AccessChanged => (ACCESS_CHANGED_EVENT, None),
        };
        Self { iss, aud, iat: facts.at, exp, jti: facts.jti, sub: facts.sub, sid: facts.sid, events: serde_json::json!({ event: {} }) }
    }

    /// The JWS `typ` header of each kind.
    pub fn typ(kind: EventKind) -> &'static str {
        match kind {
            EventKind::Logout => "logout+jwt",
            EventKind::AccessChanged => "secevent+jwt",
        }
    }
}

/// What an application is told when a membership changes: deactivation ends the user's
/// sessions there; any other change of flags, groups or permissions asks for a re-sync.
pub fn membership_change_event(before: &Membership, after: &Membership) -> Option<EventKind> {
    if before.flags.is_active && !after.flags.is_active {
        return Some(EventKind::Logout);
    }
    let same = before.flags == after.flags && before.groups == after.groups && before.permissions == after.permissions;
    (!same).then_some(EventKind::AccessChanged)
}

/// The subject identifier of a user: their id, stable across renames (`public` subject type).
pub fn subject(user_id: i64) -> String {
    user_id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::ApplicationId;
    use crate::domain::membership::{MembershipFlags, MembershipId};
    use crate::domain::permission::PermissionId;
    use crate::domain::user::UserId;

    fn membership(active: bool, perms: &[i64]) -> Membership {
        Membership {
            id: MembershipId(1),
            application_id: ApplicationId(1),
            user_id: UserId(1),
            flags: MembershipFlags { is_superuser: false, is_staff: false, is_active: active },
            groups: vec![],
            permissions: perms.iter().map(|p| PermissionId(*p)).collect(),
        }
    }

    #[test]
    fn deactivation_logs_out_and_other_changes_ask_for_a_resync() {
        assert_eq!(membership_change_event(&membership(true, &[1]), &membership(false, &[1])), Some(EventKind::Logout));
        assert_eq!(membership_change_event(&membership(true, &[1]), &membership(true, &[1, 2])), Some(EventKind::AccessChanged));
        assert_eq!(membership_change_event(&membership(false, &[1]), &membership(true, &[1])), Some(EventKind::AccessChanged));
        assert_eq!(membership_change_event(&membership(true, &[1]), &membership(true, &[1])), None);
    }

    #[test]
    fn logout_tokens_carry_the_logout_event_and_an_expiry() {
        let facts = |kind, sid| EventFacts { kind, sub: "7", sid, jti: "j", at: 100 };
        let claims = EventClaims::new(facts(EventKind::Logout, Some("s")), "iss", "app", 200);
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["events"], serde_json::json!({BACKCHANNEL_LOGOUT_EVENT: {}}));
        assert_eq!(json["exp"], 200 + LOGOUT_TOKEN_LIFETIME_SECONDS);
        assert!(json.get("nonce").is_none());
        let change = serde_json::to_value(EventClaims::new(facts(EventKind::AccessChanged, None), "iss", "app", 200)).unwrap();
        assert_eq!(change["events"], serde_json::json!({ACCESS_CHANGED_EVENT: {}}));
        assert!(change.get("sid").is_none());
    }
}

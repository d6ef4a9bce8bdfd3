//! Applications: the client projects that delegate login and permissions to the provider.

use serde::Serialize;

use super::clock::UnixTime;
use super::mfa::Requirement;
use super::redirect_uri::{RedirectUri, RedirectUriMatch};
use super::secret::SecretDigest;
use super::signing::Algorithm;
use super::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ApplicationId(pub i64);

/// A client id: 1–100 printable ASCII characters without spaces or `:` (which would break
/// HTTP Basic authentication, RFC 6749 §2.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self> {
        let valid = !raw.is_empty() && raw.len() <= 100 && raw.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !valid {
            return Err(Error::invalid("client_id", "must be 1 to 100 printable ASCII characters without ':'"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether PKCE is demanded of this application (it is accepted from every one). Required
/// unless a profile or the administrator says otherwise (RFC 9700 §2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PkcePolicy {
    Optional,
    #[default]
    Required,
}

impl PkcePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "optional" => Ok(Self::Optional),
            "required" => Ok(Self::Required),
            _ => Err(Error::invalid("pkce", "must be optional or required")),
        }
    }
}

/// A preset of the settings a kind of client needs; not stored (the settings are), so that
/// an administrator can still change each one afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApplicationProfile {
    /// Exact redirect URI matching, PKCE required, introspection by POST only (RFC 9700 §2.1).
    #[default]
    Default,
    /// What django-centralauth's client needs: it adds `?next=` to the registered redirect URI
    /// and sends no PKCE; its provider answered introspection by GET as well.
    DjangoCentralauth,
}

/// The settings a profile chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileSettings {
    pub redirect_uri_match: RedirectUriMatch,
    pub pkce: PkcePolicy,
    pub allow_introspection_get: bool,
}

impl ApplicationProfile {
    pub const ALL: [Self; 2] = [Self::Default, Self::DjangoCentralauth];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::DjangoCentralauth => "django-centralauth",
        }
    }

    pub fn parse(raw: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw).ok_or_else(|| Error::invalid("profile", "must be default or django-centralauth"))
    }

    pub fn settings(self) -> ProfileSettings {
        match self {
            Self::Default => {
                ProfileSettings { redirect_uri_match: RedirectUriMatch::Exact, pkce: PkcePolicy::Required, allow_introspection_get: false }
            }
            Self::DjangoCentralauth => ProfileSettings {
                redirect_uri_match: RedirectUriMatch::AllowExtraQuery,
                pkce: PkcePolicy::Optional,
                allow_introspection_get: true,
            },
        }
    }

    /// The profile whose settings an application has, if any.
    pub fn of(app: &Application) -> Option<Self> {
        let has =
            ProfileSettings { redirect_uri_match: app.redirect_uri_match, pkce: app.pkce, allow_introspection_get: app.allow_introspection_get };
        Self::ALL.into_iter().find(|p| p.settings() == has)
    }
}

/// Token lifetimes in seconds. The defaults are django-oauth-toolkit's (5 minutes for access
/// tokens) and a bounded refresh lifetime (30 days) instead of its unlimited one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TokenLifetimes {
    pub access_token: i64,
    pub refresh_token: i64,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self { access_token: 300, refresh_token: 30 * 24 * 3600 }
    }
}

impl TokenLifetimes {
    pub fn validate(self) -> Result<Self> {
        if !(1..=86_400 * 365).contains(&self.access_token) {
            return Err(Error::invalid("access_token_lifetime", "must be between 1 second and 1 year"));
        }
        if !(1..=86_400 * 3650).contains(&self.refresh_token) {
            return Err(Error::invalid("refresh_token_lifetime", "must be between 1 second and 10 years"));
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: ApplicationId,
    pub name: String,
    pub client_id: String,
    #[serde(skip)]
    pub client_secret_digest: SecretDigest,
    pub redirect_uris: Vec<RedirectUri>,
    pub redirect_uri_match: RedirectUriMatch,
    pub pkce: PkcePolicy,
    /// Redirect URIs may be plain `http` to any host (a test environment), not only to loopback.
    pub allow_insecure_redirect_uris: bool,
    /// Introspection also by `GET ?token=` (django-centralauth compatibility; RFC 7662 says POST).
    pub allow_introspection_get: bool,
    pub lifetimes: TokenLifetimes,
    pub oidc: OidcSettings,
    /// Sign-ins for this application must have proven a second factor (checked at authorization).
    pub require_mfa: bool,
    /// Sign-ins for this application must have used a passkey with user verification; this
    /// implies a second factor (such a passkey is two factors: possession and inherence).
    pub require_passkey: bool,
    pub created_at: UnixTime,
}

impl Application {
    /// What a session must have proven before this application gets a code: the stronger of
    /// its two policy switches (`require_passkey` implies `require_mfa`).
    pub fn requirement(&self) -> Requirement {
        requirement_of(self.require_mfa, self.require_passkey)
    }

    /// Constant-time check of a presented client secret (RFC 6749 §2.3.1).
    pub fn authenticates(&self, presented_secret: &str) -> bool {
        self.client_secret_digest.matches(presented_secret)
    }
}

#[derive(Debug, Clone)]
pub struct NewApplication {
    pub name: String,
    pub client_id: ClientId,
    pub client_secret_digest: SecretDigest,
    pub redirect_uris: Vec<RedirectUri>,
    pub redirect_uri_match: RedirectUriMatch,
    pub pkce: PkcePolicy,
    pub allow_insecure_redirect_uris: bool,
    pub allow_introspection_get: bool,
    pub lifetimes: TokenLifetimes,
    pub oidc: OidcSettings,
    pub require_mfa: bool,
    pub require_passkey: bool,
}

/// The requirement of an application's two policy switches.
pub fn requirement_of(require_mfa: bool, require_passkey: bool) -> Requirement {
    match (require_mfa, require_passkey) {
        (_, true) => Requirement::Passkey,
        (true, false) => Requirement::SecondFactor,
        (false, false) => Requirement::None,
    }
}

/// What OpenID Connect adds to an application (OpenID Connect RP-Initiated Logout and
/// Back-Channel Logout registration metadata).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct OidcSettings {
    /// Where RP-initiated logout may send the browser afterwards (matched exactly).
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Receives logout tokens and access-change events; none when empty.
    pub backchannel_logout_uri: Option<RedirectUri>,
    /// Signs this application's id_tokens, logout tokens and events.
    pub id_token_signing_alg: Algorithm,
}

pub fn parse_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(Error::invalid("name", "must be 1 to 255 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must not contain control characters"));
    }
    Ok(name.to_string())
}

/// Redirect URIs are stored space-separated, as django-oauth-toolkit does (a URI has no spaces).
pub fn join_redirect_uris(uris: &[RedirectUri]) -> String {
    uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>().join(" ")
}

pub fn split_redirect_uris(stored: &str) -> Vec<RedirectUri> {
    stored.split_whitespace().filter_map(|u| RedirectUri::parse(u).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_refuse_colons_spaces_and_empty() {
        assert!(ClientId::parse("client1").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a:b").is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("ä").is_err());
    }

    #[test]
    fn the_default_profile_is_strict_and_the_django_one_is_what_its_client_needs() {
        let strict = ApplicationProfile::default().settings();
        let strict = (strict.redirect_uri_match, strict.pkce, strict.allow_introspection_get);
        assert_eq!(strict, (RedirectUriMatch::Exact, PkcePolicy::Required, false));
        let django = ApplicationProfile::parse("django-centralauth").unwrap().settings();
        let django = (django.redirect_uri_match, django.pkce, django.allow_introspection_get);
        assert_eq!(django, (RedirectUriMatch::AllowExtraQuery, PkcePolicy::Optional, true));
        assert!(ApplicationProfile::parse("lax").is_err());
    }

    #[test]
    fn require_passkey_implies_a_second_factor() {
        assert_eq!(requirement_of(false, false), Requirement::None);
        assert_eq!(requirement_of(true, false), Requirement::SecondFactor);
        assert_eq!(requirement_of(false, true), Requirement::Passkey);
        assert_eq!(requirement_of(true, true), Requirement::Passkey);
        assert!(Requirement::Passkey > Requirement::SecondFactor);
    }

    #[test]
    fn lifetimes_must_be_positive() {
        assert!(TokenLifetimes { access_token: 0, refresh_token: 10 }.validate().is_err());
        assert!(TokenLifetimes::default().validate().is_ok());
    }
}

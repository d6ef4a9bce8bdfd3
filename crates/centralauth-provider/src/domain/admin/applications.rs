//! Registered applications: create, change settings, rotate the secret, delete. Administrators
//! only: a delegated administrator manages an application's groups and memberships, never its
//! settings or secret.

use crate::domain::application::{
    Application, ApplicationProfile, ClientId, NewApplication, OidcSettings, PkcePolicy, TokenLifetimes, parse_name,
};
use crate::domain::authz::Administrator;
use crate::domain::ports::{ApplicationStore, ApplicationUsage};
use crate::domain::redirect_uri::{MAX_REDIRECT_URIS, RedirectUri, RedirectUriMatch};
use crate::domain::secret::Secret;
use crate::domain::signing::Algorithm;
use crate::domain::{Error, Result};

pub async fn find_application<S: ApplicationStore + ?Sized>(store: &S, client_id: &str) -> Result<Application> {
    store.find_application_by_client_id(client_id).await?.ok_or(Error::not_found("application"))
}

/// A new application's settings. The profile gives redirect URI matching, PKCE and
/// introspection by GET; a setting given on its own overrides the profile's.
#[derive(Debug)]
pub struct ApplicationInput {
    pub name: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub profile: ApplicationProfile,
    pub redirect_uri_match: Option<RedirectUriMatch>,
    pub pkce: Option<PkcePolicy>,
    pub allow_introspection_get: Option<bool>,
    pub allow_insecure_redirect_uris: bool,
    pub lifetimes: TokenLifetimes,
    pub oidc: OidcChanges,
    /// The sign-in policy (`Application::requirement`).
    pub require_mfa: bool,
    /// Implies a second factor.
    pub require_passkey: bool,
}

/// The redirect URIs an application registers: at least one, at most [`MAX_REDIRECT_URIS`],
/// each allowed by [`RedirectUri::register`]. What `registered` already holds stays allowed
/// (URIs and a count from before these rules, or from an import), so that an application
/// can be edited without first removing them.
pub fn parse_redirect_uris(raw: &[String], allow_insecure: bool, registered: &[RedirectUri]) -> Result<Vec<RedirectUri>> {
    if raw.is_empty() {
        return Err(Error::invalid("redirect_uri", "at least one is required"));
    }
    register_uris("redirect_uri", raw, allow_insecure, registered)
}

fn register_uris(field: &'static str, raw: &[String], allow_insecure: bool, registered: &[RedirectUri]) -> Result<Vec<RedirectUri>> {
    if raw.len() > MAX_REDIRECT_URIS && raw.len() > registered.len() {
        return Err(Error::invalid(field, format!("at most {MAX_REDIRECT_URIS} are allowed")));
    }
    raw.iter()
        .map(|u| match registered.iter().find(|r| r.as_str() == u.trim()) {
            Some(kept) => Ok(kept.clone()),
            None => RedirectUri::register(u, allow_insecure).map_err(|e| match e {
                Error::Invalid { reason, .. } => Error::invalid(field, reason),
                other => other,
            }),
        })
        .collect()
}

/// Changes to the OpenID Connect settings of an application; `None` keeps what is there.
#[derive(Debug, Default, Clone)]
pub struct OidcChanges {
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// An empty string removes the URI.
    pub backchannel_logout_uri: Option<String>,
    pub id_token_signing_alg: Option<String>,
}

impl OidcChanges {
    /// Post-logout redirect URIs follow the redirect URIs' rules (the browser goes there too).
    pub fn apply(self, mut settings: OidcSettings, allow_insecure: bool) -> Result<OidcSettings> {
        if let Some(uris) = self.post_logout_redirect_uris {
            settings.post_logout_redirect_uris =
                register_uris("post_logout_redirect_uris", &uris, allow_insecure, &settings.post_logout_redirect_uris)?;
        }
        if let Some(raw) = self.backchannel_logout_uri {
            settings.backchannel_logout_uri = parse_backchannel_logout_uri(&raw)?;
        }
        if let Some(alg) = self.id_token_signing_alg {
            settings.id_token_signing_alg = Algorithm::parse(&alg)?;
        }
        Ok(settings)
    }
}

/// An http(s) URL the provider posts to (Back-Channel Logout 1.0 §2.2), or none when empty.
pub fn parse_backchannel_logout_uri(raw: &str) -> Result<Option<RedirectUri>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let uri = RedirectUri::parse(raw).map_err(|_| Error::invalid("backchannel_logout_uri", format!("{raw:?} is not an absolute URL")))?;
    if !(raw.starts_with("http://") || raw.starts_with("https://")) {
        return Err(Error::invalid("backchannel_logout_uri", "must be an http or https URL"));
    }
    Ok(Some(uri))
}

/// Creates an application. The secret is returned in plain text this once; given id and secret
/// (carried over from another installation) are kept as they are.
pub async fn create_application<S: ApplicationStore + ?Sized>(
    admin: &Administrator,
    store: &S,
    input: ApplicationInput,
) -> Result<(Application, Secret)> {
    admin.require_full()?;
    let client_id = ClientId::parse(&input.client_id.unwrap_or_else(|| Secret::generate().expose()[..32].to_string()))?;
    let secret = match input.client_secret {
        Some(given) if given.len() < 16 => return Err(Error::invalid("client_secret", "must be at least 16 characters")),
        Some(given) => Secret::from_given(given),
        None => Secret::generate(),
    };
    let preset = input.profile.settings();
    let allow_insecure = input.allow_insecure_redirect_uris;
    let app = NewApplication {
        name: parse_name(&input.name)?,
        client_id,
        client_secret_digest: secret.digest(),
        redirect_uris: parse_redirect_uris(&input.redirect_uris, allow_insecure, &[])?,
        redirect_uri_match: input.redirect_uri_match.unwrap_or(preset.redirect_uri_match),
        pkce: input.pkce.unwrap_or(preset.pkce),
        allow_insecure_redirect_uris: allow_insecure,
        allow_introspection_get: input.allow_introspection_get.unwrap_or(preset.allow_introspection_get),
        lifetimes: input.lifetimes.validate()?,
        oidc: input.oidc.apply(OidcSettings::default(), allow_insecure)?,
        require_mfa: input.require_mfa,
        require_passkey: input.require_passkey,
    };
    Ok((store.insert_application(&app, &admin.actor()).await?, secret))
}

/// An application's editable settings as a form, the API or the CLI sends them; `None` keeps.
/// A profile sets its settings first; the ones given on their own override it.
#[derive(Debug, Default, Clone)]
pub struct ApplicationUpdate {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub profile: Option<ApplicationProfile>,
    pub redirect_uri_match: Option<RedirectUriMatch>,
    pub pkce: Option<PkcePolicy>,
    pub allow_introspection_get: Option<bool>,
    pub allow_insecure_redirect_uris: Option<bool>,
    pub access_token_lifetime: Option<i64>,
    pub refresh_token_lifetime: Option<i64>,
    pub oidc: OidcChanges,
    /// The sign-in policy; a change counts from the next authorization request (a session that
    /// signed in with less is asked for the missing factor then).
    pub require_mfa: Option<bool>,
    pub require_passkey: Option<bool>,
    /// A new client secret in the same change (the CLI's `--rotate-secret`), returned this once.
    pub rotate_secret: bool,
}

/// Changes an application's settings in one audited write; with `rotate_secret`, also its secret.
pub async fn update_application<S: ApplicationStore + ?Sized>(
    admin: &Administrator,
    store: &S,
    mut app: Application,
    update: ApplicationUpdate,
) -> Result<(Application, Option<Secret>)> {
    admin.require_full()?;
    if let Some(name) = &update.name {
        app.name = parse_name(name)?;
    }
    app.allow_insecure_redirect_uris = update.allow_insecure_redirect_uris.unwrap_or(app.allow_insecure_redirect_uris);
    if let Some(uris) = &update.redirect_uris {
        app.redirect_uris = parse_redirect_uris(uris, app.allow_insecure_redirect_uris, &app.redirect_uris)?;
    }
    if let Some(preset) = update.profile.map(ApplicationProfile::settings) {
        app.redirect_uri_match = preset.redirect_uri_match;
        app.pkce = preset.pkce;
        app.allow_introspection_get = preset.allow_introspection_get;
    }
    app.redirect_uri_match = update.redirect_uri_match.unwrap_or(app.redirect_uri_match);
    app.pkce = update.pkce.unwrap_or(app.pkce);
    app.allow_introspection_get = update.allow_introspection_get.unwrap_or(app.allow_introspection_get);
    app.lifetimes = TokenLifetimes {
        access_token: update.access_token_lifetime.unwrap_or(app.lifetimes.access_token),
        refresh_token: update.refresh_token_lifetime.unwrap_or(app.lifetimes.refresh_token),
    }
    .validate()?;
    app.oidc = update.oidc.apply(app.oidc, app.allow_insecure_redirect_uris)?;
    app.require_mfa = update.require_mfa.unwrap_or(app.require_mfa);
    app.require_passkey = update.require_passkey.unwrap_or(app.require_passkey);
    let secret = update.rotate_secret.then(Secret::generate);
    if let Some(secret) = &secret {
        app.client_secret_digest = secret.digest();
    }
    Ok((store.update_application(&app, &admin.actor()).await?, secret))
}

/// A new client secret, returned in plain text this once; the old one stops working.
pub async fn rotate_client_secret<S: ApplicationStore + ?Sized>(admin: &Administrator, store: &S, mut app: Application) -> Result<(Application, Secret)> {
    admin.require_full()?;
    let secret = Secret::generate();
    app.client_secret_digest = secret.digest();
    Ok((store.update_application(&app, &admin.actor()).await?, secret))
}

/// Deletes the application with its permissions, groups, memberships and grants; returns what went.
pub async fn delete_application<S: ApplicationStore + ?Sized>(admin: &Administrator, store: &S, app: &Application) -> Result<ApplicationUsage> {
    admin.require_full()?;
    Ok(store.delete_application(app.id, &admin.actor()).await?)
}

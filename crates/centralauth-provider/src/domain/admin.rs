//! Administrative operations shared by the CLI (and later the console and the JSON API): each
//! validates its input with the domain's parsers, resolves names to ids inside the right
//! application, and leaves the write, with its audit entry, to one store transaction.

use super::application::{Application, ClientId, NewApplication, OidcSettings, PkcePolicy, TokenLifetimes, parse_name};
use super::audit::Actor;
use super::membership::{Group, GroupId, Membership, MembershipFlags, MembershipSpec, parse_group_name};
use super::password;
use super::permission::{PermissionId, PermissionKey};
use super::redirect_uri::{RedirectUri, RedirectUriMatch};
use super::secret::Secret;
use super::signing::Algorithm;
use super::user::{Email, NewUser, Role, User, Username, parse_name as parse_person_name};
use super::{Error, Result};
use crate::store::Store;

/// Minimum length of a password set by an administrator or a user (NIST SP 800-63B §5.1.1).
pub const MIN_PASSWORD_LENGTH: usize = 8;

pub fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD_LENGTH} characters")));
    }
    if password.len() > 1024 {
        return Err(Error::invalid("password", "must be at most 1024 bytes"));
    }
    Ok(())
}

/// A password for people to type: 20 characters of base64url (120 bits).
pub fn generate_password() -> String {
    Secret::generate().expose()[..20].to_string()
}

#[derive(Debug, Default)]
pub struct UserInput {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub administrator: bool,
    pub password: Option<String>,
}

pub async fn create_user(store: &dyn Store, input: UserInput, actor: &Actor) -> Result<User> {
    let password_hash = match input.password {
        Some(pw) => {
            check_password(&pw)?;
            Some(password::hash(pw).await?)
        }
        None => None,
    };
    let user = NewUser {
        username: Username::parse(&input.username)?,
        email: Email::parse(&input.email)?,
        first_name: parse_person_name("first_name", &input.first_name)?,
        last_name: parse_person_name("last_name", &input.last_name)?,
        role: if input.administrator { Role::Administrator } else { Role::User },
        password_hash,
    };
    Ok(store.insert_user(&user, actor).await?)
}

pub async fn find_user(store: &dyn Store, username: &str) -> Result<User> {
    store.find_user_by_username(username).await?.ok_or(Error::not_found("user"))
}

pub async fn find_application(store: &dyn Store, client_id: &str) -> Result<Application> {
    store.find_application_by_client_id(client_id).await?.ok_or(Error::not_found("application"))
}

#[derive(Debug)]
pub struct ApplicationInput {
    pub name: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub redirect_uri_match: RedirectUriMatch,
    pub pkce: PkcePolicy,
    pub lifetimes: TokenLifetimes,
    pub oidc: OidcSettings,
}

pub fn parse_redirect_uris(raw: &[String]) -> Result<Vec<RedirectUri>> {
    if raw.is_empty() {
        return Err(Error::invalid("redirect_uri", "at least one is required"));
    }
    raw.iter().map(|u| RedirectUri::parse(u)).collect()
}

/// Changes to the OpenID Connect settings of an application; `None` keeps what is there.
#[derive(Debug, Default)]
pub struct OidcChanges {
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// An empty string removes the URI.
    pub backchannel_logout_uri: Option<String>,
    pub id_token_signing_alg: Option<String>,
}

impl OidcChanges {
    pub fn apply(self, mut settings: OidcSettings) -> Result<OidcSettings> {
        if let Some(uris) = self.post_logout_redirect_uris {
            settings.post_logout_redirect_uris = uris.iter().map(|u| RedirectUri::parse(u)).collect::<Result<_>>()?;
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
pub async fn create_application(store: &dyn Store, input: ApplicationInput, actor: &Actor) -> Result<(Application, Secret)> {
    let client_id = ClientId::parse(&input.client_id.unwrap_or_else(|| Secret::generate().expose()[..32].to_string()))?;
    let secret = match input.client_secret {
        Some(given) if given.len() < 16 => return Err(Error::invalid("client_secret", "must be at least 16 characters")),
        Some(given) => Secret::from_given(given),
        None => Secret::generate(),
    };
    let app = NewApplication {
        name: parse_name(&input.name)?,
        client_id,
        client_secret_digest: secret.digest(),
        redirect_uris: parse_redirect_uris(&input.redirect_uris)?,
        redirect_uri_match: input.redirect_uri_match,
        pkce: input.pkce,
        lifetimes: input.lifetimes.validate()?,
        oidc: input.oidc,
    };
    Ok((store.insert_application(&app, actor).await?, secret))
}

/// Resolves `app_label.codename` names to the application's permissions; unknown ones are an error.
pub async fn resolve_permissions(store: &dyn Store, app: &Application, dotted: &[String]) -> Result<Vec<PermissionId>> {
    let keys = dotted.iter().map(|d| PermissionKey::parse_dotted(d)).collect::<Result<Vec<_>>>()?;
    let found = store.find_permissions(app.id, &keys).await?;
    if let Some(missing) = keys.iter().find(|k| !found.iter().any(|p| &p.key == *k)) {
        return Err(Error::invalid("permission", format!("{missing} is not registered by {}", app.client_id)));
    }
    Ok(found.into_iter().map(|p| p.id).collect())
}

pub async fn resolve_groups(store: &dyn Store, app: &Application, names: &[String]) -> Result<Vec<GroupId>> {
    let groups = store.list_groups(app.id).await?;
    names
        .iter()
        .map(|n| {
            groups
                .iter()
                .find(|g| g.name == *n)
                .map(|g| g.id)
                .ok_or_else(|| Error::invalid("group", format!("{n:?} does not exist in {}", app.client_id)))
        })
        .collect()
}

pub async fn create_group(store: &dyn Store, app: &Application, name: &str, permissions: &[String], actor: &Actor) -> Result<Group> {
    let name = parse_group_name(name)?;
    let ids = resolve_permissions(store, app, permissions).await?;
    Ok(store.insert_group(app.id, &name, &ids, actor).await?)
}

/// Changes to a membership; `None` keeps what is there.
#[derive(Debug, Default)]
pub struct MembershipChanges {
    pub is_superuser: Option<bool>,
    pub is_staff: Option<bool>,
    pub is_active: Option<bool>,
    pub groups: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
}

pub async fn add_membership(
    store: &dyn Store,
    app: &Application,
    user: &User,
    changes: MembershipChanges,
    actor: &Actor,
) -> Result<Membership> {
    let spec = MembershipSpec {
        application_id: app.id,
        user_id: user.id,
        flags: MembershipFlags {
            is_superuser: changes.is_superuser.unwrap_or(false),
            is_staff: changes.is_staff.unwrap_or(false),
            is_active: changes.is_active.unwrap_or(true),
        },
        groups: resolve_groups(store, app, changes.groups.as_deref().unwrap_or_default()).await?,
        permissions: resolve_permissions(store, app, changes.permissions.as_deref().unwrap_or_default()).await?,
    };
    Ok(store.insert_membership(&spec, actor).await?)
}

pub async fn update_membership(
    store: &dyn Store,
    app: &Application,
    user: &User,
    changes: MembershipChanges,
    actor: &Actor,
) -> Result<Membership> {
    let current = store.find_membership(app.id, user.id).await?.ok_or(Error::not_found("membership"))?;
    let groups = match &changes.groups {
        Some(names) => resolve_groups(store, app, names).await?,
        None => current.groups.clone(),
    };
    let permissions = match &changes.permissions {
        Some(names) => resolve_permissions(store, app, names).await?,
        None => current.permissions.clone(),
    };
    let spec = MembershipSpec {
        application_id: app.id,
        user_id: user.id,
        flags: MembershipFlags {
            is_superuser: changes.is_superuser.unwrap_or(current.flags.is_superuser),
            is_staff: changes.is_staff.unwrap_or(current.flags.is_staff),
            is_active: changes.is_active.unwrap_or(current.flags.is_active),
        },
        groups,
        permissions,
    };
    Ok(store.update_membership(&spec, actor).await?)
}

/// On a database without an active administrator, creates one named `admin` (or `admin2`, …
/// when that name is taken) with a generated password, returned to be shown once.
pub async fn ensure_administrator(store: &dyn Store) -> Result<Option<(User, String)>> {
    if store.count_administrators().await? > 0 {
        return Ok(None);
    }
    for attempt in 1..=100 {
        let username = if attempt == 1 { "admin".to_string() } else { format!("admin{attempt}") };
        let password = generate_password();
        let input = UserInput { username, administrator: true, password: Some(password.clone()), ..Default::default() };
        match create_user(store, input, &Actor::System).await {
            Ok(user) => return Ok(Some((user, password))),
            Err(Error::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict { what: "administrator name".into() })
}

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
use crate::domain::ports::Store;

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
#[derive(Debug, Default, Clone)]
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

/// A user's editable fields as a form or the API sends them; `None` keeps what is there.
#[derive(Debug, Default, Clone)]
pub struct UserUpdate {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: Option<bool>,
    pub administrator: Option<bool>,
}

pub async fn update_user(store: &dyn Store, id: super::user::UserId, update: UserUpdate, actor: &Actor) -> Result<User> {
    let changes = super::user::UserChanges {
        email: update.email.as_deref().map(Email::parse).transpose()?,
        first_name: update.first_name.as_deref().map(|n| parse_person_name("first_name", n)).transpose()?,
        last_name: update.last_name.as_deref().map(|n| parse_person_name("last_name", n)).transpose()?,
        is_active: update.is_active,
        role: update.administrator.map(|a| if a { Role::Administrator } else { Role::User }),
        password_hash: None,
    };
    Ok(store.update_user(id, &changes, actor).await?)
}

/// Sets a new password (an administrator's act, or the user's after `change_own_password`).
pub async fn set_password(store: &dyn Store, id: super::user::UserId, password: &str, actor: &Actor) -> Result<User> {
    check_password(password)?;
    let hash = password::hash(password.to_string()).await?;
    let changes = super::user::UserChanges { password_hash: Some(hash), ..Default::default() };
    Ok(store.update_user(id, &changes, actor).await?)
}

/// A user changes their own password, proving the current one first.
pub async fn change_own_password(store: &dyn Store, id: super::user::UserId, current: &str, new: &str) -> Result<User> {
    let user = store.find_user_by_id(id).await?.ok_or(Error::not_found("user"))?;
    let stored = user.password_hash.clone().ok_or(Error::invalid("current_password", "is not correct"))?;
    if password::verify(current.to_string(), stored).await? == password::Verification::Mismatch {
        return Err(Error::invalid("current_password", "is not correct"));
    }
    set_password(store, id, new, &Actor::User(user.username.clone())).await
}

/// Creates or replaces a membership from ids (forms and the API); the store refuses a group or
/// permission of another application.
pub async fn save_membership(
    store: &dyn Store,
    app: &Application,
    user: super::user::UserId,
    flags: MembershipFlags,
    groups: Vec<GroupId>,
    permissions: Vec<PermissionId>,
    actor: &Actor,
) -> Result<Membership> {
    let spec = MembershipSpec { application_id: app.id, user_id: user, flags, groups, permissions };
    Ok(match store.find_membership(app.id, user).await? {
        Some(_) => store.update_membership(&spec, actor).await?,
        None => store.insert_membership(&spec, actor).await?,
    })
}

/// Creates a group, or renames one and replaces its permissions, from ids.
pub async fn save_group(
    store: &dyn Store,
    app: &Application,
    group: Option<GroupId>,
    name: &str,
    permissions: &[PermissionId],
    actor: &Actor,
) -> Result<Group> {
    save_group_with_members(store, app, group, name, permissions, None, actor).await
}

/// As `save_group`, and when `members` is given also makes exactly them the group's members, in
/// the same transaction with one audit entry.
pub async fn save_group_with_members(
    store: &dyn Store,
    app: &Application,
    group: Option<GroupId>,
    name: &str,
    permissions: &[PermissionId],
    members: Option<&[super::user::UserId]>,
    actor: &Actor,
) -> Result<Group> {
    let name = parse_group_name(name)?;
    Ok(store.save_group_with_members(app.id, group, &name, permissions, members, actor).await?)
}

/// An application's editable settings as a form or the API sends them; `None` keeps.
#[derive(Debug, Default, Clone)]
pub struct ApplicationUpdate {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub redirect_uri_match: Option<RedirectUriMatch>,
    pub pkce: Option<PkcePolicy>,
    pub access_token_lifetime: Option<i64>,
    pub refresh_token_lifetime: Option<i64>,
    pub oidc: OidcChanges,
}

pub async fn update_application(store: &dyn Store, mut app: Application, update: ApplicationUpdate, actor: &Actor) -> Result<Application> {
    if let Some(name) = &update.name {
        app.name = parse_name(name)?;
    }
    if let Some(uris) = &update.redirect_uris {
        app.redirect_uris = parse_redirect_uris(uris)?;
    }
    app.redirect_uri_match = update.redirect_uri_match.unwrap_or(app.redirect_uri_match);
    app.pkce = update.pkce.unwrap_or(app.pkce);
    app.lifetimes = TokenLifetimes {
        access_token: update.access_token_lifetime.unwrap_or(app.lifetimes.access_token),
        refresh_token: update.refresh_token_lifetime.unwrap_or(app.lifetimes.refresh_token),
    }
    .validate()?;
    app.oidc = update.oidc.apply(app.oidc)?;
    Ok(store.update_application(&app, actor).await?)
}

/// A new client secret, returned in plain text this once; the old one stops working.
pub async fn rotate_client_secret(store: &dyn Store, mut app: Application, actor: &Actor) -> Result<(Application, Secret)> {
    let secret = Secret::generate();
    app.client_secret_digest = secret.digest();
    Ok((store.update_application(&app, actor).await?, secret))
}

/// A new API token for `owner`, returned in plain text this once.
pub async fn create_api_token(store: &dyn Store, owner: super::user::UserId, name: &str, actor: &Actor) -> Result<(crate::domain::ports::ApiToken, Secret)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be 1 to 100 characters"));
    }
    let secret = Secret::generate();
    Ok((store.insert_api_token(&secret.digest(), name, owner, actor).await?, secret))
}

/// Makes `user` the delegated administrator of exactly these applications (by client id; none
/// for no delegation). An unknown client id changes nothing.
pub async fn set_delegation(store: &dyn Store, user: &User, client_ids: &[String], actor: &Actor) -> Result<Vec<Application>> {
    let mut apps: Vec<Application> = Vec::with_capacity(client_ids.len());
    for client_id in client_ids {
        let app = store
            .find_application_by_client_id(client_id)
            .await?
            .ok_or_else(|| Error::invalid("client_ids", format!("{client_id:?} is not a registered application")))?;
        if !apps.iter().any(|a| a.id == app.id) {
            apps.push(app);
        }
    }
    let ids: Vec<_> = apps.iter().map(|a| a.id).collect();
    store.set_delegated_applications(user.id, &ids, actor).await?;
    Ok(apps)
}

//! Provider accounts: create, change, set a password, end their sessions. Administrators only;
//! nobody deactivates or demotes themselves (an installation must not lose its last way in).
//! Deactivation and every password change end the user's sessions and revoke their token
//! families (`effects::user_updated`).

use crate::domain::audit::Actor;
use crate::domain::authz::Administrator;
use crate::domain::{password, password_policy};
use crate::domain::clock::UnixTime;
use crate::domain::effects::Withdrawn;
use crate::domain::throttle;
use crate::domain::ports::{LoginThrottleStore, UserStore};
use crate::domain::secret::{Secret, SecretDigest};
use crate::domain::user::{Email, NewUser, Role, User, UserChanges, UserId, Username, parse_name as parse_person_name};
use crate::domain::{Error, Result};

pub use crate::domain::password_policy::MIN_PASSWORD_LENGTH;

/// The rules of a new password for `username` (`domain::password_policy`).
pub fn check_password(password: &str, username: &str) -> Result<()> {
    password_policy::check(password, username)
}

/// A password for people to type: 20 characters of base64url (120 bits).
pub fn generate_password() -> String {
    Secret::generate().expose()[..20].to_string()
}

async fn hash_password(password: &str, username: &str) -> Result<String> {
    check_password(password, username)?;
    password::hash(password.to_string()).await
}

async fn find_user_by_id<S: UserStore + ?Sized>(store: &S, id: UserId) -> Result<User> {
    store.find_user_by_id(id).await?.ok_or(Error::not_found("user"))
}

pub async fn find_user<S: UserStore + ?Sized>(store: &S, username: &str) -> Result<User> {
    store.find_user_by_username(username).await?.ok_or(Error::not_found("user"))
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

pub async fn create_user<S: UserStore + ?Sized>(admin: &Administrator, store: &S, input: UserInput) -> Result<User> {
    admin.require_full()?;
    insert_user(store, input, &admin.actor()).await
}

async fn insert_user<S: UserStore + ?Sized>(store: &S, input: UserInput, actor: &Actor) -> Result<User> {
    let password_hash = match input.password {
        Some(pw) => Some(hash_password(&pw, &input.username).await?),
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

/// On a database without an active administrator, creates one named `admin` (or `admin2`, …
/// when that name is taken) with a generated password, returned to be shown once. The server
/// does this on its first start, audited as `system`.
pub async fn ensure_administrator<S: UserStore + ?Sized>(store: &S) -> Result<Option<(User, String)>> {
    if store.count_administrators().await? > 0 {
        return Ok(None);
    }
    for attempt in 1..=100 {
        let username = if attempt == 1 { "admin".to_string() } else { format!("admin{attempt}") };
        let password = generate_password();
        let input = UserInput { username, administrator: true, password: Some(password.clone()), ..Default::default() };
        match insert_user(store, input, &Actor::System).await {
            Ok(user) => return Ok(Some((user, password))),
            Err(Error::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict { what: "administrator name".into() })
}

/// A user's editable fields as a form, the API or the CLI sends them; `None` keeps what is there.
#[derive(Debug, Default, Clone)]
pub struct UserUpdate {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: Option<bool>,
    pub administrator: Option<bool>,
    /// A new password, set in the same change (the CLI's `--password-stdin`).
    pub password: Option<String>,
}

/// Changes a user's details, state or role in one audited write. Deactivating a user or taking
/// their administrator role away signs them out of every application (the store's write of the
/// change queues the back-channel logouts).
pub async fn update_user<S: UserStore + ?Sized>(admin: &Administrator, store: &S, user: UserId, update: UserUpdate) -> Result<User> {
    admin.require_full()?;
    // An administrator who locks themselves out may leave the installation without one.
    if admin.is(user) {
        let mut fields = Vec::new();
        if update.is_active == Some(false) {
            fields.push("is_active");
        }
        if update.administrator == Some(false) {
            fields.push("administrator");
        }
        if !fields.is_empty() {
            return Err(Error::SelfLockout { fields });
        }
    }
    let changes = UserChanges {
        email: update.email.as_deref().map(Email::parse).transpose()?,
        first_name: update.first_name.as_deref().map(|n| parse_person_name("first_name", n)).transpose()?,
        last_name: update.last_name.as_deref().map(|n| parse_person_name("last_name", n)).transpose()?,
        is_active: update.is_active,
        role: update.administrator.map(|a| if a { Role::Administrator } else { Role::User }),
        password_hash: match &update.password {
            Some(pw) => Some(hash_password(pw, &find_user_by_id(store, user).await?.username).await?),
            None => None,
        },
        keep_session: None,
    };
    Ok(store.update_user(user, &changes, &admin.actor()).await?)
}

/// Sets a new password for a user (an administrator's act): every session of the user ends.
pub async fn set_password<S: UserStore + ?Sized>(admin: &Administrator, store: &S, user: UserId, password: &str) -> Result<User> {
    admin.require_full()?;
    write_password(store, user, password, &admin.actor(), None).await
}

/// Writes a new password; every session of the user but `keep_session` ends and their token
/// families are revoked with it (`effects::user_updated`).
async fn write_password<S: UserStore + ?Sized>(store: &S, user: UserId, password: &str, actor: &Actor, keep_session: Option<&SecretDigest>) -> Result<User> {
    let username = find_user_by_id(store, user).await?.username;
    let changes =
        UserChanges { password_hash: Some(hash_password(password, &username).await?), keep_session: keep_session.cloned(), ..Default::default() };
    Ok(store.update_user(user, &changes, actor).await?)
}

/// Ends every session of a user (the applications signed in through each are told by
/// back-channel logout, as at sign-out) and, with `revoke_tokens`, revokes their token families
/// in every application, `offline_access` ones included: an administrator's incident response.
/// Audited as `user.end_sessions`. Full administrators only, as every act on a user.
pub async fn end_user_sessions<S: UserStore + ?Sized>(admin: &Administrator, store: &S, user: UserId, revoke_tokens: bool) -> Result<Withdrawn> {
    admin.require_full()?;
    Ok(store.end_user_access(user, revoke_tokens, &admin.actor()).await?)
}

/// A user changes their own password, proving the current one first. A wrong current password
/// counts against the account's sign-in budget (`RateLimited` once it is spent): a session left
/// open must not become a way to guess the password. Every other session of the user ends
/// (`session`, the one they changed it in, stays) and their token families are revoked.
pub async fn change_own_password<S: UserStore + LoginThrottleStore + ?Sized>(
    store: &S,
    id: UserId,
    session: &SecretDigest,
    current: &str,
    new: &str,
    now: UnixTime,
) -> Result<User> {
    let user = store.find_user_by_id(id).await?.ok_or(Error::not_found("user"))?;
    // Reserved before the check, like a sign-in, so that simultaneous guesses cannot pass.
    let attempt = throttle::reserve(store, throttle::account_key(user.id), &throttle::ACCOUNT, now).await?;
    let wrong = || Error::invalid("current_password", "is not correct");
    let Some(stored) = user.password_hash.clone() else { return Err(wrong()) };
    if password::verify(current.to_string(), stored).await? == password::Verification::Mismatch {
        tracing::warn!(target: "centralauth::security", event = "password_change_failed", user = user.id.0, "wrong current password");
        return Err(wrong());
    }
    attempt.succeeded(store, true).await?;
    write_password(store, id, new, &Actor::User(user.username.clone()), Some(session)).await
}

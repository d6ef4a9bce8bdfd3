//! User accounts (administrators only): search with filters and keyset pages, create, edit,
//! deactivate, set a password, memberships across applications, and delegation.

use askama::Template;
use axum::extract::{Path, RawQuery};

use super::form::{Choice, FormErrors};
use super::{Chrome, Console, ConsoleError, ConsolePost, OrFail, Outcome};
use crate::domain::Error;
use crate::domain::page::Page;
use crate::domain::admin::{self, UserInput, UserUpdate};
use crate::domain::application::ApplicationId;
use crate::domain::user::{Role, User, UserId, username_key};
use crate::http::shared::Params;
use crate::domain::ports::{UserMembership, UserQuery};

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "console/users/list.html")]
struct ListPage<'a> {
    c: Chrome<'a>,
    users: Vec<User>,
    q: String,
    active: String,
    admin: String,
    next: Option<String>,
    /// A search matched more than a page.
    more_matches: bool,
}

fn tri(value: Option<&str>) -> Option<bool> {
    match value {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

pub async fn list(c: Console, RawQuery(query): RawQuery) -> Outcome {
    c.require_full()?;
    let params = Params::parse(query.unwrap_or_default().as_bytes()).map_err(|_| c.bad_request())?;
    let get = |name: &str| params.get(name).map_err(|_| c.bad_request()).map(|v| v.unwrap_or("").to_string());
    let (q, active, administrator, after) = (get("q")?, get("active")?, get("admin")?, get("after")?);
    if q.len() > 254 || after.len() > 600 {
        return Err(c.bad_request());
    }
    let query = UserQuery {
        search: Some(q.clone()).filter(|s| !s.trim().is_empty()),
        active: tri(Some(&active)),
        administrator: tri(Some(&administrator)),
        after_username_key: Some(after).filter(|a| !a.is_empty()),
        limit: Page::<User, String>::fetch_limit(PAGE),
    };
    let searching = query.search.is_some();
    let page = Page::of(c.store().list_users(&query).await.or_fail(&c)?, PAGE, |u| username_key(&u.username));
    // A search answers one page, best match first (UserQuery): more matches ask for a narrower one.
    let more_matches = searching && page.has_more();
    let next = page.next.filter(|_| !searching).map(|after| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        link.append_pair("q", &q).append_pair("active", &active).append_pair("admin", &administrator).append_pair("after", &after);
        format!("/console/users/?{}", link.finish())
    });
    c.page(&ListPage { c: c.chrome("users"), users: page.items, q, active, admin: administrator, next, more_matches })
}

/// The values of the user form, as entered or as stored.
#[derive(Default)]
struct UserFields {
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    is_active: bool,
    administrator: bool,
}

impl UserFields {
    fn of(user: &User) -> Self {
        Self {
            username: user.username.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            is_active: user.is_active,
            administrator: user.role == Role::Administrator,
        }
    }

    fn read(c: &Console, form: &super::form::Form) -> Result<Self, ConsoleError> {
        Ok(Self {
            username: form.text(c, "username")?,
            email: form.text(c, "email")?,
            first_name: form.text(c, "first_name")?,
            last_name: form.text(c, "last_name")?,
            is_active: form.checked("is_active"),
            administrator: form.checked("administrator"),
        })
    }
}

#[derive(Template)]
#[template(path = "console/users/new.html")]
struct NewPage<'a> {
    c: Chrome<'a>,
    f: UserFields,
    errors: FormErrors,
}

pub async fn new_form(c: Console) -> Outcome {
    c.require_full()?;
    c.page(&NewPage { c: c.chrome("users"), f: UserFields { is_active: true, ..Default::default() }, errors: FormErrors::default() })
}

pub async fn create(ConsolePost(c, form): ConsolePost) -> Outcome {
    c.require_full()?;
    let f = UserFields::read(&c, &form)?;
    let input = UserInput {
        username: f.username.clone(),
        email: f.email.clone(),
        first_name: f.first_name.clone(),
        last_name: f.last_name.clone(),
        administrator: f.administrator,
        password: Some(form.text(&c, "password")?),
    };
    match admin::create_user(&c.admin, c.store(), input).await {
        Ok(user) => c.redirect(&format!("/console/users/{}/?notice=created", user.id.0)),
        Err(err) => {
            let errors = FormErrors::from_domain(c.ct, err, &[]).map_err(|e| c.fail(e))?;
            c.invalid(&NewPage { c: c.chrome("users"), f, errors })
        }
    }
}

#[derive(Template)]
#[template(path = "console/users/edit.html")]
struct EditPage<'a> {
    c: Chrome<'a>,
    user: User,
    f: UserFields,
    errors: FormErrors,
    memberships: Vec<UserMembership>,
    delegation: Vec<Choice>,
    /// Second factors and passkeys (`console::factors`), each with a link to remove it.
    factors: Vec<super::factors::FactorRow>,
    factor_actions: bool,
}

async fn load_user(c: &Console, raw: &str) -> Result<User, ConsoleError> {
    c.require_full()?;
    let id = raw.parse::<i64>().map_err(|_| c.not_found())?;
    c.store().find_user_by_id(UserId(id)).await.or_fail(c)?.ok_or_else(|| c.not_found())
}

async fn edit_page(c: &Console, user: User, f: UserFields, errors: FormErrors) -> Outcome {
    let store = c.store();
    let memberships = store.memberships_of_user(user.id).await.or_fail(c)?;
    let delegated = store.delegated_applications(user.id).await.or_fail(c)?;
    let delegation = store
        .list_applications()
        .await
        .or_fail(c)?
        .into_iter()
        .map(|a| Choice { value: a.id.0, checked: delegated.contains(&a.id), label: a.name, detail: a.client_id })
        .collect();
    let factors = super::factors::rows(c, user.id).await?;
    let page = EditPage { c: c.chrome("users"), user, f, memberships, delegation, factors, factor_actions: true, errors: FormErrors::default() };
    if errors.any() { c.invalid(&EditPage { errors, ..page }) } else { c.page(&page) }
}

pub async fn edit_form(c: Console, Path(id): Path<String>) -> Outcome {
    let user = load_user(&c, &id).await?;
    let f = UserFields::of(&user);
    edit_page(&c, user, f, FormErrors::default()).await
}

pub async fn update(Path(id): Path<String>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let user = load_user(&c, &id).await?;
    let mut f = UserFields::read(&c, &form)?;
    f.username = user.username.clone();
    let update = UserUpdate {
        email: Some(f.email.clone()),
        first_name: Some(f.first_name.clone()),
        last_name: Some(f.last_name.clone()),
        is_active: Some(f.is_active),
        administrator: Some(f.administrator),
        password: None,
    };
    match admin::update_user(&c.admin, c.store(), user.id, update).await {
        Ok(user) => c.redirect(&format!("/console/users/{}/?notice=saved", user.id.0)),
        Err(err) => {
            let errors = FormErrors::from_domain(c.ct, err, &[]).map_err(|e| c.fail(e))?;
            edit_page(&c, user, f, errors).await
        }
    }
}

pub async fn set_password(Path(id): Path<String>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let user = load_user(&c, &id).await?;
    let password = form.text(&c, "password")?;
    match admin::set_password(&c.admin, c.store(), user.id, &password).await {
        Ok(user) => c.redirect(&format!("/console/users/{}/?notice=password_reset", user.id.0)),
        Err(err) => {
            let errors = FormErrors::from_domain(c.ct, err, &[]).map_err(|e| c.fail(e))?;
            let f = UserFields::of(&user);
            edit_page(&c, user, f, errors).await
        }
    }
}

pub async fn deactivate(Path(id): Path<String>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let user = load_user(&c, &id).await?;
    let update = UserUpdate { is_active: Some(false), ..Default::default() };
    match admin::update_user(&c.admin, c.store(), user.id, update).await {
        Ok(_) => c.redirect(&format!("/console/users/{}/?notice=deactivated", user.id.0)),
        Err(err @ Error::SelfLockout { .. }) => {
            let errors = FormErrors::from_domain(c.ct, err, &[]).map_err(|e| c.fail(e))?;
            let f = UserFields::of(&user);
            edit_page(&c, user, f, errors).await
        }
        Err(err) => Err(c.fail(err)),
    }
}

/// Ends every session of the user and, when the box is ticked (it is by default), revokes their
/// tokens in every application.
pub async fn end_sessions(Path(id): Path<String>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let user = load_user(&c, &id).await?;
    let ended = admin::end_user_sessions(&c.admin, c.store(), user.id, form.checked("revoke_tokens")).await.or_fail(&c)?;
    tracing::info!(user = user.id.0, sessions = ended.sessions, token_families = ended.token_families, "ended a user's sessions");
    c.redirect(&format!("/console/users/{}/?notice=sessions_ended", user.id.0))
}

pub async fn delegate(Path(id): Path<String>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let user = load_user(&c, &id).await?;
    let wanted = form.ids(&c, "application")?;
    let known = c.store().list_applications().await.or_fail(&c)?;
    if !wanted.iter().all(|id| known.iter().any(|a| a.id.0 == *id)) {
        return Err(c.bad_request());
    }
    let apps: Vec<ApplicationId> = wanted.into_iter().map(ApplicationId).collect();
    admin::set_delegation_by_id(&c.admin, c.store(), &user, &apps).await.or_fail(&c)?;
    c.redirect(&format!("/console/users/{}/?notice=saved", user.id.0))
}

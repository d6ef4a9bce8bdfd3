//! An application's memberships: search and page the members, add a user found by search, set
//! flags, groups and direct permissions with the effective permissions beside them, remove.

use askama::Template;
use axum::extract::{Path, RawQuery};

use super::applications::parse_id;
use super::form::{Choice, FormErrors};
use super::{Chrome, Console, ConsoleError, ConsolePost, OrFail, Outcome};
use crate::domain::Error;
use crate::domain::page::Page;
use crate::domain::admin;
use crate::domain::application::Application;
use crate::domain::membership::{GroupId, MembershipFlags};
use crate::domain::permission::PermissionId;
use crate::domain::user::{User, UserId, username_key};
use crate::http::shared::Params;
use crate::domain::ports::{MemberSummary, UserQuery};

const PAGE: i64 = 50;
const CANDIDATES: i64 = 20;

#[derive(Template)]
#[template(path = "console/members/list.html")]
struct ListPage<'a> {
    c: Chrome<'a>,
    app: Application,
    members: Vec<MemberSummary>,
    q: String,
    find: String,
    candidates: Vec<User>,
    next: Option<String>,
    username: String,
    errors: FormErrors,
    tab: &'static str,
}

struct ListQuery {
    q: String,
    find: String,
    after: String,
}

impl ListQuery {
    fn parse(c: &Console, raw: Option<String>) -> Result<Self, ConsoleError> {
        let params = Params::parse(raw.unwrap_or_default().as_bytes()).map_err(|_| c.bad_request())?;
        let get = |name: &str| params.get(name).map_err(|_| c.bad_request()).map(|v| v.unwrap_or("").to_string());
        let query = Self { q: get("q")?, find: get("find")?, after: get("after")? };
        if query.q.len() > 254 || query.find.len() > 254 || query.after.len() > 600 {
            return Err(c.bad_request());
        }
        Ok(query)
    }
}

async fn list_page(c: &Console, app: Application, query: ListQuery, username: String, errors: FormErrors) -> Outcome {
    let store = c.store();
    let search = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
    let limit = Page::<MemberSummary, String>::fetch_limit(PAGE);
    let members_query = UserQuery { search: search(&query.q), after_username_key: search(&query.after), limit, ..Default::default() };
    let page = Page::of(store.list_memberships(app.id, &members_query).await.or_fail(c)?, PAGE, |m| username_key(&m.user.username));
    let members = page.items;
    let next = page.next.map(|after| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        link.append_pair("q", &query.q).append_pair("after", &after);
        format!("/console/applications/{}/members/?{}", app.id.0, link.finish())
    });
    let candidates = admin::find_users_to_add(&c.admin, store, &query.find, CANDIDATES).await.or_fail(c)?;
    let page = ListPage {
        c: c.chrome("applications"),
        app,
        members,
        q: query.q,
        find: query.find,
        candidates,
        next,
        username,
        errors,
        tab: "members",
    };
    if page.errors.any() { c.invalid(&page) } else { c.page(&page) }
}

pub async fn list(c: Console, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let query = ListQuery::parse(&c, raw)?;
    list_page(&c, app, query, String::new(), FormErrors::default()).await
}

/// Adds the user named in the form as an active member without flags, groups or permissions,
/// then shows the membership to be filled in.
pub async fn create(Path(id): Path<String>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let username = form.text(&c, "username")?;
    let empty = ListQuery { q: String::new(), find: String::new(), after: String::new() };
    let found = match admin::find_member(c.store(), &app, username.trim()).await {
        Ok((user, _)) => Ok(user),
        Err(Error::NotFound { .. }) => admin::find_user_to_add(&c.admin, c.store(), &username).await,
        Err(err) => Err(err),
    };
    let user = match found {
        Ok(user) => user,
        Err(Error::NotFound { .. }) => {
            let mut errors = FormErrors::default();
            errors.add("username", c.ct.no_such_user);
            return list_page(&c, app, empty, username, errors).await;
        }
        Err(err) => return Err(c.fail(err)),
    };
    if c.admin.require_membership_change(app.id, user.id).is_err() {
        let mut errors = FormErrors::default();
        errors.add("username", c.ct.not_own_access);
        return list_page(&c, app, empty, username, errors).await;
    }
    let to = format!("/console/applications/{}/members/{}/", app.id.0, user.id.0);
    if c.store().find_membership(app.id, user.id).await.or_fail(&c)?.is_some() {
        return c.redirect(&to);
    }
    let flags = MembershipFlags { is_active: true, ..Default::default() };
    admin::save_membership(&c.admin, c.store(), &app, user.id, flags, Vec::new(), Vec::new()).await.or_fail(&c)?;
    c.redirect(&format!("{to}?notice=created"))
}

#[derive(Template)]
#[template(path = "console/members/edit.html")]
struct EditPage<'a> {
    c: Chrome<'a>,
    app: Application,
    user: User,
    flags: MembershipFlags,
    groups: Vec<Choice>,
    permissions: Vec<Choice>,
    effective: Vec<String>,
    editable: bool,
    errors: FormErrors,
    tab: &'static str,
}

async fn find_member(c: &Console, app: &Application, raw: &str) -> Result<(User, crate::domain::membership::Membership), ConsoleError> {
    let id = raw.parse::<i64>().map_err(|_| c.not_found())?;
    let membership = c.store().find_membership(app.id, UserId(id)).await.or_fail(c)?.ok_or_else(|| c.not_found())?;
    let user = c.store().find_user_by_id(UserId(id)).await.or_fail(c)?.ok_or_else(|| c.not_found())?;
    Ok((user, membership))
}

async fn edit_page(
    c: &Console,
    app: Application,
    user: User,
    flags: MembershipFlags,
    groups: &[i64],
    perms: &[i64],
    errors: FormErrors,
) -> Outcome {
    let store = c.store();
    let group_choices = store
        .list_groups(app.id)
        .await
        .or_fail(c)?
        .into_iter()
        .map(|g| Choice { value: g.id.0, checked: groups.contains(&g.id.0), detail: String::new(), label: g.name })
        .collect();
    let permission_choices = store
        .list_permissions(app.id)
        .await
        .or_fail(c)?
        .into_iter()
        .map(|p| Choice { value: p.id.0, checked: perms.contains(&p.id.0), label: p.key.to_string(), detail: p.name })
        .collect();
    let mut effective: Vec<String> = match store.membership_view(app.id, user.id).await.or_fail(c)? {
        Some(view) => view.permissions.iter().map(ToString::to_string).collect(),
        None => Vec::new(),
    };
    effective.sort();
    effective.dedup();
    let editable = c.admin.require_membership_change(app.id, user.id).is_ok();
    let page = EditPage {
        c: c.chrome("applications"),
        app,
        user,
        flags,
        groups: group_choices,
        permissions: permission_choices,
        effective,
        editable,
        errors,
        tab: "members",
    };
    if page.errors.any() { c.invalid(&page) } else { c.page(&page) }
}

pub async fn edit_form(c: Console, Path((id, user)): Path<(String, String)>) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let (user, membership) = find_member(&c, &app, &user).await?;
    let groups: Vec<i64> = membership.groups.iter().map(|g| g.0).collect();
    let perms: Vec<i64> = membership.permissions.iter().map(|p| p.0).collect();
    edit_page(&c, app, user, membership.flags, &groups, &perms, FormErrors::default()).await
}

pub async fn update(Path((id, user)): Path<(String, String)>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let (user, _) = find_member(&c, &app, &user).await?;
    let flags = MembershipFlags {
        is_superuser: form.checked("is_superuser"),
        is_staff: form.checked("is_staff"),
        is_active: form.checked("is_active"),
    };
    let groups = form.ids(&c, "group")?;
    let perms = form.ids(&c, "permission")?;
    let (group_ids, perm_ids) = (groups.iter().copied().map(GroupId).collect(), perms.iter().copied().map(PermissionId).collect());
    match admin::save_membership(&c.admin, c.store(), &app, user.id, flags, group_ids, perm_ids).await {
        Ok(_) => c.redirect(&format!("/console/applications/{}/members/{}/?notice=saved", app.id.0, user.id.0)),
        Err(err @ (Error::OwnAccess { .. } | Error::Forbidden)) => Err(c.fail(err)),
        Err(err) => {
            let errors = FormErrors::from_domain(c.ct, err, &[("reference", "form")]).map_err(|e| c.fail(e))?;
            edit_page(&c, app, user, flags, &groups, &perms, errors).await
        }
    }
}

pub async fn delete(Path((id, user)): Path<(String, String)>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let (user, _) = find_member(&c, &app, &user).await?;
    admin::delete_membership(&c.admin, c.store(), &app, user.id).await.or_fail(&c)?;
    c.redirect(&format!("/console/applications/{}/members/?notice=removed", app.id.0))
}

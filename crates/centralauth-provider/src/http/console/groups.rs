//! An application's permission groups: create, rename, delete, and choose their permissions and
//! members with the two-pane picker (a checkbox list without JavaScript).

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::Path;

use super::applications::parse_id;
use super::form::{Choice, FormErrors};
use super::{Chrome, Console, ConsoleError, ConsolePost, OrFail, Outcome};
use crate::domain::admin::{self, GroupChange};
use crate::domain::application::Application;
use crate::domain::membership::{Group, GroupId};
use crate::domain::permission::PermissionId;
use crate::domain::user::UserId;
use crate::domain::ports::UserQuery;

/// Members offered by the picker; larger applications add members from the membership page.
const PICKER_MEMBERS: i64 = 1000;

#[derive(Template)]
#[template(path = "console/groups/list.html")]
struct ListPage<'a> {
    c: Chrome<'a>,
    app: Application,
    groups: Vec<Group>,
    tab: &'static str,
}

pub async fn list(c: Console, Path(id): Path<String>) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let groups = c.store().list_groups(app.id).await.or_fail(&c)?;
    c.page(&ListPage { c: c.chrome("applications"), app, groups, tab: "groups" })
}

#[derive(Template)]
#[template(path = "console/groups/edit.html")]
struct EditPage<'a> {
    c: Chrome<'a>,
    app: Application,
    group: Option<Group>,
    name: String,
    permissions: Vec<Choice>,
    members: Vec<Choice>,
    errors: FormErrors,
    tab: &'static str,
}

/// The picker's choices with the given ones ticked.
async fn choices(
    c: &Console,
    app: &Application,
    perms: &BTreeSet<i64>,
    members: &BTreeSet<i64>,
) -> Result<(Vec<Choice>, Vec<Choice>), ConsoleError> {
    let store = c.store();
    let permissions = store
        .list_permissions(app.id)
        .await
        .or_fail(c)?
        .into_iter()
        .map(|p| Choice { value: p.id.0, checked: perms.contains(&p.id.0), label: p.key.to_string(), detail: p.name })
        .collect();
    let query = UserQuery { limit: PICKER_MEMBERS, ..Default::default() };
    let members = store
        .list_memberships(app.id, &query)
        .await
        .or_fail(c)?
        .into_iter()
        .map(|m| Choice {
            value: m.user.id.0,
            checked: members.contains(&m.user.id.0),
            detail: format!("{} {}", m.user.first_name, m.user.last_name).trim().to_string(),
            label: m.user.username,
        })
        .collect();
    Ok((permissions, members))
}

async fn edit_page(
    c: &Console,
    app: Application,
    group: Option<Group>,
    name: String,
    perms: &BTreeSet<i64>,
    members: &BTreeSet<i64>,
    errors: FormErrors,
) -> Outcome {
    let (permissions, members) = choices(c, &app, perms, members).await?;
    let page = EditPage { c: c.chrome("applications"), app, group, name, permissions, members, errors, tab: "groups" };
    if page.errors.any() { c.invalid(&page) } else { c.page(&page) }
}

pub async fn new_form(c: Console, Path(id): Path<String>) -> Outcome {
    let app = parse_id(&c, &id).await?;
    edit_page(&c, app, None, String::new(), &BTreeSet::new(), &BTreeSet::new(), FormErrors::default()).await
}

async fn find_group(c: &Console, app: &Application, raw: &str) -> Result<Group, ConsoleError> {
    let id = raw.parse::<i64>().map_err(|_| c.not_found())?;
    let groups = c.store().list_groups(app.id).await.or_fail(c)?;
    groups.into_iter().find(|g| g.id.0 == id).ok_or_else(|| c.not_found())
}

async fn member_ids(c: &Console, app: &Application, group: GroupId) -> Result<BTreeSet<i64>, ConsoleError> {
    Ok(c.store().group_members(app.id, group).await.or_fail(c)?.into_iter().map(|u| u.id.0).collect())
}

pub async fn edit_form(c: Console, Path((id, group)): Path<(String, String)>) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let group = find_group(&c, &app, &group).await?;
    let perms = group.permissions.iter().map(|p| p.0).collect();
    let members = member_ids(&c, &app, group.id).await?;
    let name = group.name.clone();
    edit_page(&c, app, Some(group), name, &perms, &members, FormErrors::default()).await
}

pub async fn create(Path(id): Path<String>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let app = parse_id(&c, &id).await?;
    save(c, form, app, None).await
}

pub async fn update(Path((id, group)): Path<(String, String)>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let group = find_group(&c, &app, &group).await?;
    save(c, form, app, Some(group)).await
}

/// Creates or changes a group with its members, in one transaction.
async fn save(c: Console, form: super::form::Form, app: Application, group: Option<Group>) -> Outcome {
    let name = form.text(&c, "name")?;
    let perms: BTreeSet<i64> = form.ids(&c, "permission")?.into_iter().collect();
    let members: BTreeSet<i64> = form.ids(&c, "member")?.into_iter().collect();
    let current_members = match &group {
        Some(g) => member_ids(&c, &app, g.id).await?,
        None => BTreeSet::new(),
    };
    let mut errors = FormErrors::default();
    for member in members.difference(&current_members) {
        if c.store().find_membership(app.id, UserId(*member)).await.or_fail(&c)?.is_none() {
            errors.add("members", c.ct.foreign_reference);
        }
    }
    if !errors.any() {
        let ids: Vec<PermissionId> = perms.iter().copied().map(PermissionId).collect();
        let users: Vec<UserId> = members.iter().copied().map(UserId).collect();
        // Settings and members in one transaction and one audit entry.
        let new_members = (members != current_members).then_some(users.as_slice());
        let change = GroupChange { group: group.as_ref(), name: &name, permissions: &ids, members: new_members };
        // The domain refuses a delegated administrator's change of their own access.
        match admin::save_group(&c.admin, c.store(), &app, change).await {
            Ok(saved) => {
                let notice = if group.is_some() { "saved" } else { "created" };
                return c.redirect(&format!("/console/applications/{}/groups/{}/?notice={notice}", app.id.0, saved.id.0));
            }
            Err(err) => errors = FormErrors::from_domain(c.ct, err, &[("reference", "permissions")]).map_err(|e| c.fail(e))?,
        }
    }
    edit_page(&c, app, group, name, &perms, &members, errors).await
}

pub async fn delete(Path((id, group)): Path<(String, String)>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let group = find_group(&c, &app, &group).await?;
    admin::delete_group(&c.admin, c.store(), &app, &group).await.or_fail(&c)?;
    c.redirect(&format!("/console/applications/{}/groups/?notice=deleted", app.id.0))
}

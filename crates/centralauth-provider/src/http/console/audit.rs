//! The audit log (administrators only): who changed what and when, with before and after,
//! filtered by actor, application and user, newest first, paged by id.

use askama::Template;
use axum::extract::RawQuery;

use super::{Chrome, Console, OrFail, Outcome};
use crate::domain::application::{Application, ApplicationId};
use crate::domain::page::Page;
use crate::http::shared::Params;
use crate::domain::ports::{AuditQuery, AuditRecord};

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    c: Chrome<'a>,
    records: Vec<AuditRecord>,
    applications: Vec<Application>,
    actor: String,
    application: String,
    user: String,
    unknown_user: bool,
    next: Option<String>,
}

impl AuditPage<'_> {
    fn when(&self, at: &i64) -> String {
        crate::domain::clock::utc_text(*at)
    }

    fn application_name(&self, id: &Option<i64>) -> String {
        match id {
            Some(id) => self.applications.iter().find(|a| a.id.0 == *id).map(|a| a.name.clone()).unwrap_or_else(|| format!("#{id}")),
            None => String::new(),
        }
    }
}

pub async fn list(c: Console, RawQuery(raw): RawQuery) -> Outcome {
    c.require_full()?;
    let params = Params::parse(raw.unwrap_or_default().as_bytes()).map_err(|_| c.bad_request())?;
    let get = |name: &str| params.get(name).map_err(|_| c.bad_request()).map(|v| v.unwrap_or("").trim().to_string());
    let (actor, application, user, before) = (get("actor")?, get("application")?, get("user")?, get("before")?);
    if actor.len() > 300 || user.len() > 254 {
        return Err(c.bad_request());
    }
    let number = |raw: &str| if raw.is_empty() { Ok(None) } else { raw.parse::<i64>().map(Some).map_err(|_| c.bad_request()) };
    let application_id = number(&application)?.map(ApplicationId);
    let before_id = number(&before)?;
    let store = c.store();
    let user_id = match user.as_str() {
        "" => None,
        name => store.find_user_by_username(name).await.or_fail(&c)?.map(|u| u.id),
    };
    let unknown_user = !user.is_empty() && user_id.is_none();
    let query = AuditQuery {
        // A bare username means that user acting in the console.
        actor: Some(actor.clone())
            .filter(|a| !a.is_empty())
            .map(|a| if a.contains(':') || a == "system" { a } else { format!("user:{a}") }),
        application_id,
        user_id,
        before_id,
        limit: Page::<AuditRecord, i64>::fetch_limit(PAGE),
    };
    let rows = if unknown_user { Vec::new() } else { store.query_audit(&query).await.or_fail(&c)? };
    let page = Page::of(rows, PAGE, |r| r.id);
    let records = page.items;
    let next = page.next.map(|before| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        link.append_pair("actor", &actor).append_pair("application", &application).append_pair("user", &user);
        link.append_pair("before", &before.to_string());
        format!("/console/audit/?{}", link.finish())
    });
    let applications = store.list_applications().await.or_fail(&c)?;
    c.page(&AuditPage { c: c.chrome("audit"), records, applications, actor, application, user, unknown_user, next })
}

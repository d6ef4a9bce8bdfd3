//! A user's second factors and passkeys on their console page (administrators only): listed
//! with kind, name and times; removed one at a time or all at once after a confirmation page,
//! as other destructive acts are. A delegated administrator never reaches the user's page.

use askama::Template;
use axum::extract::Path;

use super::texts::ConsoleTexts;
use super::{Chrome, Console, ConsoleError, ConsolePost, OrFail, Outcome};
use crate::domain::admin;
use crate::domain::clock::utc_text;
use crate::domain::mfa::{FactorKind, FactorSummary};
use crate::domain::user::{User, UserId};

/// A factor as the console shows it.
pub struct FactorRow {
    pub id: i64,
    pub kind: &'static str,
    pub name: String,
    pub created: String,
    /// `None`: never used.
    pub last_used: Option<String>,
}

impl FactorRow {
    pub fn of(ct: &ConsoleTexts, f: FactorSummary) -> Self {
        let kind = match f.kind {
            FactorKind::Totp => ct.factor_totp,
            FactorKind::Passkey => ct.factor_passkey,
        };
        Self { id: f.id, kind, name: f.name, created: utc_text(f.created_at), last_used: f.last_used_at.map(utc_text) }
    }
}

/// The user's factors for their page.
pub async fn rows(c: &Console, user: UserId) -> Result<Vec<FactorRow>, ConsoleError> {
    Ok(admin::list_factors(&c.admin, c.store(), user).await.or_fail(c)?.into_iter().map(|f| FactorRow::of(c.ct, f)).collect())
}

async fn load_user(c: &Console, raw: &str) -> Result<User, ConsoleError> {
    c.require_full()?;
    let id = raw.parse::<i64>().map_err(|_| c.not_found())?;
    c.store().find_user_by_id(UserId(id)).await.or_fail(c)?.ok_or_else(|| c.not_found())
}

#[derive(Template)]
#[template(path = "console/users/factors_remove.html")]
struct ConfirmPage<'a> {
    c: Chrome<'a>,
    user: User,
    /// What would go.
    factors: Vec<FactorRow>,
    question: &'static str,
    action: String,
    button: &'static str,
    /// The table's per-factor links, shown on the user's page only.
    factor_actions: bool,
}

pub async fn remove_form(c: Console, Path((id, factor)): Path<(String, String)>) -> Outcome {
    let user = load_user(&c, &id).await?;
    let factor = factor.parse::<i64>().map_err(|_| c.not_found())?;
    let factors: Vec<FactorRow> = rows(&c, user.id).await?.into_iter().filter(|f| f.id == factor).collect();
    if factors.is_empty() {
        return Err(c.not_found());
    }
    let action = format!("/console/users/{}/factors/{factor}/remove", user.id.0);
    c.page(&ConfirmPage { c: c.chrome("users"), user, factors, question: c.ct.remove_factor_question, action, button: c.ct.remove_factor, factor_actions: false })
}

pub async fn remove(Path((id, factor)): Path<(String, String)>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let user = load_user(&c, &id).await?;
    let factor = factor.parse::<i64>().map_err(|_| c.not_found())?;
    admin::remove_factor(&c.admin, c.store(), user.id, factor).await.or_fail(&c)?;
    c.redirect(&format!("/console/users/{}/?notice=factor_removed", user.id.0))
}

pub async fn reset_form(c: Console, Path(id): Path<String>) -> Outcome {
    let user = load_user(&c, &id).await?;
    let factors = rows(&c, user.id).await?;
    let action = format!("/console/users/{}/factors/reset", user.id.0);
    c.page(&ConfirmPage { c: c.chrome("users"), user, factors, question: c.ct.reset_factors_question, action, button: c.ct.reset_factors, factor_actions: false })
}

pub async fn reset(Path(id): Path<String>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let user = load_user(&c, &id).await?;
    admin::reset_factors(&c.admin, c.store(), user.id).await.or_fail(&c)?;
    c.redirect(&format!("/console/users/{}/?notice=factors_reset", user.id.0))
}

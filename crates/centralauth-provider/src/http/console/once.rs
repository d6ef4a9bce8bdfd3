//! A generated secret (a client secret, an API token) shown exactly once across
//! Post/Redirect/Get: the POST hands it to the page that shows it in a short-lived HttpOnly,
//! SameSite=Strict cookie (never in a URL), and that page removes the cookie as it renders.
//! The cookie's path is `/` (the `__Host-` prefix requires it, `shared::cookies`), so the value
//! names the page it is for, and no other page shows it.

use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;

use super::{Console, Outcome};
use crate::domain::Error;
use crate::domain::secret::Secret;
use crate::http::shared::cookies::CookieName;

/// Between the page and the secret in the cookie's value; in neither a path nor base64url.
const SEPARATOR: char = '!';

pub struct ShownOnce {
    pub cookie: &'static CookieName,
    /// The page that shows the secret, and the only one that takes it.
    pub page: String,
}

impl ShownOnce {
    /// Redirects to the page (with `?notice=`), carrying the secret for five minutes at most.
    pub fn hand_over(&self, c: &Console, secret: &Secret, notice: &str) -> Outcome {
        let value = format!("{}{SEPARATOR}{}", self.page, secret.expose());
        let Some(cookie) = self.cookie.build_expiring(&value, 300, c.state.settings.secure_cookies, SameSite::Strict) else {
            return Err(c.fail(Error::invalid("secret", "unexpected characters")));
        };
        Ok((c.jar().add(cookie), Redirect::to(&format!("{}?notice={notice}", self.page))).into_response())
    }

    /// The secret the previous POST handed over to this page, if any, and the jar that forgets it.
    pub fn take(&self, jar: CookieJar, secure: bool) -> (CookieJar, Option<String>) {
        let secret = self
            .cookie
            .get(&jar, secure)
            .and_then(|value| value.split_once(SEPARATOR))
            .filter(|(page, secret)| *page == self.page && secret.len() == 43)
            .map(|(_, secret)| secret.to_string());
        match secret {
            Some(secret) => (self.cookie.removed_from(jar, secure), Some(secret)),
            // Another page's secret stays for that page.
            None => (jar, None),
        }
    }
}

//! A generated secret (a client secret, an API token) shown exactly once across
//! Post/Redirect/Get: the POST hands it to the page that shows it in a short-lived HttpOnly,
//! SameSite=Strict cookie scoped to that page's path (never in a URL), and that page removes the
//! cookie as it renders.

use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use super::{Console, Outcome};
use crate::domain::Error;
use crate::domain::secret::Secret;

pub struct ShownOnce {
    pub cookie: &'static str,
    /// The page that shows the secret, and the only path the cookie is sent to.
    pub page: String,
}

impl ShownOnce {
    /// Redirects to the page (with `?notice=`), carrying the secret for five minutes at most.
    pub fn hand_over(&self, c: &Console, secret: &Secret, notice: &str) -> Outcome {
        // Parsed rather than built: the cookie crate takes a lifetime only as its own `time` type.
        let Ok(mut cookie) = Cookie::parse(format!("{}={}; Max-Age=300", self.cookie, secret.expose())) else {
            return Err(c.fail(Error::invalid("secret", "unexpected characters")));
        };
        cookie.set_path(self.page.clone());
        cookie.set_http_only(true);
        cookie.set_secure(c.state.settings.secure_cookies);
        cookie.set_same_site(SameSite::Strict);
        Ok((c.jar().add(cookie), Redirect::to(&format!("{}?notice={notice}", self.page))).into_response())
    }

    /// The secret the previous POST handed over, if any, and the jar that forgets it.
    pub fn take(&self, jar: CookieJar) -> (CookieJar, Option<String>) {
        let secret = jar.get(self.cookie).map(|cookie| cookie.value().to_string()).filter(|s| s.len() == 43);
        (jar.remove(Cookie::build(self.cookie).path(self.page.clone())), secret)
    }
}

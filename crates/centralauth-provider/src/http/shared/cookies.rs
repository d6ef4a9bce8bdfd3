//! The provider's cookies, their names and attributes in one place. Over https every name has the
//! `__Host-` prefix (RFC 6265bis §4.1.3.2): the browser accepts such a cookie only with Secure,
//! Path=/ and no Domain, so neither a sibling subdomain nor a plain-http answer can set or shadow
//! it. Browsers refuse `__Host-` cookies without Secure, so over plain http (local development,
//! tests on 127.0.0.1) the plain name is used. Cookies under the names of earlier versions are
//! not read: an upgrade signs every browser out once.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

/// A cookie of the provider, under its https (`__Host-`) or plain-http name.
pub struct CookieName {
    plain: &'static str,
    host: &'static str,
}

/// The browser session (`shared::session`).
pub const SESSION: CookieName = CookieName { plain: "centralauth_session", host: "__Host-centralauth_session" };
/// The pre-session value that the sign-in form's CSRF token is bound to (`shared::csrf`).
pub const PRE_SESSION: CookieName = CookieName { plain: "centralauth_csrf", host: "__Host-centralauth_csrf" };
/// A sign-in between its password and its second step (`domain::login::SignedIn`), and the
/// WebAuthn ceremonies of sign-in: the flow's random id, its digest in `sign_in_flows`.
pub const SIGN_IN_FLOW: CookieName = CookieName { plain: "centralauth_sign_in", host: "__Host-centralauth_sign_in" };
/// A WebAuthn ceremony in progress (`domain::mfa::passkey`): the random id of its flow,
/// SameSite=Strict and five minutes, so that only this browser, from this site, can finish it.
pub const PASSKEY_CEREMONY: CookieName = CookieName { plain: "centralauth_passkey", host: "__Host-centralauth_passkey" };
/// A new client secret on its way to the page that shows it once (`console::once`).
pub const SECRET_ONCE: CookieName = CookieName { plain: "centralauth_secret_once", host: "__Host-centralauth_secret_once" };
/// A new API token on its way to the page that shows it once (`console::once`).
pub const TOKEN_ONCE: CookieName = CookieName { plain: "centralauth_token_once", host: "__Host-centralauth_token_once" };

impl CookieName {
    /// The name in use: `secure` is `HttpSettings::secure_cookies` (the public URL is https).
    pub fn name(&self, secure: bool) -> &'static str {
        if secure { self.host } else { self.plain }
    }

    pub fn get<'j>(&self, jar: &'j CookieJar, secure: bool) -> Option<&'j str> {
        jar.get(self.name(secure)).map(Cookie::value)
    }

    /// The cookie with the attributes every provider cookie has: HttpOnly, Path=/, no Domain,
    /// Secure over https.
    pub fn build(&self, value: String, secure: bool, same_site: SameSite) -> Cookie<'static> {
        Cookie::build((self.name(secure), value)).path("/").http_only(true).secure(secure).same_site(same_site).build()
    }

    /// As [`Self::build`], lasting `max_age` seconds; `None` for a value no cookie can carry.
    pub fn build_expiring(&self, value: &str, max_age: u32, secure: bool, same_site: SameSite) -> Option<Cookie<'static>> {
        // Parsed rather than built: the cookie crate takes a lifetime only as its own `time` type.
        let mut cookie = Cookie::parse(format!("{}={value}; Max-Age={max_age}", self.name(secure))).ok()?;
        // Parsing trims the value and stops at `;`: a value it would change is one no cookie
        // carries as given (found by fuzzing).
        if cookie.value() != value {
            return None;
        }
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_secure(secure);
        cookie.set_same_site(same_site);
        Some(cookie)
    }

    /// What removes the cookie: the same name and path, and Secure, without which a browser
    /// ignores any `Set-Cookie` for a `__Host-` name, removals included.
    pub fn removed_from(&self, jar: CookieJar, secure: bool) -> CookieJar {
        jar.remove(Cookie::build(self.name(secure)).path("/").secure(secure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_meet_the_host_prefix_rules_and_plain_http_ones_do_not_use_it() {
        let cookie = SESSION.build("v".into(), true, SameSite::Lax);
        assert!(cookie.name().starts_with("__Host-"));
        assert_eq!((cookie.secure(), cookie.path(), cookie.domain()), (Some(true), Some("/"), None));
        let plain = SESSION.build("v".into(), false, SameSite::Lax);
        assert!(!plain.name().starts_with("__Host-") && plain.secure() != Some(true));
    }

    #[test]
    fn an_expiring_cookie_carries_its_value_as_given_or_is_not_made() {
        let cookie = SECRET_ONCE.build_expiring("c2VjcmV0-_", 60, true, SameSite::Strict).unwrap();
        assert_eq!((cookie.value(), cookie.max_age().map(|d| d.whole_seconds())), ("c2VjcmV0-_", Some(60)));
        for changed in ["a ", " a", "a;b", "a; Max-Age=999999"] {
            assert!(SECRET_ONCE.build_expiring(changed, 60, true, SameSite::Strict).is_none(), "{changed:?}");
        }
    }
}

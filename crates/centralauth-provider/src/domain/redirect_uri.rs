//! Redirect URIs and how a requested one is matched against the registered ones (DESIGN §6,
//! RFC 9700 §4.1.3): scheme, host, port and path exactly, plus every query parameter the
//! registered URI has; extra query parameters only where the application allows them.

use serde::Serialize;
use url::{Host, Url};

use super::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// An absolute `http`/`https` URL (or a private-use scheme for native apps) without fragment.
    pub fn parse(raw: &str) -> Result<Self> {
        // RFC 3986 §2: a URI holds no spaces or control characters. URL parsing would drop tabs
        // and newlines and percent-encode spaces, so the string kept (and compared byte for
        // byte) would not be the URL checked here, and the stored, space-separated list would
        // read back split (`https://a.example/c b` as `https://a.example/c`). Found by fuzzing.
        if raw.trim().chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid("redirect_uri", "must not contain spaces or control characters"));
        }
        let url = Url::parse(raw.trim()).map_err(|_| Error::invalid("redirect_uri", format!("{raw:?} is not an absolute URL")))?;
        if url.fragment().is_some() {
            return Err(Error::invalid("redirect_uri", "must not contain a fragment (RFC 6749 §3.1.2)"));
        }
        if url.cannot_be_a_base() || (matches!(url.scheme(), "http" | "https") && url.host().is_none()) {
            return Err(Error::invalid("redirect_uri", format!("{raw:?} is not an absolute URL")));
        }
        if matches!(url.scheme(), "javascript" | "data" | "file" | "vbscript") {
            return Err(Error::invalid("redirect_uri", "scheme not allowed"));
        }
        Ok(Self(raw.trim().to_string()))
    }

    /// A URI an administrator may register now: [`parse`](Self::parse)'s rules, and `https`,
    /// `http` to a loopback host (RFC 8252 §7.3), `http` to any host where the application
    /// allows it, or a private-use scheme in reverse-domain form for native apps (RFC 8252
    /// §7.1). Stored URIs are read with `parse` alone, so that older registrations keep working.
    pub fn register(raw: &str, allow_insecure: bool) -> Result<Self> {
        let uri = Self::parse(raw)?;
        let url = Url::parse(uri.as_str()).map_err(|_| Error::invalid("redirect_uri", format!("{raw:?} is not an absolute URL")))?;
        let allowed = match url.scheme() {
            "https" => true,
            "http" => allow_insecure || is_loopback(&url),
            // `com.example.app:/cb`: a native app's own scheme; `ftp` or `ws` are not one.
            scheme => scheme.contains('.'),
        };
        if !allowed {
            return Err(Error::invalid("redirect_uri", INSECURE));
        }
        Ok(uri)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const INSECURE: &str = "must be https (http only to 127.0.0.1, [::1] or localhost, unless insecure redirect URIs are allowed)";

/// The most redirect URIs (or post-logout redirect URIs) one application may register.
pub const MAX_REDIRECT_URIS: usize = 32;

/// RFC 8252 §7.3's loopback redirect, and `localhost` (§8.3 discourages it, but clients use it).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// How strictly a requested redirect URI must equal a registered one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RedirectUriMatch {
    /// Registered URI plus extra query parameters: django-centralauth's client puts `next` there.
    AllowExtraQuery,
    /// Byte-for-byte equality (RFC 9700 §4.1.3).
    #[default]
    Exact,
}

impl RedirectUriMatch {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllowExtraQuery => "allow_extra_query",
            Self::Exact => "exact",
        }
    }

    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "allow_extra_query" => Ok(Self::AllowExtraQuery),
            "exact" => Ok(Self::Exact),
            _ => Err(Error::invalid("redirect_uri_match", "must be allow_extra_query or exact")),
        }
    }
}

/// Whether `requested` may be redirected to, given one registered URI.
pub fn matches(registered: &RedirectUri, requested: &str, policy: RedirectUriMatch) -> bool {
    if registered.as_str() == requested {
        return true;
    }
    if policy == RedirectUriMatch::Exact {
        return false;
    }
    let (Ok(reg), Ok(req)) = (Url::parse(registered.as_str()), Url::parse(requested)) else {
        return false;
    };
    if req.fragment().is_some() || req.username() != "" || req.password().is_some() {
        return false;
    }
    // Compared on the raw serialisation of each part, so that percent-encoding tricks in the
    // path (`/cb/%2e%2e/evil`) cannot pass as the registered path.
    let same_origin_and_path = reg.scheme() == req.scheme()
        && reg.host_str() == req.host_str()
        && reg.port_or_known_default() == req.port_or_known_default()
        && reg.path() == req.path();
    if !same_origin_and_path {
        return false;
    }
    let requested_pairs: Vec<(String, String)> = req.query_pairs().into_owned().collect();
    reg.query_pairs().all(|(k, v)| requested_pairs.iter().any(|(rk, rv)| *rk == *k && *rv == *v))
}

/// Picks the registered URI a request may use: the requested one if it matches, or the only
/// registered one when none was requested (RFC 6749 §3.1.2.3).
pub fn resolve<'a>(registered: &'a [RedirectUri], requested: Option<&str>, policy: RedirectUriMatch) -> Option<String> {
    match requested {
        Some(uri) => registered.iter().any(|r| matches(r, uri, policy)).then(|| uri.to_string()),
        None => match registered {
            [only] => Some(only.as_str().to_string()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(s: &str) -> RedirectUri {
        RedirectUri::parse(s).unwrap()
    }

    #[test]
    fn extra_query_is_accepted_by_default_but_not_when_exact() {
        let r = reg("http://127.0.0.1:9000/centralauth/login/callback/");
        let with_next = "http://127.0.0.1:9000/centralauth/login/callback/?next=%2Fwhoami%2F";
        assert!(matches(&r, with_next, RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, with_next, RedirectUriMatch::Exact));
    }

    #[test]
    fn scheme_host_port_and_path_must_be_equal() {
        let r = reg("https://app.example/cb/");
        for bad in [
            "http://app.example/cb/",
            "https://app.example:8443/cb/",
            "https://evil.example/cb/",
            "https://app.example/cb/other",
            "https://app.example/cb",
            "https://app.example/cb/%2e%2e/evil",
            "https://app.example.evil.example/cb/",
            "https://user@app.example/cb/",
            "https://app.example/cb/#frag",
        ] {
            assert!(!matches(&r, bad, RedirectUriMatch::AllowExtraQuery), "{bad}");
        }
        assert!(matches(&r, "https://app.example:443/cb/", RedirectUriMatch::AllowExtraQuery));
    }

    #[test]
    fn the_registered_query_must_be_kept() {
        let r = reg("https://app.example/cb/?tenant=a");
        assert!(matches(&r, "https://app.example/cb/?tenant=a&next=/x", RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, "https://app.example/cb/?tenant=b", RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, "https://app.example/cb/", RedirectUriMatch::AllowExtraQuery));
    }

    #[test]
    fn a_missing_redirect_uri_resolves_only_when_one_is_registered() {
        let one = [reg("https://a.example/cb/")];
        let two = [reg("https://a.example/cb/"), reg("https://b.example/cb/")];
        assert_eq!(resolve(&one, None, RedirectUriMatch::Exact).as_deref(), Some("https://a.example/cb/"));
        assert_eq!(resolve(&two, None, RedirectUriMatch::Exact), None);
    }

    #[test]
    fn registration_rejects_fragments_relative_and_script_uris() {
        assert!(RedirectUri::parse("https://a.example/cb#x").is_err());
        assert!(RedirectUri::parse("/cb/").is_err());
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
        assert!(RedirectUri::parse("http://").is_err());
        assert!(RedirectUri::parse("com.example.app:/callback").is_ok());
    }

    #[test]
    fn uris_with_spaces_or_control_characters_are_refused_so_that_the_stored_list_reads_back() {
        use crate::domain::application::{join_redirect_uris, split_redirect_uris};
        for bad in ["https://app.example/c b/", "https://app.example/c%20b/\thttps://evil.example/", "https://app.example/cb/\u{1}", "https://app.example/c\u{a0}b"] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad:?}");
            assert!(RedirectUri::register(bad, true).is_err(), "{bad:?}");
        }
        // Surrounding whitespace is still trimmed, and what is accepted is stored and read back as it is.
        let uris = vec![reg("  https://app.example/c%20b/ "), reg("com.example.app:/callback")];
        assert_eq!(uris[0].as_str(), "https://app.example/c%20b/");
        assert_eq!(split_redirect_uris(&join_redirect_uris(&uris)), uris);
    }

    #[test]
    fn registration_accepts_https_loopback_http_and_private_use_schemes_only() {
        for good in [
            "https://app.example/cb/",
            "http://127.0.0.1:9000/cb/",
            "http://[::1]:9000/cb/",
            "http://localhost:9000/cb/",
            "com.example.app:/callback",
        ] {
            assert!(RedirectUri::register(good, false).is_ok(), "{good}");
        }
        for bad in ["http://app.example/cb/", "ftp://app.example/cb/", "http://127.0.0.1.evil.example/cb/", "ws://127.0.0.1/cb"] {
            let err = RedirectUri::register(bad, false).unwrap_err();
            assert!(matches!(err, Error::Invalid { field: "redirect_uri", .. }), "{bad}: {err:?}");
        }
        assert!(RedirectUri::register("http://app.example/cb/", true).is_ok());
        assert!(RedirectUri::register("ftp://app.example/cb/", true).is_err());
        // What was stored before the rule is still read.
        assert!(RedirectUri::parse("http://app.example/cb/").is_ok());
    }
}

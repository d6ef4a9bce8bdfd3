//! Redirect URIs and how a requested one is matched against the registered ones (DESIGN §6,
//! RFC 9700 §4.1.3): as strings, byte for byte; extra query parameters only where the
//! application allows them, and then the rest of the URI still byte for byte.

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

/// Whether `requested` may be redirected to, given one registered URI. Compared as strings,
/// never after URL normalisation (RFC 9700 §4.1.3, DESIGN §6): no case folding, no default port,
/// no percent-decoding, no dot segments, no other spelling of an IP address
/// (`http://2130706433/` is not `http://127.0.0.1/`), no trimming. `Exact` wants the registered
/// string byte for byte. `AllowExtraQuery` (the original's rule, which the django-centralauth
/// client needs for its `?next=`) wants the registered string up to its query byte for byte,
/// and a query holding each `name=value` of the registered query as written, no other value
/// for those names, and any other parameters.
pub fn matches(registered: &RedirectUri, requested: &str, policy: RedirectUriMatch) -> bool {
    if registered.as_str() == requested {
        return true;
    }
    if policy == RedirectUriMatch::Exact {
        return false;
    }
    // No fragment (RFC 6749 §3.1.2), and nothing a URL parser would drop or rewrite: the extra
    // query is the only part not compared byte for byte, and it must reach the client as sent.
    if requested.contains('#') || requested.bytes().any(|b| b.is_ascii_control() || b == b' ') || Url::parse(requested).is_err() {
        return false;
    }
    let (registered_base, registered_query) = split_query(registered.as_str());
    let (requested_base, Some(requested_query)) = split_query(requested) else { return false };
    if registered_base != requested_base {
        return false;
    }
    let kept: Vec<&str> = registered_query.unwrap_or("").split('&').filter(|p| !p.is_empty()).collect();
    let sent: Vec<&str> = requested_query.split('&').collect();
    // A registered parameter sent again with another value (`tenant=a&tenant=b`, or an encoded
    // name `tenan%74=b`) would leave it to the client's parser which one counts.
    let kept_names: Vec<String> = kept.iter().map(|p| pair_name(p)).collect();
    kept.iter().all(|p| sent.contains(p)) && sent.iter().all(|p| kept.contains(p) || !kept_names.contains(&pair_name(p)))
}

/// The URI before its first `?`, and the query after it (the whole URI has no fragment).
fn split_query(uri: &str) -> (&str, Option<&str>) {
    match uri.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (uri, None),
    }
}

/// The decoded name of one `name=value` of a query, as the client's form parser reads it.
fn pair_name(pair: &str) -> String {
    url::form_urlencoded::parse(pair.as_bytes()).next().map(|(name, _)| name.into_owned()).unwrap_or_default()
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
            "https://app.example/cb/?next=/x#frag",
        ] {
            assert!(!matches(&r, bad, RedirectUriMatch::AllowExtraQuery), "{bad}");
        }
    }

    #[test]
    fn nothing_is_normalised_before_the_comparison() {
        // Each of these is the registered URI to a URL parser, and none of them is the string.
        let cases = [
            ("http://127.0.0.1:9000/cb/", "http://2130706433:9000/cb/"),
            ("http://127.0.0.1:9000/cb/", "http://0x7f.1:9000/cb/"),
            ("http://127.0.0.1:9000/cb/", "http://127.1:9000/cb/"),
            ("http://127.0.0.1:9000/cb/", "http://127.0.0.1:9000/cb/\u{1}"),
            ("http://127.0.0.1:9000/cb/", "http://127.0.0.1:9000/cb/\t"),
            ("http://127.0.0.1:9000/cb/", " http://127.0.0.1:9000/cb/"),
            ("http://127.0.0.1:9000/cb/", "http://127.0.0.1:9000/c\tb/"),
            ("https://app.example/cb/", "HTTPS://app.example/cb/"),
            ("https://app.example/cb/", "https://APP.example/cb/"),
            ("https://app.example/cb/", "https://app.example:443/cb/"),
            ("https://app.example:443/cb/", "https://app.example/cb/"),
            ("https://app.example/cb/", "https://app.example/%63b/"),
            ("https://app.example/cb/", "https://app.example/x/../cb/"),
            ("https://app.example/cb/", "https://app.example/./cb/"),
            ("https://app.example/cb/", "https://app.example\\cb/"),
            ("https://app.example/cb/", "https://app.example./cb/"),
            ("http://[::1]:9000/cb/", "http://[0:0::1]:9000/cb/"),
            ("https://app.example/cb/", "https://app.example/cb/?next=/x\u{1}"),
            ("https://app.example/cb/", "https://app.example/cb/?next=/x y"),
        ];
        for (registered, requested) in cases {
            for policy in [RedirectUriMatch::AllowExtraQuery, RedirectUriMatch::Exact] {
                assert!(!matches(&reg(registered), requested, policy), "{registered} / {requested:?} / {policy:?}");
            }
        }
        // The registered string itself, as registered, is fine even when unusual.
        let r = reg("HTTPS://App.Example:443/cb/");
        assert!(matches(&r, "HTTPS://App.Example:443/cb/", RedirectUriMatch::Exact));
        assert!(matches(&r, "HTTPS://App.Example:443/cb/?next=%2Fx", RedirectUriMatch::AllowExtraQuery));
    }

    #[test]
    fn the_registered_query_must_be_kept() {
        let r = reg("https://app.example/cb/?tenant=a");
        assert!(matches(&r, "https://app.example/cb/?tenant=a&next=/x", RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, "https://app.example/cb/?tenant=b", RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, "https://app.example/cb/", RedirectUriMatch::AllowExtraQuery));
        // As written: in any order, but not re-encoded, and not given a second value.
        assert!(matches(&r, "https://app.example/cb/?next=/x&tenant=a", RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, "https://app.example/cb/?tenant=%61", RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, "https://app.example/cb/?tenant=a&tenant=b", RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, "https://app.example/cb/?tenant=a&tenan%74=b", RedirectUriMatch::AllowExtraQuery));
        assert!(!matches(&r, "https://app.example/cb?tenant=a", RedirectUriMatch::AllowExtraQuery));
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

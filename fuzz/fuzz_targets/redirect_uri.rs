//! Redirect URIs (`domain::redirect_uri`, RFC 6749 §3.1.2, RFC 9700 §4.1.3): what may be
//! registered (`RedirectUri::parse`/`register`, the admin API's `parse_redirect_uris`, the
//! back-channel logout URI) and how a requested URI is compared with a registered one
//! (`matches`, `resolve`). Input: registered URI, NUL, requested URI.
#![no_main]

use centralauth_fuzz::split_nul;
use centralauth_provider::domain::admin::applications::{parse_backchannel_logout_uri, parse_redirect_uris};
use centralauth_provider::domain::application::{join_redirect_uris, split_redirect_uris};
use centralauth_provider::domain::redirect_uri::{RedirectUri, RedirectUriMatch, matches, resolve};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let (registered, requested) = split_nul(data);
    let (Ok(registered), Ok(requested)) = (std::str::from_utf8(registered), std::str::from_utf8(requested)) else { return };

    // Registration rules: `register` is `parse` and more, whichever way insecure is set.
    for insecure in [false, true] {
        if let Ok(uri) = RedirectUri::register(registered, insecure) {
            assert_eq!(RedirectUri::parse(registered).ok().as_ref(), Some(&uri));
            let url = Url::parse(uri.as_str()).expect("a registered URI is a URL");
            assert!(!matches!(url.scheme(), "javascript" | "data" | "file" | "vbscript"));
            if url.scheme() == "http" && !insecure {
                let host = url.host_str().unwrap_or("");
                assert!(matches!(host, "127.0.0.1" | "[::1]") || host.eq_ignore_ascii_case("localhost") || host.starts_with("127."), "{uri:?}");
            }
        }
        let list = [registered.to_string(), requested.to_string()];
        if let Ok(uris) = parse_redirect_uris(&list, insecure, &[]) {
            assert_eq!(uris.len(), 2);
            // What the store writes (space-separated) loads back as the same list.
            assert_eq!(split_redirect_uris(&join_redirect_uris(&uris)), uris);
        }
    }
    if let Ok(Some(uri)) = parse_backchannel_logout_uri(registered) {
        assert!(uri.as_str().starts_with("http://") || uri.as_str().starts_with("https://"));
    }

    let Ok(reg) = RedirectUri::parse(registered) else { return };
    // Parsing is idempotent, keeps no fragment and no surrounding whitespace.
    assert_eq!(RedirectUri::parse(reg.as_str()).ok().as_ref(), Some(&reg));
    assert!(Url::parse(reg.as_str()).unwrap().fragment().is_none());
    assert_eq!(reg.as_str(), reg.as_str().trim());

    // Exact matching is string equality, nothing more (RFC 9700 §4.1.3).
    assert_eq!(matches(&reg, requested, RedirectUriMatch::Exact), reg.as_str() == requested);
    assert!(matches(&reg, reg.as_str(), RedirectUriMatch::Exact));
    assert!(matches(&reg, reg.as_str(), RedirectUriMatch::AllowExtraQuery));

    // The tolerant mode allows extra query parameters only: same scheme, host, port and path,
    // no fragment and no user information, and every registered query parameter kept.
    if matches(&reg, requested, RedirectUriMatch::AllowExtraQuery) && reg.as_str() != requested {
        let (r, q) = (Url::parse(reg.as_str()).unwrap(), Url::parse(requested).expect("a matching URI parses"));
        assert_eq!((r.scheme(), r.host_str(), r.port_or_known_default(), r.path()), (q.scheme(), q.host_str(), q.port_or_known_default(), q.path()));
        assert!(q.fragment().is_none() && q.username().is_empty() && q.password().is_none());
        let requested_pairs: Vec<_> = q.query_pairs().collect();
        assert!(r.query_pairs().all(|p| requested_pairs.contains(&p)));
    }

    // resolve: the requested URI itself when it matches, the only registered one when none is asked.
    for policy in [RedirectUriMatch::Exact, RedirectUriMatch::AllowExtraQuery] {
        let one = [reg.clone()];
        match resolve(&one, Some(requested), policy) {
            Some(uri) => assert!(uri == requested && matches(&reg, requested, policy)),
            None => assert!(!matches(&reg, requested, policy)),
        }
        assert_eq!(resolve(&one, None, policy).as_deref(), Some(reg.as_str()));
    }
});

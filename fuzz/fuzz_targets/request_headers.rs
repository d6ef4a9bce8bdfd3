//! Request headers and browser-supplied values the provider reads outside the OAuth parameters:
//! `Accept-Language` (`http::i18n::Lang`), the `Cookie` header (`axum_extra`'s `CookieJar`
//! and `http::shared::cookies`: the session and CSRF pre-session cookies), `X-Forwarded-For`
//! (`http::shared::TrustedProxies::client_addr`), the sign-in page's `next`
//! (`http::account::login::safe_next`) and the console's one-per-line lists
//! (`http::console::form::lines`). Input: first byte picks the part.
#![no_main]

use std::net::IpAddr;

use axum_extra::extract::CookieJar;
use centralauth_provider::http::account::login::safe_next;
use centralauth_provider::fuzzing::console_lines as lines;
use centralauth_provider::http::i18n::Lang;
use centralauth_provider::http::shared::TrustedProxies;
use centralauth_provider::http::shared::cookies::{PRE_SESSION, SESSION};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match selector % 5 {
        0 => {
            let lang = Lang::from_header(Some(text)).0.lang;
            assert!(lang == "en" || lang == "de");
        }
        1 => {
            let Ok(value) = HeaderValue::from_str(text) else { return };
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, value);
            let jar = CookieJar::from_headers(&headers);
            for secure in [false, true] {
                for cookie in [&SESSION, &PRE_SESSION] {
                    if let Some(v) = cookie.get(&jar, secure) {
                        // A cookie set with a value read is one a browser reads back the same.
                        if let Some(built) = cookie.build_expiring(v, 60, secure, axum_extra::extract::cookie::SameSite::Lax) {
                            assert_eq!(built.value(), v);
                        }
                    }
                }
            }
        }
        2 => {
            // Proxies by network and by hop count; the peer is a trusted proxy.
            let peer: IpAddr = "10.0.0.2".parse().unwrap();
            let lines: Vec<&str> = text.split('\n').collect();
            let entries: Vec<&str> = lines.iter().flat_map(|l| l.split(',')).map(str::trim).collect();
            for proxies in [
                TrustedProxies { networks: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()], hops: 0 },
                TrustedProxies { networks: vec![], hops: 2 },
            ] {
                let client = proxies.client_addr(peer, lines.iter().copied());
                // The client is the peer or an address some entry names, never made up.
                let named = entries.iter().any(|e| {
                    e.parse::<IpAddr>().ok() == Some(client) || e.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()) == Some(client)
                });
                assert!(client == peer || named, "{client} from {text:?}");
            }
            assert_eq!(TrustedProxies::default().client_addr(peer, lines.iter().copied()), peer);
        }
        3 => {
            let next = safe_next(Some(text));
            assert!(next == text || next == "/account/");
            assert!(next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\"));
            let base = url::Url::parse("https://sso.example/").unwrap();
            if let Ok(resolved) = base.join(next) {
                assert_eq!(resolved.host_str(), Some("sso.example"), "{next:?}");
            }
        }
        _ => {
            for line in lines(text) {
                assert!(!line.is_empty() && line == line.trim() && !line.contains('\n'));
            }
        }
    }
});

//! PKCE (RFC 7636, `domain::pkce`), requested scopes (`domain::scope`) and the constant-time
//! string comparison that CSRF tokens, PKCE and secrets go through (`domain::secret`).
//! Input: first byte picks the part; the rest is split at NUL into strings (PKCE: challenge,
//! method, verifier; scope: requested, stored; comparison: the two strings).
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use centralauth_fuzz::split_nul;
use centralauth_provider::domain::pkce::CodeChallenge;
use centralauth_provider::domain::scope::{SUPPORTED, Scope};
use centralauth_provider::domain::secret::constant_time_eq;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let (a, rest) = split_nul(rest);
    let (b, c) = split_nul(rest);
    let (Ok(a), Ok(b), Ok(c)) = (std::str::from_utf8(a), std::str::from_utf8(b), std::str::from_utf8(c)) else { return };
    match selector % 3 {
        0 => {
            let method = match b {
                "" => None,
                m => Some(m),
            };
            match CodeChallenge::parse(a, method) {
                Ok(challenge) => {
                    assert_eq!(method, Some("S256"), "only S256 is accepted");
                    assert!(is_pkce_string(a));
                    assert_eq!(challenge.as_str(), a);
                }
                Err(_) => assert!(method != Some("S256") || !is_pkce_string(a)),
            }
            // A verifier satisfies a challenge exactly when RFC 7636 §4.6 says so.
            let challenge = CodeChallenge::from_stored(a.to_string());
            let expected = is_pkce_string(c) && URL_SAFE_NO_PAD.encode(Sha256::digest(c.as_bytes())) == a;
            assert_eq!(challenge.is_satisfied_by(c), expected);
            // And the challenge made from a valid verifier is satisfied by it.
            if is_pkce_string(c) {
                let made = URL_SAFE_NO_PAD.encode(Sha256::digest(c.as_bytes()));
                assert!(CodeChallenge::parse(&made, Some("S256")).unwrap().is_satisfied_by(c));
            }
        }
        1 => {
            let requested = if a.is_empty() && b.is_empty() { None } else { Some(a) };
            if let Some(scope) = Scope::parse_requested(requested) {
                let shown = scope.to_string();
                // Only known scopes, shown space-separated, and read back as the same set.
                assert!(shown.split(' ').all(|s| SUPPORTED.contains(&s)));
                assert_eq!(Scope::parse_requested(Some(&shown)).as_ref(), Some(&scope));
                assert_eq!(Scope::from_stored(&shown), scope);
                assert!(scope.is_subset_of(&scope));
            }
            // A stored scope never fails to load, and shows without empty items.
            let stored = Scope::from_stored(b).to_string();
            assert!(!stored.contains("  ") && !stored.starts_with(' ') && !stored.ends_with(' '));
        }
        _ => {
            assert_eq!(constant_time_eq(a, b), a == b);
            assert!(constant_time_eq(a, a));
        }
    }
});

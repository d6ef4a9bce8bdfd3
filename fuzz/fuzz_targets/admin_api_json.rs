//! The admin API's request bodies (`http::admin_api::*`: `serde_json::from_slice` of each body
//! type, as `ApiJson` does) and queries (`serde_urlencoded`, as `ApiQuery` does), each followed
//! by the pure validation the handler's domain call applies before any write: names, client
//! ids, secrets, redirect URIs, lifetimes, OpenID Connect settings, usernames, e-mail addresses,
//! passwords. Input: first byte picks the type; the rest is the body (or query string).
#![no_main]

use centralauth_provider::domain::admin::applications::{OidcChanges, parse_redirect_uris};
use centralauth_provider::domain::admin::check_password;
use centralauth_provider::domain::application::{self, ApplicationProfile, ClientId, OidcSettings, TokenLifetimes};
use centralauth_provider::domain::membership::parse_group_name;
use centralauth_provider::domain::redirect_uri::RedirectUriMatch;
use centralauth_provider::domain::user::{Email, Username, parse_name, username_key};
use centralauth_provider::http::admin_api::{applications, audit, groups, memberships, tokens, users};
use libfuzzer_sys::fuzz_target;

/// A validator that accepts its own output unchanged (so a stored value re-validates).
fn idempotent<T: PartialEq + std::fmt::Debug>(parse: impl Fn(&str) -> Option<T>, shown: impl Fn(&T) -> String, raw: &str) {
    if let Some(value) = parse(raw) {
        assert_eq!(parse(&shown(&value)).as_ref(), Some(&value), "{raw:?}");
    }
}

fn check_oidc(oidc: OidcChanges, insecure: bool) {
    if let Ok(settings) = oidc.apply(OidcSettings::default(), insecure) {
        for uri in &settings.post_logout_redirect_uris {
            assert!(url::Url::parse(uri.as_str()).is_ok());
        }
        if let Some(uri) = &settings.backchannel_logout_uri {
            assert!(uri.as_str().starts_with("http://") || uri.as_str().starts_with("https://"));
        }
    }
}

fn check_names(username: &str, email: &str, first: &str, last: &str) {
    idempotent(|s| Username::parse(s).ok(), |u| u.as_str().to_string(), username);
    if let Ok(u) = Username::parse(username) {
        assert_eq!(u.key(), username_key(u.as_str()));
        assert!(!u.as_str().is_empty() && u.as_str().chars().count() <= 150);
    }
    idempotent(|s| Email::parse(s).ok(), |e| e.as_str().to_string(), email);
    idempotent(|s| parse_name("first_name", s).ok(), String::clone, first);
    idempotent(|s| parse_name("last_name", s).ok(), String::clone, last);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    match selector % 14 {
        0 => {
            let Ok(b) = serde_json::from_slice::<applications::ApplicationCreate>(body) else { return };
            let insecure = b.allow_insecure_redirect_uris.unwrap_or(false);
            if let Some(id) = &b.client_id {
                idempotent(|s| ClientId::parse(s).ok(), |c| c.as_str().to_string(), id);
                if let Ok(c) = ClientId::parse(id) {
                    // Basic authentication can carry it (RFC 6749 §2.3.1).
                    assert!(!c.as_str().contains(':') && !c.as_str().contains(' '));
                }
            }
            idempotent(|s| application::parse_name(s).ok(), String::clone, &b.name);
            if let Ok(uris) = parse_redirect_uris(&b.redirect_uris, insecure, &[]) {
                assert!(!uris.is_empty() && uris.len() == b.redirect_uris.len());
            }
            let profile: ApplicationProfile = b.profile.map(Into::into).unwrap_or_default();
            let _: Option<RedirectUriMatch> = b.redirect_uri_match.map(Into::into);
            let _ = profile.settings();
            let defaults = TokenLifetimes::default();
            let lifetimes = TokenLifetimes {
                access_token: b.access_token_lifetime.unwrap_or(defaults.access_token),
                refresh_token: b.refresh_token_lifetime.unwrap_or(defaults.refresh_token),
            };
            if let Ok(l) = lifetimes.validate() {
                assert!(l.access_token > 0 && l.refresh_token > 0);
            }
            check_oidc(
                OidcChanges {
                    post_logout_redirect_uris: b.post_logout_redirect_uris,
                    backchannel_logout_uri: b.backchannel_logout_uri,
                    id_token_signing_alg: b.id_token_signing_alg,
                },
                insecure,
            );
        }
        1 => {
            let Ok(b) = serde_json::from_slice::<applications::ApplicationPatch>(body) else { return };
            let insecure = b.allow_insecure_redirect_uris.unwrap_or(false);
            if let Some(name) = &b.name {
                idempotent(|s| application::parse_name(s).ok(), String::clone, name);
            }
            if let Some(list) = &b.redirect_uris {
                let _ = parse_redirect_uris(list, insecure, &[]);
            }
            check_oidc(
                OidcChanges {
                    post_logout_redirect_uris: b.post_logout_redirect_uris,
                    backchannel_logout_uri: b.backchannel_logout_uri,
                    id_token_signing_alg: b.id_token_signing_alg,
                },
                insecure,
            );
        }
        2 => {
            let Ok(b) = serde_json::from_slice::<groups::GroupCreate>(body) else { return };
            idempotent(|s| parse_group_name(s).ok(), String::clone, &b.name);
        }
        3 => {
            let Ok(b) = serde_json::from_slice::<groups::GroupPatch>(body) else { return };
            if let Some(name) = &b.name {
                idempotent(|s| parse_group_name(s).ok(), String::clone, name);
            }
        }
        4 => {
            let _ = serde_json::from_slice::<groups::GroupMembers>(body);
        }
        5 => {
            let _ = serde_json::from_slice::<memberships::MembershipPut>(body);
        }
        6 => {
            let _ = serde_json::from_slice::<tokens::ApiTokenCreate>(body);
        }
        7 => {
            let Ok(b) = serde_json::from_slice::<users::UserCreate>(body) else { return };
            check_names(&b.username, &b.email, &b.first_name, &b.last_name);
            if let Some(password) = &b.password {
                if check_password(password, &b.username).is_ok() {
                    assert!(password.chars().count() >= 8);
                }
            }
        }
        8 => {
            let Ok(b) = serde_json::from_slice::<users::UserPatch>(body) else { return };
            check_names("x", b.email.as_deref().unwrap_or(""), b.first_name.as_deref().unwrap_or(""), b.last_name.as_deref().unwrap_or(""));
        }
        9 => {
            let Ok(b) = serde_json::from_slice::<users::PasswordSet>(body) else { return };
            if let Some(password) = &b.password {
                let _ = check_password(password, "alice");
            }
        }
        10 => {
            // Delegation is also written back (GET answers it): a round trip keeps it.
            let Ok(b) = serde_json::from_slice::<users::Delegation>(body) else { return };
            let again: users::Delegation = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
            assert_eq!(again.client_ids, b.client_ids);
        }
        11 => {
            let Ok(query) = std::str::from_utf8(body) else { return };
            let _ = serde_urlencoded::from_str::<users::UserListQuery>(query);
        }
        12 => {
            let Ok(query) = std::str::from_utf8(body) else { return };
            let _ = serde_urlencoded::from_str::<audit::AuditListQuery>(query);
        }
        _ => {
            let Ok(query) = std::str::from_utf8(body) else { return };
            let _ = serde_urlencoded::from_str::<memberships::MemberListQuery>(query);
        }
    }
});

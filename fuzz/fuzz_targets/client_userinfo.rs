//! What the client crate reads from the provider's `/user/` answer (`centralauth_wire::UserInfo`
//! turned into a `Principal`), and the `next` of its login route (`safe_next`, no open redirect).
//! Input: first byte picks the part.
#![no_main]

use std::collections::BTreeSet;

use centralauth_client::fuzzing::{principal_of, safe_next};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    if selector % 2 == 0 {
        let declared: BTreeSet<String> = ["notes.view_note".to_string(), "notes.publish_note".to_string()].into();
        if let Ok(all) = principal_of(rest, None) {
            let narrowed = principal_of(rest, Some(&declared)).unwrap();
            // Declaring permissions only ever removes undeclared ones.
            assert!(narrowed.permissions.is_subset(&declared));
            assert!(narrowed.permissions.is_subset(&all.permissions));
            for p in &all.permissions {
                assert!(p.contains('.'));
                assert_eq!(all.has_perm(p), all.is_active);
            }
            if !all.is_active {
                assert!(!all.has_perm("notes.view_note"));
            }
        }
    } else {
        let Ok(next) = std::str::from_utf8(rest) else { return };
        let safe = safe_next(Some(next));
        assert!(safe == "/" || safe == next);
        assert!(safe.starts_with('/') && !safe.starts_with("//") && !safe.starts_with("/\\"));
        assert!(!safe.chars().any(char::is_control));
        // A browser resolves it on our origin, never another one.
        let base = url::Url::parse("https://app.example/").unwrap();
        if let Ok(resolved) = base.join(&safe) {
            assert_eq!(resolved.host_str(), Some("app.example"), "{safe:?}");
        }
    }
});

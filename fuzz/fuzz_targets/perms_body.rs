//! The JSON body of `POST {prefix}/perms/` (`http::provider::perms`): the credentials read from
//! the head of an over-long body, the body parsed whole, the permission list and its
//! validation (`domain::permission::validate_declarations`), and the sync plan made from it.
#![no_main]

use centralauth_provider::domain::permission::{PermissionKey, plan_sync, validate_declarations};
use centralauth_provider::fuzzing::{perms_body, perms_leading_credentials};
use centralauth_wire::PermissionDeclaration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = perms_body(data);
    // The head check may cut the body anywhere: whatever credentials it reads from a prefix
    // must be the ones the whole body carries, or a client could be authenticated as one and
    // served as another.
    if let Ok((Some(id), Some(secret), _)) = &whole {
        for cut in [data.len(), data.len() / 2, data.len() * 3 / 4, data.len().saturating_sub(1)] {
            if let Some((head_id, head_secret)) = perms_leading_credentials(&data[..cut]) {
                assert_eq!((&head_id, &head_secret), (id, secret), "head {cut} of {}", data.len());
            }
        }
    }
    let Ok((_, _, Some(perms))) = whole else { return };
    let Ok(perms) = serde_json::from_value::<Vec<PermissionDeclaration>>(perms) else { return };
    let Ok(declared) = validate_declarations(&perms) else { return };
    assert_eq!(declared.len(), perms.len());
    for (d, p) in declared.iter().zip(&perms) {
        // A validated key is one the dotted notation reads back (has_perm, the CLI).
        assert_eq!(d.key, PermissionKey::new(&p.app_label, &p.codename).unwrap());
        if !d.key.app_label.contains('.') {
            assert_eq!(PermissionKey::parse_dotted(&d.key.to_string()).unwrap(), d.key);
        }
        assert_eq!(d.name, p.repr);
    }
    // Against an empty store everything distinct is created, once.
    let plan = plan_sync(&[], declared.clone());
    let distinct: std::collections::HashSet<_> = declared.iter().map(|d| &d.key).collect();
    assert_eq!(plan.create.len(), distinct.len());
    assert!(plan.rename.is_empty() && plan.delete.is_empty());
});

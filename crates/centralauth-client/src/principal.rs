//! The signed-in user as the provider describes them to this application.

use std::collections::BTreeSet;

use centralauth_wire::UserInfo;
use serde::{Deserialize, Serialize};

/// Who is signed in, and what they may do in this application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Login name at the provider.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail address (may be empty).
    pub email: String,
    /// Holds every permission of this application.
    pub is_superuser: bool,
    /// May use staff features.
    pub is_staff: bool,
    /// The membership is active (an inactive one ends the session at the next sync).
    pub is_active: bool,
    /// Effective permissions as `app_label.codename`.
    pub permissions: BTreeSet<String>,
}

impl Principal {
    /// Django's `has_perm`: active superusers hold every permission; others the ones granted.
    pub fn has_perm(&self, permission: &str) -> bool {
        self.is_active && (self.is_superuser || self.permissions.contains(permission))
    }

    pub(crate) fn from_user_info(info: UserInfo, declared: Option<&BTreeSet<String>>) -> Self {
        let permissions = info
            .permissions
            .into_iter()
            .map(|(app_label, codename)| format!("{app_label}.{codename}"))
            .filter(|p| match declared {
                // A permission the app never declared is dropped, not a crash as in the original.
                Some(declared) if !declared.contains(p) => {
                    tracing::warn!(permission = %p, "the provider granted a permission this application does not declare; ignored");
                    false
                }
                _ => true,
            })
            .collect();
        Self {
            username: info.username,
            first_name: info.first_name,
            last_name: info.last_name,
            email: info.email,
            is_superuser: info.is_superuser,
            is_staff: info.is_staff,
            is_active: info.is_active,
            permissions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(superuser: bool, active: bool) -> UserInfo {
        UserInfo {
            sub: None,
            username: "alice".into(),
            first_name: String::new(),
            last_name: String::new(),
            email: String::new(),
            is_superuser: superuser,
            is_staff: false,
            is_active: active,
            permissions: vec![("notes".into(), "view_note".into()), ("other".into(), "secret".into())],
        }
    }

    #[test]
    fn superusers_hold_every_permission_while_active() {
        assert!(Principal::from_user_info(info(true, true), None).has_perm("anything.at_all"));
        assert!(!Principal::from_user_info(info(true, false), None).has_perm("anything.at_all"));
        let plain = Principal::from_user_info(info(false, true), None);
        assert!(plain.has_perm("notes.view_note"));
        assert!(!plain.has_perm("notes.delete_note"));
    }

    #[test]
    fn undeclared_permissions_are_dropped() {
        let declared: BTreeSet<String> = ["notes.view_note".to_string()].into();
        let p = Principal::from_user_info(info(false, true), Some(&declared));
        assert_eq!(p.permissions.into_iter().collect::<Vec<_>>(), vec!["notes.view_note".to_string()]);
    }
}

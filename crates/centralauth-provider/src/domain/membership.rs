//! Memberships (django-centralauth's ApplicationUser) and permission groups: what a user may do
//! inside one application. No membership, no access.

use serde::Serialize;

use super::application::ApplicationId;
use super::permission::{PermissionId, PermissionKey};
use super::user::UserId;
use super::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct MembershipId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct GroupId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct MembershipFlags {
    pub is_superuser: bool,
    pub is_staff: bool,
    pub is_active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Membership {
    pub id: MembershipId,
    pub application_id: ApplicationId,
    pub user_id: UserId,
    pub flags: MembershipFlags,
    pub groups: Vec<GroupId>,
    pub permissions: Vec<PermissionId>,
}

/// A membership to create, or the complete new state of an existing one.
#[derive(Debug, Clone, Serialize)]
pub struct MembershipSpec {
    pub application_id: ApplicationId,
    pub user_id: UserId,
    pub flags: MembershipFlags,
    pub groups: Vec<GroupId>,
    pub permissions: Vec<PermissionId>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: GroupId,
    pub application_id: ApplicationId,
    pub name: String,
    pub permissions: Vec<PermissionId>,
}

pub fn parse_group_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 150 {
        return Err(Error::invalid("name", "must be 1 to 150 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must not contain control characters"));
    }
    Ok(name.to_string())
}

/// Effective permissions as the wire wants them: sorted pairs without duplicates.
pub fn effective_pairs(keys: impl IntoIterator<Item = PermissionKey>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = keys.into_iter().map(|k| (k.app_label, k.codename)).collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_permissions_are_the_union_without_duplicates() {
        let k = |a: &str, c: &str| PermissionKey::new(a, c).unwrap();
        let pairs = effective_pairs([k("auth", "view"), k("auth", "add"), k("auth", "view")]);
        assert_eq!(pairs, vec![("auth".into(), "add".into()), ("auth".into(), "view".into())]);
    }
}

//! Permissions an application registers about itself, and the plan that makes the stored set
//! equal to a declared list (the `/perms/` sync).

use std::collections::{HashMap, HashSet};

use centralauth_wire::PermissionDeclaration;
use serde::Serialize;

use super::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct PermissionId(pub i64);

/// `(app_label, codename)`: what identifies a permission inside its application.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct PermissionKey {
    pub app_label: String,
    pub codename: String,
}

impl PermissionKey {
    /// Parses `app_label.codename`, the notation of Django's `has_perm` and of our CLI.
    pub fn parse_dotted(raw: &str) -> Result<Self> {
        let (app_label, codename) =
            raw.split_once('.').ok_or_else(|| Error::invalid("permission", format!("{raw:?} is not app_label.codename")))?;
        Self::new(app_label, codename)
    }

    pub fn new(app_label: &str, codename: &str) -> Result<Self> {
        check_part("app_label", app_label, 100)?;
        check_part("codename", codename, 100)?;
        Ok(Self { app_label: app_label.to_string(), codename: codename.to_string() })
    }
}

impl std::fmt::Display for PermissionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.app_label, self.codename)
    }
}

fn check_part(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() || value.chars().count() > max {
        return Err(Error::invalid(field, format!("must be 1 to {max} characters")));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(field, "must not contain spaces or control characters"));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Permission {
    pub id: PermissionId,
    pub key: PermissionKey,
    pub name: String,
}

/// A validated declaration: the key and its human-readable name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub key: PermissionKey,
    pub name: String,
}

/// The most permissions one sync may carry: far above a large Django project (four per model),
/// and what the benchmarks sync at most (bench/bench.py).
pub const MAX_PERMISSIONS: usize = 100_000;

pub fn validate_declarations(perms: &[PermissionDeclaration]) -> Result<Vec<Declared>> {
    if perms.len() > MAX_PERMISSIONS {
        return Err(Error::invalid("perms", format!("at most {MAX_PERMISSIONS} permissions per application")));
    }
    perms
        .iter()
        .map(|p| {
            let key = PermissionKey::new(&p.app_label, &p.codename)?;
            if p.repr.chars().count() > 255 || p.repr.chars().any(char::is_control) {
                return Err(Error::invalid("repr", "must be at most 255 characters without control characters"));
            }
            Ok(Declared { key, name: p.repr.clone() })
        })
        .collect()
}

/// What a sync does to the stored set.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SyncPlan {
    pub create: Vec<Declared>,
    pub rename: Vec<(PermissionId, String)>,
    pub delete: Vec<PermissionId>,
}

/// Counters of a finished sync, as `/perms/` answers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    pub synced: u64,
    pub created: u64,
    pub deleted: u64,
    pub count: u64,
}

/// Compares the declared list with the stored set. Duplicates in the list count once (the first
/// one wins), as the original's `get_or_create` loop treats them.
pub fn plan_sync(existing: &[Permission], declared: Vec<Declared>) -> SyncPlan {
    let by_key: HashMap<&PermissionKey, &Permission> = existing.iter().map(|p| (&p.key, p)).collect();
    let mut seen: HashSet<PermissionKey> = HashSet::with_capacity(declared.len());
    let mut plan = SyncPlan::default();
    for d in declared {
        if !seen.insert(d.key.clone()) {
            continue;
        }
        match by_key.get(&d.key) {
            Some(p) if p.name != d.name => plan.rename.push((p.id, d.name)),
            Some(_) => {}
            None => plan.create.push(d),
        }
    }
    plan.delete = existing.iter().filter(|p| !seen.contains(&p.key)).map(|p| p.id).collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(label: &str, code: &str, name: &str) -> Declared {
        Declared { key: PermissionKey::new(label, code).unwrap(), name: name.into() }
    }

    fn perm(id: i64, label: &str, code: &str, name: &str) -> Permission {
        Permission { id: PermissionId(id), key: PermissionKey::new(label, code).unwrap(), name: name.into() }
    }

    #[test]
    fn sync_creates_renames_and_deletes() {
        let existing = [perm(1, "a", "keep", "Keep"), perm(2, "a", "rename", "Old"), perm(3, "a", "drop", "Drop")];
        let plan = plan_sync(
            &existing,
            vec![decl("a", "keep", "Keep"), decl("a", "rename", "New"), decl("b", "new", "New one"), decl("b", "new", "dup")],
        );
        assert_eq!(plan.create, vec![decl("b", "new", "New one")]);
        assert_eq!(plan.rename, vec![(PermissionId(2), "New".to_string())]);
        assert_eq!(plan.delete, vec![PermissionId(3)]);
    }

    #[test]
    fn declarations_reject_empty_and_spaced_parts() {
        let bad = |label: &str, code: &str| PermissionDeclaration { app_label: label.into(), codename: code.into(), repr: "x".into() };
        assert!(validate_declarations(&[bad("", "x")]).is_err());
        assert!(validate_declarations(&[bad("a b", "x")]).is_err());
        assert!(validate_declarations(&[bad("a", "x\u{0}")]).is_err());
        assert!(validate_declarations(&[bad("a", "view_thing")]).is_ok());
    }

    #[test]
    fn a_sync_carries_at_most_max_permissions() {
        let entry = |i: usize| PermissionDeclaration { app_label: "a".into(), codename: format!("p{i}"), repr: "x".into() };
        let at_most: Vec<_> = (0..MAX_PERMISSIONS).map(entry).collect();
        assert!(validate_declarations(&at_most).is_ok());
        let over: Vec<_> = (0..=MAX_PERMISSIONS).map(entry).collect();
        assert!(matches!(validate_declarations(&over), Err(Error::Invalid { field: "perms", .. })));
    }

    #[test]
    fn dotted_keys_split_at_the_first_dot() {
        let key = PermissionKey::parse_dotted("auth.view_group").unwrap();
        assert_eq!((key.app_label.as_str(), key.codename.as_str()), ("auth", "view_group"));
        assert!(PermissionKey::parse_dotted("nodot").is_err());
    }
}

/// Makes the application's permission set equal to what it declared (`POST {prefix}/perms/`,
/// django-centralauth's sync): one transaction and one audit entry (`permissions.sync`), by
/// the application itself.
pub async fn sync<S: crate::domain::ports::PermissionStore + ?Sized>(
    store: &S,
    app: &super::application::Application,
    declared: Vec<Declared>,
    synced: u64,
) -> Result<SyncCounts> {
    let actor = super::audit::Actor::Application(app.client_id.clone());
    Ok(store.sync_permissions(app.id, declared, synced, &actor).await?)
}

//! The three-way merge of one entity, field by field: what is here ("ours"), what Django has now
//! ("theirs"), and what the previous import wrote (the base, as fingerprints). A field changed
//! on one side only takes that side; changed on both sides to different values, it conflicts.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// Fingerprints of an entity's compared fields, in a fixed order per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prints(pub Vec<(&'static str, String)>);

impl Prints {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn with(mut self, field: &'static str, value: &impl Serialize) -> Self {
        self.0.push((field, fingerprint(value)));
        self
    }

    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0.iter().map(|(f, p)| (f.to_string(), p.clone())).collect()
    }

    /// Whether `base` records exactly these fields with these fingerprints.
    pub fn equals(&self, base: &BTreeMap<String, String>) -> bool {
        base.len() == self.0.len() && self.0.iter().all(|(f, p)| base.get(*f) == Some(p))
    }
}

/// 128 bits of SHA-256 over the value's JSON: enough to tell values apart, and, for a password
/// hash, useless without the salt that only the hash itself carries.
pub fn fingerprint(value: &impl Serialize) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&json)[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// How one entity that exists on both sides merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// Nothing to write: equal, or changed only here since the last import.
    Same,
    /// These fields changed only in Django since the last import.
    Take(Vec<&'static str>),
    /// These fields differ and the base cannot say which side is newer: both sides changed
    /// them since the last import, or the entity was never imported.
    Conflict(Vec<&'static str>),
}

pub fn merge(base: Option<&BTreeMap<String, String>>, ours: &Prints, theirs: &Prints) -> Merge {
    let mut take = Vec::new();
    let mut conflict = Vec::new();
    for ((field, our), (_, their)) in ours.0.iter().zip(&theirs.0) {
        if our == their {
            continue;
        }
        match base.and_then(|b| b.get(*field)) {
            Some(b) if b == our => take.push(*field),
            Some(b) if b == their => {}
            _ => conflict.push(*field),
        }
    }
    if !conflict.is_empty() {
        Merge::Conflict(conflict)
    } else if !take.is_empty() {
        Merge::Take(take)
    } else {
        Merge::Same
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prints(a: &str, b: &str) -> Prints {
        Prints::new().with("a", &a).with("b", &b)
    }

    #[test]
    fn a_field_changed_on_one_side_takes_that_side() {
        let base = prints("1", "1").to_map();
        assert_eq!(merge(Some(&base), &prints("1", "1"), &prints("2", "1")), Merge::Take(vec!["a"]));
        assert_eq!(merge(Some(&base), &prints("2", "1"), &prints("1", "1")), Merge::Same);
        assert_eq!(merge(Some(&base), &prints("2", "1"), &prints("1", "3")), Merge::Take(vec!["b"]));
    }

    #[test]
    fn a_field_changed_on_both_sides_conflicts_unless_equal() {
        let base = prints("1", "1").to_map();
        assert_eq!(merge(Some(&base), &prints("2", "1"), &prints("3", "1")), Merge::Conflict(vec!["a"]));
        assert_eq!(merge(Some(&base), &prints("2", "1"), &prints("2", "1")), Merge::Same);
    }

    #[test]
    fn without_base_any_difference_conflicts() {
        assert_eq!(merge(None, &prints("1", "1"), &prints("1", "1")), Merge::Same);
        assert_eq!(merge(None, &prints("1", "1"), &prints("1", "2")), Merge::Conflict(vec!["b"]));
    }

    #[test]
    fn fingerprints_differ_by_value_and_equal_for_equal_values() {
        assert_eq!(fingerprint(&"x"), fingerprint(&"x"));
        assert_ne!(fingerprint(&"x"), fingerprint(&"y"));
        assert_ne!(fingerprint(&Some("x")), fingerprint(&Option::<&str>::None));
        assert_eq!(fingerprint(&"x").len(), 32);
    }
}

//! Scopes. django-oauth-toolkit's defaults are `read` and `write`, and a request without `scope`
//! gets both; OpenID Connect adds `openid`, `profile`, `email` and `offline_access`. The set is
//! kept ordered so answers are stable.

use std::collections::BTreeSet;

/// The scopes this provider knows.
pub const SUPPORTED: &[&str] = &["openid", "profile", "email", "offline_access", "read", "write"];
pub const DEFAULT: &str = "read write";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a space-separated list; `None` for an empty list or an unknown scope.
    pub fn parse_requested(raw: Option<&str>) -> Option<Self> {
        let raw = raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(DEFAULT);
        let set: BTreeSet<String> = raw.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect();
        (!set.is_empty() && set.iter().all(|s| SUPPORTED.contains(&s.as_str()))).then_some(Self(set))
    }

    /// A scope string read back from the database.
    pub fn from_stored(raw: &str) -> Self {
        Self(raw.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect())
    }

    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // "read write" in the original's order; BTreeSet order happens to match for the defaults.
        let parts: Vec<&str> = self.0.iter().map(String::as_str).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_scope_means_read_write() {
        assert_eq!(Scope::parse_requested(None).unwrap().to_string(), "read write");
        assert_eq!(Scope::parse_requested(Some("  ")).unwrap().to_string(), "read write");
    }

    #[test]
    fn unknown_scopes_are_refused_and_narrowing_is_a_subset() {
        assert!(Scope::parse_requested(Some("read admin")).is_none());
        let read = Scope::parse_requested(Some("read")).unwrap();
        let both = Scope::parse_requested(Some("write read")).unwrap();
        assert!(read.is_subset_of(&both));
        assert!(!both.is_subset_of(&read));
    }
}

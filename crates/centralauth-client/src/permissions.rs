//! The permissions an application declares in code and registers at the provider.

use std::collections::BTreeSet;

use centralauth_wire::PermissionDeclaration;

/// The application's permissions, declared once in code.
#[derive(Debug, Clone, Default)]
pub struct PermissionSet {
    pub(crate) declarations: Vec<PermissionDeclaration>,
}

impl PermissionSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `app_label.codename` with a human-readable name.
    pub fn with(mut self, app_label: &str, codename: &str, name: &str) -> Self {
        self.declarations.push(PermissionDeclaration { app_label: app_label.into(), codename: codename.into(), repr: name.into() });
        self
    }

    /// The declared permissions as `app_label.codename`.
    pub fn keys(&self) -> BTreeSet<String> {
        self.declarations.iter().map(|d| format!("{}.{}", d.app_label, d.codename)).collect()
    }
}

//! The audit log: who changed what and when, with the state before and after (DESIGN §6).
//! Every administrative change writes its entry in the same transaction as the change.

use serde::Serialize;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Actor {
    /// An operator at the command line (the OS user, when known).
    Cli(String),
    /// A signed-in provider user.
    User(String),
    /// An application acting with its client credentials (the perms sync).
    Application(String),
    /// The server itself (first start).
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Self::Cli(name) => format!("cli:{name}"),
            Self::User(name) => format!("user:{name}"),
            Self::Application(client_id) => format!("application:{client_id}"),
            Self::System => "system".to_string(),
        }
    }

    pub fn cli() -> Self {
        Self::Cli(std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
    }
}

/// One audit entry, before and after as JSON documents of the changed entity.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub action: &'static str,
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl AuditEntry {
    pub fn new(actor: &Actor, action: &'static str, target: impl Into<String>) -> Self {
        Self { actor: actor.label(), action, application_id: None, user_id: None, target: target.into(), before: None, after: None }
    }

    pub fn application(mut self, id: i64) -> Self {
        self.application_id = Some(id);
        self
    }

    pub fn user(mut self, id: i64) -> Self {
        self.user_id = Some(id);
        self
    }

    pub fn before(mut self, value: &impl Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: &impl Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

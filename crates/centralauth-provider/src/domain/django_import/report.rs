//! What an import run did (or, in a dry run, would do): counts per kind of entity, and a line
//! for every row that was updated, is in conflict or was skipped.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ImportMode;

/// The kinds of entity an import carries over, in the order it writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    User,
    Application,
    Permission,
    Group,
    Membership,
    RefreshToken,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::User, Kind::Application, Kind::Permission, Kind::Group, Kind::Membership, Kind::RefreshToken];

    /// The name stored in `import_records.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Application => "application",
            Self::Permission => "permission",
            Self::Group => "group",
            Self::Membership => "membership",
            Self::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    pub fn plural(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Application => "applications",
            Self::Permission => "permissions",
            Self::Group => "groups",
            Self::Membership => "memberships",
            Self::RefreshToken => "refresh tokens",
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub conflicts: u64,
    pub skipped: u64,
}

/// What happened to one source row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated {
        fields: Vec<&'static str>,
    },
    /// Equal here, or changed only here since the last import (which wins).
    Unchanged,
    /// Left as it is here: changed on both sides, or different here and never imported.
    Conflict {
        fields: Vec<&'static str>,
        reason: String,
    },
    /// Not imported: invalid, ambiguous, removed here, or its application or user was not.
    Skipped {
        reason: String,
    },
}

/// A row worth a line of its own: updated, in conflict or skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    pub kind: Kind,
    pub key: String,
    pub outcome: Outcome,
}

impl std::fmt::Display for ReportLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.kind.as_str().replace('_', " ");
        match &self.outcome {
            Outcome::Created => write!(f, "create {kind} {}", self.key),
            Outcome::Unchanged => write!(f, "unchanged {kind} {}", self.key),
            Outcome::Updated { fields } => write!(f, "update {kind} {}: {}", self.key, fields.join(", ")),
            Outcome::Conflict { fields, reason } if fields.is_empty() => write!(f, "conflict {kind} {}: {reason}", self.key),
            Outcome::Conflict { fields, reason } => write!(f, "conflict {kind} {}: {} {reason}", self.key, fields.join(", ")),
            Outcome::Skipped { reason } => write!(f, "skip {kind} {}: {reason}", self.key),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub mode: ImportMode,
    pub counts: BTreeMap<Kind, Counts>,
    pub lines: Vec<ReportLine>,
    /// Things imported that need an operator's attention (passwords that cannot be checked).
    pub warnings: Vec<String>,
}

impl ImportReport {
    pub fn new(mode: ImportMode) -> Self {
        Self { mode, counts: Kind::ALL.into_iter().map(|k| (k, Counts::default())).collect(), lines: Vec::new(), warnings: Vec::new() }
    }

    pub fn record(&mut self, kind: Kind, key: impl Into<String>, outcome: Outcome) {
        let counts = self.counts.entry(kind).or_default();
        match &outcome {
            Outcome::Created => counts.created += 1,
            Outcome::Updated { .. } => counts.updated += 1,
            Outcome::Unchanged => counts.unchanged += 1,
            Outcome::Conflict { .. } => counts.conflicts += 1,
            Outcome::Skipped { .. } => counts.skipped += 1,
        }
        if !matches!(outcome, Outcome::Created | Outcome::Unchanged) {
            self.lines.push(ReportLine { kind, key: key.into(), outcome });
        }
    }

    pub fn counts(&self, kind: Kind) -> Counts {
        self.counts.get(&kind).copied().unwrap_or_default()
    }

    /// Whether the run created or updated nothing (a repeated run of an unchanged source).
    pub fn changes_nothing(&self) -> bool {
        self.counts.values().all(|c| c.created == 0 && c.updated == 0)
    }

    pub fn conflicts(&self) -> u64 {
        self.counts.values().map(|c| c.conflicts).sum()
    }

    /// The summary table: one row per kind.
    pub fn table(&self) -> String {
        let mut out = format!("{:<16}{:>9}{:>9}{:>11}{:>10}{:>9}\n", "", "created", "updated", "unchanged", "conflict", "skipped");
        for (kind, c) in &self.counts {
            out.push_str(&format!(
                "{:<16}{:>9}{:>9}{:>11}{:>10}{:>9}\n",
                kind.plural(),
                c.created,
                c.updated,
                c.unchanged,
                c.conflicts,
                c.skipped
            ));
        }
        out
    }
}

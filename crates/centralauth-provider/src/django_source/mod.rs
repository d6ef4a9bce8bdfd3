//! Reading a django-centralauth 2.0 provider database (the tables of django.contrib.auth,
//! django-oauth-toolkit 1.x and centralauth.provider) on SQLite or PostgreSQL into the domain's
//! [`DjangoExport`]. Read-only and in one transaction, so a running Django provider can stay up
//! and the export is one consistent snapshot.

mod postgres;
mod sqlite;

use crate::domain::django_import::{DjangoExport, Progress, TokenImport};

/// Why a source database could not be read; each names the database (without its password).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("unsupported Django database URL {0:?}: use sqlite://FILE or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("the Django database {0} does not exist")]
    NoSuchFile(String),
    #[error("cannot read the Django database {url}: {cause}")]
    Unreadable { url: String, cause: String },
    #[error(
        "{url} is not a django-centralauth provider database: it lacks the tables {}",
        missing.join(", ")
    )]
    NotDjangoCentralauth { url: String, missing: Vec<&'static str> },
    #[error("reading {table} of the Django database {url}: {cause}")]
    Query { url: String, table: &'static str, cause: String },
}

/// The tables the import reads, and those it reads only to carry tokens over.
const TABLES: [&str; 13] = [
    "auth_user",
    "auth_user_user_permissions",
    "auth_user_groups",
    "auth_group_permissions",
    "auth_permission",
    "django_content_type",
    "provider_application",
    "provider_applicationpermission",
    "provider_applicationpermissiongroup",
    "provider_applicationpermissiongroup_permissions",
    "provider_applicationuser",
    "provider_applicationuser_groups",
    "provider_applicationuser_permissions",
];
const TOKEN_TABLES: [&str; 2] = ["oauth2_provider_refreshtoken", "oauth2_provider_accesstoken"];

/// Reads the database at `url` (`sqlite://FILE` or `postgres://…`); refresh tokens only when
/// they are to be imported.
pub async fn read(url: &str, tokens: TokenImport, progress: &dyn Progress) -> Result<DjangoExport, SourceError> {
    if url.starts_with("sqlite:") {
        sqlite::read(url, tokens, progress).await
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        postgres::read(url, tokens, progress).await
    } else {
        Err(SourceError::UnsupportedUrl(redacted(url)))
    }
}

/// The URL as messages and the audit log show it: without a password.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// The required tables that `present` lacks.
fn missing_tables(present: &std::collections::HashSet<String>, tokens: TokenImport) -> Vec<&'static str> {
    let token_tables: &[&'static str] = if tokens == TokenImport::Import { &TOKEN_TABLES } else { &[] };
    TABLES.iter().chain(token_tables).copied().filter(|t| !present.contains(*t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_urls() {
        assert_eq!(redacted("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redacted("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn token_tables_are_required_only_for_tokens() {
        let present: std::collections::HashSet<String> = TABLES.iter().map(|t| t.to_string()).collect();
        assert!(missing_tables(&present, TokenImport::Skip).is_empty());
        assert_eq!(missing_tables(&present, TokenImport::Import), TOKEN_TABLES);
    }
}

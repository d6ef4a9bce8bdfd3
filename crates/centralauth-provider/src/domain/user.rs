//! Users: one central account each. Usernames are unique compared case-insensitively.

use serde::Serialize;

use super::clock::UnixTime;
use super::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A username as Django accepts it: 1–150 characters of letters, digits and `@.+-_`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(Error::invalid("username", "must not be empty"));
        }
        if value.chars().count() > 150 {
            return Err(Error::invalid("username", "must be at most 150 characters"));
        }
        if !value.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
            return Err(Error::invalid("username", "may contain only letters, digits and @ . + - _"));
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness and look-ups compare: Unicode lower case.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

pub fn username_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// An e-mail address, or empty. Only its shape is checked; ownership is not ours to prove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        let value = raw.trim();
        if value.is_empty() {
            return Ok(Self::default());
        }
        let valid = value.len() <= 254
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(value.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if !valid {
            return Err(Error::invalid("email", "is not an e-mail address"));
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name: at most 150 characters, no control characters.
pub fn parse_name(field: &'static str, raw: &str) -> Result<String> {
    let value = raw.trim();
    if value.chars().count() > 150 {
        return Err(Error::invalid(field, "must be at most 150 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_string())
}

/// Whether the user may administer the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Administrator,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub role: Role,
    pub date_joined: UnixTime,
    pub last_login: Option<UnixTime>,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub password_hash: Option<String>,
}

/// The fields an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: Option<bool>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    /// With a new password: the session (the cookie's digest) of the user who set it, which
    /// stays signed in while every other session ends.
    pub keep_session: Option<crate::domain::secret::SecretDigest>,
}

impl User {
    pub fn apply(&mut self, changes: &UserChanges) {
        if let Some(email) = &changes.email {
            self.email = email.as_str().to_string();
        }
        if let Some(v) = &changes.first_name {
            self.first_name = v.clone();
        }
        if let Some(v) = &changes.last_name {
            self.last_name = v.clone();
        }
        if let Some(v) = changes.is_active {
            self.is_active = v;
        }
        if let Some(v) = changes.role {
            self.role = v;
        }
        if let Some(v) = &changes.password_hash {
            self.password_hash = Some(v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_compare_case_insensitively() {
        assert_eq!(Username::parse("Alice").unwrap().key(), Username::parse("aLICE").unwrap().key());
    }

    #[test]
    fn usernames_reject_empty_long_and_odd_characters() {
        assert!(Username::parse("  ").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("a\u{202e}b").is_err());
        assert!(Username::parse("jürgen.o'").is_err());
        assert!(Username::parse("jürgen.o+x@y").is_ok());
    }

    #[test]
    fn emails_need_one_at_and_no_spaces() {
        assert!(Email::parse("").is_ok());
        assert!(Email::parse("a@b").is_ok());
        assert!(Email::parse("a b@c").is_err());
        assert!(Email::parse("@c").is_err());
        assert!(Email::parse("a@b@c").is_err());
    }
}

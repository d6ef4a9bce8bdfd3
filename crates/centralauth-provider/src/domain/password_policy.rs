//! What a new password must be (NIST SP 800-63B §5.1.1.2): at least 8 characters, not on a list
//! of common and breached passwords, and not the username with little or nothing added. Applied wherever a password is set
//! (console, admin API, CLI), never at sign-in, so that existing users keep signing in.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::{Error, Result};

/// Minimum length of a password set by an administrator or a user (NIST SP 800-63B §5.1.1).
pub const MIN_PASSWORD_LENGTH: usize = 8;

/// Upper bound, so that hashing stays cheap; far above anything a person types.
const MAX_PASSWORD_BYTES: usize = 1024;

/// Common and breached passwords, lower-cased, one a line: the entries of at least 8 characters
/// (shorter ones fail the length rule anyway) of the 20,000-password list by Royce Williams that
/// Django ships as `django/contrib/auth/common-passwords.txt.gz` (Django 5.2, BSD-3-Clause
/// licence; compiled from public breach corpora, gist roycewilliams/226886fd01572964e1431ac8afc999ce).
/// Plain text rather than compressed: 80 KB, and no decompressor to carry for it.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| include_str!("common-passwords.txt").lines().collect());

/// Why a new password is refused, as `Error::Invalid` on the field `password`; the texts are
/// translated by the console (`console::texts`).
pub fn check(password: &str, username: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD_LENGTH} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid("password", "must be at most 1024 bytes"));
    }
    let lowered = password.to_lowercase();
    if COMMON.contains(lowered.as_str()) {
        return Err(Error::invalid("password", "is too common: it is on a list of passwords known from breaches"));
    }
    // The username is no secret: what the password adds to it must pass the rules by itself
    // (`alice2024`, `Alice-password` and `alice` are refused; a long passphrase that happens to
    // hold the name is not).
    let name = username.trim().to_lowercase();
    if !name.is_empty() && lowered.contains(&name) {
        let rest = lowered.replace(&name, "");
        let word = rest.trim_matches(|c: char| !c.is_alphanumeric());
        if rest.chars().count() < MIN_PASSWORD_LENGTH || COMMON.contains(word) {
            return Err(Error::invalid("password", "is too close to the username"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(password: &str, username: &str) -> Option<String> {
        match check(password, username) {
            Ok(()) => None,
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(field, "password");
                Some(reason)
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn common_and_breached_passwords_are_refused_whatever_their_case() {
        for common in ["password", "12345678", "PASSWORD", "Password1", "qwertyuiop", "iloveyou"] {
            assert_eq!(reason(common, "alice").as_deref(), Some("is too common: it is on a list of passwords known from breaches"), "{common}");
        }
    }

    #[test]
    fn the_list_is_loaded_whole_and_holds_only_what_the_length_rule_lets_through() {
        assert!(COMMON.len() > 8_000, "{}", COMMON.len());
        assert!(COMMON.iter().all(|p| p.chars().count() >= MIN_PASSWORD_LENGTH && *p == p.to_lowercase()));
    }

    #[test]
    fn a_password_may_not_be_the_username_with_little_or_something_common_added() {
        for (password, username) in [("Alice.Smith", "alice.smith"), ("alice2024", "alice"), ("BOB-PASSWORD", "bob"), ("bob_bob_bob!", "Bob")] {
            assert_eq!(reason(password, username).as_deref(), Some("is too close to the username"), "{password}");
        }
        // What is added is a password of its own.
        assert_eq!(reason("alice-tangerine-orbit", "alice"), None);
        assert_eq!(reason("banana-split-99", "a"), None);
    }

    #[test]
    fn length_is_still_checked_first_and_uncommon_passwords_pass() {
        assert_eq!(reason("short", "alice").as_deref(), Some("must be at least 8 characters"));
        assert_eq!(reason(&"x".repeat(1025), "alice").as_deref(), Some("must be at most 1024 bytes"));
        assert_eq!(reason("correct horse battery staple", "alice"), None);
        assert_eq!(reason("tangerine-Orbit-42", "alice"), None);
    }
}

//! Recovery codes: ten single-use codes that stand in for a second factor when its device is
//! lost, shown once (at a user's first enrolment, and on demand, when new ones replace all old
//! ones) and stored as SHA-256 digests.
//!
//! A plain digest suffices, as for tokens (`domain::secret`): each code carries 80 random bits,
//! so a leaked digest is out of reach of any brute force, salted or not; argon2's stretching
//! protects guessable inputs such as passwords, and would cost a hash per code and attempt.

use rand::RngCore;

use super::super::audit::Actor;
use super::super::clock::UnixTime;
use super::super::secret::SecretDigest;
use super::super::user::UserId;
use super::super::{Error, Result};
use crate::domain::ports::{FactorStore, RecoveryCodeStore};

/// Codes per set.
pub const COUNT: usize = 10;
/// Crockford's base32 alphabet, lower case: no i, l, o or u, so nothing reads as another sign.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Four groups of four: 16 characters of 5 bits each.
const GROUPS: usize = 4;
const GROUP_CHARS: usize = 4;

/// A recovery code in its shown form, `xxxx-xxxx-xxxx-xxxx`. Not `Clone`; the value leaves only
/// through [`RecoveryCode::expose`].
#[derive(PartialEq, Eq)]
pub struct RecoveryCode(String);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

impl RecoveryCode {
    /// The code as shown. Dangerous: only for the one page that shows it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.0.replace('-', ""))
    }
}

/// A new set of codes.
pub fn generate() -> Vec<RecoveryCode> {
    (0..COUNT)
        .map(|_| {
            let mut bytes = [0u8; GROUPS * GROUP_CHARS];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            // 32 divides 256: taking five bits of each byte keeps every character equally likely.
            let chars: Vec<char> = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect();
            RecoveryCode(chars.chunks(GROUP_CHARS).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
        })
        .collect()
}

/// The digest of a typed code: case, dashes and spaces do not matter, and the letters Crockford
/// reads as digits (o as 0; i and l as 1) count as those. `None` when it cannot be a code.
pub fn digest_of(input: &str) -> Option<SecretDigest> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect();
    (code.len() == GROUPS * GROUP_CHARS && code.bytes().all(|b| ALPHABET.contains(&b))).then(|| SecretDigest::of(&code))
}

/// Replaces all of the user's recovery codes by a new set (audited `mfa.recovery_codes`) and
/// returns it, to be shown once. `Invalid` when the user has no second factor, for which codes
/// would stand in.
pub async fn regenerate<S: FactorStore + RecoveryCodeStore + ?Sized>(store: &S, user: UserId, actor: &Actor, now: UnixTime) -> Result<Vec<RecoveryCode>> {
    if store.list_factors(user).await?.is_empty() {
        return Err(Error::invalid("recovery_codes", "set up a second factor first"));
    }
    let codes = generate();
    let digests: Vec<SecretDigest> = codes.iter().map(RecoveryCode::digest).collect();
    store.replace_recovery_codes(user, &digests, now, actor).await?;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_grouped_and_unambiguous() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let shown: std::collections::HashSet<&str> = codes.iter().map(|c| c.expose()).collect();
        assert_eq!(shown.len(), COUNT);
        for code in &codes {
            let parts: Vec<&str> = code.expose().split('-').collect();
            assert_eq!(parts.len(), 4);
            assert!(parts.iter().all(|p| p.len() == 4 && p.bytes().all(|b| ALPHABET.contains(&b))));
            assert!(!code.expose().contains(['i', 'l', 'o', 'u']));
        }
    }

    #[test]
    fn typed_codes_match_whatever_their_case_dashes_or_spaces() {
        let code = RecoveryCode("0a1b-2c3d-4e5f-6g7h".to_string());
        for typed in ["0a1b-2c3d-4e5f-6g7h", "0A1B2C3D4E5F6G7H", " 0a1b 2c3d 4e5f 6g7h ", "Oa1b-2c3d-4e5f-6g7h", "0aIb-2c3d-4e5f-6g7h"] {
            assert_eq!(digest_of(typed), Some(code.digest()), "{typed:?}");
        }
        for bad in ["", "0a1b-2c3d-4e5f", "0a1b-2c3d-4e5f-6g7u", &"0".repeat(100)] {
            assert_eq!(digest_of(bad), None, "{bad:?}");
        }
    }
}

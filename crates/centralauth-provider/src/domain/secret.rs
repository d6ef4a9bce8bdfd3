//! High-entropy secrets (tokens, codes, client secrets, session ids) and their SHA-256 digests.
//! Only digests are stored (DESIGN §6): a database leak yields nothing usable.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// A freshly generated random secret, shown to its owner once and never stored.
/// Deliberately not `Clone` or `Display`: the value leaves only through [`Secret::expose`].
#[derive(PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// 32 random bytes from the OS CSPRNG, base64url without padding (43 characters, 256 bits).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a secret given by an operator (a client secret carried over from another installation).
    pub fn from_given(value: String) -> Self {
        Self(value)
    }

    /// The plain value. Dangerous: only for the one answer that hands it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// SHA-256 of a secret: what the database keeps and looks up by. A plain hash (no salt, no
/// stretching) is right here because the inputs are random 256-bit values, not passwords.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SecretDigest(pub Vec<u8>);

impl SecretDigest {
    pub fn of(value: &str) -> Self {
        Self(Sha256::digest(value.as_bytes()).to_vec())
    }

    /// Constant-time comparison of a presented value against this digest.
    pub fn matches(&self, presented: &str) -> bool {
        Self::of(presented).0.ct_eq(&self.0).into()
    }
}

/// A server-held key for keyed digests (HMAC-SHA-256), derived per purpose from the master key
/// (`signing::MasterKey::derive`), so that every instance computes the same values and no
/// database holds the key. Not `Debug`-printable.
#[derive(Clone)]
pub struct MacKey([u8; 32]);

impl MacKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// HMAC-SHA-256 of `label`, a NUL and `input`, as 43 base64url characters: the shape of a
    /// generated [`Secret`], so a derived token looks and is stored like any other. Labels hold
    /// no NUL, so no two (label, input) pairs share a message.
    pub fn derive(&self, label: &str, input: &str) -> Secret {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(input.as_bytes());
        Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(…)")
    }
}

/// Constant-time equality of two strings (CSRF tokens).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_distinct_and_url_safe() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn derived_values_depend_on_key_label_and_input() {
        let key = MacKey::from_bytes([7; 32]);
        let value = key.derive("a", "x");
        assert_eq!(value.expose(), key.derive("a", "x").expose(), "the same on every instance");
        assert_eq!(value.expose().len(), 43);
        assert_ne!(value.expose(), key.derive("b", "x").expose());
        assert_ne!(value.expose(), key.derive("a", "y").expose());
        assert_ne!(value.expose(), MacKey::from_bytes([8; 32]).derive("a", "x").expose());
    }

    #[test]
    fn digest_matches_only_its_secret() {
        let s = Secret::generate();
        let d = s.digest();
        assert!(d.matches(s.expose()));
        assert!(!d.matches("something else"));
        assert_ne!(d.0, s.expose().as_bytes());
    }
}

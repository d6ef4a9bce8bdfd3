//! PKCE (RFC 7636) with the S256 method only: `plain` offers no protection against a leaked
//! authorization request (RFC 9700 §2.1.1), so it is refused.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::secret::constant_time_eq;
use super::{Error, Result};

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A `code_challenge` with method S256, as received at the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self> {
        match method {
            Some("S256") => {}
            None | Some("plain") => {
                return Err(Error::invalid("code_challenge_method", "only S256 is supported"));
            }
            Some(_) => return Err(Error::invalid("code_challenge_method", "only S256 is supported")),
        }
        if !is_pkce_string(challenge) {
            return Err(Error::invalid("code_challenge", "must be 43 to 128 characters of [A-Za-z0-9-._~]"));
        }
        Ok(Self(challenge.to_string()))
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge.
    pub fn is_satisfied_by(&self, verifier: &str) -> bool {
        if !is_pkce_string(verifier) {
            return false;
        }
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        constant_time_eq(&computed, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        let challenge = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256")).unwrap();
        assert!(challenge.is_satisfied_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!challenge.is_satisfied_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"));
        assert!(!challenge.is_satisfied_by(""));
    }

    #[test]
    fn plain_and_malformed_challenges_are_refused() {
        let good = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(CodeChallenge::parse(good, Some("plain")).is_err());
        assert!(CodeChallenge::parse(good, None).is_err());
        assert!(CodeChallenge::parse("short", Some("S256")).is_err());
        assert!(CodeChallenge::parse(&"a".repeat(129), Some("S256")).is_err());
        assert!(CodeChallenge::parse(&format!("{}!", &good[1..]), Some("S256")).is_err());
    }
}

//! Password hashing: argon2id with OWASP parameters for new hashes; Django's `pbkdf2_sha256$…`
//! (and `pbkdf2_sha1$…`) verify too, so users migrated from a Django provider keep their
//! passwords, and are upgraded to argon2id on their next login (DESIGN §6).
//! Hashing is CPU-bound on purpose, so the async functions run it on the blocking pool.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use subtle::ConstantTimeEq;

use super::{Error, InternalError, Result};

/// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
fn argon2id() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// What checking a password told us.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    Match,
    /// Correct, but stored in a weaker or older format: store this new hash.
    MatchNeedsRehash(String),
}

pub fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2id()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(InternalError::PasswordHash(e.to_string())))
}

pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

pub fn verify_blocking(password: &str, stored: &str) -> Result<Verification> {
    if let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") {
        return upgrade_if(verify_django_pbkdf2(pbkdf2::pbkdf2_hmac::<sha2::Sha256>, password, rest), password);
    }
    if let Some(rest) = stored.strip_prefix("pbkdf2_sha1$") {
        return upgrade_if(verify_django_pbkdf2(pbkdf2::pbkdf2_hmac::<sha1::Sha1>, password, rest), password);
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        // Unusable hashes (Django's "!…" for users without a password) never match.
        return Ok(Verification::Mismatch);
    };
    if argon2id().verify_password(password.as_bytes(), &parsed).is_err() {
        return Ok(Verification::Mismatch);
    }
    let current = parsed.algorithm == argon2::ARGON2ID_IDENT
        && Params::try_from(&parsed).is_ok_and(|p| {
            let want = argon2id();
            let want = want.params();
            (p.m_cost(), p.t_cost(), p.p_cost()) == (want.m_cost(), want.t_cost(), want.p_cost())
        });
    if current { Ok(Verification::Match) } else { Ok(Verification::MatchNeedsRehash(hash_blocking(password)?)) }
}

pub async fn verify(password: String, stored: String) -> Result<Verification> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &stored)).await?
}

/// Burns the same CPU as a real verification, so that an unknown username takes as long as a
/// wrong password and does not reveal which accounts exist.
pub async fn verify_dummy(password: String) -> Result<()> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let stored = DUMMY.get_or_init(|| hash_blocking("centralauth-dummy").unwrap_or_default());
        let _ = verify_blocking(&password, stored);
    })
    .await?;
    Ok(())
}

fn upgrade_if(matched: bool, password: &str) -> Result<Verification> {
    if matched { Ok(Verification::MatchNeedsRehash(hash_blocking(password)?)) } else { Ok(Verification::Mismatch) }
}

/// Django's `PBKDF2PasswordHasher`: `<iterations>$<salt>$<base64 of the derived key>`.
fn verify_django_pbkdf2(derive: fn(&[u8], &[u8], u32, &mut [u8]), password: &str, rest: &str) -> bool {
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else { return false };
    // Django's own limit is far lower; this only stops a crafted hash from pinning a CPU.
    if iterations == 0 || iterations > 10_000_000 {
        return false;
    }
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(expected) else { return false };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut derived = vec![0u8; expected.len()];
    derive(password.as_bytes(), salt.as_bytes(), iterations, &mut derived);
    derived.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hash_verifies_and_rejects_wrong_password() {
        let h = hash_blocking("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify_blocking("correct horse", &h).unwrap(), Verification::Match);
        assert_eq!(verify_blocking("wrong", &h).unwrap(), Verification::Mismatch);
    }

    #[test]
    fn django_pbkdf2_sha256_hash_verifies_and_asks_for_upgrade() {
        // Made with Django 3.2: make_password("secret", salt="saltsalt", hasher="pbkdf2_sha256") at 1000 iterations.
        let stored = "pbkdf2_sha256$1000$saltsalt$".to_string() + &django_reference("secret", "saltsalt", 1000);
        match verify_blocking("secret", &stored).unwrap() {
            Verification::MatchNeedsRehash(new) => assert!(new.starts_with("$argon2id$")),
            other => panic!("expected an upgrade, got {other:?}"),
        }
        assert_eq!(verify_blocking("Secret", &stored).unwrap(), Verification::Mismatch);
    }

    #[test]
    fn malformed_and_unusable_hashes_never_match() {
        for stored in ["", "!unusable", "pbkdf2_sha256$x$salt$abc", "pbkdf2_sha256$0$s$AAAA", "md5$whatever"] {
            assert_eq!(verify_blocking("anything", stored).unwrap(), Verification::Mismatch, "{stored}");
        }
    }

    /// An independent PBKDF2-HMAC-SHA256 computation (RFC 8018 §5.2, one block) to check the
    /// Django format parsing against.
    fn django_reference(password: &str, salt: &str, iterations: u32) -> String {
        use hmac::{Hmac, Mac};
        let mac = |data: &[u8]| {
            let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(password.as_bytes()).unwrap();
            m.update(data);
            m.finalize().into_bytes().to_vec()
        };
        let mut u = mac(&[salt.as_bytes(), &1u32.to_be_bytes()].concat());
        let mut out = u.clone();
        for _ in 1..iterations {
            u = mac(&u);
            out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
        }
        base64::engine::general_purpose::STANDARD.encode(out)
    }
}

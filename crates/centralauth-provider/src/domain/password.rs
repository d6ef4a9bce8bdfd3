//! Password hashing: argon2id with OWASP parameters for new hashes. Django's hashes verify too
//! (`pbkdf2_sha256$…`, `pbkdf2_sha1$…`, `argon2$argon2id$…`, `bcrypt_sha256$…`, `bcrypt$…`), so
//! users migrated from a Django provider keep their passwords, and are upgraded to argon2id on
//! their next login (DESIGN §6).
//! Hashing is CPU-bound and memory-hard on purpose, so the async functions run it on the
//! blocking pool, and only as many at a time as there are cores (`run_bounded`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use sha2::Digest as _;
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

/// How long a password check waits for its turn before the server says it is busy: a burst of
/// sign-ins queues, and only a flood that would not clear in this time is turned away.
pub const QUEUE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Checks at a time: one per core. More would not finish sooner, and each holds argon2's
/// 19 MiB (more for an imported Django hash) — unbounded, 100 simultaneous sign-ins took the
/// provider from 17 MiB to 917 MiB, from the open sign-in page.
fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())))
}

/// Runs a hashing job on the blocking pool once a permit is free; `Unavailable` if none frees
/// up within [`QUEUE_TIMEOUT`]. The permit is held until the job ends, even if the waiting
/// request is dropped, so that abandoned requests cannot pile up work beyond the bound.
async fn run_bounded<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = match tokio::time::timeout(QUEUE_TIMEOUT, permits().acquire()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            tracing::warn!(target: "centralauth::security", event = "password_check_queue_full", "password checks queued too long");
            return Err(Error::Unavailable { retry_after: 5 });
        }
    };
    Ok(tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    })
    .await?)
}

pub async fn hash(password: String) -> Result<String> {
    run_bounded(move || hash_blocking(&password)).await?
}

pub fn verify_blocking(password: &str, stored: &str) -> Result<Verification> {
    if let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") {
        return upgrade_if(verify_django_pbkdf2(pbkdf2::pbkdf2_hmac::<sha2::Sha256>, password, rest), password);
    }
    if let Some(rest) = stored.strip_prefix("pbkdf2_sha1$") {
        return upgrade_if(verify_django_pbkdf2(pbkdf2::pbkdf2_hmac::<sha1::Sha1>, password, rest), password);
    }
    if let Some(bcrypt_hash) = stored.strip_prefix("bcrypt_sha256$") {
        // Django's BCryptSHA256PasswordHasher: bcrypt over the hex SHA-256 of the password, so
        // that bcrypt's 72-byte truncation never applies.
        let hex_digest = hex(&sha2::Sha256::digest(password.as_bytes()));
        return upgrade_if(verify_bcrypt(hex_digest.as_bytes(), bcrypt_hash), password);
    }
    if let Some(bcrypt_hash) = stored.strip_prefix("bcrypt$") {
        return upgrade_if(verify_bcrypt(password.as_bytes(), bcrypt_hash), password);
    }
    let Some(parsed) = argon2_hash(stored) else {
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
    run_bounded(move || verify_blocking(&password, &stored)).await?
}

/// Burns the same CPU as a real verification, so that an unknown username takes as long as a
/// wrong password and does not reveal which accounts exist.
pub async fn verify_dummy(password: String) -> Result<()> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    run_bounded(move || {
        let stored = DUMMY.get_or_init(|| hash_blocking("centralauth-dummy").unwrap_or_default());
        let _ = verify_blocking(&password, stored);
    })
    .await
}

/// Whether [`verify_blocking`] can check passwords against `stored`: our argon2 hashes and the
/// Django formats above. Django's unusable passwords (`!…`) and its weak legacy formats (`md5$`,
/// `sha1$`, `crypt$`, …) are not.
pub fn is_verifiable(stored: &str) -> bool {
    ["pbkdf2_sha256$", "pbkdf2_sha1$", "bcrypt_sha256$", "bcrypt$"].iter().any(|p| stored.starts_with(p)) || argon2_hash(stored).is_some()
}

/// An argon2 PHC string with salt and hash: ours, or Django's, which writes "argon2" before it
/// (`argon2$argon2id$v=19$…`, and `argon2$argon2i$…` before Django 3.2).
fn argon2_hash(stored: &str) -> Option<PasswordHash<'_>> {
    let phc = stored.strip_prefix("argon2").filter(|rest| rest.starts_with("$argon2")).unwrap_or(stored);
    let parsed = PasswordHash::new(phc).ok()?;
    // argon2 0.5 compares `m < 8 * p` before it bounds p, which overflows for p above 2^29 (a
    // panic where overflow checks are on): bound p first. Found by fuzzing.
    if parsed.params.get_decimal("p").is_some_and(|p| p > Params::MAX_P_COST) {
        return None;
    }
    // Django's default is 100 MiB and 2 passes; the bounds only stop a crafted hash from
    // exhausting memory or pinning a CPU.
    let bounded = Params::try_from(&parsed).is_ok_and(|p| p.m_cost() <= 1024 * 1024 && p.t_cost() <= 64);
    (parsed.algorithm.as_str().starts_with("argon2") && parsed.salt.is_some() && parsed.hash.is_some() && bounded).then_some(parsed)
}

fn upgrade_if(matched: bool, password: &str) -> Result<Verification> {
    if matched { Ok(Verification::MatchNeedsRehash(hash_blocking(password)?)) } else { Ok(Verification::Mismatch) }
}

/// bcrypt checks `password` against a `$2b$…` hash; a malformed hash never matches. Costs above
/// 16 are refused before hashing, so that a crafted hash cannot pin a CPU (Django's is 12).
fn verify_bcrypt(password: &[u8], hash: &str) -> bool {
    let cost = hash.split('$').nth(2).and_then(|c| c.parse::<u32>().ok());
    if !matches!(cost, Some(4..=16)) {
        return false;
    }
    bcrypt::verify(password, hash).unwrap_or(false)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        for stored in [
            "",
            "!unusable",
            "pbkdf2_sha256$x$salt$abc",
            "pbkdf2_sha256$0$s$AAAA",
            "md5$whatever",
            "bcrypt_sha256$$2b$31$zegJJJV6KpgCwRb43whv/.YkRRz3v/7RnowZYlr2HPKyWvuvz5jkq",
            "bcrypt_sha256$garbage",
            "argon2$argon2id$v=19$m=1024,t=2,p=1$bad",
        ] {
            assert_eq!(verify_blocking("anything", stored).unwrap(), Verification::Mismatch, "{stored}");
        }
    }

    #[test]
    fn an_argon2_hash_with_an_absurd_parallelism_never_matches_and_does_not_panic() {
        for stored in ["$argon2id$v=19$m=1024,t=2,p=1111111122$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "argon2$argon2id$v=19$m=8,t=1,p=536870913$c2FsdHNhbHQ$aGFzaA"] {
            assert!(!is_verifiable(stored), "{stored}");
            assert_eq!(verify_blocking("anything", stored).unwrap(), Verification::Mismatch, "{stored}");
        }
    }

    // The Django hashes below were made once with the real Django 3.2.25 (argon2-cffi 25.1.0,
    // bcrypt 5.0.0): `Argon2PasswordHasher`, `BCryptSHA256PasswordHasher` and
    // `BCryptPasswordHasher` subclassed only to lower their cost (memory_cost = 1024 and
    // parallelism = 1; rounds = 4) so that the tests stay fast, then `h.encode(PASSWORD, h.salt())`.
    // The default-cost argon2 one is `make_password(PASSWORD, hasher="argon2")`, and the argon2i
    // one is what Django before 3.2 wrote: "argon2" + argon2-cffi's hash_secret(type=Type.I,
    // time_cost=2, memory_cost=512, parallelism=2, hash_len=16).
    const PASSWORD: &str = "correct horse battery staple";
    const DJANGO_ARGON2ID: &str =
        "argon2$argon2id$v=19$m=1024,t=2,p=1$Ukc0QXFPSG1tVld2RDFJNmZwem5HMw$x9Lt3qtuO6+F3LPb6bFqr2yG1IuweaZY2rRQzdzfC/E";
    const DJANGO_ARGON2ID_DEFAULT_COST: &str =
        "argon2$argon2id$v=19$m=102400,t=2,p=8$R0lna21aN3lqTjVmQ2hXV0RUbjI1RQ$Vx9HiS65/HtHg88d2XdyQY3CjUQknmNjoZnixn/rGhw";
    const DJANGO_ARGON2I_BEFORE_3_2: &str = "argon2$argon2i$v=19$m=512,t=2,p=2$b2xkRGphbmdvU2FsdDE$HbFen461vClgf5wADPw/1A";
    const DJANGO_BCRYPT_SHA256: &str = "bcrypt_sha256$$2b$04$zegJJJV6KpgCwRb43whv/.YkRRz3v/7RnowZYlr2HPKyWvuvz5jkq";
    const DJANGO_BCRYPT: &str = "bcrypt$$2b$04$L2QmbRQkCyW.f7K7jigEyuGMc.mCJcQTFsy1nYHsAB.UQJLWXiEoC";

    fn assert_upgrades(stored: &str) {
        match verify_blocking(PASSWORD, stored).unwrap() {
            Verification::MatchNeedsRehash(new) => {
                assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
                assert_eq!(verify_blocking(PASSWORD, &new).unwrap(), Verification::Match);
            }
            other => panic!("{stored}: expected an upgrade, got {other:?}"),
        }
        assert_eq!(verify_blocking("correct horse battery stapler", stored).unwrap(), Verification::Mismatch, "{stored}");
        assert!(is_verifiable(stored), "{stored}");
    }

    #[test]
    fn django_argon2_hashes_verify_and_ask_for_upgrade() {
        assert_upgrades(DJANGO_ARGON2ID);
        assert_upgrades(DJANGO_ARGON2ID_DEFAULT_COST);
        assert_upgrades(DJANGO_ARGON2I_BEFORE_3_2);
    }

    #[test]
    fn django_bcrypt_hashes_verify_and_ask_for_upgrade() {
        assert_upgrades(DJANGO_BCRYPT_SHA256);
        assert_upgrades(DJANGO_BCRYPT);
        // bcrypt_sha256 hashes the hex digest, never the password itself.
        assert_eq!(verify_blocking(PASSWORD, &DJANGO_BCRYPT.replace("bcrypt$", "bcrypt_sha256$")).unwrap(), Verification::Mismatch);
    }

    #[test]
    fn only_formats_we_can_check_count_as_verifiable() {
        assert!(is_verifiable(&hash_blocking("x").unwrap()));
        assert!(is_verifiable("pbkdf2_sha1$1000$salt$AAAA"));
        for stored in ["", "!abc", "md5$salt$abc", "sha1$salt$abc", "unsalted_md5$abc", "crypt$$abc", "$argon2id$broken"] {
            assert!(!is_verifiable(stored), "{stored}");
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

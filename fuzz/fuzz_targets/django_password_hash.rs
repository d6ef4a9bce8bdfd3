//! Stored password hashes as a Django import brings them (`domain::password`): Django's
//! `pbkdf2_sha256$…`, `pbkdf2_sha1$…`, `argon2$argon2id$…`, `bcrypt_sha256$…`, `bcrypt$…` and
//! our argon2 PHC strings, read by `verify_blocking` and `is_verifiable`.
//! Input: stored hash, NUL, password.
//!
//! Hashing is slow on purpose, so inputs whose cost lies between a cheap one and the
//! verifier's own bound are skipped here (the bound itself, and everything beyond it, is still
//! fuzzed: those are refused before any hashing).
#![no_main]

use argon2::password_hash::PasswordHash;
use centralauth_fuzz::split_nul;
use centralauth_provider::domain::password::{Verification, is_verifiable, verify_blocking};
use libfuzzer_sys::fuzz_target;

/// Whether verifying `stored` would hash at a cost a fuzzer cannot afford per input, though
/// the verifier accepts it.
fn too_slow(stored: &str) -> bool {
    for prefix in ["pbkdf2_sha256$", "pbkdf2_sha1$"] {
        if let Some(rest) = stored.strip_prefix(prefix) {
            let iterations = rest.split('$').next().and_then(|i| i.parse::<u32>().ok());
            return iterations.is_some_and(|i| i > 2_000 && i <= 10_000_000);
        }
    }
    for prefix in ["bcrypt_sha256$", "bcrypt$"] {
        if let Some(rest) = stored.strip_prefix(prefix) {
            let cost = rest.split('$').nth(2).and_then(|c| c.parse::<u32>().ok());
            return cost.is_some_and(|c| (7..=16).contains(&c));
        }
    }
    let phc = stored.strip_prefix("argon2").filter(|r| r.starts_with("$argon2")).unwrap_or(stored);
    match PasswordHash::new(phc) {
        // (argon2 0.5's Params overflows for p above its maximum: see domain/password.rs.)
        Ok(hash) if hash.params.get_decimal("p").is_some_and(|p| p > argon2::Params::MAX_P_COST) => false,
        Ok(hash) => argon2::Params::try_from(&hash).is_ok_and(|p| p.m_cost() > 1024 || p.t_cost() > 3),
        Err(_) => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let (stored, password) = split_nul(data);
    let (Ok(stored), Ok(password)) = (std::str::from_utf8(stored), std::str::from_utf8(password)) else { return };
    if too_slow(stored) {
        return;
    }
    let verifiable = is_verifiable(stored);
    let verdict = verify_blocking(password, stored).expect("verification never fails on bad input");
    match verdict {
        Verification::Mismatch => {}
        Verification::Match | Verification::MatchNeedsRehash(_) => assert!(verifiable, "{stored:?} matched but is not verifiable"),
    }
    if let Verification::MatchNeedsRehash(new) = verdict {
        // The upgrade is our current format, and holds the same password.
        assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify_blocking(password, &new).unwrap(), Verification::Match);
    }
    // Django's unusable passwords never become usable.
    if stored.starts_with('!') {
        assert!(!verifiable);
    }
});

//! What the fuzz targets share: the test keys their tokens are checked against, and a signer
//! that turns fuzzer-chosen header and claims into a validly signed JWS, so that the checks
//! after the signature are fuzzed too (a fuzzer cannot forge a signature by mutation).
//!
//! The keys are test keys of this directory only: the Ed25519 private key is the fixed seed
//! below, the RSA one is `seeds/rsa-test-key.pem` (used by `seeds/make_seeds.py`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer;

/// The Ed25519 test key's seed (bytes 1 to 32).
pub const ED25519_SEED: [u8; 32] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32];
pub const ED25519_X: &str = "ebVWLo_mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ";
pub const ED25519_KID: &str = "ed-test";
/// The RSA test key's modulus (exponent 65537).
pub const RSA_N: &str = "o86SDle99vcQCqp0T_bJfjtFUsTauc3pqjYAEdq59T_4cQQnDN8ZBKFCQegZMQ8lPtCFccwnTJRXS3K7IjvqodLQC4fyzlQbaJQotlGtuPWOQjTmlmGIDcd8JmX9xE1PK2kTFpjdp9oj6C8_mCnSxoRxpHfDhAoCYGoOXO9xdguEBaXdWRqCrXQ5wrYqJav7ds-zKuGMYCO6ofp5DeW3wWzHZ6IXno4T5rMuBMWgvhAgSy-dYB9XEnv-JyWG9L1SFroru2grG1wiHLatdCOqOmdCpP-9N3-IHpx0SGBVpCJ9vaz8MwKD-zkVh-Z7WTKPJ9XvS8I5CJf6Oz89V5n0sQ";
pub const RSA_KID: &str = "rsa-test";

/// The public JWKs as the provider publishes them.
pub fn ed25519_jwk_json() -> String {
    format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_X}","kid":"{ED25519_KID}","alg":"EdDSA","use":"sig"}}"#)
}

pub fn rsa_jwk_json() -> String {
    format!(r#"{{"kty":"RSA","n":"{RSA_N}","e":"AQAB","kid":"{RSA_KID}","alg":"RS256","use":"sig"}}"#)
}

/// `base64url(header).base64url(claims).signature` with the Ed25519 test key, whatever bytes
/// header and claims are.
pub fn sign_ed25519(header: &[u8], claims: &[u8]) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&ED25519_SEED);
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// Splits a fuzz input at its first NUL: `(before, after)`; all of it is `before` without one.
pub fn split_nul(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// A fixed "now" for time checks: 2026-01-01T00:00:00Z.
pub const NOW: u64 = 1_767_225_600;

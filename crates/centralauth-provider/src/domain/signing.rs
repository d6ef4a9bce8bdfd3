//! Signing keys of the OpenID Connect tokens (id_token, logout token, access-change events).
//! They live in the database so that every provider instance signs with the same keys; the
//! private half is sealed there with the master key (AES-256-GCM), which never enters the
//! database. RS256 is what every relying party supports; EdDSA (Ed25519) is the option.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use rand::RngCore;
use serde::Serialize;

use super::clock::UnixTime;
use super::secret::Secret;
use super::{Error, Result};

/// A signing algorithm this provider offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Algorithm {
    #[default]
    RS256,
    EdDSA,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::RS256, Algorithm::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "RS256" => Ok(Self::RS256),
            "EdDSA" => Ok(Self::EdDSA),
            _ => Err(Error::invalid("algorithm", "must be RS256 or EdDSA")),
        }
    }

    fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::RS256 => jsonwebtoken::Algorithm::RS256,
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

/// The key that seals the private keys in the database: 32 random bytes, configured as
/// base64url (`CENTRALAUTH_MASTER_KEY`) or kept in a file beside an embedded database.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A key of its own for `purpose` (HMAC-SHA-256 of the master key and the purpose), so that
    /// no two uses share a key and none reveals the master key.
    pub fn derive(&self, purpose: &str) -> super::secret::MacKey {
        use hmac::Mac as _;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"centralauth key for ");
        mac.update(purpose.as_bytes());
        super::secret::MacKey::from_bytes(mac.finalize().into_bytes().into())
    }

    pub fn parse(encoded: &str) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded.trim().trim_end_matches('='))
            .map_err(|_| Error::invalid("master_key", "must be base64url"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| Error::invalid("master_key", "must be 32 bytes (43 base64url characters)"))?;
        Ok(Self(bytes))
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }

    /// `nonce || ciphertext`, with a random 96-bit nonce per key (few keys: no reuse risk).
    pub(super) fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut sealed = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail for inputs this small.
        sealed.extend(self.cipher().encrypt(Nonce::from_slice(&nonce), plaintext).unwrap_or_default());
        sealed
    }

    pub(super) fn open(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        let wrong = || Error::invalid("master_key", "does not open the signing keys in the database (another master key sealed them)");
        if sealed.len() < 12 {
            return Err(wrong());
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        self.cipher().decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| wrong())
    }
}

/// A key as the database keeps it.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: String,
    pub sealed_private_key: Vec<u8>,
    /// The public JWK (RFC 7517) as JSON, served in the JWKS.
    pub public_jwk: String,
    pub created_at: UnixTime,
    pub retired_at: Option<UnixTime>,
    pub expires_at: Option<UnixTime>,
}

/// Generates a key pair and seals its private half. RSA generation takes a good part of a
/// second: call it off the async runtime.
pub fn generate(algorithm: Algorithm, master: &MasterKey, now: UnixTime) -> Result<StoredKey> {
    let kid = Secret::generate().expose()[..16].to_string();
    let (private_der, jwk) = match algorithm {
        Algorithm::RS256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| Error::invalid("key", e.to_string()))?;
            let der = key.to_pkcs1_der().map_err(|e| Error::invalid("key", e.to_string()))?.as_bytes().to_vec();
            let jwk = serde_json::json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
            });
            (der, jwk)
        }
        Algorithm::EdDSA => {
            use ed25519_dalek::pkcs8::EncodePrivateKey;
            let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
            let der = key.to_pkcs8_der().map_err(|e| Error::invalid("key", e.to_string()))?.as_bytes().to_vec();
            let jwk = serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            });
            (der, jwk)
        }
    };
    Ok(StoredKey {
        kid,
        algorithm: algorithm.as_str().to_string(),
        sealed_private_key: master.seal(&private_der),
        public_jwk: jwk.to_string(),
        created_at: now,
        retired_at: None,
        expires_at: None,
    })
}

/// An unsealed key, ready to sign.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
}

impl SigningKey {
    pub fn unseal(stored: &StoredKey, master: &MasterKey) -> Result<Self> {
        let algorithm = Algorithm::parse(&stored.algorithm)?;
        let der = master.open(&stored.sealed_private_key)?;
        let encoding = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_der(&der),
            Algorithm::EdDSA => EncodingKey::from_ed_der(&der),
        };
        Ok(Self { kid: stored.kid.clone(), algorithm, encoding })
    }

    /// A compact JWS of `claims`, with this key's `kid` and the given `typ` header.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String> {
        let mut header = Header::new(self.algorithm.jwt());
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| Error::invalid("signature", e.to_string()))
    }
}

/// Verifies a token this provider signed earlier (an `id_token_hint`), against the published
/// keys; expiry is not checked (a hint may be an expired id_token, OpenID RP-Initiated Logout
/// §2). Returns the claims, or `None` when no published key verifies it.
pub fn verify_own_token(token: &str, published: &[StoredKey]) -> Option<serde_json::Value> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let kid = header.kid?;
    let stored = published.iter().find(|k| k.kid == kid)?;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&stored.public_jwk).ok()?;
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    let algorithm = Algorithm::parse(&stored.algorithm).ok()?;
    if header.alg != algorithm.jwt() {
        return None;
    }
    let mut validation = jsonwebtoken::Validation::new(algorithm.jwt());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).ok().map(|data| data.claims)
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the access token's hash, with
/// the hash of the signing algorithm (SHA-256 for RS256, SHA-512 for Ed25519).
pub fn at_hash(access_token: &str, algorithm: Algorithm) -> String {
    use sha2::Digest;
    let digest: Vec<u8> = match algorithm {
        Algorithm::RS256 => sha2::Sha256::digest(access_token.as_bytes()).to_vec(),
        Algorithm::EdDSA => sha2::Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_master_key() {
        let master = MasterKey::generate();
        let stored = generate(Algorithm::EdDSA, &master, 1).unwrap();
        assert!(SigningKey::unseal(&stored, &master).is_ok());
        assert!(SigningKey::unseal(&stored, &MasterKey::generate()).is_err());
        assert!(!stored.public_jwk.contains("\"d\""), "the public JWK carries no private part");
    }

    #[test]
    fn signed_tokens_verify_against_the_published_key_only() {
        let master = MasterKey::generate();
        for algorithm in Algorithm::ALL {
            let stored = generate(algorithm, &master, 1).unwrap();
            let other = generate(algorithm, &master, 1).unwrap();
            let token = SigningKey::unseal(&stored, &master).unwrap().sign("JWT", &serde_json::json!({"sub": "7"})).unwrap();
            assert_eq!(verify_own_token(&token, std::slice::from_ref(&stored)).unwrap()["sub"], "7");
            let mut impostor = other.clone();
            impostor.kid = stored.kid.clone();
            assert!(verify_own_token(&token, &[impostor]).is_none(), "{algorithm:?}: another key with the same kid");
        }
    }

    #[test]
    fn at_hash_matches_the_spec_example() {
        // OpenID Connect Core, Appendix A.3 (RS256).
        assert_eq!(at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", Algorithm::RS256), "77QmUPtjPfzWtF2AnpK9RQ");
    }

    #[test]
    fn master_keys_round_trip_and_refuse_wrong_lengths() {
        let key = MasterKey::generate();
        assert_eq!(MasterKey::parse(&key.encode()).unwrap().0, key.0);
        assert!(MasterKey::parse("c2hvcnQ").is_err());
    }
}

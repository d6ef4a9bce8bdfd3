//! TOTP (RFC 6238) as a second factor: SHA-1, 6 digits, 30-second steps, a window of ±1 step,
//! and no code accepted twice (each factor keeps its last accepted step; only a later one
//! passes, by compare-and-set in the store). Secrets are sealed with the master key; a new one
//! waits in a `TotpEnrolment` sign-in flow until its first code confirms it.
//!
//! The computation is written here rather than taken from the totp-rs crate: it is fifteen
//! lines over the `hmac` and `sha1` crates the provider has anyway, checked against RFC 6238's
//! test vectors below, and keeping totp-rs out of production code leaves it to the tests as an
//! independent oracle (a test computing codes with the code under test proves nothing).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

use super::super::audit::Actor;
use super::super::clock::UnixTime;
use super::super::keyring::KeyRing;
use super::super::secret::{Secret, SecretDigest, constant_time_eq};
use super::super::user::UserId;
use super::super::{Error, InternalError, Result};
use super::{FactorSummary, recovery};
use crate::domain::ports::{FactorStore, FlowPurpose, NewTotpFactor, SignInFlow, SignInFlowStore, TotpStore};

/// Digits of a code (RFC 4226 §5.3: at least six).
pub const DIGITS: u32 = 6;
/// RFC 6238 §5.2 recommends 30 seconds.
pub const STEP_SECONDS: i64 = 30;
/// Steps accepted before and after the current one, for clock drift and typing time (RFC 6238
/// §5.2 recommends at most one).
pub const WINDOW: i64 = 1;
/// RFC 4226 §4 asks for at least 128 bits and recommends 160.
pub const SECRET_BYTES: usize = 20;
/// How long a shown secret waits for its first code.
pub const ENROLMENT_SECONDS: i64 = 15 * 60;
/// The longest name a user may give a factor.
pub const MAX_NAME_CHARS: usize = 100;

/// RFC 4226 §5.3 (HOTP): HMAC-SHA-1 of the big-endian counter, dynamically truncated to 31
/// bits, modulo 10^digits.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([hash[offset], hash[offset + 1], hash[offset + 2], hash[offset + 3]]) & 0x7fff_ffff;
    binary % 10u32.pow(digits)
}

/// RFC 6238 §4.2: the time step of `now`, counted from the Unix epoch (T0 = 0).
pub fn step_at(now: UnixTime) -> i64 {
    now.div_euclid(STEP_SECONDS)
}

/// A TOTP shared secret. Deliberately not `Clone` or `Debug`-printable.
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl TotpSecret {
    /// 20 random bytes from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret as authenticator apps take it: RFC 4648 base32, upper case, no padding.
    /// Dangerous: only for the page that shows it to its user. Hand-written (eight lines)
    /// rather than another dependency for one encoder.
    pub fn base32(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::with_capacity(self.0.len().div_ceil(5) * 8);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for byte in &self.0 {
            buffer = (buffer << 8) | u32::from(*byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// The code of time step `step`, zero-padded.
    pub fn code(&self, step: i64) -> String {
        format!("{:0width$}", hotp(&self.0, step as u64, DIGITS), width = DIGITS as usize)
    }

    /// The step within ±[`WINDOW`] of `now`, later than `after`, whose code is `code` (already
    /// normalised by [`normalize_code`]); every candidate is compared, in constant time.
    pub fn matching_step(&self, code: &str, now: UnixTime, after: i64) -> Option<i64> {
        let current = step_at(now);
        let mut found = None;
        for step in (current - WINDOW..=current + WINDOW).filter(|s| *s > after && *s >= 0) {
            if constant_time_eq(&self.code(step), code) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    fn seal(&self, keys: &KeyRing) -> Vec<u8> {
        keys.seal(&self.0)
    }

    pub fn unseal(sealed: &[u8], keys: &KeyRing) -> Result<Self> {
        keys.open(sealed).map(Self).map_err(|_| Error::Internal(InternalError::Store("a TOTP secret does not open with the master key".into())))
    }
}

/// A typed code as compared: the digits only, spaces removed (apps show `123 456`); `None` when
/// it cannot be a code.
pub fn normalize_code(input: &str) -> Option<String> {
    if input.len() > 32 {
        return None;
    }
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The `otpauth://` URI of Google's Key Uri Format, which authenticator apps read from the QR
/// code. Neither `issuer` nor `account` may contain a colon (the label's separator).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &TotpSecret) -> String {
    let mut uri = url::Url::parse("otpauth://totp/").expect("a valid URL");
    // The label, percent-encoded as a path by the url crate.
    uri.set_path(&format!("{issuer}:{account}"));
    uri.query_pairs_mut()
        .append_pair("secret", &secret.base32())
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("period", &STEP_SECONDS.to_string());
    uri.into()
}

/// The issuer name shown in authenticator apps: the public URL's host, without port (a colon
/// would break the label), or `centralauth`.
pub fn issuer_of(public_url: &str) -> String {
    url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| !h.is_empty() && !h.contains(':'))
        .unwrap_or_else(|| "centralauth".to_string())
}

/// `data` as a QR code in SVG, to be placed inline in a page: no XML declaration, no style
/// attribute or element (the pages' Content-Security-Policy allows no inline style), only
/// presentation attributes. `None` when the data is too long for a QR code.
pub fn qr_svg(data: &str) -> Option<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
    svg.find("<svg").map(|start| svg[start..].to_string())
}

/// A secret shown to its user, waiting for its first code: `id` names the enrolment (a form
/// field of the page), only its digest is stored.
#[derive(Debug)]
pub struct PendingEnrolment {
    pub id: Secret,
    pub secret: TotpSecret,
}

/// Starts an enrolment for `user`: a new secret, sealed into a `TotpEnrolment` flow.
pub async fn begin_enrolment<S: SignInFlowStore + ?Sized>(store: &S, keys: &KeyRing, user: UserId, now: UnixTime) -> Result<PendingEnrolment> {
    let secret = TotpSecret::generate();
    let id = Secret::generate();
    let flow = SignInFlow {
        purpose: FlowPurpose::TotpEnrolment,
        user_id: Some(user),
        amr: Default::default(),
        state: URL_SAFE_NO_PAD.encode(secret.seal(keys)),
        created_at: now,
        expires_at: now + ENROLMENT_SECONDS,
    };
    store.insert_flow(&id.digest(), &flow).await?;
    Ok(PendingEnrolment { id, secret })
}

/// The secret of `user`'s live enrolment `id`, if there is one.
pub async fn pending_secret<S: SignInFlowStore + ?Sized>(store: &S, keys: &KeyRing, id: &str, user: UserId, now: UnixTime) -> Result<Option<TotpSecret>> {
    let Some(flow) = store.find_flow(&SecretDigest::of(id), FlowPurpose::TotpEnrolment, now).await? else { return Ok(None) };
    if flow.user_id != Some(user) {
        return Ok(None);
    }
    secret_of(&flow, keys).map(Some)
}

fn sealed_of(flow: &SignInFlow) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(&flow.state).map_err(|_| Error::Internal(InternalError::Store("an enrolment's state is not base64url".into())))
}

fn secret_of(flow: &SignInFlow, keys: &KeyRing) -> Result<TotpSecret> {
    TotpSecret::unseal(&sealed_of(flow)?, keys)
}

/// A confirmed TOTP factor, and the recovery codes to show once when it is the user's first.
#[derive(Debug)]
pub struct Enrolled {
    pub factor: FactorSummary,
    pub recovery_codes: Option<Vec<recovery::RecoveryCode>>,
}

/// The name a user gives a factor: trimmed, 1–100 characters, no control characters.
pub fn parse_name(input: &str, default: &str) -> Result<String> {
    let name = input.trim();
    let name = if name.is_empty() { default } else { name };
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be at most 100 characters, without control characters"));
    }
    Ok(name.to_string())
}

/// Confirms enrolment `id` of `user` with its first code: the factor is stored (audited
/// `mfa.enrol`) with that code's step as used, and when it is the user's first factor, with
/// ten new recovery codes. `Invalid { field: "code" }` for a wrong code (the enrolment stays),
/// `NotFound` when the enrolment has expired, was confirmed already or is another user's.
pub async fn confirm_enrolment<S: SignInFlowStore + FactorStore + TotpStore + ?Sized>(
    store: &S, keys: &KeyRing, id: &str, user: UserId, username: &str, name: &str, code: &str, now: UnixTime,
) -> Result<Enrolled> {
    let digest = SecretDigest::of(id);
    let flow = store.find_flow(&digest, FlowPurpose::TotpEnrolment, now).await?.filter(|f| f.user_id == Some(user)).ok_or(Error::not_found("enrolment"))?;
    let secret = secret_of(&flow, keys)?;
    let step = normalize_code(code).and_then(|c| secret.matching_step(&c, now, i64::MIN)).ok_or_else(|| Error::invalid("code", "is not right"))?;
    // Taken only now, so that a wrong code leaves the enrolment for the next try; of two
    // confirmations at once, one gets it.
    let flow = store.take_flow(&digest, FlowPurpose::TotpEnrolment, now).await?.ok_or(Error::not_found("enrolment"))?;
    let first = store.list_factors(user).await?.is_empty();
    let codes = first.then(recovery::generate);
    let digests: Option<Vec<SecretDigest>> = codes.as_ref().map(|codes| codes.iter().map(recovery::RecoveryCode::digest).collect());
    let new = NewTotpFactor { user_id: user, name: name.to_string(), sealed_secret: sealed_of(&flow)?, last_step: step, created_at: now };
    let factor = store.insert_totp_factor(&new, digests.as_deref(), &Actor::User(username.to_string())).await?;
    Ok(Enrolled { factor, recovery_codes: codes })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows: the ASCII key "12345678901234567890", 8 digits.
    #[test]
    fn rfc6238_sha1_test_vectors() {
        let key = b"12345678901234567890";
        let vectors: [(u64, u32); 6] =
            [(59, 94287082), (1111111109, 7081804), (1111111111, 14050471), (1234567890, 89005924), (2000000000, 69279037), (20000000000, 65353130)];
        for (time, code) in vectors {
            assert_eq!(hotp(key, time / 30, 8), code, "T = {time}");
        }
    }

    #[test]
    fn rfc4226_hotp_test_vectors() {
        let key = b"12345678901234567890";
        let codes = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, code) in codes.into_iter().enumerate() {
            assert_eq!(hotp(key, counter as u64, 6), code);
        }
    }

    #[test]
    fn base32_follows_rfc4648() {
        assert_eq!(TotpSecret::from_bytes(b"foobar".to_vec()).base32(), "MZXW6YTBOI");
        assert_eq!(TotpSecret::from_bytes(b"12345678901234567890".to_vec()).base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(TotpSecret::generate().base32().len(), 32);
    }

    #[test]
    fn codes_are_accepted_within_one_step_and_only_after_the_last_accepted_one() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_015;
        let step = step_at(now);
        for s in [step - 1, step, step + 1] {
            assert_eq!(secret.matching_step(&secret.code(s), now, 0), Some(s));
        }
        assert_eq!(secret.matching_step(&secret.code(step - 2), now, 0).filter(|s| *s == step - 2), None);
        assert_eq!(secret.matching_step(&secret.code(step), now, step), None, "a step already accepted");
        assert_eq!(secret.matching_step(&secret.code(step + 1), now, step), Some(step + 1));
    }

    #[test]
    fn typed_codes_are_normalised_or_refused() {
        assert_eq!(normalize_code(" 123 456 ").as_deref(), Some("123456"));
        for bad in ["12345", "1234567", "12345a", "１２３４５６", &"1".repeat(1000)] {
            assert_eq!(normalize_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(
            otpauth_uri("id.example.org", "alice smith", &secret),
            "otpauth://totp/id.example.org:alice%20smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=id.example.org&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(issuer_of("https://id.example.org:8443"), "id.example.org");
        assert_eq!(issuer_of("http://[::1]:8000"), "centralauth");
        let svg = qr_svg("otpauth://totp/x").unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("style"));
    }
}

//! Strong sign-in: what a session has proven (RFC 8176 authentication method references), a
//! user's second factors and passkeys, and what an application's policy asks for.
//!
//! The pieces: `amr` and [`Requirement`] here; TOTP codes and recovery codes (`totp`,
//! `recovery`); passkeys (`passkey`); a sign-in between its steps and the session each step
//! leaves behind (`domain::login`).

pub mod recovery;
pub mod step;
pub mod totp;
pub mod passkey;

use std::fmt;

use super::clock::UnixTime;
use super::user::UserId;

/// An authentication method, by its RFC 8176 name (the `amr` claim of OpenID Connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// A password.
    Pwd,
    /// A one-time code: TOTP or a recovery code.
    Otp,
    /// A hardware-bound key: a passkey that cannot leave its device.
    Hwk,
    /// A software key: a passkey that can be synced or backed up.
    Swk,
    /// The user was verified by the authenticator (PIN or biometrics) along with a key.
    User,
}

impl Method {
    pub const ALL: [Method; 5] = [Method::Pwd, Method::Otp, Method::Hwk, Method::Swk, Method::User];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Pwd => "pwd",
            Method::Otp => "otp",
            Method::Hwk => "hwk",
            Method::Swk => "swk",
            Method::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The factor class of RFC 8176 §2 ("mfa": more than one of them).
    fn factor(self) -> Factor {
        match self {
            Method::Pwd => Factor::Knowledge,
            Method::Otp | Method::Hwk | Method::Swk => Factor::Possession,
            Method::User => Factor::Inherence,
        }
    }

    fn is_key(self) -> bool {
        matches!(self, Method::Hwk | Method::Swk)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Factor {
    Knowledge,
    Possession,
    Inherence,
}

/// The methods a session (or a sign-in between its steps) has proven, in the order proven,
/// without repeats. Stored space-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amr(Vec<Method>);

impl Amr {
    pub fn of(methods: &[Method]) -> Self {
        let mut amr = Self::default();
        for m in methods {
            amr.add(*m);
        }
        amr
    }

    /// The stored form; unknown words are dropped (a newer version's value read by an older).
    pub fn parse(stored: &str) -> Self {
        Self::of(&stored.split_ascii_whitespace().filter_map(Method::parse).collect::<Vec<_>>())
    }

    pub fn add(&mut self, method: Method) {
        if !self.0.contains(&method) {
            self.0.push(method);
        }
    }

    /// The union, `self`'s methods first.
    pub fn with(&self, other: &Amr) -> Amr {
        let mut amr = self.clone();
        for m in &other.0 {
            amr.add(*m);
        }
        amr
    }

    pub fn contains(&self, method: Method) -> bool {
        self.0.contains(&method)
    }

    pub fn methods(&self) -> &[Method] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// More than one factor class was proven (RFC 8176 `mfa`): a password and a code, or a
    /// passkey with user verification.
    pub fn is_multi_factor(&self) -> bool {
        let first = self.0.first().map(|m| m.factor());
        first.is_some_and(|f| self.0.iter().any(|m| m.factor() != f))
    }

    /// A passkey was used.
    pub fn has_passkey(&self) -> bool {
        self.0.iter().any(|m| m.is_key())
    }

    /// The `amr` claim: the methods, and `mfa` when more than one factor class was proven.
    pub fn claim(&self) -> Vec<&'static str> {
        let mut claim: Vec<&'static str> = self.0.iter().map(|m| m.as_str()).collect();
        if self.is_multi_factor() {
            claim.push("mfa");
        }
        claim
    }

    /// What the session has proven, as the strongest [`Requirement`] it meets.
    pub fn level(&self) -> Requirement {
        if self.has_passkey() && self.contains(Method::User) {
            Requirement::Passkey
        } else if self.is_multi_factor() {
            Requirement::SecondFactor
        } else {
            Requirement::None
        }
    }

    pub fn satisfies(&self, required: Requirement) -> bool {
        self.level() >= required
    }
}

impl fmt::Display for Amr {
    /// The stored form: the methods space-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|m| m.as_str()).collect();
        f.write_str(&words.join(" "))
    }
}

/// What a sign-in must have proven, weakest first: an application's policy, the provider's
/// rule for administrators, or an OpenID Connect `acr_values` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// A password or a passkey.
    None,
    /// Two factor classes: a password and a one-time code or passkey, or a passkey with user
    /// verification.
    SecondFactor,
    /// A passkey with user verification (phishing-resistant).
    Passkey,
}

/// The `acr` values (OpenID Connect Core §2: the authentication context class reference) of the
/// three levels, one per [`Requirement`]. Where a registered or widely used value says exactly
/// what the level is, it is that one, so that a relying party that already asks for it (as
/// `acr_values` or checks `acr`) needs nothing provider-specific: the REFEDS MFA Profile for a
/// second factor, `phr` of OpenID EAP ACR Values 1.0 (phishing-resistant) for a passkey with user
/// verification. Single-factor sign-ins have no such value (ISO 29115's "0" means less than
/// that), so ours is a URN of the provider's own.
pub mod acr {
    /// A password, or a passkey without user verification: one factor.
    pub const SINGLE_FACTOR: &str = "urn:centralauth:acr:single-factor";
    /// Two factor classes (REFEDS MFA Profile, https://refeds.org/profile/mfa).
    pub const MULTI_FACTOR: &str = "https://refeds.org/profile/mfa";
    /// A passkey with user verification (OpenID EAP ACR Values 1.0 §2: phishing-resistant).
    pub const PASSKEY: &str = "phr";
    /// Weakest first, as discovery lists them (`acr_values_supported`).
    pub const SUPPORTED: [&str; 3] = [SINGLE_FACTOR, MULTI_FACTOR, PASSKEY];
}

impl Requirement {
    /// The `acr` value of a sign-in that reached this level.
    pub fn acr(self) -> &'static str {
        match self {
            Requirement::None => acr::SINGLE_FACTOR,
            Requirement::SecondFactor => acr::MULTI_FACTOR,
            Requirement::Passkey => acr::PASSKEY,
        }
    }

    /// What an authorization request's `acr_values` asks for: the strongest value listed that
    /// the provider supports; unknown values are ignored (OpenID Connect Core §3.1.2.1: the
    /// request is voluntary, and a relying party may list other providers' values too).
    pub fn of_acr_values(raw: &str) -> Requirement {
        raw.split(' ')
            .filter_map(|v| match v {
                acr::SINGLE_FACTOR => Some(Requirement::None),
                acr::MULTI_FACTOR => Some(Requirement::SecondFactor),
                acr::PASSKEY => Some(Requirement::Passkey),
                _ => None,
            })
            .max()
            .unwrap_or(Requirement::None)
    }

    /// The `require` parameter of the step-up page (`/account/login/verify/?require=`); none
    /// for `None`, which needs no step.
    pub fn step_up_param(self) -> Option<&'static str> {
        match self {
            Requirement::None => None,
            Requirement::SecondFactor => Some("mfa"),
            Requirement::Passkey => Some("passkey"),
        }
    }
}

/// What a user has enrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FactorKind {
    Totp,
    Passkey,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Passkey => "passkey",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(FactorKind::Totp),
            "passkey" => Some(FactorKind::Passkey),
            _ => None,
        }
    }
}

/// A factor as lists show it: no secret, no credential.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FactorSummary {
    pub id: i64,
    pub user_id: UserId,
    pub kind: FactorKind,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_is_kept_in_order_without_repeats_and_parses_back() {
        let mut amr = Amr::of(&[Method::Pwd, Method::Otp, Method::Pwd]);
        assert_eq!(amr.to_string(), "pwd otp");
        amr.add(Method::Otp);
        assert_eq!(Amr::parse("pwd otp"), amr);
        assert_eq!(Amr::parse("pwd future-thing otp"), amr, "unknown words are dropped");
        assert_eq!(Amr::parse(""), Amr::default());
    }

    #[test]
    fn acr_values_ask_for_the_strongest_supported_value_and_ignore_others() {
        assert_eq!(Requirement::of_acr_values(""), Requirement::None);
        assert_eq!(Requirement::of_acr_values("urn:other:gold"), Requirement::None);
        assert_eq!(Requirement::of_acr_values("https://refeds.org/profile/mfa"), Requirement::SecondFactor);
        assert_eq!(Requirement::of_acr_values("phr urn:other https://refeds.org/profile/mfa"), Requirement::Passkey);
        assert_eq!(Requirement::of_acr_values("urn:centralauth:acr:single-factor"), Requirement::None);
        for r in [Requirement::None, Requirement::SecondFactor, Requirement::Passkey] {
            assert_eq!(Requirement::of_acr_values(r.acr()), r, "each level's acr asks for that level");
        }
        assert_eq!(Amr::of(&[Method::Pwd, Method::Otp]).level().acr(), "https://refeds.org/profile/mfa");
    }

    #[test]
    fn levels_follow_the_factor_classes_of_rfc8176() {
        assert_eq!(Amr::of(&[Method::Pwd]).level(), Requirement::None);
        assert_eq!(Amr::of(&[Method::Pwd]).claim(), ["pwd"]);
        let totp = Amr::of(&[Method::Pwd, Method::Otp]);
        assert_eq!((totp.level(), totp.claim()), (Requirement::SecondFactor, vec!["pwd", "otp", "mfa"]));
        let passkey = Amr::of(&[Method::Hwk, Method::User]);
        assert_eq!((passkey.level(), passkey.claim()), (Requirement::Passkey, vec!["hwk", "user", "mfa"]));
        assert_eq!(Amr::of(&[Method::Swk]).level(), Requirement::None, "a passkey without user verification is one factor");
        assert_eq!(Amr::of(&[Method::Pwd, Method::Swk]).level(), Requirement::SecondFactor);
        assert!(passkey.satisfies(Requirement::SecondFactor) && !totp.satisfies(Requirement::Passkey));
    }
}

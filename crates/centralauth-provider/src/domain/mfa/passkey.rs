//! Passkeys (WebAuthn Level 2/3, through webauthn-rs): the relying party from the public URL,
//! registration, and authentication passwordless (a discoverable credential names its user by
//! the user handle), as the second step after a password, or as a step-up of a session.
//!
//! Each ceremony's state (its challenge) waits in a sign-in flow between its two requests: single
//! use (`take_flow`), five minutes, its random id held by the browser only. webauthn-rs's passkey
//! API always requires user verification (PIN or biometrics), stricter than WebAuthn's
//! "preferred": every passkey sign-in proves `user` along with `hwk`/`swk`.

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use webauthn_rs_proto::ResidentKeyRequirement;

use super::recovery::{self, RecoveryCode};
use super::{Amr, FactorSummary, Method};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::clock::UnixTime;
use crate::domain::ports::{AuditStore, FactorStore, FlowPurpose, PasskeyStore, SignInFlow, SignInFlowStore, StoreError, StoredPasskey, UserStore};
use crate::domain::secret::{Secret, SecretDigest};
use crate::domain::user::{User, UserId};
use crate::domain::Error;

/// How long a ceremony may take between its options and its answer (the authenticator's own
/// timeout is the same).
pub const CEREMONY_SECONDS: i64 = 5 * 60;

/// Longest passkey name, in characters.
pub const NAME_MAX: usize = 64;

/// Why a passkey request was refused. Each says what the browser can do about it; none of
/// them writes anything.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// Passkeys cannot work at this provider's public URL (not https, not localhost).
    #[error("passkeys need the provider to be served over https (or at localhost); its public URL is {0}")]
    Unavailable(String),
    /// The ceremony is not known: never started here, already answered, or expired.
    #[error("this passkey request has expired or was already used; please start again")]
    FlowGone,
    /// The input is not a well-formed name, attestation or assertion.
    #[error("{0}")]
    Malformed(String),
    /// The user has no passkey to sign in with.
    #[error("you have no passkey registered")]
    NoPasskey,
    /// No passkey with this credential id is registered here.
    #[error("this passkey is not registered here")]
    UnknownCredential,
    /// The passkey is registered, but to another user than the sign-in's.
    #[error("this passkey belongs to another account")]
    ForeignCredential,
    /// This credential is registered already (to this user or another one).
    #[error("this passkey is registered already")]
    AlreadyRegistered,
    /// The authenticator's answer did not verify (signature, challenge, origin, user
    /// verification, or a sign counter that went backwards).
    #[error("the passkey could not be verified")]
    VerificationFailed,
    /// The user has been deactivated or removed.
    #[error("access denied")]
    Denied,
    #[error(transparent)]
    Domain(#[from] Error),
}

impl From<StoreError> for PasskeyError {
    fn from(err: StoreError) -> Self {
        Self::Domain(err.into())
    }
}

pub type PasskeyResult<T> = Result<T, PasskeyError>;

/// The relying party of this provider: id = the public URL's host, origin = its origin.
/// Browsers offer WebAuthn only in a secure context and for a domain, not an IP address: over
/// https, or at `localhost` (and its subdomains) over plain http.
pub fn relying_party(public_url: &str) -> PasskeyResult<Webauthn> {
    let unavailable = || PasskeyError::Unavailable(public_url.to_string());
    let url = Url::parse(public_url).map_err(|_| unavailable())?;
    let host = url.domain().ok_or_else(unavailable)?.to_ascii_lowercase();
    let local = host == "localhost" || host.ends_with(".localhost");
    if !(url.scheme() == "https" || (url.scheme() == "http" && local)) {
        return Err(unavailable());
    }
    let origin = Url::parse(&url.origin().ascii_serialization()).map_err(|_| unavailable())?;
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name("centralauth").build())
        .map_err(|_| unavailable())
}

/// A passkey's name as the user gave it: trimmed, 1 to [`NAME_MAX`] characters, no control
/// characters.
pub fn parse_name(name: &str) -> PasskeyResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(PasskeyError::Malformed(format!("give the passkey a name of 1 to {NAME_MAX} characters")));
    }
    Ok(name.to_string())
}

/// What a registration flow carries.
#[derive(Serialize, Deserialize)]
struct RegistrationState {
    name: String,
    ceremony: PasskeyRegistration,
}

/// Starts registering a passkey for `user`: the options for `navigator.credentials.create`,
/// and the id of the flow that holds the ceremony (for the browser's cookie). The user's
/// passkeys are excluded, so that an authenticator does not register twice; the credential must
/// be discoverable (a resident key), so that it can sign in without a username.
pub async fn start_registration<S: PasskeyStore + SignInFlowStore + ?Sized>(
    store: &S, rp: &Webauthn, user: &User, name: &str, now: UnixTime) -> PasskeyResult<(CreationChallengeResponse, Secret)> {
    let name = parse_name(name)?;
    let existing = store.list_passkeys(user.id).await?;
    let exclude = existing.iter().map(|p| p.credential.cred_id().clone()).collect::<Vec<_>>();
    let handle = Uuid::from_bytes(store.passkey_user_handle(user.id, *Uuid::new_v4().as_bytes()).await?);
    let display = match format!("{} {}", user.first_name, user.last_name).trim() {
        "" => user.username.clone(),
        full => full.to_string(),
    };
    let (mut options, ceremony) =
        rp.start_passkey_registration(handle, &user.username, &display, Some(exclude)).map_err(|e| internal("start registration", e))?;
    // webauthn-rs leaves residency to the authenticator; a passwordless sign-in needs a
    // discoverable credential, so it is asked for. (A browser cannot be made to prove it; the
    // credProps extension that webauthn-rs requests reports it.)
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.require_resident_key = true;
        selection.resident_key = Some(ResidentKeyRequirement::Required);
    }
    let state = serde_json::to_string(&RegistrationState { name, ceremony }).map_err(|e| internal("registration state", e))?;
    let flow = new_flow(store, FlowPurpose::PasskeyRegistration, Some(user.id), state, now).await?;
    Ok((options, flow))
}

/// A registered passkey, and the recovery codes to show once when it is the user's first factor.
#[derive(Debug)]
pub struct Registered {
    pub factor: FactorSummary,
    pub recovery_codes: Option<Vec<RecoveryCode>>,
}

/// Finishes a registration: the flow (used up whatever happens) must be `user`'s, the
/// attestation must answer its challenge at this origin, and the credential must be new here.
/// A user's first factor comes with recovery codes, as a first authenticator app does.
pub async fn finish_registration<S: PasskeyStore + SignInFlowStore + FactorStore + ?Sized>(
    store: &S, rp: &Webauthn, flow_id: &str, user: &User, credential: &RegisterPublicKeyCredential, now: UnixTime) -> PasskeyResult<Registered> {
    let flow = store.take_flow(&SecretDigest::of(flow_id), FlowPurpose::PasskeyRegistration, now).await?.ok_or(PasskeyError::FlowGone)?;
    if flow.user_id != Some(user.id) {
        // Another account's ceremony in this browser (signed out and in meanwhile).
        return Err(PasskeyError::FlowGone);
    }
    let state: RegistrationState = serde_json::from_str(&flow.state).map_err(|e| internal("registration state", e))?;
    let passkey = rp.finish_passkey_registration(credential, &state.ceremony).map_err(|e| {
        tracing::warn!(target: "centralauth::security", event = "passkey_registration_failed", user = user.id.0, error = %e, "passkey registration refused");
        match e {
            WebauthnError::CredentialAlteredAlgFromRequest | WebauthnError::CredentialExcludedFromRequest => PasskeyError::AlreadyRegistered,
            _ => PasskeyError::Malformed("the passkey's answer could not be verified; please try again".into()),
        }
    })?;
    let actor = Actor::User(user.username.clone());
    let codes = store.list_factors(user.id).await?.is_empty().then(recovery::generate);
    let digests: Option<Vec<SecretDigest>> = codes.as_ref().map(|codes| codes.iter().map(RecoveryCode::digest).collect());
    match store.insert_passkey(user.id, &state.name, &passkey, digests.as_deref(), now, &actor).await {
        Ok(factor) => {
            tracing::info!(target: "centralauth::security", event = "passkey_registered", user = user.id.0, factor = factor.id, "passkey registered");
            Ok(Registered { factor, recovery_codes: codes })
        }
        Err(StoreError::Conflict(_)) => Err(PasskeyError::AlreadyRegistered),
        Err(e) => Err(e.into()),
    }
}

/// What an authentication ceremony is for.
#[derive(Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum AuthenticationState {
    /// No user yet: any discoverable credential of this site; `next` is where to go after.
    Passwordless { next: String, ceremony: DiscoverableAuthentication },
    /// The second step of the flow's user (after their password), or a step-up of their
    /// session: only their passkeys.
    OfUser { ceremony: PasskeyAuthentication },
}

/// Who an authentication is for.
pub enum Purpose<'a> {
    /// Passwordless sign-in; `next` (a checked same-site path) is where to go after.
    Passwordless { next: &'a str },
    /// A known user: the second step after their password, or a step-up of their session.
    User(UserId),
}

/// Starts an authentication: the options for `navigator.credentials.get`, and the id of the
/// flow that holds the ceremony.
pub async fn start_authentication<S: PasskeyStore + SignInFlowStore + ?Sized>(
    store: &S, rp: &Webauthn, purpose: Purpose<'_>, now: UnixTime) -> PasskeyResult<(RequestChallengeResponse, Secret)> {
    let (options, user, state) = match purpose {
        Purpose::Passwordless { next } => {
            let (options, ceremony) = rp.start_discoverable_authentication().map_err(|e| internal("start authentication", e))?;
            (options, None, AuthenticationState::Passwordless { next: next.to_string(), ceremony })
        }
        Purpose::User(user) => {
            let passkeys: Vec<_> = store.list_passkeys(user).await?.into_iter().map(|p| p.credential).collect();
            if passkeys.is_empty() {
                return Err(PasskeyError::NoPasskey);
            }
            let (options, ceremony) = rp.start_passkey_authentication(&passkeys).map_err(|e| internal("start authentication", e))?;
            (options, Some(user), AuthenticationState::OfUser { ceremony })
        }
    };
    let state = serde_json::to_string(&state).map_err(|e| internal("authentication state", e))?;
    let flow = new_flow(store, FlowPurpose::PasskeyAuthentication, user, state, now).await?;
    Ok((options, flow))
}

/// A verified passkey assertion.
#[derive(Debug)]
pub struct Proven {
    pub user: User,
    /// `hwk` (a device-bound key) or `swk` (backup-eligible: synced or backed up), and `user`.
    pub amr: Amr,
    /// For a passwordless sign-in, where to go after; `None` for a known user's ceremony,
    /// whose caller knows.
    pub next: Option<String>,
}

/// Finishes an authentication: takes the flow (used once whatever happens), verifies the
/// assertion against the passkey it names, keeps the passkey's sign counter and backup flags,
/// and says who was proven with what. `expected` is the user a known user's ceremony was
/// started for (the second step's or the session's), checked again here. A failed assertion
/// of a known user is audited (`mfa.step_failed`) and logged.
pub async fn finish_authentication<S: PasskeyStore + SignInFlowStore + UserStore + AuditStore + ?Sized>(
    store: &S, rp: &Webauthn, flow_id: &str, expected: Option<UserId>, credential: &PublicKeyCredential, now: UnixTime) -> PasskeyResult<Proven> {
    let flow = store.take_flow(&SecretDigest::of(flow_id), FlowPurpose::PasskeyAuthentication, now).await?.ok_or(PasskeyError::FlowGone)?;
    if flow.user_id != expected {
        // A ceremony started for another sign-in of this browser.
        return Err(PasskeyError::FlowGone);
    }
    let state: AuthenticationState = serde_json::from_str(&flow.state).map_err(|e| internal("authentication state", e))?;
    let credential_id = credential.get_credential_id();
    let stored = store.find_passkey(credential_id).await?.ok_or_else(|| {
        tracing::warn!(target: "centralauth::security", event = "passkey_unknown", user = expected.map(|u| u.0), "passkey sign-in with an unknown credential");
        PasskeyError::UnknownCredential
    })?;
    let owner = stored.summary.user_id;
    let (verified, next) = match state {
        AuthenticationState::Passwordless { next, ceremony } => {
            // WebAuthn §7.2 step 6: the user handle must be that of the credential's owner.
            let (handle, _) = rp.identify_discoverable_authentication(credential).map_err(|_| PasskeyError::Malformed("the passkey's answer has no user handle".into()))?;
            if store.find_user_by_passkey_handle(handle.as_bytes()).await? != Some(owner) {
                step_failed(store, owner, &stored, "user handle does not match the credential's owner", now).await?;
                return Err(PasskeyError::VerificationFailed);
            }
            (rp.finish_discoverable_authentication_v2(credential, ceremony, &stored.credential), Some(next))
        }
        AuthenticationState::OfUser { ceremony } => {
            if Some(owner) != expected {
                tracing::warn!(target: "centralauth::security", event = "passkey_foreign", user = expected.map(|u| u.0), owner = owner.0, "passkey of another account offered");
                return Err(PasskeyError::ForeignCredential);
            }
            (rp.finish_passkey_authentication(credential, &ceremony), None)
        }
    };
    let result = match verified {
        Ok(result) if result.user_verified() => result,
        Ok(_) => {
            step_failed(store, owner, &stored, "no user verification", now).await?;
            return Err(PasskeyError::VerificationFailed);
        }
        Err(e) => {
            let reason = match e {
                // Its sign counter went backwards: possibly a cloned authenticator (WebAuthn §6.1.1).
                WebauthnError::CredentialPossibleCompromise => "sign counter went backwards: possibly a cloned authenticator".to_string(),
                other => other.to_string(),
            };
            step_failed(store, owner, &stored, &reason, now).await?;
            return Err(PasskeyError::VerificationFailed);
        }
    };
    let user = store.find_user_by_id(owner).await?.filter(|u| u.is_active).ok_or(PasskeyError::Denied)?;
    let mut updated = stored.credential.clone();
    updated.update_credential(&result);
    match store.record_passkey_use(stored.summary.id, &updated, now).await {
        Ok(()) => {}
        // Removed between the look-up and now: it may not sign in any more.
        Err(StoreError::NotFound) => return Err(PasskeyError::UnknownCredential),
        Err(e) => return Err(e.into()),
    }
    if next.is_some() {
        // A sign-in of its own (the password's sign-in records it otherwise): the user's last login.
        store.record_login(user.id, now, None).await?;
    }
    let key = if result.backup_eligible() { Method::Swk } else { Method::Hwk };
    Ok(Proven { user, amr: Amr::of(&[key, Method::User]), next })
}

/// A known user's passkey did not verify: audited and logged.
async fn step_failed<S: AuditStore + ?Sized>(store: &S, user: UserId, passkey: &StoredPasskey, reason: &str, _now: UnixTime) -> PasskeyResult<()> {
    tracing::warn!(target: "centralauth::security", event = "mfa_step_failed", method = "passkey", user = user.0, factor = passkey.summary.id, reason, "passkey step failed");
    let entry = AuditEntry::new(&Actor::System, "mfa.step_failed", format!("passkey {}", passkey.summary.name))
        .user(user.0)
        .after(&serde_json::json!({ "method": "passkey", "factor": passkey.summary.id, "reason": reason }));
    store.insert_audit(&entry).await?;
    Ok(())
}

async fn new_flow<S: SignInFlowStore + ?Sized>(store: &S, purpose: FlowPurpose, user_id: Option<UserId>, state: String, now: UnixTime) -> PasskeyResult<Secret> {
    let id = Secret::generate();
    let flow = SignInFlow { purpose, user_id, amr: Amr::default(), state, created_at: now, expires_at: now + CEREMONY_SECONDS };
    store.insert_flow(&id.digest(), &flow).await?;
    Ok(id)
}

/// A failure of webauthn-rs or serde_json on data this server made: a bug, logged once.
fn internal(what: &str, err: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Domain(Error::Internal(crate::domain::InternalError::Store(format!("passkey {what}: {err}").into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_public_urls_host_over_https_or_at_localhost() {
        for ok in ["https://id.example.org", "https://id.example.org:8443/base", "http://localhost:8000", "http://app.localhost"] {
            assert!(relying_party(ok).is_ok(), "{ok}");
        }
        for refused in ["http://id.example.org", "http://127.0.0.1:8000", "https://127.0.0.1", "https://[::1]:8000", "not a url"] {
            assert!(matches!(relying_party(refused), Err(PasskeyError::Unavailable(_))), "{refused}");
        }
    }

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(parse_name("  YubiKey 5 ").unwrap(), "YubiKey 5");
        for bad in ["", "   ", "a\nb", &"x".repeat(NAME_MAX + 1)] {
            assert!(matches!(parse_name(bad), Err(PasskeyError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn registration_options_ask_for_a_discoverable_credential_with_user_verification() {
        let rp = relying_party("https://id.example.org").unwrap();
        let (mut options, _) = rp.start_passkey_registration(Uuid::new_v4(), "alice", "Alice", None).unwrap();
        let selection = options.public_key.authenticator_selection.as_mut().unwrap();
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        let json = serde_json::to_value(&options).unwrap();
        assert_eq!(json["publicKey"]["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(json["publicKey"]["authenticatorSelection"]["userVerification"], "required");
        assert_eq!(json["publicKey"]["rp"]["id"], "id.example.org");
    }
}

//! Ports of strong sign-in: users' factors and recovery codes, and sign-ins between their steps
//! (`domain::mfa`, `domain::login`).

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::Actor;
use crate::domain::clock::UnixTime;
use crate::domain::mfa::{Amr, FactorSummary};
use crate::domain::secret::SecretDigest;
use crate::domain::user::UserId;

#[async_trait]
pub trait FactorStore: Send + Sync {
    /// The user's factors, oldest first.
    async fn list_factors(&self, user: UserId) -> StoreResult<Vec<FactorSummary>>;
    /// Removes one of the user's factors, with its audit entry (`mfa.remove`), in one
    /// transaction; when it was the user's last factor, their recovery codes go with it.
    /// `NotFound` when the user has no factor with this id.
    async fn delete_factor(&self, user: UserId, id: i64, actor: &Actor) -> StoreResult<FactorSummary>;
    /// Removes all of the user's factors and recovery codes (`centralauth user mfa reset`),
    /// with one audit entry (`mfa.reset`); the factors removed.
    async fn delete_all_factors(&self, user: UserId, actor: &Actor) -> StoreResult<Vec<FactorSummary>>;
}

/// What a sign-in flow is for; each purpose is looked up only as itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowPurpose {
    /// A password was right and a second step is due (or a signed-in session steps up).
    SecondStep,
    /// A TOTP secret shown to the user, waiting for its first code.
    TotpEnrolment,
    /// A WebAuthn registration ceremony.
    PasskeyRegistration,
    /// A WebAuthn authentication ceremony (passwordless, second step or step-up).
    PasskeyAuthentication,
}

impl FlowPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowPurpose::SecondStep => "second_step",
            FlowPurpose::TotpEnrolment => "totp_enrolment",
            FlowPurpose::PasskeyRegistration => "passkey_registration",
            FlowPurpose::PasskeyAuthentication => "passkey_authentication",
        }
    }
}

/// A sign-in between its steps, or a ceremony in progress. Its id is a random value held by the
/// browser (a cookie or a form field); only its digest is stored.
#[derive(Debug, Clone)]
pub struct SignInFlow {
    pub purpose: FlowPurpose,
    /// `None` while a passwordless passkey sign-in does not know its user yet.
    pub user_id: Option<UserId>,
    /// The methods proven so far in this flow.
    pub amr: Amr,
    /// What the purpose carries: a ceremony's state as JSON, a sealed secret, a `next` path.
    pub state: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[async_trait]
pub trait SignInFlowStore: Send + Sync {
    async fn insert_flow(&self, id: &SecretDigest, flow: &SignInFlow) -> StoreResult<()>;
    /// The live flow with this id and purpose, left in place.
    async fn find_flow(&self, id: &SecretDigest, purpose: FlowPurpose, now: UnixTime) -> StoreResult<Option<SignInFlow>>;
    /// Deletes the flow and returns it if it was live and of this purpose: a flow is used once,
    /// and of two requests taking the same flow at once only one gets it.
    async fn take_flow(&self, id: &SecretDigest, purpose: FlowPurpose, now: UnixTime) -> StoreResult<Option<SignInFlow>>;
}

// --- TOTP and recovery codes (domain::mfa::totp, domain::mfa::recovery) ---

/// A TOTP factor as checking a code needs it.
#[derive(Debug, Clone)]
pub struct TotpFactor {
    pub id: i64,
    pub name: String,
    /// The shared secret sealed with the master key (`KeyRing::seal`).
    pub sealed_secret: Vec<u8>,
    /// The last time step accepted; only a later one is accepted again.
    pub last_step: i64,
}

/// A TOTP factor confirmed by its first code.
#[derive(Debug, Clone)]
pub struct NewTotpFactor {
    pub user_id: UserId,
    pub name: String,
    pub sealed_secret: Vec<u8>,
    /// The step of the confirming code, so that the same code cannot sign in afterwards.
    pub last_step: i64,
    pub created_at: UnixTime,
}

#[async_trait]
pub trait TotpStore: Send + Sync {
    /// The user's TOTP factors, oldest first.
    async fn list_totp_factors(&self, user: UserId) -> StoreResult<Vec<TotpFactor>>;
    /// Adds a confirmed TOTP factor with its audit entry (`mfa.enrol`) and, when given, makes
    /// these digests the user's recovery codes (`mfa.recovery_codes`), in one transaction.
    async fn insert_totp_factor(&self, factor: &NewTotpFactor, recovery_codes: Option<&[SecretDigest]>, actor: &Actor) -> StoreResult<FactorSummary>;
    /// Records `step` as the factor's last accepted step, and the factor as used at `now`, if
    /// `step` is later than the one recorded (compare-and-set): false when it is not (the code
    /// was accepted before, perhaps by a concurrent request) or there is no such factor.
    async fn claim_totp_step(&self, user: UserId, factor: i64, step: i64, now: UnixTime) -> StoreResult<bool>;
}

#[async_trait]
pub trait RecoveryCodeStore: Send + Sync {
    /// How many of the user's recovery codes are still unused.
    async fn count_recovery_codes(&self, user: UserId) -> StoreResult<i64>;
    /// Replaces all of the user's recovery codes by these digests, with the audit entry
    /// (`mfa.recovery_codes`), in one transaction.
    async fn replace_recovery_codes(&self, user: UserId, digests: &[SecretDigest], now: UnixTime, actor: &Actor) -> StoreResult<()>;
    /// Marks the unused code with this digest used, with its audit entry
    /// (`mfa.recovery_code_used`), in one transaction: false when there is none (a wrong code,
    /// or one used already, perhaps by a concurrent request).
    async fn consume_recovery_code(&self, user: UserId, digest: &SecretDigest, now: UnixTime, actor: &Actor) -> StoreResult<bool>;
}

/// A user's passkey as stored: webauthn-rs's credential (public key, sign counter, backup
/// flags), which is no secret, with the factor's row.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub summary: FactorSummary,
    pub credential: webauthn_rs::prelude::Passkey,
}

/// Passkeys (`domain::mfa::passkey`): the credentials in `user_factors` (kind `passkey`) and
/// each user's WebAuthn user handle.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// The user's WebAuthn user handle, made from `candidate` if they have none yet (the first
    /// registration); the same value ever after.
    async fn passkey_user_handle(&self, user: UserId, candidate: [u8; 16]) -> StoreResult<[u8; 16]>;
    /// The user whose handle this is.
    async fn find_user_by_passkey_handle(&self, handle: &[u8]) -> StoreResult<Option<UserId>>;
    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user: UserId) -> StoreResult<Vec<StoredPasskey>>;
    /// The passkey with this credential id, whoever's it is.
    async fn find_passkey(&self, credential_id: &[u8]) -> StoreResult<Option<StoredPasskey>>;
    /// Stores a newly registered passkey with its audit entry (`mfa.enrol`) and, when given,
    /// makes these digests the user's recovery codes (`mfa.recovery_codes`), in one transaction.
    /// `Conflict` when the credential id is registered already (to anyone).
    async fn insert_passkey(
        &self, user: UserId, name: &str, credential: &webauthn_rs::prelude::Passkey, recovery_codes: Option<&[SecretDigest]>, now: UnixTime, actor: &Actor,
    ) -> StoreResult<FactorSummary>;
    /// Records a sign-in with the passkey: its credential as updated by the assertion (sign
    /// counter, backup state) and the time. `NotFound` when it was removed meanwhile.
    async fn record_passkey_use(&self, id: i64, credential: &webauthn_rs::prelude::Passkey, now: UnixTime) -> StoreResult<()>;
}

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
    /// Stores a newly registered passkey with its audit entry (`mfa.enrol`), in one transaction.
    /// `Conflict` when the credential id is registered already (to anyone).
    async fn insert_passkey(&self, user: UserId, name: &str, credential: &webauthn_rs::prelude::Passkey, now: UnixTime, actor: &Actor) -> StoreResult<FactorSummary>;
    /// Records a sign-in with the passkey: its credential as updated by the assertion (sign
    /// counter, backup state) and the time. `NotFound` when it was removed meanwhile.
    async fn record_passkey_use(&self, id: i64, credential: &webauthn_rs::prelude::Passkey, now: UnixTime) -> StoreResult<()>;
}

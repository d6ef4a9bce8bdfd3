//! Errors per operation: what the provider answered, versus the transport, versus an answer
//! that could not be understood.

/// A request to the provider that did not give a usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider refused: an OAuth error (`invalid_grant`, …) or a 401/403.
    #[error("the provider refused: {0}")]
    Refused(String),
    /// The provider could not be reached, or did not answer in time.
    #[error("the provider is unreachable: {0}")]
    Unreachable(String),
    /// The provider answered with a server error or something that is not the expected JSON.
    #[error("the provider gave an unusable answer: {0}")]
    BadAnswer(String),
}

impl ProviderError {
    /// Whether the user's access is gone (as opposed to the provider being unavailable).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Refused(_))
    }
}

/// Why [`crate::CentralAuth::register_permissions`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The provider refused the client id or secret.
    #[error("the provider refused the client credentials (HTTP {status}); check CENTRALAUTH_CLIENT_ID and CENTRALAUTH_CLIENT_SECRET")]
    Credentials {
        /// The HTTP status.
        status: u16,
    },
    /// Any other failure.
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

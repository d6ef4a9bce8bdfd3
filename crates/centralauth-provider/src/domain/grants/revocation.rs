//! Token revocation (RFC 7009): a client revokes only its own tokens (§2.1), and the answer is
//! the same whether or not there was anything to revoke (§2.2).

use crate::domain::Result;
use crate::domain::application::Application;
use crate::domain::clock::UnixTime;
use crate::domain::ports::GrantStore;
use crate::domain::secret::SecretDigest;

/// Revokes the access or refresh token `token` if `app` holds it; whether it did is not told.
pub async fn revoke<S: GrantStore + ?Sized>(store: &S, app: &Application, token: &str, now: UnixTime) -> Result<()> {
    store.revoke_token(&SecretDigest::of(token), app.id, now).await?;
    Ok(())
}

//! The parsers of outside input that are not public elsewhere, for the cargo-fuzz targets in
//! `fuzz/` (see `fuzz/README.md`). Not an API: it follows the code it exposes, unannounced.
//! The public parsers (`Params`, `ClientCredentials`, `RedirectUri`, `password::verify_blocking`,
//! …) are called by the targets directly.

use crate::http::provider::perms;

/// The `/perms/` body as the handler reads it: `client_id` and `client_secret` from the head of
/// an over-long body (`None` unless they lead the object).
pub fn perms_leading_credentials(head: &[u8]) -> Option<(String, String)> {
    perms::leading_credentials(head)
}

/// `(client_id, client_secret, perms)` of a `/perms/` body.
pub type PermsBody = (Option<String>, Option<String>, Option<serde_json::Value>);

/// The `/perms/` body parsed whole, as the handler has it before it authenticates the client
/// and judges the list.
pub fn perms_body(body: &[u8]) -> Result<PermsBody, serde_json::Error> {
    serde_json::from_slice::<perms::SyncBody>(body).map(|b| (b.client_id, b.client_secret, b.perms))
}

/// The console's one-per-line lists (redirect URIs in a text area).
pub fn console_lines(text: &str) -> Vec<String> {
    crate::http::console::form::lines(text)
}

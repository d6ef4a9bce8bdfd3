//! The authorization code grant: issuing a code for a signed-in member (RFC 6749 §4.1.2) and
//! exchanging it for tokens (§4.1.3), with PKCE (RFC 7636) and the checks of RFC 9700.

use super::{IssuedTokens, new_pair};
use crate::domain::application::{Application, PkcePolicy};
use crate::domain::clock::UnixTime;
use crate::domain::mfa::Requirement;
use crate::domain::pkce::CodeChallenge;
use crate::domain::scope::Scope;
use crate::domain::secret::{Secret, SecretDigest};
use crate::domain::session::SessionUser;
use crate::domain::{Error, Result};
use crate::domain::ports::{CodeExchange, CodeGrant, CodeRejection, GrantStore, MembershipStore, NewAuthorizationCode};

/// RFC 9700 §4.2.1 asks for short-lived codes; 60 s is django-oauth-toolkit's default.
pub const CODE_LIFETIME_SECONDS: i64 = 60;

/// A validated authorization request of a known client.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The redirect URI to answer to (already matched against the registered ones).
    pub redirect_uri: String,
    /// Whether the client named it; when it did, the token request must repeat it.
    pub redirect_uri_given: bool,
    pub scope: Scope,
    pub code_challenge: Option<CodeChallenge>,
    /// OpenID Connect's `nonce`, returned in the id_token.
    pub nonce: Option<String>,
    /// What the request's `acr_values` ask the sign-in to have proven
    /// ([`Requirement::of_acr_values`]); the application's policy adds to it.
    pub acr_required: Requirement,
}

/// What an authorization request by a signed-in session comes to.
#[derive(Debug)]
pub enum Authorization {
    /// The code for the client.
    Code(Secret),
    /// The session proved less than the application's policy or the request's `acr_values`
    /// ask: the user must prove this much first (step-up), then the request is made again.
    StepUp(Requirement),
}

/// What a session must have proven for `app` and this request: the stronger of the
/// application's policy and the request's `acr_values`.
pub fn requirement(app: &Application, request: &AuthorizationRequest) -> Requirement {
    app.requirement().max(request.acr_required)
}

/// Checks the application's PKCE policy for a request.
pub fn check_pkce_policy(app: &Application, challenge: Option<&CodeChallenge>) -> Result<()> {
    if app.pkce == PkcePolicy::Required && challenge.is_none() {
        return Err(Error::invalid("code_challenge", "Code challenge required."));
    }
    Ok(())
}

/// Issues a code for a signed-in member: no membership, no access (an inactive one neither).
/// A member whose session proved less than the [`requirement`] gets a step-up instead. The
/// membership is checked first, so that nobody is asked for a factor only to be refused after.
pub async fn issue_code<S: MembershipStore + GrantStore + ?Sized>(
    store: &S,
    app: &Application,
    session: &SessionUser,
    request: &AuthorizationRequest,
    now: UnixTime,
) -> Result<Authorization> {
    let user = session.user_id;
    match store.find_membership(app.id, user).await? {
        Some(m) if m.flags.is_active => {}
        _ => return Err(Error::AccessDenied),
    }
    let required = requirement(app, request);
    if !session.amr.satisfies(required) {
        return Ok(Authorization::StepUp(required));
    }
    let code = Secret::generate();
    store
        .insert_authorization_code(&NewAuthorizationCode {
            digest: code.digest(),
            grant: CodeGrant {
                application_id: app.id,
                user_id: user,
                // Empty when the client relied on its one registered URI (RFC 6749 §4.1.3).
                redirect_uri: if request.redirect_uri_given { request.redirect_uri.clone() } else { String::new() },
                scope: request.scope.clone(),
                code_challenge: request.code_challenge.as_ref().map(|c| c.as_str().to_string()),
                expires_at: now + CODE_LIFETIME_SECONDS,
            },
            auth_time: session.auth_time,
            nonce: request.nonce.clone(),
            sid: session.sid.clone(),
            amr: session.amr.clone(),
        })
        .await?;
    Ok(Authorization::Code(code))
}

/// What the token request brings for this grant.
#[derive(Debug)]
pub struct CodeTokenRequest<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

fn judge(grant: &CodeGrant, request: &CodeTokenRequest<'_>, now: UnixTime) -> Result<(), CodeRejection> {
    if grant.expires_at <= now {
        return Err(CodeRejection::Expired);
    }
    // RFC 6749 §4.1.3: the same redirect_uri as in the authorization request, when it had one.
    if !grant.redirect_uri.is_empty() && request.redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Err(CodeRejection::RedirectUriMismatch);
    }
    match (&grant.code_challenge, request.code_verifier) {
        (Some(challenge), Some(verifier)) if CodeChallenge::from_stored(challenge.clone()).is_satisfied_by(verifier) => Ok(()),
        (None, None) => Ok(()),
        // A verifier without a challenge is a downgrade attempt (RFC 9700 §4.8.2).
        _ => Err(CodeRejection::PkceFailed),
    }
}

/// Exchanges a code for tokens. A second use of a code revokes what the first one got.
pub async fn exchange(store: &dyn GrantStore, app: &Application, request: &CodeTokenRequest<'_>, now: UnixTime) -> Result<IssuedTokens> {
    let (access, refresh, digests) = new_pair(app, now);
    let check = |grant: &CodeGrant| judge(grant, request, now);
    match store.exchange_authorization_code(&SecretDigest::of(request.code), app.id, now, &check, &digests).await? {
        CodeExchange::Issued { user_id, scope, auth_time, nonce, sid, amr } => Ok(IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: app.lifetimes.access_token,
            scope,
            user_id,
            auth_time,
            nonce,
            sid,
            amr,
        }),
        // RFC 6749 §5.2 names invalid_grant for a grant that "does not match the redirection URI
        // used in the authorization request" (the original said invalid_request). A missing
        // redirect_uri where the authorization request had one is the same refusal, not a
        // missing-parameter invalid_request: whether it is required depends on the code, so only
        // the grant can judge it, and Hydra and Keycloak answer invalid_grant for both too.
        CodeExchange::Rejected(CodeRejection::RedirectUriMismatch) => {
            Err(Error::InvalidGrant { description: Some("Mismatching redirect URI.") })
        }
        CodeExchange::Rejected(CodeRejection::PkceFailed) => Err(Error::InvalidGrant { description: Some("PKCE verification failed.") }),
        CodeExchange::Rejected(CodeRejection::Expired) | CodeExchange::Replayed | CodeExchange::Unknown => Err(Error::invalid_grant()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::ApplicationId;
    use crate::domain::user::UserId;

    fn grant(redirect_uri: &str, challenge: Option<&str>) -> CodeGrant {
        CodeGrant {
            application_id: ApplicationId(1),
            user_id: UserId(1),
            redirect_uri: redirect_uri.into(),
            scope: Scope::from_stored("read write"),
            code_challenge: challenge.map(str::to_string),
            expires_at: 100,
        }
    }

    fn request<'a>(redirect_uri: Option<&'a str>, verifier: Option<&'a str>) -> CodeTokenRequest<'a> {
        CodeTokenRequest { code: "c", redirect_uri, code_verifier: verifier }
    }

    #[test]
    fn redirect_uri_must_repeat_the_authorization_requests() {
        let g = grant("https://a.example/cb/", None);
        assert_eq!(judge(&g, &request(None, None), 50), Err(CodeRejection::RedirectUriMismatch));
        assert_eq!(judge(&g, &request(Some("https://a.example/cb/?x=1"), None), 50), Err(CodeRejection::RedirectUriMismatch));
        assert_eq!(judge(&g, &request(Some("https://a.example/cb/"), None), 50), Ok(()));
        assert_eq!(judge(&grant("", None), &request(None, None), 50), Ok(()));
    }

    #[test]
    fn the_requirement_is_the_stronger_of_the_policy_and_acr_values() {
        let app = |require_mfa, require_passkey| Application {
            id: ApplicationId(1),
            name: "a".into(),
            client_id: "a".into(),
            client_secret_digest: SecretDigest::of("s"),
            redirect_uris: vec![],
            redirect_uri_match: crate::domain::redirect_uri::RedirectUriMatch::Exact,
            pkce: PkcePolicy::Required,
            allow_insecure_redirect_uris: false,
            allow_introspection_get: false,
            lifetimes: Default::default(),
            oidc: Default::default(),
            require_mfa,
            require_passkey,
            created_at: 0,
        };
        let request = |acr_required| AuthorizationRequest {
            redirect_uri: String::new(),
            redirect_uri_given: false,
            scope: Scope::from_stored("openid"),
            code_challenge: None,
            nonce: None,
            acr_required,
        };
        assert_eq!(requirement(&app(false, false), &request(Requirement::None)), Requirement::None);
        assert_eq!(requirement(&app(true, false), &request(Requirement::None)), Requirement::SecondFactor);
        assert_eq!(requirement(&app(true, false), &request(Requirement::Passkey)), Requirement::Passkey, "acr_values ask for more");
        assert_eq!(requirement(&app(false, true), &request(Requirement::SecondFactor)), Requirement::Passkey, "and never for less");
    }

    #[test]
    fn expired_codes_are_refused() {
        assert_eq!(judge(&grant("", None), &request(None, None), 100), Err(CodeRejection::Expired));
    }

    #[test]
    fn pkce_verifier_must_match_and_must_not_appear_without_challenge() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(judge(&grant("", Some(challenge)), &request(None, Some(verifier)), 50), Ok(()));
        assert_eq!(judge(&grant("", Some(challenge)), &request(None, None), 50), Err(CodeRejection::PkceFailed));
        assert_eq!(
            judge(&grant("", Some(challenge)), &request(None, Some(&verifier.replace('d', "e"))), 50),
            Err(CodeRejection::PkceFailed)
        );
        assert_eq!(judge(&grant("", None), &request(None, Some(verifier)), 50), Err(CodeRejection::PkceFailed));
    }
}

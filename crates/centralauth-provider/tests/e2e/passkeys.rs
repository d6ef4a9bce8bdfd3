//! Passkeys' JSON endpoints on bad input, which needs no authenticator: CSRF, malformed JSON,
//! replayed and unknown ceremonies, an unknown credential, and a public URL at which browsers
//! refuse WebAuthn. Each gets a JSON `{error, error_description}` with 400/401/403, never a 500,
//! and writes nothing. The ceremonies with a real (virtual) authenticator run in Chromium:
//! tests/interop/test_passkeys_browser.py.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::support::*;

const BOB_PASSWORD: &str = "bob-Password-1";

/// A syntactically valid assertion of a credential nobody registered.
fn unknown_assertion() -> Value {
    json!({
        "id": "AQIDBA", "rawId": "AQIDBA", "type": "public-key",
        "response": { "authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": "AAAAAAAAAAAAAAAAAAAAAA" },
        "extensions": {}
    })
}

/// A browser without a cookie store, whose cookies the test holds (to replay one).
struct Jar(Vec<(String, String)>);

impl Jar {
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.0.push((name.to_string(), value.to_string()));
            }
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

/// The sign-in page's CSRF token, with the pre-session cookie in `jar`.
async fn sign_in_page_token(p: &TestProvider, jar: &mut Jar) -> String {
    let response = http().get(p.url("/account/login/")).send().await.unwrap();
    jar.take(&response);
    hidden_input(&response.text().await.unwrap(), "csrf_token")
}

async fn post_json(p: &TestProvider, path: &str, cookies: &str, token: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
    let mut request = http().post(p.url(path)).header(CONTENT_TYPE, "application/json").header(COOKIE, cookies).body(body);
    if let Some(token) = token {
        request = request.header("X-CSRF-Token", token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null))
}

fn assert_json_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
}

async fn flows_and_factors(p: &TestProvider) -> (i64, i64) {
    (p.db.scalar("SELECT COUNT(*) FROM sign_in_flows").await, p.db.scalar("SELECT COUNT(*) FROM user_factors").await)
}

#[tokio::test]
async fn passkeys_are_refused_with_a_clear_error_where_browsers_refuse_webauthn() {
    // The default public URL is http://127.0.0.1:PORT: plain http on an IP address.
    let p = TestProvider::start().await;
    p.create_user("bob", BOB_PASSWORD).await;
    let mut jar = Jar(Vec::new());
    let token = sign_in_page_token(&p, &mut jar).await;
    let (status, body) = post_json(&p, "/account/passkeys/authenticate/options", &jar.header(), Some(&token), b"{}".to_vec()).await;
    assert_json_error(status, &body, StatusCode::BAD_REQUEST, "passkeys_unavailable");
    assert!(body["error_description"].as_str().unwrap().contains("https"), "{body}");

    // Signed in, registration is refused the same way.
    let browser = browser_signed_in(&p, "bob", BOB_PASSWORD).await;
    let account = browser.get(&p.url("/account/")).await.text().await.unwrap();
    let response = browser
        .client
        .post(p.url("/account/passkeys/register/options"))
        .header("X-CSRF-Token", hidden_input(&account, "csrf_token"))
        .json(&json!({ "name": "laptop" }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_json_error(status, &response.json().await.unwrap(), StatusCode::BAD_REQUEST, "passkeys_unavailable");
    assert_eq!(flows_and_factors(&p).await, (0, 0), "nothing written");
}

#[tokio::test]
async fn passkey_calls_without_the_pages_csrf_token_are_refused() {
    let p = TestProvider::start_with(&["--public-url", "http://localhost"]).await;
    p.create_user("bob", BOB_PASSWORD).await;
    let mut jar = Jar(Vec::new());
    let token = sign_in_page_token(&p, &mut jar).await;
    for sent in [None, Some("wrong-token"), Some("")] {
        let (status, body) = post_json(&p, "/account/passkeys/authenticate/options", &jar.header(), sent, b"{}".to_vec()).await;
        assert_json_error(status, &body, StatusCode::FORBIDDEN, "csrf_failed");
        let (status, body) = post_json(&p, "/account/passkeys/authenticate", &jar.header(), sent, unknown_assertion().to_string().into_bytes()).await;
        assert_json_error(status, &body, StatusCode::FORBIDDEN, "csrf_failed");
    }
    // Another browser's token (its own pre-session) does not fit this one.
    let mut other = Jar(Vec::new());
    let other_token = sign_in_page_token(&p, &mut other).await;
    let (status, body) = post_json(&p, "/account/passkeys/authenticate/options", &jar.header(), Some(&other_token), b"{}".to_vec()).await;
    assert_json_error(status, &body, StatusCode::FORBIDDEN, "csrf_failed");

    // Registration: signed in, and with the session's token only; not signed in: 401.
    let browser = browser_signed_in(&p, "bob", BOB_PASSWORD).await;
    let refused = browser.client.post(p.url("/account/passkeys/register/options")).json(&json!({ "name": "laptop" })).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (status, body) = post_json(&p, "/account/passkeys/register/options", &jar.header(), Some(&token), br#"{"name":"laptop"}"#.to_vec()).await;
    assert_json_error(status, &body, StatusCode::UNAUTHORIZED, "login_required");
    assert_eq!(flows_and_factors(&p).await, (0, 0), "nothing written");

    // With the page's token the options come, and the ceremony is bound by its own cookie.
    let response = http()
        .post(p.url("/account/passkeys/authenticate/options"))
        .header(COOKIE, jar.header())
        .header("X-CSRF-Token", &token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    jar.take(&response);
    let options: Value = response.json().await.unwrap();
    assert_eq!(options["publicKey"]["rpId"], "localhost", "{options}");
    assert_eq!(options["publicKey"]["userVerification"], "required", "{options}");
    assert!(options["publicKey"]["challenge"].as_str().is_some_and(|c| c.len() >= 43), "{options}");
    assert!(jar.get("centralauth_passkey").is_some(), "the ceremony's cookie");
}

#[tokio::test]
async fn malformed_json_and_malformed_credentials_get_json_errors_and_write_nothing() {
    let p = TestProvider::start_with(&["--public-url", "http://localhost"]).await;
    p.create_user("bob", BOB_PASSWORD).await;
    let mut jar = Jar(Vec::new());
    let token = sign_in_page_token(&p, &mut jar).await;
    for body in [&b"not json"[..], b"[1,2", br#"{"next": 5}"#, b"\xff\xfe"] {
        let (status, answer) = post_json(&p, "/account/passkeys/authenticate/options", &jar.header(), Some(&token), body.to_vec()).await;
        assert_json_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_request");
    }
    for body in [&b"not json"[..], b"{}", br#"{"id":"x","rawId":"not base64!","type":"public-key","response":{}}"#] {
        let (status, answer) = post_json(&p, "/account/passkeys/authenticate", &jar.header(), Some(&token), body.to_vec()).await;
        assert_json_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_request");
    }

    // Signed in: a name that is no name, a body that is no attestation.
    let browser = browser_signed_in(&p, "bob", BOB_PASSWORD).await;
    let account = browser.get(&p.url("/account/")).await.text().await.unwrap();
    let csrf = hidden_input(&account, "csrf_token");
    for body in [json!({}), json!({ "name": "" }), json!({ "name": "a\nb" }), json!({ "name": "x".repeat(65) }), json!({ "name": 7 })] {
        let response = browser.client.post(p.url("/account/passkeys/register/options")).header("X-CSRF-Token", &csrf).json(&body).send().await.unwrap();
        let status = response.status();
        assert_json_error(status, &response.json().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request");
    }
    for body in [json!({}), json!({ "id": "x", "rawId": "AQID", "type": "public-key", "response": { "attestationObject": "AAAA", "clientDataJSON": "AAAA" } })] {
        let response = browser.client.post(p.url("/account/passkeys/register")).header("X-CSRF-Token", &csrf).json(&body).send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        // Without a ceremony the attestation cannot be checked against anything.
        assert!(status == StatusCode::BAD_REQUEST && ["invalid_request", "expired_request"].contains(&answer["error"].as_str().unwrap()), "{status} {answer}");
    }

    // A registration ceremony, answered with a forged attestation: refused, the ceremony used up.
    let options = browser.client.post(p.url("/account/passkeys/register/options")).header("X-CSRF-Token", &csrf).json(&json!({ "name": "laptop" })).send().await.unwrap();
    assert_eq!(options.status(), StatusCode::OK);
    let options: Value = options.json().await.unwrap();
    assert_eq!(options["publicKey"]["authenticatorSelection"]["residentKey"], "required", "{options}");
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost", "{options}");
    let forged = json!({ "id": "AQID", "rawId": "AQID", "type": "public-key", "response": { "attestationObject": "AAAA", "clientDataJSON": "AAAA" } });
    let response = browser.client.post(p.url("/account/passkeys/register")).header("X-CSRF-Token", &csrf).json(&forged).send().await.unwrap();
    let status = response.status();
    assert_json_error(status, &response.json().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request");
    let again = browser.client.post(p.url("/account/passkeys/register")).header("X-CSRF-Token", &csrf).json(&forged).send().await.unwrap();
    let status = again.status();
    assert_json_error(status, &again.json().await.unwrap(), StatusCode::BAD_REQUEST, "expired_request");
    assert_eq!(flows_and_factors(&p).await, (0, 0), "no passkey stored, no ceremony left");
}

#[tokio::test]
async fn a_replayed_or_unknown_ceremony_and_an_unknown_passkey_are_refused() {
    let p = TestProvider::start_with(&["--public-url", "http://localhost"]).await;
    let mut jar = Jar(Vec::new());
    let token = sign_in_page_token(&p, &mut jar).await;
    let assertion = unknown_assertion().to_string().into_bytes();

    // No ceremony at all, and one this server never started.
    let (status, body) = post_json(&p, "/account/passkeys/authenticate", &jar.header(), Some(&token), assertion.clone()).await;
    assert_json_error(status, &body, StatusCode::BAD_REQUEST, "expired_request");
    let forged = format!("{}; centralauth_passkey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", jar.header());
    let (status, body) = post_json(&p, "/account/passkeys/authenticate", &forged, Some(&token), assertion.clone()).await;
    assert_json_error(status, &body, StatusCode::BAD_REQUEST, "expired_request");

    // A real ceremony, answered with a passkey nobody registered: 401, and the ceremony is used up.
    let response = http()
        .post(p.url("/account/passkeys/authenticate/options"))
        .header(COOKIE, jar.header())
        .header("X-CSRF-Token", &token)
        .json(&json!({ "next": "/account/" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    jar.take(&response);
    assert_eq!(flows_and_factors(&p).await, (1, 0));
    let (status, body) = post_json(&p, "/account/passkeys/authenticate", &jar.header(), Some(&token), assertion.clone()).await;
    assert_json_error(status, &body, StatusCode::UNAUTHORIZED, "unknown_credential");
    assert_eq!(flows_and_factors(&p).await, (0, 0), "the ceremony was taken");

    // The same cookie again (a replay of the challenge): the ceremony is gone.
    let (status, body) = post_json(&p, "/account/passkeys/authenticate", &jar.header(), Some(&token), assertion).await;
    assert_json_error(status, &body, StatusCode::BAD_REQUEST, "expired_request");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM sessions").await, 0, "nobody signed in");
}

/// A stored passkey (webauthn-rs's JSON) with this credential id; its key is never used, since
/// the refusals tested here come before any signature is checked.
fn stored_passkey(credential_id: &[u8]) -> String {
    use base64::Engine;
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(credential_id);
    let (x, y) = (vec![7u8; 32], vec![9u8; 32]);
    let passkey = json!({ "cred": {
        "cred_id": id,
        "cred": { "type_": "ES256", "key": { "EC_EC2": { "curve": "SECP256R1", "x": x, "y": y } } },
        "counter": 0, "user_verified": true, "backup_eligible": false, "backup_state": false,
        "registration_policy": "required",
        "extensions": { "cred_protect": "NotRequested", "hmac_create_secret": "NotRequested" },
        "attestation": { "data": "None", "metadata": "None" }, "attestation_format": "none"
    }});
    let parsed: Result<webauthn_rs::prelude::Passkey, _> = serde_json::from_value(passkey.clone());
    assert!(parsed.is_ok(), "webauthn-rs reads the stored form: {parsed:?}");
    passkey.to_string()
}

async fn give_passkey(p: &TestProvider, username: &str, credential_id: &[u8]) {
    let hex: String = credential_id.iter().map(|b| format!("{b:02x}")).collect();
    let blob = if backend_is_postgres() { format!("decode('{hex}', 'hex')") } else { format!("X'{hex}'") };
    p.db.execute(&format!(
        "INSERT INTO user_factors (user_id, kind, name, created_at, credential_id, credential) \
         SELECT id, 'passkey', 'key of {username}', 1, {blob}, '{}' FROM users WHERE username = '{username}'",
        stored_passkey(credential_id)
    ))
    .await;
}

#[tokio::test]
async fn the_second_step_refuses_another_users_passkey_and_keeps_the_sign_in_waiting() {
    let p = TestProvider::start_with(&["--public-url", "http://localhost"]).await;
    p.create_user("bob", BOB_PASSWORD).await;
    p.create_user("carol", "carol-Password-1").await;
    give_passkey(&p, "bob", &[1; 32]).await;
    give_passkey(&p, "carol", &[2; 32]).await;

    // Bob's password is right; his second step is due.
    let mut jar = Jar(Vec::new());
    let token = sign_in_page_token(&p, &mut jar).await;
    let response = http()
        .post(p.url("/account/login/"))
        .header(COOKIE, jar.header())
        .form(&[("csrf_token", token.as_str()), ("next", "/account/"), ("username", "bob"), ("password", BOB_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    jar.take(&response);
    assert!(jar.get("centralauth_sign_in").is_some(), "the second step's cookie");

    // The options name Bob's passkey only.
    let response = http()
        .post(p.url("/account/passkeys/authenticate/options"))
        .header(COOKIE, jar.header())
        .header("X-CSRF-Token", &token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    jar.take(&response);
    let options: Value = response.json().await.unwrap();
    let allowed: Vec<&str> = options["publicKey"]["allowCredentials"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(allowed, ["AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"], "{options}");

    // Carol's passkey offered for Bob's second step: refused, nothing signed in, and Bob's
    // sign-in still waits for a right second step.
    let mut assertion = unknown_assertion();
    assertion["id"] = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI".into();
    assertion["rawId"] = assertion["id"].clone();
    let (status, body) = post_json(&p, "/account/passkeys/authenticate", &jar.header(), Some(&token), assertion.to_string().into_bytes()).await;
    assert_json_error(status, &body, StatusCode::FORBIDDEN, "access_denied");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM sessions").await, 0, "nobody signed in");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM sign_in_flows WHERE purpose = 'second_step'").await, 1, "the sign-in waits");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM user_factors WHERE last_used_at IS NOT NULL").await, 0, "no passkey marked used");
}

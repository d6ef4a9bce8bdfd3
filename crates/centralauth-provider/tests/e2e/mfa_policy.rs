//! An application's sign-in policy (`--require-mfa`, `--require-passkey`) and OpenID Connect's
//! `acr_values`: a session that proved less is sent to the step-up before a code is issued; the
//! id_token says how the user signed in (`amr`, RFC 8176) and which level that reached (`acr`).
//!
//! The TOTP steps are taken on the second-step and security pages (`/account/login/verify/`,
//! `/account/security/totp/`) with codes computed by `totp-rs`, an implementation independent
//! of the provider's. Other tests stand the step in: by the domain's `login::step_up` on the
//! browser's session (what the second-step page calls once the code is right), or by writing
//! what a step leaves behind (the session's `amr`) into the database, so that the carrying of
//! `amr`/`acr` through codes, token families and refreshes is tested on its own.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::cookie::CookieStore;
use serde_json::{Value, json};

use centralauth_provider::domain::clock::Clock;
use centralauth_provider::domain::login;
use centralauth_provider::domain::mfa::{Amr, Method, acr};
use centralauth_provider::domain::secret::SecretDigest;
use centralauth_provider::store;

use crate::console::{admin, application_form, page, submit};
use crate::support::*;

const VERIFY: &str = "/account/login/verify/";

/// The path and query of an authorization request, as the step-up's `next` carries it.
fn path_and_query(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

/// A relative redirect's query parameter.
fn param(location: &str, name: &str) -> Option<String> {
    query_param(&format!("http://x{location}"), name)
}

async fn exchange(p: &TestProvider, code: &str) -> Value {
    let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The verified id_token claims of a token response.
async fn id_token(p: &TestProvider, tokens: &Value) -> Value {
    verify_id_token(p, tokens["id_token"].as_str().expect("an id_token for the openid scope")).await.1
}

/// Follows an authorization request with a signed-in browser: the code it issued.
async fn code_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND);
    let to = location(&response);
    assert!(to.starts_with(REDIRECT_URI), "expected the client's redirect URI, got {to}");
    query_param(&to, "code").expect("a code")
}

/// A browser signed in with alice's password alone, by way of `client1`'s authorization request.
async fn password_session(p: &TestProvider) -> Browser {
    let browser = Browser::new();
    code_of(p.authorize_as(&browser, "alice", ALICE_PASSWORD, &[("scope", "openid")]).await).await;
    browser
}

/// Stands in for a step: the sessions of alice now prove `amr` (space-separated RFC 8176 values).
async fn sessions_prove(p: &TestProvider, amr: &str) {
    p.db.execute(&format!("UPDATE sessions SET amr = '{amr}' WHERE user_id = (SELECT id FROM users WHERE username = 'alice')")).await;
}

#[tokio::test]
async fn an_application_requiring_mfa_sends_a_password_only_session_to_the_step_up_instead_of_issuing_a_code() {
    let p = TestProvider::with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--require-mfa"], None).await;
    let browser = Browser::new();
    let query = [("scope", "openid"), ("nonce", "n-1"), ("max_age", "3600")];
    let response = p.authorize_as(&browser, "alice", ALICE_PASSWORD, &query).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let to = location(&response);
    assert!(to.starts_with(&format!("{VERIFY}?")), "{to}");
    assert_eq!(param(&to, "require").as_deref(), Some("mfa"));
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM authorization_codes").await, 0, "no code before the step");

    // Asked again by the signed-in browser, the same; the whole request comes back after the
    // step, every parameter (max_age included: the step renews auth_time).
    let again = browser.get(&p.authorize_url(&query)).await;
    let to = location(&again);
    assert!(to.starts_with(&format!("{VERIFY}?")), "{to}");
    assert_eq!(param(&to, "next").unwrap(), path_and_query(&p.authorize_url(&query)));
    assert_eq!(param(&to, "require").as_deref(), Some("mfa"));
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM authorization_codes").await, 0, "nothing is issued until the session proves more");
    // A passkey policy asks for a passkey.
    p.cli(&["app", "update", "client1", "--require-passkey", "--no-require-mfa"], None).await;
    let passkey = browser.get(&p.authorize_url(&query)).await;
    assert_eq!(param(&location(&passkey), "require").as_deref(), Some("passkey"));
    // Without the policy, the same session gets its code at once.
    p.cli(&["app", "update", "client1", "--no-require-passkey"], None).await;
    code_of(browser.get(&p.authorize_url(&query)).await).await;
}

#[tokio::test]
async fn acr_values_asking_for_more_than_the_session_proved_trigger_a_step_up() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = password_session(&p).await;
    // The strongest value the provider supports counts; unknown ones are ignored.
    for (acr_values, require) in
        [(format!("urn:other:gold {}", acr::MULTI_FACTOR), "mfa"), (format!("{} {}", acr::MULTI_FACTOR, acr::PASSKEY), "passkey")]
    {
        let response = browser.get(&p.authorize_url(&[("scope", "openid"), ("acr_values", &acr_values)])).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let to = location(&response);
        assert!(to.starts_with(VERIFY), "{acr_values}: {to}");
        assert_eq!(param(&to, "require").as_deref(), Some(require), "{acr_values}");
    }
    // What the session has is enough for the single-factor value and for values we do not know.
    let acr_values = format!("{} urn:other:gold", acr::SINGLE_FACTOR);
    let code = code_of(browser.get(&p.authorize_url(&[("scope", "openid"), ("acr_values", &acr_values)])).await).await;
    let claims = id_token(&p, &exchange(&p, &code).await).await;
    assert_eq!((&claims["amr"], &claims["acr"]), (&json!(["pwd"]), &json!(acr::SINGLE_FACTOR)));
    // Values that are no acr of ours, however long or odd, ask for nothing.
    let odd = format!("{} \u{7f}%00 ", "x".repeat(4000));
    code_of(browser.get(&p.authorize_url(&[("acr_values", &odd)])).await).await;
    // acr_values repeated is a repeated parameter, as any other.
    let twice = browser.get(&format!("{}&acr_values=phr&acr_values=phr", p.authorize_url(&[]))).await;
    assert_eq!(query_param(&location(&twice), "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn prompt_none_with_an_unmet_requirement_is_answered_login_required_at_the_redirect_uri() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = password_session(&p).await;
    p.cli(&["app", "update", "client1", "--require-mfa"], None).await;
    let response = browser.get(&p.authorize_url(&[("scope", "openid"), ("prompt", "none")])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let to = location(&response);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some("login_required"));
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    // The same for acr_values on an application without a policy.
    p.cli(&["app", "update", "client1", "--no-require-mfa"], None).await;
    let response = browser.get(&p.authorize_url(&[("prompt", "none"), ("acr_values", acr::PASSKEY)])).await;
    assert_eq!(query_param(&location(&response), "error").as_deref(), Some("login_required"));
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM authorization_codes").await, 1, "only the first sign-in's code");
}

#[tokio::test]
async fn an_application_without_a_policy_is_unchanged_and_its_id_token_says_pwd() {
    let p = TestProvider::with_scene(&[]).await;
    let tokens = sign_in(&p, &Browser::new(), &[("scope", "openid")]).await;
    let claims = id_token(&p, &tokens).await;
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["acr"], acr::SINGLE_FACTOR);
    // The django-centralauth answers stay exactly as they were: nothing about the sign-in.
    let (status, user) = p.user_endpoint(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let mut keys: Vec<&str> = user.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["email", "first_name", "is_active", "is_staff", "is_superuser", "last_name", "permissions", "sub", "username"]);
}

#[tokio::test]
async fn a_session_that_proved_a_second_factor_gets_its_code_and_amr_and_acr_survive_refresh() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = password_session(&p).await;
    p.cli(&["app", "update", "client1", "--require-mfa"], None).await;
    sessions_prove(&p, "pwd otp").await;
    let code = code_of(browser.get(&p.authorize_url(&[("scope", "openid")])).await).await;
    let tokens = exchange(&p, &code).await;
    let claims = id_token(&p, &tokens).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], acr::MULTI_FACTOR);
    // A refresh authenticates nobody: its id_token keeps the sign-in's amr, acr and auth_time,
    // whatever the session proves later.
    sessions_prove(&p, "pwd").await;
    let (status, refreshed) =
        p.token(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let again = id_token(&p, &refreshed).await;
    assert_eq!((&again["amr"], &again["acr"], &again["auth_time"]), (&claims["amr"], &claims["acr"], &claims["auth_time"]));

    // A passkey policy is not met by a code; it is by a passkey with user verification.
    p.cli(&["app", "update", "client1", "--require-passkey"], None).await;
    sessions_prove(&p, "pwd otp").await;
    let response = browser.get(&p.authorize_url(&[("scope", "openid")])).await;
    assert_eq!(param(&location(&response), "require").as_deref(), Some("passkey"));
    sessions_prove(&p, "hwk user").await;
    let code = code_of(browser.get(&p.authorize_url(&[("scope", "openid")])).await).await;
    let claims = id_token(&p, &exchange(&p, &code).await).await;
    assert_eq!((&claims["amr"], &claims["acr"]), (&json!(["hwk", "user", "mfa"]), &json!(acr::PASSKEY)));
}

#[tokio::test]
async fn discovery_lists_the_acr_values_and_the_amr_and_acr_claims() {
    let p = TestProvider::start().await;
    let config = discovery(&p).await;
    assert_eq!(config["acr_values_supported"], json!([acr::SINGLE_FACTOR, acr::MULTI_FACTOR, acr::PASSKEY]));
    let claims = config["claims_supported"].as_array().unwrap();
    assert!(claims.contains(&json!("amr")) && claims.contains(&json!("acr")));
}

#[tokio::test]
async fn the_policy_round_trips_through_the_cli_the_admin_api_and_the_console_and_is_audited() {
    let p = TestProvider::start().await;
    let token = p.api_token("admin", &[]).await;
    let show = |client_id: &'static str| {
        let (p, token) = (&p, &token);
        async move {
            let body: Value = p.api_get(token, &format!("/applications/{client_id}")).await.json().await.unwrap();
            (body["require_mfa"].clone(), body["require_passkey"].clone())
        }
    };
    // CLI
    p.cli(&["app", "create", "Strict", "--client-id", "strict", "--redirect-uri", REDIRECT_URI, "--require-mfa"], None).await;
    assert_eq!(show("strict").await, (json!(true), json!(false)));
    p.cli(&["app", "update", "strict", "--no-require-mfa", "--require-passkey"], None).await;
    assert_eq!(show("strict").await, (json!(false), json!(true)));
    let (ok, _, stderr) = p.try_cli(&["app", "update", "strict", "--require-mfa", "--no-require-mfa"], None).await;
    assert!(!ok && stderr.contains("cannot be used with"), "{stderr}");
    p.cli(&["app", "update", "strict", "--name", "Still strict"], None).await;
    assert_eq!(show("strict").await, (json!(false), json!(true)), "an update without the flags keeps the policy");
    let audited = p
        .db
        .scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'application.update' AND after_state LIKE '%\"require_passkey\":true%'")
        .await;
    assert_eq!(audited, 2, "each change is audited with the policy in its after state");

    // Admin API
    let api = |method: reqwest::Method, path: &str, body: Value| {
        http().request(method, p.url(&format!("/api/v1{path}"))).bearer_auth(&token).json(&body).send()
    };
    let created = api(
        reqwest::Method::POST,
        "/applications",
        json!({"name": "Api", "client_id": "api", "redirect_uris": [REDIRECT_URI], "require_mfa": true}),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!((&created["application"]["require_mfa"], &created["application"]["require_passkey"]), (&json!(true), &json!(false)));
    let patched = api(reqwest::Method::PATCH, "/applications/api", json!({"require_passkey": true})).await.unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(show("api").await, (json!(true), json!(true)), "an absent field stays");
    let bad = api(reqwest::Method::PATCH, "/applications/api", json!({"require_mfa": "yes"})).await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(show("api").await, (json!(true), json!(true)), "nothing half-written");
    let plain =
        api(reqwest::Method::POST, "/applications", json!({"name": "Plain", "client_id": "plain", "redirect_uris": [REDIRECT_URI]}))
            .await
            .unwrap();
    let plain: Value = plain.json().await.unwrap();
    assert_eq!((&plain["application"]["require_mfa"], &plain["application"]["require_passkey"]), (&json!(false), &json!(false)));

    // Console: the edit form shows the checkboxes as stored and saves them as ticked.
    let browser = admin(&p).await;
    let id = p.db.scalar("SELECT id FROM applications WHERE client_id = 'api'").await;
    let edit = format!("/console/applications/{id}/");
    let (status, html) = page(&browser, &p, &edit).await;
    assert_eq!(status, StatusCode::OK);
    for field in ["require_mfa", "require_passkey"] {
        let at = html.find(&format!("name=\"{field}\"")).unwrap_or_else(|| panic!("no {field} checkbox"));
        assert!(html[at..at + html[at..].find('>').unwrap()].contains("checked"), "{field} is shown ticked");
    }
    let mut form = application_form("Api", "api", REDIRECT_URI);
    form.push(("profile", "custom"));
    form.push(("require_mfa", "on"));
    let response = submit(&browser, &p, &edit, &edit, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(show("api").await, (json!(true), json!(false)), "an unticked box clears its switch");
    let mut form = application_form("Made", "", REDIRECT_URI);
    form.push(("require_passkey", "on"));
    let response = submit(&browser, &p, "/console/applications/new", "/console/applications/", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let made = p.db.scalar("SELECT COUNT(*) FROM applications WHERE name = 'Made' AND require_passkey AND NOT require_mfa").await;
    assert_eq!(made, 1);
    // German labels.
    let german = browser.client.get(p.url(&edit)).header("accept-language", "de").send().await.unwrap().text().await.unwrap();
    assert!(german.contains("Zweiten Faktor verlangen") && german.contains("Passkey mit Benutzerverifizierung verlangen"));
}

#[tokio::test]
async fn after_a_step_up_the_code_carries_the_steps_auth_time_and_amr_and_max_age_counts_from_it() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--require-mfa"], None).await;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_provider(jar.clone()).build().unwrap();
    let browser = Browser { client };
    let response = p.authorize_as(&browser, "alice", ALICE_PASSWORD, &[("scope", "openid"), ("nonce", "n-3")]).await;
    let verify = location(&response);
    assert!(verify.starts_with(VERIFY), "{verify}");
    let signed_in_at = now(&p);
    p.advance(100);

    // The step the second-step page takes once the code is right (`login::step_up`), taken here
    // through the domain, on the session of the browser's cookie; the new id goes into the cookie.
    let site = url::Url::parse(&p.url("/")).unwrap();
    let cookies = jar.cookies(&site).expect("the browser has cookies");
    let old_id =
        cookies.to_str().unwrap().split("; ").find_map(|c| c.strip_prefix("centralauth_session=")).expect("a session cookie").to_string();
    let store = store::connect(&p.db.url, p.clock.clone().unwrap().shared()).await.unwrap();
    let digest = SecretDigest::of(&old_id);
    let user = store.find_session(&digest, now(&p)).await.unwrap().expect("the session");
    assert_eq!(user.amr, Amr::of(&[Method::Pwd]));
    let new_id = login::step_up(store.as_ref(), &digest, &user, &Amr::of(&[Method::Otp]), now(&p)).await.unwrap();
    jar.add_cookie_str(&format!("centralauth_session={}; Path=/", new_id.expose()), &site);

    let next = param(&verify, "next").unwrap();
    let code = code_of(browser.get(&p.url(&next)).await).await;
    let claims = id_token(&p, &exchange(&p, &code).await).await;
    assert_eq!((&claims["amr"], &claims["acr"]), (&json!(["pwd", "otp", "mfa"]), &json!(acr::MULTI_FACTOR)));
    assert_eq!(claims["nonce"], "n-3");
    assert_eq!(claims["auth_time"], now(&p), "the step-up's time, not the password's ({signed_in_at})");
    // max_age counts from the step-up: 20 s later a max_age of 30 needs no new sign-in.
    p.advance(20);
    code_of(browser.get(&p.authorize_url(&[("scope", "openid"), ("max_age", "30")])).await).await;
    // And 40 s later it does (the password again, OpenID Connect Core §3.1.2.1).
    p.advance(20);
    let response = browser.get(&p.authorize_url(&[("scope", "openid"), ("max_age", "30")])).await;
    assert!(location(&response).starts_with("/account/login/"), "{}", location(&response));
}

// ---- The TOTP step on the second-step and security pages (helper totp's contract) --------------

/// The code of a base32 TOTP secret at `at`, computed by totp-rs (SHA-1, 6 digits, 30 s).
fn totp_code(secret: &str, at: i64) -> String {
    let cleaned: String = secret.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let secret = totp_rs::Secret::try_from_base32(cleaned.trim_end_matches('=')).expect("the page shows a base32 secret");
    totp_rs::Builder::new().with_secret(secret).build_noncompliant().generate(at as u64).to_string()
}

/// The text of the element with this id (up to the next tag).
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].trim().to_string())
}

fn now(p: &TestProvider) -> i64 {
    p.clock.as_ref().expect("an in-process provider").now()
}

/// Enrols a TOTP factor for the browser's user at the provider's current time; its secret.
async fn enrol_totp(p: &TestProvider, browser: &Browser) -> String {
    let page = browser.get(&p.url("/account/security/totp/")).await;
    assert_eq!(page.status(), StatusCode::OK, "the enrolment page");
    let html = page.text().await.unwrap();
    let secret = element_text(&html, "totp-secret").expect("the secret as text");
    let code = totp_code(&secret, now(p));
    let response = browser
        .post_form(
            &p.url("/account/security/totp/"),
            &[
                ("csrf_token", &hidden_input(&html, "csrf_token")),
                ("enrolment", &hidden_input(&html, "enrolment")),
                ("name", "phone"),
                ("code", &code),
            ],
        )
        .await;
    // The first factor's confirmation shows the recovery codes, once.
    assert_eq!(response.status(), StatusCode::OK, "enrolment with a first valid code");
    assert!(response.text().await.unwrap().contains("class=\"recovery-code\""), "the recovery codes are shown");
    secret
}

/// Takes the step on the second-step page the browser was sent to (`verify`, relative) with a
/// code at the provider's current time; where it goes on.
async fn take_totp_step(p: &TestProvider, browser: &Browser, verify: &str, secret: &str) -> String {
    let page = browser.get(&p.url(verify)).await;
    assert_eq!(page.status(), StatusCode::OK, "the second-step page");
    let html = page.text().await.unwrap();
    let code = totp_code(secret, now(p));
    let response = browser.post_form(&p.url(VERIFY), &[("csrf_token", &hidden_input(&html, "csrf_token")), ("code", &code)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the step with a valid code");
    location(&response)
}

#[tokio::test]
async fn a_policy_application_gets_its_code_only_after_the_totp_step_up_and_auth_time_is_the_steps() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--require-mfa"], None).await;
    // A password-only session, from before alice had any factor.
    let browser = Browser::new();
    let query = [("scope", "openid"), ("nonce", "n-2")];
    let response = p.authorize_as(&browser, "alice", ALICE_PASSWORD, &query).await;
    let verify = location(&response);
    assert!(verify.starts_with(VERIFY), "{verify}");
    let signed_in_at = now(&p);
    // With no factor at all, the step-up leads to enrolment first, keeping where to go on.
    let response = browser.get(&p.url(&verify)).await;
    assert!(response.status().is_redirection());
    let enrol = location(&response);
    assert!(enrol.starts_with("/account/security/"), "{enrol}");
    assert_eq!(param(&enrol, "next"), param(&verify, "next"));

    // Alice enrols in another browser; this session still proved a password only.
    let other = browser_signed_in(&p, "alice", ALICE_PASSWORD).await;
    let secret = enrol_totp(&p, &other).await;
    p.advance(100);
    let response = browser.get(&p.authorize_url(&query)).await;
    let verify = location(&response);
    assert!(verify.starts_with(VERIFY) && param(&verify, "require").as_deref() == Some("mfa"), "{verify}");
    // The enrolment's code is used up; the next time step's code is new.
    let next = take_totp_step(&p, &browser, &verify, &secret).await;
    assert_eq!(Some(next.clone()), param(&verify, "next"), "back to the authorization request");
    let code = code_of(browser.get(&p.url(&next)).await).await;
    let claims = id_token(&p, &exchange(&p, &code).await).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], acr::MULTI_FACTOR);
    assert_eq!(claims["nonce"], "n-2");
    assert_eq!(claims["auth_time"], now(&p), "auth_time is the step-up's, not the password's ({signed_in_at})");
    // max_age counts from the step-up too.
    p.advance(20);
    code_of(browser.get(&p.authorize_url(&[("scope", "openid"), ("max_age", "30")])).await).await;
}

#[tokio::test]
async fn a_user_without_a_session_signs_in_with_password_and_code_and_the_policy_application_gets_its_code() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let secret = enrol_totp(&p, &browser_signed_in(&p, "alice", ALICE_PASSWORD).await).await;
    p.cli(&["app", "update", "client1", "--require-mfa"], None).await;
    p.advance(30);
    let browser = Browser::new();
    // The password asks for the second step (alice has a factor), not the authorization request.
    let response = browser.get(&p.authorize_url(&[("scope", "openid")])).await;
    let login = p.url(&location(&response));
    let html = browser.get(&login).await.text().await.unwrap();
    let response = browser
        .post_form(
            &p.url("/account/login/"),
            &[
                ("csrf_token", &hidden_input(&html, "csrf_token")),
                ("next", &hidden_input(&html, "next")),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let verify = location(&response);
    assert!(verify.starts_with(VERIFY), "{verify}");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM authorization_codes").await, 0);
    let next = take_totp_step(&p, &browser, &verify, &secret).await;
    assert!(next.starts_with("/provider/o/authorize/?"), "{next}");
    let code = code_of(browser.get(&p.url(&next)).await).await;
    let claims = id_token(&p, &exchange(&p, &code).await).await;
    assert_eq!((&claims["amr"], &claims["acr"]), (&json!(["pwd", "otp", "mfa"]), &json!(acr::MULTI_FACTOR)));
}

//! TOTP and recovery codes as second factors (#15), end to end on the in-process provider with
//! a test clock. The codes are computed by the independent totp-rs crate from the secret the
//! enrolment page shows, never by the code under test.

use centralauth_provider::domain::clock::Clock;
use reqwest::StatusCode;

use crate::support::*;

const BOB_PASSWORD: &str = "bob-password-12";

async fn provider() -> TestProvider {
    let p = TestProvider::in_process(&[]).await;
    p.create_user("alice", ALICE_PASSWORD).await;
    p.create_user("bob", BOB_PASSWORD).await;
    p
}

fn now(p: &TestProvider) -> i64 {
    p.clock.as_ref().unwrap().now()
}

/// The authenticator app of a test: totp-rs with the secret shown at enrolment.
struct App(totp_rs::Totp);

impl App {
    fn code(&self, p: &TestProvider) -> String {
        self.0.generate(now(p) as u64).to_string()
    }
}

/// The text of the element with `id="ID"`.
fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no element {id}"));
    let start = start + html[start..].find('>').unwrap() + 1;
    html[start..start + html[start..].find('<').unwrap()].trim().to_string()
}

/// The texts of the elements with `class="recovery-code"`.
fn recovery_codes(html: &str) -> Vec<String> {
    html.split("class=\"recovery-code\">").skip(1).map(|rest| rest[..rest.find('<').unwrap()].to_string()).collect()
}

/// The session cookie a response sets, if any.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("centralauth_session=") && !v.starts_with("centralauth_session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Posts the sign-in form (password) with a new page's CSRF token.
async fn password_step(p: &TestProvider, browser: &Browser, username: &str, password: &str) -> reqwest::Response {
    let page = browser.get(&p.url("/account/login/?next=%2Faccount%2F")).await.text().await.unwrap();
    browser
        .post_form(
            &p.url("/account/login/"),
            &[("csrf_token", &hidden_input(&page, "csrf_token")), ("next", "/account/"), ("username", username), ("password", password)],
        )
        .await
}

/// Posts the second step's form with `field` (`code` or `recovery_code`).
async fn second_step(p: &TestProvider, browser: &Browser, field: &str, value: &str) -> reqwest::Response {
    let page = browser.get(&p.url("/account/login/verify/")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    browser.post_form(&p.url("/account/login/verify/"), &[("csrf_token", &hidden_input(&page, "csrf_token")), (field, value)]).await
}

/// A new browser through the password to the second step.
async fn at_second_step(p: &TestProvider, username: &str, password: &str) -> Browser {
    let browser = Browser::new();
    let response = password_step(p, &browser, username, password).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/account/login/verify/".to_string()));
    browser
}

async fn signed_in(p: &TestProvider, browser: &Browser) -> bool {
    let response = browser.get(&p.url("/account/")).await;
    response.status() == StatusCode::OK
}

/// Enrols an authenticator app for the browser's user: the recovery codes shown (none when
/// it was not the first factor) and the app.
async fn enrol(p: &TestProvider, browser: &Browser) -> (App, Vec<String>) {
    let page = browser.get(&p.url("/account/security/totp/")).await.text().await.unwrap();
    let secret = element_text(&page, "totp-secret");
    let totp = totp_rs::Builder::new().with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap()).build().unwrap();
    let app = App(totp);
    let code = app.code(p);
    let response = browser
        .post_form(
            &p.url("/account/security/totp/"),
            &[("csrf_token", &hidden_input(&page, "csrf_token")), ("enrolment", &hidden_input(&page, "enrolment")), ("name", "Phone"), ("code", &code)],
        )
        .await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status == StatusCode::OK || status == StatusCode::SEE_OTHER, "{status}: {body}");
    (app, recovery_codes(&body))
}

#[tokio::test]
async fn totp_enrolment_needs_a_right_first_code_then_sign_in_needs_password_and_a_fresh_code() {
    let p = provider().await;
    let browser = browser_signed_in(&p, "alice", ALICE_PASSWORD).await;
    let page = browser.get(&p.url("/account/security/totp/")).await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("style-src 'self'") && !csp.contains("unsafe-inline"), "the inline QR code needs no inline style: {csp}");
    let page = page.text().await.unwrap();
    assert!(page.contains("<svg") && !page.contains("<?xml") && !page.contains("style="), "an inline SVG without inline style");
    let secret = element_text(&page, "totp-secret");
    let app = App(totp_rs::Builder::new().with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap()).build().unwrap());
    let right = app.code(&p);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let form = |code: &str| {
        vec![
            ("csrf_token".to_string(), hidden_input(&page, "csrf_token")),
            ("enrolment".to_string(), hidden_input(&page, "enrolment")),
            ("name".to_string(), "Phone".to_string()),
            ("code".to_string(), code.to_string()),
        ]
    };
    let refused = browser.client.post(p.url("/account/security/totp/")).form(&form(&wrong)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::OK);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("That code is not right."));
    assert_eq!(element_text(&refused, "totp-secret"), secret, "the same secret, still waiting for its first code");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM user_factors").await, 0);

    let confirmed = browser.client.post(p.url("/account/security/totp/")).form(&form(&right)).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    let codes = recovery_codes(&confirmed.text().await.unwrap());
    assert_eq!(codes.len(), 10, "ten recovery codes shown at the first enrolment");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM user_factors WHERE kind = 'totp' AND sealed_secret IS NOT NULL").await, 1);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL").await, 10);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.enrol' AND actor = 'user:alice'").await, 1);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.recovery_codes'").await, 1);
    // The session stepped up under a new id (its CSRF token with it): the form again, with
    // the new token, does not confirm the enrolment twice.
    let token = hidden_input(&browser.get(&p.url("/account/")).await.text().await.unwrap(), "csrf_token");
    let mut twice = form(&right);
    twice[0].1 = token;
    let again = browser.client.post(p.url("/account/security/totp/")).form(&twice).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("took too long"), "a new enrolment is offered instead");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM user_factors").await, 1);

    // The password alone no longer signs in.
    let second = at_second_step(&p, "alice", ALICE_PASSWORD).await;
    assert!(!signed_in(&p, &second).await, "no session before the second step");
    let response = second_step(&p, &second, "code", &right).await;
    assert_eq!(response.status(), StatusCode::OK, "the enrolment's code is used");
    assert!(response.text().await.unwrap().contains("That code is not right."));
    p.advance(30);
    let fresh = app.code(&p);
    let response = second_step(&p, &second, "code", &fresh).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/account/".to_string()));
    assert!(session_cookie(&response).is_some(), "a new session id");
    assert!(signed_in(&p, &second).await);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM sessions WHERE amr = 'pwd otp'").await, 2, "this sign-in, and the enrolling session");

    // The same code in another sign-in, within its window: refused.
    let third = at_second_step(&p, "alice", ALICE_PASSWORD).await;
    let response = second_step(&p, &third, "code", &fresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("That code is not right."));
    assert!(!signed_in(&p, &third).await);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.step_failed' AND actor = 'user:alice'").await, 2);
}

#[tokio::test]
async fn two_submissions_of_one_code_at_once_sign_in_only_one() {
    let p = provider().await;
    let (app, _) = enrol(&p, &browser_signed_in(&p, "alice", ALICE_PASSWORD).await).await;
    p.advance(30);
    let (a, b) = (at_second_step(&p, "alice", ALICE_PASSWORD).await, at_second_step(&p, "alice", ALICE_PASSWORD).await);
    let code = app.code(&p);
    let (ra, rb) = tokio::join!(second_step(&p, &a, "code", &code), second_step(&p, &b, "code", &code));
    let passed = [ra.status(), rb.status()].iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    assert_eq!(passed, 1, "one code, one sign-in");
}

#[tokio::test]
async fn a_code_of_another_users_secret_is_refused() {
    let p = provider().await;
    enrol(&p, &browser_signed_in(&p, "alice", ALICE_PASSWORD).await).await;
    let (bobs, _) = enrol(&p, &browser_signed_in(&p, "bob", BOB_PASSWORD).await).await;
    p.advance(30);
    let alice = at_second_step(&p, "alice", ALICE_PASSWORD).await;
    let response = second_step(&p, &alice, "code", &bobs.code(&p)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("That code is not right."));
    assert!(!signed_in(&p, &alice).await);
}

#[tokio::test]
async fn wrong_codes_count_against_the_second_steps_own_limit() {
    let p = provider().await;
    let (app, _) = enrol(&p, &browser_signed_in(&p, "alice", ALICE_PASSWORD).await).await;
    p.advance(30);
    let browser = at_second_step(&p, "alice", ALICE_PASSWORD).await;
    let right = app.code(&p);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 500_000) % 1_000_000);
    for attempt in 1..=5 {
        let response = second_step(&p, &browser, "code", &wrong).await;
        assert_eq!(response.status(), StatusCode::OK, "attempt {attempt} is free");
        assert!(response.text().await.unwrap().contains("That code is not right."));
    }
    let refused = second_step(&p, &browser, "code", &right).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "past the budget even the right code waits");
    let wait: i64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Too many wrong codes"), "a readable page: {page}");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.step_failed'").await, 5);
    // The password's own budget is untouched: the password still leads to the second step.
    at_second_step(&p, "alice", ALICE_PASSWORD).await;
    p.advance(wait);
    let response = second_step(&p, &browser, "code", &app.code(&p)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "after the wait, a right code passes");
}

#[tokio::test]
async fn a_recovery_code_works_once_and_new_codes_replace_the_old_ones() {
    let p = provider().await;
    let enrolling = browser_signed_in(&p, "alice", ALICE_PASSWORD).await;
    let (_, codes) = enrol(&p, &enrolling).await;
    assert_eq!(codes.len(), 10);
    // Case, dashes and spaces do not matter.
    let typed = codes[0].replace('-', " ").to_uppercase();
    let browser = at_second_step(&p, "alice", ALICE_PASSWORD).await;
    let response = second_step(&p, &browser, "recovery_code", &typed).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(signed_in(&p, &browser).await);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.recovery_code_used' AND actor = 'user:alice'").await, 1);

    let again = at_second_step(&p, "alice", ALICE_PASSWORD).await;
    let response = second_step(&p, &again, "recovery_code", &codes[0]).await;
    assert_eq!(response.status(), StatusCode::OK, "used once, never again");
    assert!(response.text().await.unwrap().contains("That code is not right."));

    // Regenerating: the old unused codes stop working, the new ones work.
    let page = enrolling.get(&p.url("/account/security/")).await.text().await.unwrap();
    assert_eq!(element_text(&page, "recovery-codes-left"), "9");
    let response = enrolling.post_form(&p.url("/account/security/recovery-codes/"), &[("csrf_token", &hidden_input(&page, "csrf_token"))]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let new_codes = recovery_codes(&response.text().await.unwrap());
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !codes.contains(c)));
    let response = second_step(&p, &again, "recovery_code", &codes[1]).await;
    assert_eq!(response.status(), StatusCode::OK, "an old code no longer works");
    let response = second_step(&p, &again, "recovery_code", &new_codes[1]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM recovery_codes WHERE digest IS NOT NULL AND used_at IS NULL").await, 9);
}

#[tokio::test]
async fn removing_the_last_factor_makes_sign_in_password_only_again() {
    let p = provider().await;
    let browser = browser_signed_in(&p, "alice", ALICE_PASSWORD).await;
    enrol(&p, &browser).await;
    let page = browser.get(&p.url("/account/security/")).await.text().await.unwrap();
    assert!(page.contains("Phone"));
    let action_start = page.find("/account/security/factors/").unwrap();
    let action = &page[action_start..action_start + page[action_start..].find('"').unwrap()];
    let csrf = hidden_input(&page, "csrf_token");
    let refused = browser.post_form(&p.url(action), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let bob = browser_signed_in(&p, "bob", BOB_PASSWORD).await;
    let bobs_page = bob.get(&p.url("/account/")).await.text().await.unwrap();
    let foreign = bob.post_form(&p.url(action), &[("csrf_token", &hidden_input(&bobs_page, "csrf_token"))]).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND, "another user's factor");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM user_factors").await, 1);

    let response = browser.post_form(&p.url(action), &[("csrf_token", &csrf)]).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/account/security/?notice=removed".to_string()));
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM user_factors").await, 0);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM recovery_codes").await, 0, "recovery codes go with the last factor");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'mfa.remove' AND actor = 'user:alice'").await, 1);
    let fresh = Browser::new();
    let response = password_step(&p, &fresh, "alice", ALICE_PASSWORD).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/account/".to_string()));
    assert!(signed_in(&p, &fresh).await);
}

#[tokio::test]
async fn step_up_upgrades_a_signed_in_session_under_a_new_id() {
    let p = provider().await;
    // Signed in with the password alone while alice had no factor.
    let browser = Browser::new();
    let response = password_step(&p, &browser, "alice", ALICE_PASSWORD).await;
    let old = session_cookie(&response).expect("a session");
    // No factor yet: the step-up leads to enrolment first, saying why.
    let response = browser.get(&p.url("/account/login/verify/?next=%2Faccount%2F&require=mfa")).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/account/security/?next=%2Faccount%2F&require=mfa".to_string()));
    let page = browser.get(&p.url(&location(&response))).await.text().await.unwrap();
    assert!(page.contains("requires a second factor"), "{page}");
    assert!(page.contains("/account/security/totp/?next=%2Faccount%2F"));

    let (app, _) = enrol(&p, &browser_signed_in(&p, "alice", ALICE_PASSWORD).await).await;
    p.advance(30);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM sessions WHERE amr = 'pwd'").await, 1);
    let page = browser.get(&p.url("/account/login/verify/?next=%2Faccount%2F&require=mfa")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("autocomplete=\"one-time-code\"") && page.contains("inputmode=\"numeric\""));
    let csrf = hidden_input(&page, "csrf_token");
    let response = browser.post_form(&p.url("/account/login/verify/"), &[("csrf_token", &csrf), ("code", &app.code(&p))]).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/account/".to_string()));
    let new = session_cookie(&response).expect("a new session id");
    assert_ne!(new, old);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM sessions WHERE amr = 'pwd'").await, 0);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM sessions WHERE amr = 'pwd otp'").await, 2);
    assert!(signed_in(&p, &browser).await);
    let with_old = http().get(p.url("/account/")).header("cookie", &old).send().await.unwrap();
    assert_eq!(with_old.status(), StatusCode::SEE_OTHER, "the old session id no longer works");
    let with_new = http().get(p.url("/account/")).header("cookie", &new).send().await.unwrap();
    assert_eq!(with_new.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_input_on_the_second_step_and_security_forms_gets_a_readable_answer() {
    let p = provider().await;
    let enrolling = browser_signed_in(&p, "alice", ALICE_PASSWORD).await;
    enrol(&p, &enrolling).await;
    let browser = at_second_step(&p, "alice", ALICE_PASSWORD).await;
    let page = browser.get(&p.url("/account/login/verify/")).await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token");
    let verify = p.url("/account/login/verify/");

    let no_csrf = browser.post_form(&verify, &[("code", "123456")]).await;
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let long = "9".repeat(5000);
    let huge = "9".repeat(100_000);
    for (form, expected) in [
        (vec![("csrf_token", csrf.as_str()), ("code", "abcdef")], StatusCode::OK),
        (vec![("csrf_token", csrf.as_str()), ("code", long.as_str())], StatusCode::OK),
        (vec![("csrf_token", csrf.as_str()), ("recovery_code", "nonsense")], StatusCode::OK),
        (vec![("csrf_token", csrf.as_str())], StatusCode::OK),
        (vec![("csrf_token", csrf.as_str()), ("code", "1"), ("code", "2")], StatusCode::BAD_REQUEST),
        (vec![("csrf_token", csrf.as_str()), ("code", "123456"), ("recovery_code", "x")], StatusCode::BAD_REQUEST),
        (vec![("csrf_token", csrf.as_str()), ("code", huge.as_str())], StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let response = browser.post_form(&verify, &form).await;
        assert_eq!(response.status(), expected, "{:?}", form.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>());
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(response.text().await.unwrap().contains("<h1>"));
    }
    let german = browser.client.post(&verify).header("accept-language", "de").form(&[("csrf_token", csrf.as_str()), ("code", "000000x")]).send().await.unwrap();
    assert!(german.text().await.unwrap().contains("Dieser Code ist nicht richtig."));
    assert!(!signed_in(&p, &browser).await);

    // The security forms.
    let page = enrolling.get(&p.url("/account/security/totp/")).await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token");
    let enrolment = hidden_input(&page, "enrolment");
    let totp = p.url("/account/security/totp/");
    assert_eq!(enrolling.post_form(&totp, &[("enrolment", &enrolment), ("code", "123456")]).await.status(), StatusCode::FORBIDDEN);
    let long_name = "n".repeat(101);
    for form in [
        vec![("csrf_token", csrf.as_str()), ("enrolment", enrolment.as_str()), ("name", long_name.as_str()), ("code", "123456")],
        vec![("csrf_token", csrf.as_str()), ("enrolment", "forged"), ("code", "123456")],
        vec![("csrf_token", csrf.as_str())],
        vec![("csrf_token", csrf.as_str()), ("enrolment", enrolment.as_str()), ("code", "\u{0}")],
    ] {
        let response = enrolling.post_form(&totp, &form).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.unwrap();
        assert!(body.contains("class=\"error\""), "{body}");
    }
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM user_factors").await, 1, "nothing half-written");
    for path in ["/account/security/factors/abc/remove", "/account/security/factors/99999999999999999999/remove", "/account/security/factors/424242/remove"] {
        let response = enrolling.post_form(&p.url(path), &[("csrf_token", &csrf)]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(response.text().await.unwrap().contains("<h1>"));
    }
    let response = enrolling.post_form(&p.url("/account/security/recovery-codes/"), &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Signed out: the pages lead to the sign-in, and the forms refuse.
    let stranger = Browser::new();
    let response = stranger.get(&p.url("/account/security/")).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/account/login/?next=%2Faccount%2Fsecurity%2F".to_string()));
    let response = stranger.get(&p.url("/account/login/verify/")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM user_factors").await, 1);
}

#[tokio::test]
async fn a_wrong_password_never_reaches_the_second_step_nor_tells_that_there_is_one() {
    let p = provider().await;
    enrol(&p, &browser_signed_in(&p, "alice", ALICE_PASSWORD).await).await;
    let mut answers = Vec::new();
    for (username, password) in [("alice", "wrong-password-1"), ("nobody", "wrong-password-1")] {
        let browser = Browser::new();
        let response = password_step(&p, &browser, username, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("centralauth_sign_in=")));
        let page = response.text().await.unwrap().replace(username, "USER");
        answers.push(without_csrf_tokens(page.split("name=\"csrf_token\"").nth(1).unwrap()).split('>').skip(1).collect::<String>());
        let response = browser.get(&p.url("/account/login/verify/")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "no second step without the right password");
        assert!(location(&response).starts_with("/account/login/"));
    }
    assert_eq!(answers[0], answers[1], "a wrong password answers alike for a user with a second factor and for nobody");
}

/// The page without the values of `data-csrf-token` attributes, which differ per browser.
fn without_csrf_tokens(page: &str) -> String {
    let mut parts = page.split("data-csrf-token=\"");
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        out.push_str("data-csrf-token=\"TOKEN");
        out.push_str(part.find('"').map_or("", |end| &part[end..]));
    }
    out
}

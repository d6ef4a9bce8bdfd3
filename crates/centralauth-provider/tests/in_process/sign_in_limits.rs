//! The sign-in limits (#13 finding 1): simultaneous guesses through two instances on one
//! database, one budget per account whatever it is called, and a growing wait instead of a
//! lock. The clock stands still unless a test moves it, so "at the same moment" is exact.

use std::sync::Arc;

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::support::*;

/// Both instances trust the loopback proxy, so that each guess can come from an address of its
/// own (`X-Forwarded-For`).
const PROXIED: &[&str] = &["--trusted-proxy", "127.0.0.1/32"];

/// A sign-in form fetched in advance, so that the posts can all leave at the same moment.
struct Attempt {
    browser: Browser,
    login: String,
    csrf: String,
    address: String,
}

impl Attempt {
    async fn prepare(p: &TestProvider, address: &str) -> Self {
        let browser = Browser::new();
        let login = p.url("/account/login/");
        let page = browser.client.get(&login).header("x-forwarded-for", address).send().await.unwrap().text().await.unwrap();
        Self { csrf: hidden_input(&page, "csrf_token"), browser, login, address: address.to_string() }
    }

    /// The status and the `Retry-After` header of the answer.
    async fn send(self, username: &str, password: &str) -> (StatusCode, Option<String>) {
        let form = [("csrf_token", self.csrf.as_str()), ("next", "/account/"), ("username", username), ("password", password)];
        let response = self.browser.client.post(&self.login).header("x-forwarded-for", &self.address).form(&form).send().await.unwrap();
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (response.status(), retry_after)
    }
}

/// Two apps with their own connection pools and caches on one database and one clock.
async fn two_instances() -> (TestProvider, TestProvider) {
    let first = TestProvider::in_process_with_scene(PROXIED).await;
    let second = TestProvider::in_process_on(Arc::clone(&first.db), first.clock.clone().unwrap(), PROXIED).await;
    (first, second)
}

/// Sends every guess at once, alternating between the two instances; returns the answers.
async fn all_at_once(instances: [&TestProvider; 2], guesses: &[(String, String, String)]) -> Vec<(StatusCode, Option<String>)> {
    let attempts = join_all(guesses.iter().enumerate().map(|(i, (_, _, address))| Attempt::prepare(instances[i % 2], address))).await;
    join_all(attempts.into_iter().zip(guesses).map(|(attempt, (user, password, _))| attempt.send(user, password))).await
}

/// The answers that evaluated the password: anything but 429. Every 429 says when to return.
fn evaluated(answers: &[(StatusCode, Option<String>)]) -> usize {
    for (status, retry_after) in answers {
        if *status == StatusCode::TOO_MANY_REQUESTS {
            let seconds: i64 = retry_after.as_deref().expect("a 429 carries Retry-After").parse().unwrap();
            assert!((1..=15 * 60).contains(&seconds), "Retry-After {seconds}");
        } else {
            assert_eq!(*status, StatusCode::OK, "a wrong password answers the form again");
        }
    }
    answers.iter().filter(|(status, _)| *status != StatusCode::TOO_MANY_REQUESTS).count()
}

#[tokio::test]
async fn simultaneous_guesses_at_one_account_are_evaluated_at_most_the_accounts_budget() {
    let (first, second) = two_instances().await;
    // From one address, and then from a hundred: the account's budget holds either way.
    let one_address: Vec<_> = (0..100).map(|i| ("alice".to_string(), format!("wrong-guess-{i}"), "203.0.113.7".to_string())).collect();
    let answers = all_at_once([&first, &second], &one_address).await;
    let n = evaluated(&answers);
    assert_eq!(n, 10, "of 100 simultaneous guesses at one account, exactly the budget is evaluated");

    let (status, retry_after) = Attempt::prepare(&second, "198.51.100.1").await.send("alice", ALICE_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the right password waits its turn like any guess");
    assert!(retry_after.is_some());

    let (third, fourth) = two_instances().await;
    let many_addresses: Vec<_> = (0..100).map(|i| ("alice".to_string(), format!("wrong-guess-{i}"), format!("198.51.100.{}", i + 1))).collect();
    let n = evaluated(&all_at_once([&third, &fourth], &many_addresses).await);
    assert_eq!(n, 10, "of 100 guesses at one account from 100 addresses, exactly the budget is evaluated");
}

#[tokio::test]
async fn an_account_has_one_budget_under_its_name_and_its_email_address() {
    let p = TestProvider::in_process(PROXIED).await;
    p.cli(&["user", "create", "carol", "--email", "Carol@Example.org", "--password-stdin"], Some("carol-password-1\n")).await;
    for i in 0..10 {
        let who = if i % 2 == 0 { "carol" } else { "carol@example.org" };
        let (status, _) = Attempt::prepare(&p, &format!("192.0.2.{}", i + 1)).await.send(who, "wrong-password").await;
        assert_eq!(status, StatusCode::OK);
    }
    for who in ["CAROL", "carol@example.org"] {
        let (status, _) = Attempt::prepare(&p, "192.0.2.200").await.send(who, "carol-password-1").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{who}: ten failures under either identifier spend the one budget");
    }
}

#[tokio::test]
async fn simultaneous_guesses_from_one_address_are_evaluated_at_most_the_addresses_budget() {
    let (first, second) = two_instances().await;
    // Unknown names, each of its own: only the address's budget (100) applies.
    let guesses: Vec<_> = (0..130).map(|i| (format!("nobody-{i}"), "some-password".to_string(), "203.0.113.9".to_string())).collect();
    let n = evaluated(&all_at_once([&first, &second], &guesses).await);
    assert_eq!(n, 100, "of 130 simultaneous guesses from one address, exactly the budget is evaluated");
    let (status, _) = Attempt::prepare(&first, "203.0.113.10").await.send("alice", ALICE_PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "another address signs in as usual");
}

#[tokio::test]
async fn past_the_budget_the_wait_doubles_up_to_five_minutes_and_a_success_forgives() {
    let p = TestProvider::in_process_with_scene(PROXIED).await;
    let attempt = |password: &'static str| {
        let p = &p;
        async move { Attempt::prepare(p, "192.0.2.1").await.send("alice", password).await }
    };
    for _ in 0..10 {
        assert_eq!(attempt("wrong-password").await.0, StatusCode::OK);
    }
    assert_eq!(attempt(ALICE_PASSWORD).await, (StatusCode::TOO_MANY_REQUESTS, Some("1".into())));
    p.advance(1);
    assert_eq!(attempt("wrong-password").await.0, StatusCode::OK, "after a second, one more try");
    assert_eq!(attempt(ALICE_PASSWORD).await, (StatusCode::TOO_MANY_REQUESTS, Some("2".into())), "the wait has doubled");
    // However many more failures, the wait stops at five minutes: nobody can lock a user out.
    for _ in 0..12 {
        let (_, retry_after) = attempt("wrong-password").await;
        p.advance(retry_after.map_or(0, |s| s.parse().unwrap()));
        attempt("wrong-password").await;
    }
    let (status, retry_after) = attempt(ALICE_PASSWORD).await;
    assert_eq!((status, retry_after.as_deref()), (StatusCode::TOO_MANY_REQUESTS, Some("300")));
    p.advance(299);
    assert_eq!(attempt(ALICE_PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
    p.advance(1);
    assert_eq!(attempt(ALICE_PASSWORD).await.0, StatusCode::SEE_OTHER, "after the capped wait the right password signs in");
    // The success forgave the failures: the full budget again.
    for _ in 0..10 {
        assert_eq!(attempt("wrong-password").await.0, StatusCode::OK);
    }
    assert_eq!(attempt(ALICE_PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Fifteen quiet minutes after the last failure, the account starts again.
    p.advance(15 * 60);
    assert_eq!(attempt(ALICE_PASSWORD).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn simultaneous_wrong_current_passwords_on_the_console_are_evaluated_at_most_the_budget() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let browser = Browser::new();
    let page = browser.get(&p.url("/account/login/")).await.text().await.unwrap();
    let form = [("csrf_token", hidden_input(&page, "csrf_token")), ("username", "alice".into()), ("password", ALICE_PASSWORD.into())];
    assert_eq!(browser.post_form(&p.url("/account/login/"), &form.each_ref().map(|(k, v)| (*k, v.as_str()))).await.status(), StatusCode::SEE_OTHER);
    let account = p.url("/console/account/");
    let page = browser.get(&account).await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token");
    let tries = (0..50).map(|i| {
        let (browser, account, csrf) = (&browser, account.clone(), csrf.clone());
        async move {
            let current = format!("not-it-{i}");
            let form = [
                ("csrf_token", csrf.as_str()),
                ("current_password", current.as_str()),
                ("new_password", "a-new-password-1"),
                ("new_password_again", "a-new-password-1"),
            ];
            browser.post_form(&format!("{account}password"), &form).await.status()
        }
    });
    let answers = join_all(tries).await;
    let evaluated = answers.iter().filter(|s| **s != StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(evaluated, 10, "{answers:?}");
}

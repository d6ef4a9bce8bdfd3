//! The demo app, built on centralauth-client, against the real provider binary: sign-in through
//! the provider's login form, permissions, refresh on expiry, logout when access is withdrawn,
//! one refresh for many concurrent requests, and revocation at logout.

use std::time::Duration;

use centralauth_client::{CentralAuthConfig, ClientSecret};
use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::support::*;

struct Demo {
    base: String,
}

/// Starts the demo app in-process on a free port, registered at the provider as `demo`.
async fn start_demo(p: &TestProvider, access_token_lifetime: &str) -> Demo {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect_uri = format!("{base}/centralauth/login/callback/");
    p.cli(
        &[
            "app",
            "create",
            "Demo",
            "--client-id",
            "demo",
            "--client-secret-stdin",
            "--redirect-uri",
            &redirect_uri,
            "--access-token-lifetime",
            access_token_lifetime,
            "--pkce",
            "required",
            "--redirect-uri-match",
            "exact",
        ],
        Some(SECRET),
    )
    .await;
    let config = CentralAuthConfig::new(&p.provider(""), "demo", ClientSecret::new(SECRET), &base).unwrap();
    let directory = demo_client::Directory::default();
    let auth = demo_client::central_auth(config, &directory).unwrap();
    let counts = auth.register_permissions(&demo_client::permissions()).await.unwrap();
    assert_eq!((counts.created, counts.count), (2, 2));
    let app = demo_client::app(&auth, directory);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Demo { base }
}

impl Demo {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Follows a browser through the demo, the provider's login form and back; returns the
    /// final answer.
    async fn sign_in(&self, p: &TestProvider, browser: &Browser, path: &str, username: &str, password: &str) -> reqwest::Response {
        let mut url = self.url(path);
        for _ in 0..10 {
            let response = browser.client.get(&url).header("accept", "text/html").send().await.unwrap();
            if !response.status().is_redirection() {
                return response;
            }
            let next = location(&response);
            url = if next.starts_with("http") {
                next
            } else if next.starts_with("/account/") {
                p.url(&next)
            } else {
                self.url(&next)
            };
            if url.contains("/account/login/") {
                let page = browser.get(&url).await.text().await.unwrap();
                let form = [("csrf_token", hidden_input(&page, "csrf_token")), ("next", hidden_input(&page, "next"))];
                let response = browser
                    .post_form(
                        &p.url("/account/login/"),
                        &[("csrf_token", &form[0].1), ("next", &form[1].1), ("username", username), ("password", password)],
                    )
                    .await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER, "provider sign-in failed");
                url = p.url(&location(&response));
            }
        }
        panic!("too many redirects");
    }

    async fn api_me(&self, browser: &Browser) -> (StatusCode, serde_json::Value) {
        let response = browser.get(&self.url("/api/me")).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }
}

async fn scene(lifetime: &str) -> (TestProvider, Demo) {
    let p = TestProvider::start().await;
    let demo = start_demo(&p, lifetime).await;
    p.create_user("alice", ALICE_PASSWORD).await;
    p.create_user("bob", "bob-password-1").await;
    p.cli(&["member", "add", "demo", "alice", "--perm", "notes.view_note"], None).await;
    (p, demo)
}

/// Waits until an access token issued `seconds` ago has expired on the client's clock.
async fn let_token_expire(seconds: u64) {
    tokio::time::sleep(Duration::from_millis(seconds * 1000 + 1100)).await;
}

#[tokio::test]
async fn the_demo_signs_in_through_the_provider_and_enforces_permissions() {
    let (p, demo) = scene("300").await;
    let browser = Browser::new();
    let response = demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Permissions: notes.view_note"));
    assert_eq!(browser.client.get(demo.url("/notes")).header("accept", "text/html").send().await.unwrap().status(), StatusCode::OK);
    let publish = browser.client.get(demo.url("/notes/publish")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(publish.status(), StatusCode::FORBIDDEN);
    let (status, me) = demo.api_me(&browser).await;
    assert_eq!((status, me["username"].clone(), me["is_active"].clone()), (StatusCode::OK, "alice".into(), true.into()));
    let directory: serde_json::Value = browser.get(&demo.url("/api/directory")).await.json().await.unwrap();
    assert_eq!(directory["alice"]["permissions"], serde_json::json!(["notes.view_note"]), "the sync hook ran");

    let anonymous = Browser::new();
    let page = anonymous.client.get(demo.url("/notes")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FOUND);
    assert_eq!(location(&page), "/centralauth/login/?next=%2Fnotes");
    assert_eq!(demo.api_me(&anonymous).await.0, StatusCode::UNAUTHORIZED);
    let home = anonymous.client.get(demo.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Welcome, stranger"));

    let bob = Browser::new();
    let refused = demo.sign_in(&p, &bob, "/me", "bob", "bob-password-1").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "the provider refuses a user without membership");
    assert_eq!(demo.api_me(&bob).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_demo_refreshes_an_expired_token_and_picks_up_new_permissions() {
    // Three seconds: with one, a token issued just before a second ticks over could expire
    // between the refresh and the re-sync that uses it (lifetimes count whole seconds).
    let (p, demo) = scene("3").await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    p.cli(&["member", "update", "demo", "alice", "--perm", "notes.view_note", "--perm", "notes.publish_note"], None).await;
    let_token_expire(3).await;
    let publish = browser.client.get(demo.url("/notes/publish")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(publish.status(), StatusCode::OK, "refreshed, re-synced, and allowed");
}

#[tokio::test]
async fn the_demo_logs_the_user_out_on_the_next_refresh_after_the_membership_is_deactivated() {
    // Three seconds, so that the check before expiry is not raced by a slow sign-in.
    let (p, demo) = scene("3").await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    p.cli(&["member", "update", "demo", "alice", "--active", "false"], None).await;
    assert_eq!(demo.api_me(&browser).await.0, StatusCode::OK, "until the token expires");
    let_token_expire(3).await;
    let page = browser.client.get(demo.url("/me")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FOUND);
    assert_eq!(location(&page), "/centralauth/login/?next=%2Fme");
    assert_eq!(demo.api_me(&browser).await.0, StatusCode::UNAUTHORIZED, "the session is gone");
}

#[tokio::test]
async fn twenty_concurrent_requests_at_expiry_all_succeed_with_exactly_one_refresh() {
    // Three seconds, for the reason given in the test above.
    let (p, demo) = scene("3").await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    // On a slow machine the token may already have been refreshed during sign-in.
    let before = p.db.scalar("SELECT COUNT(*) FROM refresh_tokens").await;
    let_token_expire(3).await;
    let results = join_all((0..20).map(|_| demo.api_me(&browser))).await;
    assert!(results.iter().all(|(s, body)| *s == StatusCode::OK && body["username"] == "alice"), "{results:?}");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM refresh_tokens").await, before + 1, "one refresh at the provider, not twenty");
}

#[tokio::test]
async fn logout_ends_the_session_and_revokes_the_token_at_the_provider() {
    let (p, demo) = scene("300").await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM token_families WHERE revoked_at IS NOT NULL").await, 0);
    let response = browser.get(&demo.url("/centralauth/logout/")).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/".to_string()));
    assert_eq!(demo.api_me(&browser).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM token_families WHERE revoked_at IS NOT NULL").await, 1);
}

/// Registers the demo's back-channel receiver at the provider.
async fn with_back_channel(p: &TestProvider, demo: &Demo) {
    p.cli(&["app", "update", "demo", "--backchannel-logout-uri", &demo.url("/centralauth/backchannel/")], None).await;
}

#[tokio::test]
async fn a_deactivated_member_is_logged_out_of_the_demo_within_a_second_not_at_token_expiry() {
    // Five-minute tokens: without the push the session would last until they expire.
    let (p, demo) = scene("300").await;
    with_back_channel(&p, &demo).await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    assert_eq!(demo.api_me(&browser).await.0, StatusCode::OK);
    p.cli(&["member", "update", "demo", "alice", "--active", "false"], None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        if demo.api_me(&browser).await.0 == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still signed in a second after the deactivation");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = browser.client.get(demo.url("/me")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(location(&page), "/centralauth/login/?next=%2Fme");
}

#[tokio::test]
async fn a_permission_change_reaches_the_demo_before_the_token_expires() {
    let (p, demo) = scene("300").await;
    with_back_channel(&p, &demo).await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    let publish = |b: &Browser| b.client.get(demo.url("/notes/publish")).header("accept", "text/html").send();
    assert_eq!(publish(&browser).await.unwrap().status(), StatusCode::FORBIDDEN);
    p.cli(&["member", "update", "demo", "alice", "--perm", "notes.view_note", "--perm", "notes.publish_note"], None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while publish(&browser).await.unwrap().status() != StatusCode::OK {
        assert!(std::time::Instant::now() < deadline, "the new permission did not arrive within a second");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Delivered, and gone from the outbox.
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM event_deliveries").await, 0);
}

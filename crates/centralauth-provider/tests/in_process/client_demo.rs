//! The demo app's refresh when its access token expires, with the provider in this process and
//! both on one test clock: refresh and re-sync, logout when access was withdrawn, and one
//! refresh for many concurrent requests.

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::demo::{Demo, scene_on};
use crate::support::*;

/// Five-minute tokens, as in production; the test moves the clock past them.
const LIFETIME: i64 = 300;

async fn scene() -> (TestProvider, Demo) {
    scene_on(TestProvider::in_process(&[]).await, &LIFETIME.to_string()).await
}

#[tokio::test]
async fn the_demo_refreshes_an_expired_token_and_picks_up_new_permissions() {
    let (p, demo) = scene().await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    p.cli(&["member", "update", "demo", "alice", "--perm", "notes.view_note", "--perm", "notes.publish_note"], None).await;
    p.advance(LIFETIME);
    let publish = browser.client.get(demo.url("/notes/publish")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(publish.status(), StatusCode::OK, "refreshed, re-synced, and allowed");
}

#[tokio::test]
async fn the_demo_logs_the_user_out_on_the_next_refresh_after_the_membership_is_deactivated() {
    let (p, demo) = scene().await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    p.cli(&["member", "update", "demo", "alice", "--active", "false"], None).await;
    assert_eq!(demo.api_me(&browser).await.0, StatusCode::OK, "until the token expires");
    p.advance(LIFETIME);
    let page = browser.client.get(demo.url("/me")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FOUND);
    assert_eq!(location(&page), "/centralauth/login/?next=%2Fme");
    assert_eq!(demo.api_me(&browser).await.0, StatusCode::UNAUTHORIZED, "the session is gone");
}

#[tokio::test]
async fn twenty_concurrent_requests_at_expiry_all_succeed_with_exactly_one_refresh() {
    let (p, demo) = scene().await;
    let browser = Browser::new();
    demo.sign_in(&p, &browser, "/me", "alice", ALICE_PASSWORD).await;
    let before = p.db.scalar("SELECT COUNT(*) FROM refresh_tokens").await;
    p.advance(LIFETIME);
    let results = join_all((0..20).map(|_| demo.api_me(&browser))).await;
    assert!(results.iter().all(|(s, body)| *s == StatusCode::OK && body["username"] == "alice"), "{results:?}");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM refresh_tokens").await, before + 1, "one refresh at the provider, not twenty");
}

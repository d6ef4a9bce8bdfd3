//! The demo app, built on centralauth-client, against the real provider binary: sign-in through
//! the provider's login form, permissions, revocation at logout, and access changes pushed over
//! the back channel. What happens at token expiry is in `tests/in_process/client_demo.rs`.

use std::time::Duration;

use reqwest::StatusCode;

use crate::demo::{Demo, scene_on};
use crate::support::*;

async fn scene(lifetime: &str) -> (TestProvider, Demo) {
    scene_on(TestProvider::start().await, lifetime).await
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

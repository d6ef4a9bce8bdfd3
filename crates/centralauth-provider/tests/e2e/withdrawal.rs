//! What ends a user's access (issue #13): deactivating the user or a membership, every password
//! change, and an administrator ending the user's sessions. Each ends at once what it must —
//! browser sessions, access and refresh tokens as introspection, userinfo and the token
//! endpoint see them — and a reactivation brings nothing old back: the incident response
//! "deactivate, reset the password, reactivate" leaves an attacker nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// alice with a second application, `client2`, where she is a member too.
async fn two_applications() -> TestProvider {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("client2", &[]).await;
    p.cli(&["member", "add", "client2", "alice"], None).await;
    p
}

async fn alice_id(p: &TestProvider) -> i64 {
    p.db.scalar("SELECT id FROM users WHERE username = 'alice'").await
}

/// The audit entries of an action.
async fn audited(p: &TestProvider, action: &str) -> i64 {
    p.db.scalar(&format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}'")).await
}

#[tokio::test]
async fn deactivating_a_user_ends_sessions_and_tokens_and_reactivation_brings_nothing_back() {
    let p = two_applications().await;
    let browser = Browser::new();
    let first = Grant::of_alice(&p, &browser, "client1").await;
    let second = Grant::of_alice(&p, &browser, "client2").await;
    first.assert_standing(&p, "before").await;
    assert!(has_session(&p, &browser).await);

    p.cli(&["user", "update", "alice", "--active", "false"], None).await;
    first.assert_withdrawn(&p, "deactivated").await;
    second.assert_withdrawn(&p, "deactivated, the other application").await;
    assert_eq!(p.db.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = {}", alice_id(&p).await)).await, 0);

    p.cli(&["user", "update", "alice", "--active", "true"], None).await;
    assert!(!has_session(&p, &browser).await, "the old session cookie gets the sign-in page");
    first.assert_withdrawn(&p, "reactivated").await;
    second.assert_withdrawn(&p, "reactivated, the other application").await;
    // A new sign-in works again.
    Grant::of_alice(&p, &browser, "client1").await.assert_standing(&p, "signed in again").await;
    p.stop().await;
}

#[tokio::test]
async fn a_code_issued_before_the_deactivation_gives_no_tokens_after_it() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    let code = p.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
    p.cli(&["user", "update", "alice", "--active", "false"], None).await;
    p.cli(&["user", "update", "alice", "--active", "true"], None).await;
    let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    p.stop().await;
}

#[tokio::test]
async fn deactivating_a_membership_revokes_that_applications_tokens_only() {
    let p = two_applications().await;
    let browser = Browser::new();
    let first = Grant::of_alice(&p, &browser, "client1").await;
    let second = Grant::of_alice(&p, &browser, "client2").await;

    p.cli(&["member", "update", "client1", "alice", "--active", "false"], None).await;
    first.assert_withdrawn(&p, "membership deactivated").await;
    second.assert_standing(&p, "the other application").await;
    assert_eq!(browser.get(&p.url("/console/account/")).await.status(), StatusCode::OK, "the provider session is not the membership's");

    p.cli(&["member", "update", "client1", "alice", "--active", "true"], None).await;
    first.assert_withdrawn(&p, "membership reactivated").await;

    // Removing the membership does the same.
    let again = Grant::of_alice(&p, &browser, "client1").await;
    p.cli(&["member", "remove", "client1", "alice"], None).await;
    again.assert_withdrawn(&p, "membership removed").await;
    second.assert_standing(&p, "the other application").await;
    p.stop().await;
}

/// The rule holds at answer time, even for a token that the withdrawal did not revoke (a
/// change written beside the provider, here straight into the database): introspection and
/// userinfo look at the user and the membership as they are now, and the answers kept in
/// memory do not outlive the change.
#[tokio::test]
async fn introspection_and_userinfo_check_the_user_and_the_membership_when_they_answer() {
    let p = TestProvider::with_scene(&[]).await;
    let grant = Grant::of_alice(&p, &Browser::new(), "client1").await;
    grant.assert_standing(&p, "before").await;
    let id = alice_id(&p).await;
    for (withdraw, restore) in [
        ("UPDATE memberships SET is_active = FALSE WHERE user_id = {id}", "UPDATE memberships SET is_active = TRUE WHERE user_id = {id}"),
        ("UPDATE users SET is_active = FALSE WHERE id = {id}", "UPDATE users SET is_active = TRUE WHERE id = {id}"),
    ] {
        p.db.execute(&withdraw.replace("{id}", &id.to_string())).await;
        assert_eq!(grant.introspection(&p).await, (false, false), "{withdraw}");
        let (status, challenge) = grant.userinfo(&p).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{withdraw}");
        assert!(challenge.contains("invalid_token"), "{challenge}");
        // django-centralauth's /user/ keeps its wire answer: 200 with `is_active: false`,
        // on which the Django client signs the user out.
        let (status, body) = p.user_endpoint(&grant.access).await;
        assert_eq!((status, &body["is_active"]), (StatusCode::OK, &json!(false)), "{withdraw}: {body}");
        p.db.execute(&restore.replace("{id}", &id.to_string())).await;
        grant.assert_standing(&p, "restored").await;
    }
    p.stop().await;
}

#[tokio::test]
async fn an_administrators_password_reset_ends_every_session_and_revokes_the_tokens() {
    let p = two_applications().await;
    let browser = Browser::new();
    let first = Grant::of_alice(&p, &browser, "client1").await;
    let second = Grant::of_alice(&p, &browser, "client2").await;
    p.cli(&["user", "update", "alice", "--password-stdin"], Some("alice-new-password")).await;
    assert!(!has_session(&p, &browser).await, "the session ended with the old password");
    first.assert_withdrawn(&p, "password reset").await;
    second.assert_withdrawn(&p, "password reset, the other application").await;
    assert_eq!(audited(&p, "user.update_password").await, 1);
    p.stop().await;
}

#[tokio::test]
async fn a_users_own_password_change_ends_their_other_sessions_and_keeps_this_one() {
    let p = TestProvider::with_scene(&[]).await;
    let here = Browser::new();
    let elsewhere = Browser::new();
    let grant = Grant::of_alice(&p, &elsewhere, "client1").await;
    Grant::of_alice(&p, &here, "client1").await;
    let page = here.get(&p.url("/console/account/")).await.text().await.unwrap();
    let response = here
        .post_form(
            &p.url("/console/account/password"),
            &[
                ("csrf_token", &hidden_input(&page, "csrf_token")),
                ("current_password", ALICE_PASSWORD),
                ("new_password", "alice-new-password"),
                ("new_password_again", "alice-new-password"),
            ],
        )
        .await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/console/account/?notice=password".to_string()));
    assert!(has_session(&p, &here).await, "the browser that changed the password stays signed in");
    assert_eq!(here.get(&p.url("/console/account/")).await.status(), StatusCode::OK);
    assert!(!has_session(&p, &elsewhere).await, "every other session ended");
    grant.assert_withdrawn(&p, "own password change").await;
    p.stop().await;
}

#[tokio::test]
async fn the_cli_ends_a_users_sessions_and_revokes_their_tokens() {
    let p = two_applications().await;
    let browser = Browser::new();
    let first = Grant::of_alice(&p, &browser, "client1").await;
    let second = Grant::of_alice(&p, &browser, "client2").await;
    let out = p.cli(&["user", "end-sessions", "alice"], None).await;
    assert_eq!(out.trim(), "ended 1 sessions of alice, revoked 2 token families");
    assert!(!has_session(&p, &browser).await);
    first.assert_withdrawn(&p, "end-sessions").await;
    second.assert_withdrawn(&p, "end-sessions, the other application").await;
    assert_eq!(audited(&p, "user.end_sessions").await, 1);
    let (ok, _, stderr) = p.try_cli(&["user", "end-sessions", "nobody"], None).await;
    assert!(!ok && stderr.contains("not found"), "{stderr}");

    // --sessions-only ends the sessions as signing out does: an offline_access grant stays.
    let browser = Browser::new();
    let code = p.code_for(&browser, "alice", ALICE_PASSWORD, &[("scope", "openid offline_access")]).await;
    let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let offline = Grant { client: "client1", access: body["access_token"].as_str().unwrap().into(), refresh: body["refresh_token"].as_str().unwrap().into() };
    let out = p.cli(&["user", "end-sessions", "alice", "--sessions-only"], None).await;
    assert_eq!(out.trim(), "ended 1 sessions of alice, revoked 0 token families");
    assert!(!has_session(&p, &browser).await);
    offline.assert_standing(&p, "offline_access after --sessions-only").await;
    p.stop().await;
}

//! Rules about time, with the provider's clock moved by the test.

use jsonwebtoken::jwk::JwkSet;
use reqwest::StatusCode;

use centralauth_provider::domain::clock::Clock;
use centralauth_provider::domain::grants::authorization_code::CODE_LIFETIME_SECONDS;
use centralauth_provider::domain::session::LIFETIME_SECONDS as SESSION_LIFETIME_SECONDS;
use centralauth_provider::store;

use crate::support::*;

/// The refresh grace window `serve` runs with by default (seconds).
const GRACE: i64 = 10;

async fn exchange(p: &TestProvider, code: &str) -> (StatusCode, serde_json::Value) {
    p.token(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI)]).await
}

async fn refresh(p: &TestProvider, token: &str) -> (StatusCode, serde_json::Value) {
    p.token(&[("grant_type", "refresh_token"), ("refresh_token", token)]).await
}

#[tokio::test]
async fn an_authorization_code_works_until_its_sixty_seconds_are_over() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let young = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    p.advance(CODE_LIFETIME_SECONDS - 1);
    assert_eq!(exchange(&p, &young).await.0, StatusCode::OK, "one second before the end");
    let old = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    p.advance(CODE_LIFETIME_SECONDS);
    let (status, body) = exchange(&p, &old).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
}

#[tokio::test]
async fn an_expired_access_token_is_refused_and_refresh_brings_a_new_one() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--access-token-lifetime", "300"], None).await;
    let (access, refresh_token) = p.tokens_for_alice().await;
    p.advance(299);
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::OK, "one second before the end");
    p.advance(1);
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::UNAUTHORIZED);
    let response = http().get(p.provider("/user/")).bearer_auth(&access).send().await.unwrap();
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let introspected = http()
        .post(p.provider("/o/introspect/"))
        .basic_auth("client1", Some(SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(introspected.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"active": false}));
    let (status, body) = refresh(&p, &refresh_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p.user_endpoint(body["access_token"].as_str().unwrap()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_rotated_refresh_token_is_accepted_again_within_the_grace_window_and_is_a_replay_after_it() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let (_, first) = p.tokens_for_alice().await;
    let (status, rotated) = refresh(&p, &first).await;
    assert_eq!(status, StatusCode::OK);
    // A concurrent request of the same browser session, a moment later: still served.
    p.advance(GRACE - 1);
    let (status, again) = refresh(&p, &first).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    // After the window the old token is a replay: refused, and its whole family revoked.
    p.advance(2);
    let (status, body) = refresh(&p, &first).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    for latest in [&rotated, &again] {
        let (status, _) = refresh(&p, latest["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the family is revoked");
        assert_eq!(p.user_endpoint(latest["access_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_refresh_token_ends_with_its_lifetime() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--refresh-token-lifetime", "3600"], None).await;
    let (_, token) = p.tokens_for_alice().await;
    p.advance(3599);
    let (status, body) = refresh(&p, &token).await;
    assert_eq!(status, StatusCode::OK, "one second before the end");
    p.advance(3601);
    let (status, _) = refresh(&p, body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an hour later the rotated token has expired too");
}

#[tokio::test]
async fn a_provider_session_ends_with_its_lifetime() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let browser = Browser::new();
    p.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
    p.advance(SESSION_LIFETIME_SECONDS - 1);
    let response = browser.get(&p.authorize_url(&[])).await;
    assert!(query_param(&location(&response), "code").is_some(), "still signed in: {}", location(&response));
    p.advance(1);
    let response = browser.get(&p.authorize_url(&[])).await;
    assert!(location(&response).starts_with("/account/login/"), "signed out: {}", location(&response));
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_sign_in() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let browser = Browser::new();
    let first = sign_in(&p, &browser, &[("scope", "openid")]).await;
    let (_, first) = verify_id_token(&p, first["id_token"].as_str().unwrap()).await;
    p.advance(2);
    // oidcc-max-age-10000: the session is young enough, no sign-in page.
    let response = browser.get(&p.authorize_url(&[("scope", "openid"), ("max_age", "10000")])).await;
    assert!(query_param(&location(&response), "code").is_some(), "{}", location(&response));
    for query in [[("scope", "openid"), ("prompt", "login")], [("scope", "openid"), ("max_age", "1")]] {
        // Both after a sign-in two seconds ago (max_age=1 is then exceeded).
        p.advance(2);
        let response = browser.get(&p.authorize_url(&query)).await;
        assert!(location(&response).starts_with("/account/login/"), "{query:?} must ask for a new sign-in");
        let tokens = sign_in(&p, &browser, &query).await;
        let (_, claims) = verify_id_token(&p, tokens["id_token"].as_str().unwrap()).await;
        assert!(claims["auth_time"].as_i64().unwrap() > first["auth_time"].as_i64().unwrap(), "{query:?}: auth_time of the new sign-in");
    }
}

#[tokio::test]
async fn a_rotated_signing_key_stays_published_until_its_tokens_have_expired() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let before = sign_in(&p, &Browser::new(), &[("scope", "openid")]).await;
    let (old_kid, _) = verify_id_token(&p, before["id_token"].as_str().unwrap()).await;
    // The CLI runs on the system clock, which the test clock started from.
    let out = p.cli(&["keys", "rotate", "--retire-after", "3600"], None).await;
    assert!(out.contains("new RS256 key"), "{out}");
    let after = sign_in(&p, &Browser::new(), &[("scope", "openid")]).await;
    let (new_kid, _) = verify_id_token(&p, after["id_token"].as_str().unwrap()).await;
    assert_ne!(old_kid, new_kid, "new tokens use the new key at once, on a running server");
    p.advance(3500);
    verify_id_token(&p, before["id_token"].as_str().unwrap()).await;
    p.advance(200);
    let jwks: JwkSet = http().get(p.provider("/o/jwks/")).send().await.unwrap().json().await.unwrap();
    assert!(jwks.find(&old_kid).is_none(), "retired and expired: no longer published");
    assert!(jwks.find(&new_kid).is_some());
}

#[tokio::test]
async fn the_purge_removes_what_has_expired_and_keeps_what_has_not() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--refresh-token-lifetime", "3600"], None).await;
    let clock = p.clock.clone().unwrap();
    let store = store::connect(&p.db.url, clock.shared()).await.unwrap();
    let (_, old) = p.tokens_for_alice().await;
    p.advance(1800);
    let (_, live) = p.tokens_for_alice().await;
    p.advance(1801);
    // The first family has ended, the second lives for another 1,799 s.
    assert!(store.purge_expired(clock.now(), 500).await.unwrap() > 0);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM token_families").await, 1);
    assert_eq!(refresh(&p, &old).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = refresh(&p, &live).await;
    assert_eq!(status, StatusCode::OK, "what has not expired stays");
    // Used codes are remembered for a day after their expiry, so that a replay is still
    // recognised (and revokes what the code gave); then they go too.
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM authorization_codes").await, 2);
    p.advance(24 * 3600);
    store.purge_expired(clock.now(), 500).await.unwrap();
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM authorization_codes").await, 0);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM token_families").await, 0, "{body}");
}

#[tokio::test]
async fn a_retried_refresh_within_the_grace_window_answers_the_pair_its_first_try_got() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let (_, first) = p.tokens_for_alice().await;
    let (status, issued) = refresh(&p, &first).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    // The answer to the first try was lost; the client sends the same request again.
    p.advance(GRACE - 1);
    let (status, retried) = refresh(&p, &first).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["access_token"], issued["access_token"], "no further pair is minted");
    assert_eq!(retried["refresh_token"], issued["refresh_token"]);
    assert_eq!(retried["scope"], issued["scope"]);
    assert_eq!(retried["expires_in"].as_i64(), issued["expires_in"].as_i64().map(|e| e - (GRACE - 1)), "the same pair, older by the wait");
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM refresh_tokens").await, 2, "one token per rotation");
    // The pair works, and rotates on.
    assert_eq!(p.user_endpoint(issued["access_token"].as_str().unwrap()).await.0, StatusCode::OK);
    assert_eq!(refresh(&p, issued["refresh_token"].as_str().unwrap()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_replay_of_a_long_rotated_refresh_token_still_revokes_its_family() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    let clock = p.clock.clone().unwrap();
    let store = store::connect(&p.db.url, clock.shared()).await.unwrap();
    let (_, stolen) = p.tokens_for_alice().await;
    let (_, mut latest) = refresh(&p, &stolen).await;
    // The chain goes on for days, with the purge running all along.
    for _ in 0..3 {
        p.advance(86_400);
        store.purge_expired(clock.now(), 500).await.unwrap();
        let (status, next) = refresh(&p, latest["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        latest = next;
    }
    let (status, body) = refresh(&p, &stolen).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, _) = refresh(&p, latest["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the replay three days on revoked the family");
    assert_eq!(p.user_endpoint(latest["access_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refresh_chain_ends_at_its_maximum_age_however_often_it_was_rotated() {
    let p = TestProvider::in_process_with_scene(&["--refresh-chain-max-seconds", "7200"]).await;
    let (_, mut token) = p.tokens_for_alice().await;
    for _ in 0..2 {
        p.advance(3000);
        let (status, body) = refresh(&p, &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        token = body["refresh_token"].as_str().unwrap().to_string();
    }
    // 6,000 s in: the last token is young, but its chain ends at 7,200 s; introspection agrees.
    let introspect = || async {
        let response = http().post(p.provider("/o/introspect/")).basic_auth("client1", Some(SECRET)).form(&[("token", token.as_str())]);
        response.send().await.unwrap().json::<serde_json::Value>().await.unwrap()
    };
    assert_eq!(introspect().await["exp"].as_i64(), Some(p.clock.as_ref().unwrap().now() + 1200));
    p.advance(1200);
    let (status, body) = refresh(&p, &token).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(introspect().await["active"], false);
}

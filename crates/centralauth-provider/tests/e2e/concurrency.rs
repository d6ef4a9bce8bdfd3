//! Single use and rotation under concurrency, and several provider processes on one database.

use std::collections::HashSet;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn fifty_concurrent_exchanges_of_one_code_give_exactly_one_token() {
    let p = TestProvider::with_scene(&[]).await;
    let code = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];
    let results = join_all((0..50).map(|_| p.token(&form))).await;
    let winners: Vec<_> = results.iter().filter(|(s, _)| *s == StatusCode::OK).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!((*status, body), (StatusCode::BAD_REQUEST, &json!({"error": "invalid_grant"})));
    }
}

#[tokio::test]
async fn fifty_concurrent_refreshes_within_the_grace_window_all_get_the_one_pair_issued_for_the_token() {
    let p = TestProvider::with_scene(&["--refresh-grace-seconds", "60"]).await;
    let (_, refresh) = p.tokens_for_alice().await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let results = join_all((0..50).map(|_| p.token(&form))).await;
    assert!(results.iter().all(|(s, _)| *s == StatusCode::OK), "{results:?}");
    let pairs: HashSet<(String, String)> = results
        .iter()
        .map(|(_, b)| (b["access_token"].as_str().unwrap().to_string(), b["refresh_token"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(pairs.len(), 1, "every request got the same pair: {pairs:?}");
    let (access, next) = pairs.into_iter().next().unwrap();
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::OK);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM access_tokens WHERE revoked_at IS NULL").await, 1, "one live access token");
    // The pair rotates on; revoking its refresh token (RFC 7009) ends the family.
    let (status, rotated) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", next.as_str())]).await;
    assert_eq!(status, StatusCode::OK);
    let one = rotated["refresh_token"].as_str().unwrap();
    let status = http()
        .post(p.provider("/o/revoke_token/"))
        .basic_auth("client1", Some(SECRET))
        .form(&[("token", one)])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p.user_endpoint(rotated["access_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(p.token(&form).await.0, StatusCode::BAD_REQUEST, "the first token's family is over");
}

#[tokio::test]
async fn a_refresh_token_replayed_after_the_grace_window_revokes_the_whole_family() {
    let p = TestProvider::with_scene(&["--refresh-grace-seconds", "0"]).await;
    let (_, refresh) = p.tokens_for_alice().await;
    let (status, second) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, third) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", second["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(status, StatusCode::OK);

    let replay = p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(replay, (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})));
    assert_eq!(p.user_endpoint(third["access_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
    let latest = p.token(&[("grant_type", "refresh_token"), ("refresh_token", third["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(latest.0, StatusCode::BAD_REQUEST, "the newest refresh token of the family is revoked too");
}

#[tokio::test]
async fn two_provider_processes_on_one_database_share_sessions_codes_and_tokens() {
    let first = TestProvider::with_scene(&[]).await;
    let second = TestProvider::start_on(first.db.clone(), &[]).await;
    let browser = Browser::new();
    // Sign in and authorize on the first instance; the session cookie works on the second too.
    let code = first.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
    let (status, tokens) = second.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, refreshed) =
        second.token(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.user_endpoint(refreshed["access_token"].as_str().unwrap()).await.0, StatusCode::OK);
    // The replay is recognised by the other instance.
    let replay = first.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(replay.0, StatusCode::BAD_REQUEST);
    let response = browser.get(&second.authorize_url(&[])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with(REDIRECT_URI), "the session from the first instance is valid on the second");
}

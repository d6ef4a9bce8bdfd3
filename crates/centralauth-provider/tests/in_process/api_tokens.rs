//! API tokens in time: expiry and the last use, with the provider's clock moved by the test.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const DAY: i64 = 86_400;

/// A token of the first administrator that never expires, made at the command line.
async fn admin_token(p: &TestProvider) -> String {
    p.api_token("admin", &["--expires", "never"]).await
}

#[tokio::test]
async fn an_api_token_works_until_its_days_are_over_and_then_gets_invalid_token() {
    let p = TestProvider::in_process(&[]).await;
    let setup = admin_token(&p).await;
    let (day, _) = p.api_create_token(&setup, json!({"name": "a day", "expires_in_days": 1})).await;
    let (default, _) = p.api_create_token(&setup, json!({"name": "default"})).await;
    p.advance(DAY - 1);
    assert_eq!(p.api_get(&day, "/users").await.status(), StatusCode::OK, "one second before the end");
    p.advance(1);
    let response = p.api_get(&day, "/users").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_token");
    // Ninety days when nobody says otherwise; the token of no expiry lives on.
    p.advance(89 * DAY - 1);
    assert_eq!(p.api_get(&default, "/users").await.status(), StatusCode::OK);
    p.advance(1);
    assert_eq!(p.api_get(&default, "/users").await.status(), StatusCode::UNAUTHORIZED);
    p.advance(1000 * DAY);
    assert_eq!(p.api_get(&setup, "/users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_last_use_of_a_token_is_shown_and_written_at_most_once_a_minute() {
    let p = TestProvider::in_process(&[]).await;
    let setup = admin_token(&p).await;
    let (token, made) = p.api_create_token(&setup, json!({"name": "watched"})).await;
    assert!(made["last_used_at"].is_null(), "not used yet");
    let id = made["id"].as_i64().unwrap();
    let last_used = || async { p.db.scalar(&format!("SELECT COALESCE(last_used_at, 0) FROM api_tokens WHERE id = {id}")).await };
    assert_eq!(p.api_get(&token, "/applications").await.status(), StatusCode::OK);
    let first = last_used().await;
    assert!(first > 0);
    p.advance(59);
    assert_eq!(p.api_get(&token, "/applications").await.status(), StatusCode::OK);
    assert_eq!(last_used().await, first, "no write within the minute");
    p.advance(1);
    let listed: Value = p.api_get(&token, "/api-tokens").await.json().await.unwrap();
    let shown = listed.as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["last_used_at"].as_i64().unwrap();
    assert_eq!((last_used().await, shown), (first + 60, first + 60), "written again after a minute, and shown");
}

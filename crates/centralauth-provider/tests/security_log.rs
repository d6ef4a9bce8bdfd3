//! The security log, read from the provider in this process. A test binary of its own: a
//! tracing subscriber is process-wide (scoped ones miss events when callsites are first hit
//! by tests running beside them), so this binary holds only tests that read the log.

#[path = "e2e/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};

use support::*;

const DAY: i64 = 86_400;

/// A token of the first administrator that never expires, made at the command line.
async fn admin_token(p: &TestProvider) -> String {
    p.api_token("admin", &["--expires", "never"]).await
}

/// Collects what the tracing subscriber writes, for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn every_refused_api_token_is_logged_with_its_reason_and_address_but_never_its_value() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).with_max_level(tracing::Level::WARN).finish();
    tracing::subscriber::set_global_default(subscriber).expect("the one subscriber of this test binary");
    let p = TestProvider::in_process_with_scene(&[]).await;
    let setup = admin_token(&p).await;
    let (expiring, made) = p.api_create_token(&setup, json!({"name": "short", "expires_in_days": 1})).await;
    let expiring_id = made["id"].as_i64().unwrap();
    let (reader, _) = p.api_create_token(&setup, json!({"name": "reader", "read_only": true})).await;
    let response = http().get(p.url("/api/v1/users")).header("authorization", "Basic YWRtaW46YWRtaW4=").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let unknown = "this-is-no-token-of-ours";
    assert_eq!(p.api_get(unknown, "/users").await.status(), StatusCode::UNAUTHORIZED);
    let response = http().post(p.url("/api/v1/users")).bearer_auth(&reader).json(&json!({"username": "eve"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    p.advance(DAY);
    assert_eq!(p.api_get(&expiring, "/users").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(p.api_get(&setup, "/users").await.status(), StatusCode::OK, "an accepted token is not logged");

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let events: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["target"] == "centralauth::security" && e["fields"]["event"] == "api_token_rejected")
        .collect();
    let reasons: Vec<&str> = events.iter().map(|e| e["fields"]["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["malformed", "unknown", "read_only", "expired"], "{log}");
    assert!(events.iter().all(|e| e["fields"]["client"] == "127.0.0.1"), "{log}");
    assert_eq!(events[3]["fields"]["token_id"], expiring_id);
    assert!(events[1]["fields"].get("token_id").is_none(), "an unknown token has no id");
    for secret in [unknown, reader.as_str(), expiring.as_str(), "YWRtaW46YWRtaW4="] {
        assert!(!log.contains(secret), "the token's value stays out of the log");
    }
}

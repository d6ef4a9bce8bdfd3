//! What the database holds: digests instead of secrets, and everything surviving a restart.

use reqwest::StatusCode;
use sqlx::Connection;

use crate::support::*;

/// Every text and byte value in the database, as one searchable string per backend.
async fn database_dump(db: &TestDatabase) -> Vec<u8> {
    if backend_is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let tables: Vec<(String,)> = sqlx::query_as("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let mut dump = Vec::new();
        for (table,) in tables {
            let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT t::text FROM \"{table}\" t")).fetch_all(&mut conn).await.unwrap();
            for (row,) in rows {
                dump.extend_from_slice(row.as_bytes());
            }
        }
        dump
    } else {
        // The database file and its write-ahead log: whatever SQLite wrote anywhere.
        let path = db.url.trim_start_matches("sqlite://").to_string();
        let mut dump = std::fs::read(&path).unwrap_or_default();
        dump.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        dump
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_token_code_secret_or_session_id_is_stored_in_plain_text() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    let code = p.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
    let (_, tokens) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    let (_, refreshed) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]).await;
    let session = browser.client.get(p.url("/account/")).send().await.unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    let dump = database_dump(&p.db).await;
    assert!(contains(&dump, "alice"), "the dump sees the data at all");
    let secrets = [
        ("authorization code", code.as_str()),
        ("access token", tokens["access_token"].as_str().unwrap()),
        ("refresh token", tokens["refresh_token"].as_str().unwrap()),
        ("rotated access token", refreshed["access_token"].as_str().unwrap()),
        ("rotated refresh token", refreshed["refresh_token"].as_str().unwrap()),
        ("client secret", SECRET),
        ("password", ALICE_PASSWORD),
    ];
    for (what, value) in secrets {
        assert!(!contains(&dump, value), "the {what} is stored in plain text");
    }
}

#[tokio::test]
async fn state_survives_a_restart() {
    let p = TestProvider::with_scene(&[]).await;
    let (access, refresh) = p.tokens_for_alice().await;
    let db = p.db.clone();
    p.stop().await;
    let p = TestProvider::start_on(db, &[]).await;
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::OK);
    assert_eq!(p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await.0, StatusCode::OK);
}

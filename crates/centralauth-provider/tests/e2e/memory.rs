//! What a burst of sign-ins leaves behind in the server's memory.

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::support::*;

/// argon2id takes 19 MiB per hash (DESIGN §6). glibc used to keep that block on every thread
/// that had hashed once, so a few concurrent sign-ins left the provider 100 MiB larger for good.
#[tokio::test]
async fn sign_ins_give_their_password_hashing_memory_back() {
    let p = TestProvider::with_scene(&[]).await;
    let Some(before) = p.rss_kib() else { return };
    for _ in 0..3 {
        let sign_ins = (0..4).map(|_| async {
            let browser = Browser::new();
            p.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await
        });
        futures_util::future::join_all(sign_ins).await;
    }
    let after = p.rss_kib().expect("the server is running");
    assert!(after < before + 40 * 1024, "resident memory grew from {before} KiB to {after} KiB over 12 sign-ins");
}

/// argon2id takes 19 MiB per check: a hundred people signing in at the same moment queue for
/// the cores instead of each taking their 19 MiB at once (they took the provider to 917 MiB).
#[tokio::test]
async fn a_burst_of_sign_ins_queues_for_the_cores_within_bounded_memory() {
    let p = TestProvider::start_with(&["--trusted-proxy", "127.0.0.1/32"]).await;
    let hash = centralauth_provider::domain::password::hash_blocking("burst-password-1").unwrap();
    let rows: Vec<String> = (0..100).map(|i| format!("('burst{i}', 'burst{i}', '{hash}', 0)")).collect();
    p.db.execute(&format!("INSERT INTO users (username, username_key, password_hash, date_joined) VALUES {}", rows.join(", "))).await;
    if p.rss_kib().is_none() {
        return;
    }
    // Each from an address of its own, so that no sign-in limit is what holds them back.
    let p = &p;
    let forms = join_all((0..100).map(|i| async move {
        let (browser, address) = (Browser::new(), format!("10.1.0.{}", i + 1));
        let page = browser.client.get(p.url("/account/login/")).header("x-forwarded-for", &address).send().await.unwrap();
        let csrf = hidden_input(&page.text().await.unwrap(), "csrf_token");
        (browser, address, csrf, format!("burst{i}"))
    }))
    .await;
    let answers = join_all(forms.iter().map(|(browser, address, csrf, username)| async move {
        let form = [("csrf_token", csrf.as_str()), ("username", username.as_str()), ("password", "burst-password-1")];
        browser.client.post(p.url("/account/login/")).header("x-forwarded-for", address).form(&form).send().await.unwrap().status()
    }))
    .await;
    assert!(answers.iter().all(|s| *s == StatusCode::SEE_OTHER), "every sign-in succeeds, none is turned away: {answers:?}");
    let peak = p.peak_rss_kib().expect("the server is running");
    eprintln!("peak resident memory over 100 simultaneous sign-ins: {peak} KiB");
    assert!(peak < 200 * 1024, "peak resident memory {peak} KiB over 100 simultaneous sign-ins");
}

/// A `/perms/` body of `n` permissions with the credentials first, as the clients send it.
fn perms_body(client_id: &str, secret: &str, n: usize) -> Vec<u8> {
    let perms: Vec<_> = (0..n).map(|i| serde_json::json!({"app_label": "app", "codename": format!("perm_{i}"), "repr": "A permission"})).collect();
    serde_json::to_vec(&serde_json::json!({"client_id": client_id, "client_secret": secret, "perms": perms})).unwrap()
}

/// The credentials travel in the body, so the provider reads only its head (64 KiB) before it
/// knows the client: a large body with a wrong secret costs that, not its size in parsed JSON
/// (a 25 MB body took the server from 17 to 110 MB).
#[tokio::test]
async fn perms_reads_no_more_than_a_small_head_before_the_client_is_known() {
    let p = TestProvider::start().await;
    p.create_app("client1", &[]).await;
    let body = perms_body("client1", "not-the-secret", 200_000);
    assert!(body.len() > 10 * 1024 * 1024);
    // The high-water mark so far (the first start hashed the administrator's password).
    let Some(before) = p.peak_rss_kib() else { return };
    for _ in 0..3 {
        // Chunked, as a stream: no Content-Length to refuse it by.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(256 * 1024).map(|c| Ok(c.to_vec())).collect();
        let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        let response = http().post(p.provider("/perms/")).header("content-type", "application/json").body(stream).send().await;
        // The server may answer and close before the client has sent everything.
        if let Ok(response) = response {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
        }
    }
    let after = p.peak_rss_kib().expect("the server is running");
    eprintln!("peak resident memory before: {before} KiB; after three refused 13 MB bodies: {after} KiB");
    assert!(after < before + 16 * 1024, "peak memory went from {before} KiB to {after} KiB for refused bodies");
}

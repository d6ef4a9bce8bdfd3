//! Settings of the HTTP surface: the client address behind reverse proxies, as the per-address
//! sign-in limit sees it, and what an https public URL turns on.

use reqwest::StatusCode;

use centralauth_provider::domain::throttle;

use crate::support::*;

/// One failed sign-in (an unknown account, so no account's own budget is touched) sent with
/// `forwarded_for` as the `X-Forwarded-For` header.
async fn fail_from(p: &TestProvider, browser: &Browser, forwarded_for: &str, account: &str) -> StatusCode {
    let login = p.url("/account/login/");
    let page = browser.get(&login).await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("next", "/account/"), ("username", account), ("password", "wrong-password")];
    browser.client.post(&login).header("x-forwarded-for", forwarded_for).form(&form).send().await.unwrap().status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_limit_counts_the_address_the_proxy_saw_not_the_one_the_client_wrote() {
    // The test connects from 127.0.0.1, which plays the proxy.
    let p = TestProvider::in_process(&["--trusted-proxy", "127.0.0.1/32"]).await;
    let browser = Browser::new();
    // A client at 198.51.100.7 writes a new address of its own into the header every time;
    // the proxy appends the address it really came from.
    for i in 0..throttle::ADDRESS.free {
        let forged = format!("203.0.113.{}, 198.51.100.7", i % 250);
        assert_eq!(fail_from(&p, &browser, &forged, &format!("nobody{i}")).await, StatusCode::OK, "failure {i}");
    }
    assert_eq!(fail_from(&p, &browser, "192.0.2.1, 198.51.100.7", "nobody").await, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy has its own budget.
    assert_eq!(fail_from(&p, &browser, "198.51.100.8", "nobody").await, StatusCode::OK);
}

#[tokio::test]
async fn without_a_trusted_proxy_the_header_is_not_believed() {
    let p = TestProvider::in_process(&[]).await;
    let browser = Browser::new();
    for i in 0..throttle::ADDRESS.free {
        // Each request claims another address; all come from 127.0.0.1.
        let forged = format!("198.51.100.{}", i % 250);
        assert_eq!(fail_from(&p, &browser, &forged, &format!("nobody{i}")).await, StatusCode::OK, "failure {i}");
    }
    assert_eq!(fail_from(&p, &browser, "198.51.100.200", "nobody").await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_https_public_url_tells_browsers_to_use_https_only() {
    let plain = TestProvider::in_process(&[]).await;
    let page = Browser::new().get(&plain.url("/account/login/")).await;
    assert!(page.headers().get("strict-transport-security").is_none(), "not on a plain-http installation");
    let secure = TestProvider::in_process(&["--public-url", "https://id.example.test"]).await;
    for path in ["/account/login/", "/healthz", "/nope"] {
        let response = Browser::new().get(&secure.url(path)).await;
        assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000", "{path}");
    }
}

/// A raw connection to the provider, for requests no HTTP client would send.
async fn raw(p: &TestProvider) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(p.base.trim_start_matches("http://")).await.unwrap()
}

/// What the server sends until it closes the connection, or `None` if it is still open and
/// silent after `wait`.
async fn read_to_close(stream: &mut tokio::net::TcpStream, wait: std::time::Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_client_that_does_not_finish_its_headers_in_time_is_disconnected() {
    use tokio::io::AsyncWriteExt;
    let p = TestProvider::in_process(&["--header-timeout-seconds", "1"]).await;
    let mut slow = raw(&p).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
    assert!(read_to_close(&mut slow, std::time::Duration::from_secs(10)).await.is_some(), "closed after the header deadline");
    // A normal request on a fresh connection is unaffected.
    assert_eq!(http().get(p.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_whose_body_does_not_arrive_in_time_is_answered_408() {
    use tokio::io::AsyncWriteExt;
    let p = TestProvider::in_process(&["--request-timeout-seconds", "1"]).await;
    let mut slow = raw(&p).await;
    let head = "POST /account/login/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=a";
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), tokio::io::AsyncReadExt::read_exact(&mut slow, &mut head)).await;
    assert!(read.is_ok_and(|r| r.is_ok()), "answered within the deadline");
    assert_eq!(&head, b"HTTP/1.1 408");
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_is_free() {
    use tokio::io::AsyncWriteExt;
    let p = TestProvider::in_process(&["--max-connections", "2"]).await;
    let (first, _second) = (raw(&p).await, raw(&p).await);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut third = raw(&p).await;
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    assert_eq!(read_to_close(&mut third, std::time::Duration::from_millis(700)).await, None, "not served while two are open");
    drop(first);
    let answer = read_to_close(&mut third, std::time::Duration::from_secs(10)).await.expect("served once one closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

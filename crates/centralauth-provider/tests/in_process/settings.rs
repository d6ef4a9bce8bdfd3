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

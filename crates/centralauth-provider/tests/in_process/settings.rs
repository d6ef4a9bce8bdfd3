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

// The deadlines below are the server's own timers on the real clock (hyper's and tower's, not the
// provider's Clock): these tests wait about a second for them, which is the point.
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
    // The listen queue hands connections over in order: the third waits behind the first two.
    let (first, _second) = (raw(&p).await, raw(&p).await);
    let mut third = raw(&p).await;
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    // Waits a little on the real clock: nothing must arrive while the two are open.
    assert_eq!(read_to_close(&mut third, std::time::Duration::from_millis(700)).await, None, "not served while two are open");
    drop(first);
    let answer = read_to_close(&mut third, std::time::Duration::from_secs(10)).await.expect("served once one closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// The `Set-Cookie` header of `response` for cookie `name`, if any.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|header| header.starts_with(&format!("{name}=")))
}

/// The value of cookie `name` set by `response`.
fn cookie_value(response: &reqwest::Response, name: &str) -> String {
    let header = set_cookie(response, name).unwrap_or_else(|| panic!("no cookie {name}: {:?}", response.headers()));
    header[name.len() + 1..].split(';').next().unwrap().to_string()
}

/// Signs in without a cookie store, naming cookies with `prefix` (`""` or `"__Host-"`); returns
/// the sign-in answer and the session id.
async fn sign_in_raw(p: &TestProvider, prefix: &str, username: &str, password: &str) -> (reqwest::Response, String) {
    let page = http().get(p.url("/account/login/")).send().await.unwrap();
    let pre_session = cookie_value(&page, &format!("{prefix}centralauth_csrf"));
    let csrf = hidden_input(&page.text().await.unwrap(), "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("next", "/account/"), ("username", username), ("password", password)];
    let cookie = format!("{prefix}centralauth_csrf={pre_session}");
    let response = http().post(p.url("/account/login/")).header("cookie", cookie).form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {username}");
    let session = cookie_value(&response, &format!("{prefix}centralauth_session"));
    (response, session)
}

/// A page's CSRF token, fetched with `cookie`.
async fn form_token(p: &TestProvider, path: &str, cookie: &str) -> String {
    let page = http().get(p.url(path)).header("cookie", cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    hidden_input(&page.text().await.unwrap(), "csrf_token")
}

#[tokio::test]
async fn over_https_every_cookie_has_the_host_prefix_and_plain_named_cookies_are_not_read() {
    let p = TestProvider::in_process(&["--public-url", "https://id.example.test"]).await;
    let host_cookie = |header: Option<String>, name: &str| {
        let header = header.unwrap_or_else(|| panic!("no __Host-{name}"));
        let lower = header.to_ascii_lowercase();
        assert!(lower.contains("; secure") && lower.contains("; path=/") && !lower.contains("domain="), "{header}");
        assert!(lower.contains("; httponly") || lower.contains("max-age=0"), "set HttpOnly, or a removal: {header}");
    };
    let page = http().get(p.url("/account/login/")).send().await.unwrap();
    host_cookie(set_cookie(&page, "__Host-centralauth_csrf"), "centralauth_csrf");
    let (response, session) = sign_in_raw(&p, "__Host-", "admin", p.admin_password.as_deref().unwrap()).await;
    host_cookie(set_cookie(&response, "__Host-centralauth_session"), "centralauth_session");
    let cookie = format!("__Host-centralauth_session={session}");
    // The one-time secret cookie of the console (a new API token shown once).
    let csrf = form_token(&p, "/console/account/tokens/", &cookie).await;
    let created =
        http().post(p.url("/console/account/tokens/")).header("cookie", &cookie).form(&[("csrf_token", csrf.as_str()), ("name", "ci")]).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    host_cookie(set_cookie(&created, "__Host-centralauth_token_once"), "centralauth_token_once");
    let once = cookie_value(&created, "__Host-centralauth_token_once");
    let shown = http()
        .get(p.url(&location(&created)))
        .header("cookie", format!("{cookie}; __Host-centralauth_token_once={once}"))
        .send()
        .await
        .unwrap();
    // Removed as it is shown, with Secure (a browser ignores a `__Host-` removal without it).
    host_cookie(set_cookie(&shown, "__Host-centralauth_token_once"), "centralauth_token_once");
    assert!(shown.text().await.unwrap().contains(once.rsplit('!').next().unwrap()), "the token is shown");
    // A cookie under the plain name, as a sibling subdomain or plain http could plant, is no session.
    let planted = http().get(p.url("/console/")).header("cookie", format!("centralauth_session={session}")).send().await.unwrap();
    assert!(location(&planted).starts_with("/account/login/"), "{}", location(&planted));
}

async fn sign_out(p: &TestProvider, cookie: String, token: String) -> StatusCode {
    http().post(p.url("/account/logout/")).header("cookie", cookie).form(&[("csrf_token", token)]).send().await.unwrap().status()
}

#[tokio::test]
async fn a_csrf_token_counts_only_for_the_session_it_was_made_for() {
    let p = TestProvider::in_process_with_scene(&[]).await;
    // What an attacker can hold: a pre-session cookie with its token, and their own session's token.
    let page = http().get(p.url("/account/login/")).send().await.unwrap();
    let planted = cookie_value(&page, "centralauth_csrf");
    let planted_token = hidden_input(&page.text().await.unwrap(), "csrf_token");
    let (_, bob) = sign_in_raw(&p, "", "bob", "bob-password-1").await;
    let bobs_token = form_token(&p, "/account/", &format!("centralauth_session={bob}")).await;
    let (_, alice) = sign_in_raw(&p, "", "alice", ALICE_PASSWORD).await;
    let alice_cookie = format!("centralauth_session={alice}");
    // The pre-session cookie planted beside alice's session (a sibling subdomain can set it on
    // plain http), with the token that goes with it: refused.
    assert_eq!(sign_out(&p, format!("{alice_cookie}; centralauth_csrf={planted}"), planted_token).await, StatusCode::FORBIDDEN);
    // Bob's token in alice's browser: refused.
    assert_eq!(sign_out(&p, alice_cookie.clone(), bobs_token).await, StatusCode::FORBIDDEN);
    let still = http().get(p.url("/account/")).header("cookie", &alice_cookie).send().await.unwrap();
    assert_eq!(still.status(), StatusCode::OK, "alice is still signed in");
    // Her own page's token works.
    let token = form_token(&p, "/account/", &alice_cookie).await;
    assert_eq!(sign_out(&p, alice_cookie.clone(), token).await, StatusCode::SEE_OTHER);
}

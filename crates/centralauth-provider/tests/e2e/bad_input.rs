//! Bad input on every endpoint gets the standard error and status: RFC 6749 JSON on OAuth
//! endpoints, JSON on the API, a readable page in the browser. Never a 500, never a redirect
//! to an unregistered URI, and nothing half-written.

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::support::*;

/// Posts raw bytes with a content type; returns status and JSON body (or Null).
async fn post_raw(url: &str, content_type: &str, body: Vec<u8>, basic: bool) -> (StatusCode, Value) {
    let mut request = http().post(url).header(CONTENT_TYPE, content_type).body(body);
    if basic {
        request = request.basic_auth("client1", Some(SECRET));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn error(code: &str) -> Value {
    json!({ "error": code })
}

#[tokio::test]
async fn token_endpoint_answers_every_bad_request_with_rfc6749_json() {
    let p = TestProvider::with_scene(&[]).await;
    let url = p.provider("/o/token/");
    let form = "application/x-www-form-urlencoded";
    let creds = "&client_id=client1&client_secret=client1-secret-0123456789";
    let cases: Vec<(&str, String, &str, StatusCode, &str)> = vec![
        ("empty body", String::new(), form, StatusCode::BAD_REQUEST, "invalid_request"),
        ("missing grant_type", creds[1..].to_string(), form, StatusCode::BAD_REQUEST, "invalid_request"),
        ("unknown grant_type", format!("grant_type=bogus{creds}"), form, StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        (
            "password grant",
            format!("grant_type=password&username=alice&password=x{creds}"),
            form,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        ("client_credentials grant", format!("grant_type=client_credentials{creds}"), form, StatusCode::BAD_REQUEST, "unauthorized_client"),
        ("JSON body", r#"{"grant_type":"refresh_token"}"#.into(), "application/json", StatusCode::BAD_REQUEST, "invalid_request"),
        ("no client authentication", "grant_type=refresh_token&refresh_token=x".into(), form, StatusCode::UNAUTHORIZED, "invalid_client"),
        (
            "unknown client",
            "grant_type=refresh_token&refresh_token=x&client_id=nope&client_secret=x".into(),
            form,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "wrong secret",
            "grant_type=refresh_token&refresh_token=x&client_id=client1&client_secret=wrong".into(),
            form,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        ("missing code", format!("grant_type=authorization_code{creds}"), form, StatusCode::BAD_REQUEST, "invalid_request"),
        (
            "garbage code",
            format!("grant_type=authorization_code&code=not-a-code&redirect_uri=x{creds}"),
            form,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        ("missing refresh_token", format!("grant_type=refresh_token{creds}"), form, StatusCode::BAD_REQUEST, "invalid_request"),
        (
            "garbage refresh_token",
            format!("grant_type=refresh_token&refresh_token=garbage{creds}"),
            form,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "repeated parameter",
            format!("grant_type=refresh_token&refresh_token=a&refresh_token=b{creds}"),
            form,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "unknown scope at refresh",
            format!("grant_type=refresh_token&refresh_token=a&scope=admin{creds}"),
            form,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "odd unicode code",
            format!("grant_type=authorization_code&code=%E2%80%AEabc%00&redirect_uri=x{creds}"),
            form,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
    ];
    for (what, body, content_type, status, code) in cases {
        let (got_status, got_body) = post_raw(&url, content_type, body.into_bytes(), false).await;
        assert_eq!((got_status, got_body["error"].clone()), (status, json!(code)), "{what}");
    }
    let (status, body) = post_raw(&url, form, b"grant_type=refresh_token&refresh_token=%ff%fe".to_vec(), true).await;
    assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_request")), "non-UTF-8 bytes");
    let huge = format!("grant_type=refresh_token&refresh_token={}", "a".repeat(200_000));
    let (status, body) = post_raw(&url, form, huge.into_bytes(), true).await;
    assert_eq!((status, body["error"].clone()), (StatusCode::PAYLOAD_TOO_LARGE, json!("invalid_request")), "oversized body");

    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let wrong_secret = http().post(&url).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "x"),
        ("client_id", "client1"),
        ("client_secret", "w"),
    ]);
    let response = wrong_secret.send().await.unwrap();
    assert!(response.headers().get("www-authenticate").is_some(), "a 401 names the scheme");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn a_code_of_another_client_is_an_invalid_grant_and_stays_usable_by_its_own() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("client2", &[]).await;
    let code = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    let (status, body) = p
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", "client2"),
            ("client_secret", SECRET),
        ])
        .await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, error("invalid_grant")));
    let (status, _) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn authorize_never_redirects_to_an_unregistered_uri_and_reports_other_errors_to_the_client() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    // Signed in first, so that the checks after the session are reached too.
    let _ = p.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
    let fatal: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("unknown client", vec![("client_id", "no-such-client")]),
        ("unregistered redirect", vec![("redirect_uri", "http://127.0.0.1:9999/evil/")]),
        ("redirect with other path", vec![("redirect_uri", "http://127.0.0.1:9000/centralauth/login/callback/../../evil")]),
        ("redirect with fragment", vec![("redirect_uri", "http://127.0.0.1:9000/centralauth/login/callback/#x")]),
        ("redirect with userinfo", vec![("redirect_uri", "http://evil@127.0.0.1:9000/centralauth/login/callback/")]),
    ];
    for (what, query) in fatal {
        let response = browser.get(&p.authorize_url(&query)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        assert!(response.headers().get("location").is_none(), "{what}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{what}");
    }
    let repeated = format!("{}&client_id=client1", p.authorize_url(&[]));
    assert_eq!(browser.get(&repeated).await.status(), StatusCode::BAD_REQUEST, "repeated client_id");

    let redirected: Vec<(&str, Vec<(&str, &str)>, &str)> = vec![
        ("response_type token", vec![("response_type", "token")], "unauthorized_client"),
        ("response_type bogus", vec![("response_type", "bogus")], "unsupported_response_type"),
        ("unknown scope", vec![("scope", "nonexistent")], "invalid_scope"),
        (
            "plain PKCE",
            vec![("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "plain")],
            "invalid_request",
        ),
        ("short challenge", vec![("code_challenge", "abc"), ("code_challenge_method", "S256")], "invalid_request"),
    ];
    for (what, query, code) in redirected {
        let response = browser.get(&p.authorize_url(&query)).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{what}");
        let to = location(&response);
        assert!(to.starts_with(REDIRECT_URI), "{what}: {to}");
        assert_eq!(query_param(&to, "error").as_deref(), Some(code), "{what}");
        assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"), "{what}");
    }
    let no_response_type = p.authorize_url(&[]).replace("response_type=code&", "");
    let to = location(&browser.get(&no_response_type).await);
    assert_eq!(query_param(&to, "error_description").as_deref(), Some("Missing response_type parameter."));
    let non_utf8 = format!("{}&x=%ff", p.authorize_url(&[]));
    assert_eq!(browser.get(&non_utf8).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn user_endpoint_refuses_missing_malformed_and_foreign_tokens() {
    let p = TestProvider::with_scene(&[]).await;
    let url = p.provider("/user/");
    for (what, header) in
        [("none", None), ("scheme only", Some("Bearer")), ("garbage", Some("Bearer invalid")), ("basic", Some("Basic YTpi"))]
    {
        let mut request = http().get(&url);
        if let Some(h) = header {
            request = request.header(AUTHORIZATION, h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{what}");
    }
    let (access, _) = p.tokens_for_alice().await;
    let lower = http().get(&url).header(AUTHORIZATION, format!("bearer {access}")).send().await.unwrap();
    assert_eq!(lower.status(), StatusCode::OK, "the scheme is case-insensitive (the original answered 500)");
    let in_query = http().get(format!("{url}?access_token={access}")).send().await.unwrap();
    assert_eq!(in_query.status(), StatusCode::UNAUTHORIZED, "tokens in URLs are not accepted");
    let post = http().post(&url).bearer_auth(&access).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn perms_takes_a_long_body_only_from_a_client_known_by_its_head() {
    let p = TestProvider::with_scene(&[]).await;
    let url = p.provider("/perms/");
    let entry = |i: usize| format!(r#"{{"app_label":"app","codename":"perm_{i}","repr":"A permission"}}"#);
    let list: Vec<String> = (0..3000).map(entry).collect();
    let list = list.join(",");
    assert!(list.len() > 64 * 1024);
    let post = |body: String| {
        let url = url.clone();
        async move {
            let response = http().post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    // The list before the credentials: over 64 KiB, the client must be known first.
    let (status, body) = post(format!(r#"{{"perms":[{list}],"client_id":"client1","client_secret":"{SECRET}"}}"#)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("must begin with client_id and client_secret"));
    // Credentials first, in either order: read in full and synced.
    let (status, body) = post(format!(r#"{{"client_secret":"{SECRET}","client_id":"client1","perms":[{list}]}}"#)).await;
    assert_eq!((status, body["created"].clone()), (StatusCode::OK, json!(3000)), "{body}");
    let (status, _) = post(format!(r#"{{"client_id":"client1","client_secret":"wrong","perms":[{list}]}}"#)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Over the limit for anyone: refused by its declared length, before it is read.
    let huge = "x".repeat(17 * 1024 * 1024);
    let response = http().post(&url).header("content-type", "application/json").body(huge).send().await;
    if let Ok(response) = response {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM permissions").await, 3000, "only the authenticated sync changed anything");
}

#[tokio::test]
async fn perms_refuses_bad_bodies_and_credentials_and_changes_nothing() {
    let p = TestProvider::with_scene(&[]).await;
    let url = p.provider("/perms/");
    let json_type = "application/json";
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode)> = vec![
        ("zero bytes", vec![], json_type, StatusCode::BAD_REQUEST),
        ("not JSON", b"client_id=client1".to_vec(), "application/x-www-form-urlencoded", StatusCode::BAD_REQUEST),
        ("a JSON list", b"[]".to_vec(), json_type, StatusCode::BAD_REQUEST),
        ("truncated JSON", b"{\"client_id\": \"client1\", \"perms\": [".to_vec(), json_type, StatusCode::BAD_REQUEST),
        ("non-UTF-8", b"{\"client_id\": \"\xff\"}".to_vec(), json_type, StatusCode::BAD_REQUEST),
        ("empty object", b"{}".to_vec(), json_type, StatusCode::FORBIDDEN),
        ("wrong secret", br#"{"client_id":"client1","client_secret":"wrong","perms":[]}"#.to_vec(), json_type, StatusCode::FORBIDDEN),
        ("unknown client", br#"{"client_id":"nope","client_secret":"x","perms":[]}"#.to_vec(), json_type, StatusCode::FORBIDDEN),
        ("no perms key", format!(r#"{{"client_id":"client1","client_secret":"{SECRET}"}}"#).into_bytes(), json_type, StatusCode::BAD_REQUEST),
        (
            "perm without repr",
            format!(r#"{{"client_id":"client1","client_secret":"{SECRET}","perms":[{{"app_label":"a","codename":"b"}}]}}"#).into_bytes(),
            json_type,
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty codename",
            format!(r#"{{"client_id":"client1","client_secret":"{SECRET}","perms":[{{"app_label":"a","codename":"","repr":"x"}}]}}"#).into_bytes(),
            json_type,
            StatusCode::BAD_REQUEST,
        ),
        (
            "second entry invalid",
            format!(r#"{{"client_id":"client1","client_secret":"{SECRET}","perms":[{{"app_label":"a","codename":"ok","repr":"x"}},{{"app_label":"a b","codename":"c","repr":"x"}}]}}"#)
                .into_bytes(),
            json_type,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, body, content_type, status) in cases {
        let (got, _) = post_raw(&url, content_type, body, false).await;
        assert_eq!(got, status, "{what}");
    }
    let huge = format!(r#"{{"client_id":"client1","client_secret":"{SECRET}","perms":[],"pad":"{}"}}"#, "a".repeat(33 * 1024 * 1024));
    // Refused by its Content-Length before it is read; the client may see the answer or, still
    // sending, the closed connection.
    if let Ok(response) = http().post(&url).header(CONTENT_TYPE, json_type).body(huge).send().await {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(http().get(&url).send().await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
    // Nothing was written: the scene's two permissions and alice's grants are intact.
    let perms = p.cli(&["app", "perms", "client1"], None).await;
    assert_eq!(perms.lines().count(), 2, "{perms}");
    let shown: Value = serde_json::from_str(&p.cli(&["member", "show", "client1", "alice"], None).await).unwrap();
    assert_eq!(shown["permissions"], json!([["auth", "add_group"], ["auth", "view_group"]]));
}

#[tokio::test]
async fn revoke_and_introspect_refuse_bad_credentials_and_missing_tokens() {
    let p = TestProvider::with_scene(&[]).await;
    for endpoint in ["/o/revoke_token/", "/o/introspect/"] {
        let url = p.provider(endpoint);
        let form = "application/x-www-form-urlencoded";
        let (status, body) = post_raw(&url, form, b"token=x&client_id=client1&client_secret=wrong".to_vec(), false).await;
        assert_eq!((status, body), (StatusCode::UNAUTHORIZED, error("invalid_client")), "{endpoint} wrong secret");
        let (status, _) = post_raw(&url, form, b"token=x".to_vec(), false).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{endpoint} no authentication");
        let (status, body) = post_raw(&url, form, b"".to_vec(), true).await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, json!({"error": "invalid_request", "error_description": "Missing token parameter."})),
            "{endpoint} missing token"
        );
        let (status, _) = post_raw(&url, form, b"token=a&token=b".to_vec(), true).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{endpoint} repeated token");
    }
}

#[tokio::test]
async fn sign_in_gives_one_message_for_unknown_user_and_wrong_password_and_is_rate_limited() {
    // The clock stands still: the first wait is one second in whole seconds, which the wall
    // clock could cross between the tenth failure and the next attempt.
    let p = TestProvider::in_process_with_scene(&[]).await;
    let browser = Browser::new();
    let login = p.url("/account/login/");
    let attempt = |username: &'static str, password: &'static str| {
        let (browser, login) = (&browser, login.clone());
        async move {
            let page = browser.get(&login).await.text().await.unwrap();
            let csrf = hidden_input(&page, "csrf_token");
            let response = browser
                .post_form(&login, &[("csrf_token", &csrf), ("next", "/account/"), ("username", username), ("password", password)])
                .await;
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status_unknown, unknown) = attempt("nobody", "whatever-password").await;
    let (status_wrong, wrong) = attempt("alice", "wrong-password").await;
    assert_eq!((status_unknown, status_wrong), (StatusCode::OK, StatusCode::OK));
    let message = "Please enter a correct username and password.";
    assert!(unknown.contains(message) && wrong.contains(message));
    for _ in 0..9 {
        attempt("alice", "wrong-password").await;
    }
    let (status, page) = attempt("alice", ALICE_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the right password is refused while the account is throttled");
    assert!(page.contains("Too many failed sign-in attempts"));
    let (status, _) = attempt("bob", "bob-password-1").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "other accounts from the same address still work");
}

#[tokio::test]
async fn sign_in_requires_the_csrf_token_and_refuses_off_site_next() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    let login = p.url("/account/login/");
    let page = browser.get(&login).await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token");
    for (what, token) in [("missing", ""), ("wrong", "x".repeat(43).as_str())] {
        let response = browser.post_form(&login, &[("csrf_token", token), ("username", "alice"), ("password", ALICE_PASSWORD)]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what} CSRF token");
        assert!(response.text().await.unwrap().contains("form has expired"));
    }
    let fresh = Browser::new();
    let response = fresh.post_form(&login, &[("csrf_token", &csrf), ("username", "alice"), ("password", ALICE_PASSWORD)]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "a token without its cookie");

    for next in ["https://evil.example/", "//evil.example/", "/\\evil.example"] {
        let response =
            browser.post_form(&login, &[("csrf_token", &csrf), ("next", next), ("username", "alice"), ("password", ALICE_PASSWORD)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/account/", "next={next}");
    }
    let german = browser.client.get(&login).header("accept-language", "de-DE,de;q=0.9").send().await.unwrap();
    let headers = german.headers().clone();
    assert!(german.text().await.unwrap().contains("Anmelden"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn unknown_pages_and_oversized_forms_get_readable_pages() {
    let p = TestProvider::start().await;
    let response = http().get(p.url("/no/such/page")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("There is no page at this address."));
    let huge = format!("username={}", "a".repeat(100_000));
    let response =
        http().post(p.url("/account/login/")).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(huge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn the_cli_refuses_bad_input_with_a_clear_message_and_writes_nothing() {
    let p = TestProvider::with_scene(&[]).await;
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (vec!["user", "create", "alice", "--password-stdin"], Some("another-password"), "already exists"),
        (vec!["user", "create", "ALICE", "--password-stdin"], Some("another-password"), "already exists"),
        (vec!["user", "create", "carol", "--password-stdin"], Some("short"), "at least 8"),
        (vec!["user", "create", "a b"], None, "username"),
        (vec!["app", "create", "X", "--redirect-uri", "not a url"], None, "redirect_uri"),
        (vec!["app", "create", "X", "--client-id", "client1", "--redirect-uri", "https://a.example/cb"], None, "already exists"),
        (vec!["member", "add", "client1", "bob", "--perm", "auth.nonexistent"], None, "not registered"),
        (vec!["member", "add", "client1", "bob", "--group", "nope"], None, "does not exist"),
        (vec!["member", "add", "client1", "alice"], None, "already exists"),
        (vec!["group", "create", "client1", "viewers"], None, "already exists"),
        (vec!["member", "update", "client1", "bob", "--active", "false"], None, "not found"),
    ];
    for (args, stdin, message) in cases {
        let (ok, _, stderr) = p.try_cli(&args, stdin).await;
        assert!(!ok, "{args:?} should fail");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let (ok, _, _) = p.try_cli(&["member", "show", "client1", "bob"], None).await;
    assert!(!ok, "no membership was created for bob");
}

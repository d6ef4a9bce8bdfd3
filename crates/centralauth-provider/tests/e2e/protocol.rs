//! The protocol's strict readings (issue #14): no request parameter twice (RFC 6749 §3.1),
//! redirect URIs compared as strings and never after URL normalisation (RFC 9700 §4.1.3), the
//! error codes RFC 6749 §5.2 names, and one client authentication method per request (§2.3).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const FORM: &str = "application/x-www-form-urlencoded";

/// A signed-in browser (alice), so that authorization requests reach every check.
async fn signed_in(p: &TestProvider) -> Browser {
    let browser = Browser::new();
    let _ = p.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
    browser
}

/// An error page: 400, HTML, and no redirect anywhere.
fn assert_error_page(response: &reqwest::Response, what: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    assert!(response.headers().get("location").is_none(), "{what}: redirected to {}", location(response));
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{what}");
}

/// A raw form POST, optionally with HTTP Basic for `basic`: status and JSON body (or Null).
async fn post(url: &str, body: &str, basic: Option<(&str, &str)>) -> (StatusCode, Value) {
    let mut request = http().post(url).header("content-type", FORM).body(body.to_string());
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_repeated_parameter_in_an_authorization_request_never_gets_a_code() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = signed_in(&p).await;
    let base = p.authorize_url(&[]);
    // Where the client and its redirect URI are known: invalid_request to the client, no code.
    let repeats = [
        "state=other",
        "response_type=code",
        "scope=read&scope=read",
        "scope=&scope=read",
        "nonce=n1&nonce=n2",
        "prompt=login&prompt=none",
        "max_age=60&max_age=0",
        "login_hint=alice&login_hint=bob",
        "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "ui_locales=de&ui_locales=fr",
        "custom=1&custom=2",
    ];
    for extra in repeats {
        let response = browser.get(&format!("{base}&{extra}")).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{extra}");
        let to = location(&response);
        assert!(to.starts_with(REDIRECT_URI), "{extra}: {to}");
        assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_request"), "{extra}: {to}");
        assert_eq!(query_param(&to, "code"), None, "{extra}: {to}");
        let state = query_param(&to, "state");
        if extra.starts_with("state=") {
            assert_eq!(state, None, "no one state to send back: {to}");
        } else {
            assert_eq!(state.as_deref(), Some("xyz"), "{extra}: {to}");
        }
    }
    // Before the sign-in page too: a browser without a session is not sent to sign in.
    let response = Browser::new().get(&format!("{base}&state=other")).await;
    assert_eq!(query_param(&location(&response), "error").as_deref(), Some("invalid_request"), "{}", location(&response));
    // By POST (OpenID Connect Core §3.1.2.1) as by GET.
    let form = [("response_type", "code"), ("client_id", "client1"), ("redirect_uri", REDIRECT_URI), ("state", "a"), ("state", "b")];
    let response = browser.post_form(&p.provider("/o/authorize/"), &form).await;
    assert_eq!(query_param(&location(&response), "error").as_deref(), Some("invalid_request"), "POST: {}", location(&response));

    // A repeated client_id or redirect_uri, even with the same value: an error page, never a
    // redirect, since neither copy can be trusted as the place to send the error.
    for extra in [
        "client_id=client1".to_string(),
        "client_id=".to_string(),
        format!("redirect_uri={}", url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()),
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fevil%2F".to_string(),
    ] {
        assert_error_page(&browser.get(&format!("{base}&{extra}")).await, &extra);
    }
    // And the same request without the repeat still gets its code.
    let response = browser.get(&base).await;
    assert!(query_param(&location(&response), "code").is_some(), "{}", location(&response));
}

#[tokio::test]
async fn redirect_uris_are_compared_as_strings_not_after_url_normalisation() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = signed_in(&p).await;
    // Each is the registered URI (http://127.0.0.1:9000/centralauth/login/callback/) to a URL
    // parser, and none is its string.
    let variants = [
        "http://2130706433:9000/centralauth/login/callback/",
        "http://0x7f.1:9000/centralauth/login/callback/",
        "http://127.1:9000/centralauth/login/callback/",
        "http://0177.0.0.1:9000/centralauth/login/callback/",
        "http://127.0.0.1:9000/centralauth/login/callback/\u{1}",
        "http://127.0.0.1:9000/centralauth/login/callback/\t",
        "http://127.0.0.1:9000/centralauth/login/callback/ ",
        " http://127.0.0.1:9000/centralauth/login/callback/",
        "HTTP://127.0.0.1:9000/centralauth/login/callback/",
        "http://127.0.0.1:09000/centralauth/login/callback/",
        "http://127.0.0.1:9000/centralauth/login/%63allback/",
        "http://127.0.0.1:9000/centralauth/./login/callback/",
        "http://127.0.0.1:9000/centralauth/x/../login/callback/",
        "http://127.0.0.1:9000\\centralauth\\login\\callback\\",
        "http://127.0.0.1:9000/centralauth/login/callback/?next=/x\u{1}",
    ];
    for policy in ["allow-extra-query", "exact"] {
        p.cli(&["app", "update", "client1", "--redirect-uri-match", policy], None).await;
        for variant in variants {
            let response = browser.get(&p.authorize_url(&[("redirect_uri", variant)])).await;
            assert_error_page(&response, &format!("{policy}: {variant:?}"));
        }
    }
    // The documented tolerance stays: the registered string plus extra query parameters, for the
    // django-centralauth client's `?next=`.
    p.cli(&["app", "update", "client1", "--redirect-uri-match", "allow-extra-query"], None).await;
    let with_next = format!("{REDIRECT_URI}?next=%2Fwhoami%2F");
    let response = browser.get(&p.authorize_url(&[("redirect_uri", &with_next)])).await;
    let to = location(&response);
    assert!(to.starts_with(&with_next) && query_param(&to, "code").is_some(), "{to}");
}

#[tokio::test]
async fn a_token_request_whose_redirect_uri_differs_or_is_missing_is_an_invalid_grant() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = signed_in(&p).await;
    let mismatch = json!({"error": "invalid_grant", "error_description": "Mismatching redirect URI."});
    for (what, redirect_uri) in [
        ("another URI", Some("http://127.0.0.1:9999/evil/")),
        ("the same URI decoded", Some("http://127.0.0.1:9000/centralauth/login/callback/?next=/x/")),
        ("the registered one, where the request had ?next=", Some(REDIRECT_URI)),
        ("none", None),
    ] {
        let sent = format!("{REDIRECT_URI}?next=%2Fx%2F");
        let code = p.code_for(&browser, "alice", ALICE_PASSWORD, &[("redirect_uri", &sent)]).await;
        let mut form = vec![("grant_type", "authorization_code"), ("code", code.as_str())];
        if let Some(uri) = redirect_uri {
            form.push(("redirect_uri", uri));
        }
        let (status, body) = p.token(&form).await;
        assert_eq!((status, &body), (StatusCode::BAD_REQUEST, &mismatch), "{what}");
        // The failed attempt used the code up: no second guess.
        let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &sent)]).await;
        assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{what}: {body}");
    }
}

#[tokio::test]
async fn one_client_authentication_method_and_one_identity_per_request() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("client2", &[]).await;
    let (access, refresh) = p.tokens_for_alice().await;
    let basic = Some(("client1", SECRET));
    let two_methods = format!("client_secret={SECRET}");
    let token = p.provider("/o/token/");
    let refresh_body = format!("grant_type=refresh_token&refresh_token={refresh}");
    for (what, extra) in [
        ("Basic and client_secret in the body", two_methods.clone()),
        ("Basic and the body's full credentials", format!("client_id=client1&{two_methods}")),
        ("Basic for client1, client_id client2", "client_id=client2".to_string()),
        ("Basic for client1, client2's credentials", format!("client_id=client2&{two_methods}")),
    ] {
        let (status, body) = post(&token, &format!("{refresh_body}&{extra}"), basic).await;
        assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "invalid_request"), "token, {what}: {body}");
        for endpoint in ["/o/revoke_token/", "/o/introspect/"] {
            let (status, body) = post(&p.provider(endpoint), &format!("token={access}&{extra}"), basic).await;
            assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "invalid_request"), "{endpoint}, {what}: {body}");
        }
        let response = http()
            .get(p.provider(&format!("/o/introspect/?token={access}&{extra}")))
            .basic_auth("client1", Some(SECRET))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "introspection by GET, {what}");
    }
    // None of those refusals touched the tokens: Basic with the same client_id in the body is
    // one identity, and works.
    let (status, body) = post(&p.provider("/o/introspect/"), &format!("token={access}&client_id=client1"), basic).await;
    assert_eq!((status, body["active"].clone()), (StatusCode::OK, json!(true)), "{body}");
    let (status, body) = post(&token, &format!("{refresh_body}&client_id=client1"), basic).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // /perms/ takes its credentials from the JSON body; HTTP Basic beside them is refused, and
    // so is a member sent twice.
    let perms = p.provider("/perms/");
    let body = json!({"client_id": "client1", "client_secret": SECRET, "perms": []}).to_string();
    let response =
        http().post(&perms).basic_auth("client2", Some(SECRET)).header("content-type", "application/json").body(body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");
    let twice = format!(r#"{{"client_id":"client2","client_secret":"{SECRET}","client_id":"client1","perms":[]}}"#);
    let response = http().post(&perms).header("content-type", "application/json").body(twice).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Nothing was synced by either: client1 keeps the scene's two permissions.
    let shown: Value = serde_json::from_str(&p.cli(&["member", "show", "client1", "alice"], None).await).unwrap();
    assert_eq!(shown["permissions"], json!([["auth", "add_group"], ["auth", "view_group"]]));
}

#[tokio::test]
async fn every_oauth_endpoint_refuses_a_repeated_parameter_even_one_it_does_not_read() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = signed_in(&p).await;
    let code = p.code_for(&browser, "alice", ALICE_PASSWORD, &[]).await;
    let redirect = url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>();
    let exchange = format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&client_id=client1&client_secret={SECRET}");
    let token = p.provider("/o/token/");
    for extra in ["state=a&state=b", "scope=read&scope=read", "client_secret=x", "custom=&custom="] {
        let (status, body) = post(&token, &format!("{exchange}&{extra}"), None).await;
        assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "invalid_request"), "{extra}: {body}");
    }
    // Refused before the code was looked at: it still works.
    let (status, body) = post(&token, &exchange, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_string();

    let creds = format!("client_id=client1&client_secret={SECRET}");
    for endpoint in ["/o/revoke_token/", "/o/introspect/"] {
        let (status, body) =
            post(&p.provider(endpoint), &format!("token={access}&{creds}&token_type_hint=a&token_type_hint=b"), None).await;
        assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "invalid_request"), "{endpoint}: {body}");
    }
    let response = http()
        .get(p.provider(&format!("/o/introspect/?token={access}&token_type_hint=a&token_type_hint=a")))
        .basic_auth("client1", Some(SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "introspection by GET");
    let (status, body) = post(&p.provider("/o/userinfo/"), &format!("access_token={access}&x=1&x=2"), None).await;
    assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "invalid_request"), "userinfo: {body}");
    // The token survived all of it.
    let (status, body) = post(&p.provider("/o/introspect/"), &format!("token={access}&{creds}"), None).await;
    assert_eq!((status, body["active"].clone()), (StatusCode::OK, json!(true)), "{body}");

    // RP-initiated logout: the return address is followed only for an unrepeated request.
    p.cli(&["app", "update", "client1", "--post-logout-redirect-uri", "http://127.0.0.1:9000/bye/"], None).await;
    let logout = p.provider("/o/logout/?client_id=client1&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fbye%2F&state=s1");
    let response = Browser::new().get(&logout).await;
    assert_eq!(location(&response), "http://127.0.0.1:9000/bye/?state=s1");
    for extra in ["state=s2", "client_id=client1", "ui_locales=de&ui_locales=fr"] {
        let response = Browser::new().get(&format!("{logout}&{extra}")).await;
        assert_error_page(&response, &format!("logout, {extra}"));
    }
}

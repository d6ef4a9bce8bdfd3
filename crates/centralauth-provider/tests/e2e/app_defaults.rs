//! Secure defaults for new applications (issue #13): made through the CLI, the admin API or the
//! console, an application matches redirect URIs exactly, requires PKCE and answers
//! introspection by POST only; the `django-centralauth` profile sets what that client needs.
//! Redirect URIs are https, or http to loopback, or any http where the application allows it,
//! at most 32; each front end names the field it refuses.

use reqwest::StatusCode;
use reqwest::header::ALLOW;
use serde_json::{Value, json};

use crate::console::{Fields, admin, application_form, page, submit};
use crate::support::*;

const CHALLENGE: [(&str, &str); 2] = [("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "S256")];

async fn api_token(p: &TestProvider) -> String {
    p.api_token("admin", &[]).await
}

async fn api_create(p: &TestProvider, token: &str, body: Value) -> (StatusCode, Value) {
    let response = http().post(p.url("/api/v1/applications")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The console's new-application form as a browser sends it, with `extra` fields.
async fn console_create(
    browser: &Browser,
    p: &TestProvider,
    client_id: &str,
    redirect_uris: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Fields = application_form(client_id, client_id, redirect_uris);
    form.extend_from_slice(extra);
    submit(browser, p, "/console/applications/new", "/console/applications/", &form).await
}

/// What the authorization endpoint answers alice for `client_id`: `code`, `error=…` in the
/// redirect to the client, or the status when it does not redirect there.
async fn authorize(p: &TestProvider, browser: &Browser, client_id: &str, query: &[(&str, &str)]) -> String {
    let mut query = query.to_vec();
    query.push(("client_id", client_id));
    let response = p.authorize_as(browser, "alice", ALICE_PASSWORD, &query).await;
    if response.status() != StatusCode::FOUND {
        return format!("status {}", response.status().as_u16());
    }
    let callback = location(&response);
    match (query_param(&callback, "code"), query_param(&callback, "error")) {
        (Some(_), _) => "code".into(),
        (None, Some(error)) => format!("error={error}"),
        _ => format!("redirect to {callback}"),
    }
}

/// How `client_id` treats a request without PKCE, one with `?next=` added to the registered
/// redirect URI, and a request with both PKCE and the exact URI.
async fn behaviour(p: &TestProvider, browser: &Browser, client_id: &str) -> [String; 3] {
    p.cli(&["member", "add", client_id, "alice"], None).await;
    let with_next = format!("{REDIRECT_URI}?next=%2Fwhoami%2F");
    let mut extra_query = CHALLENGE.to_vec();
    extra_query.push(("redirect_uri", &with_next));
    [
        authorize(p, browser, client_id, &[]).await,
        authorize(p, browser, client_id, &extra_query).await,
        authorize(p, browser, client_id, &CHALLENGE).await,
    ]
}

fn strict() -> [String; 3] {
    ["error=invalid_request".into(), "status 400".into(), "code".into()]
}

fn django() -> [String; 3] {
    ["code".into(), "code".into(), "code".into()]
}

#[tokio::test]
async fn applications_made_by_cli_api_and_console_default_to_exact_redirect_uris_and_required_pkce() {
    let p = TestProvider::start().await;
    p.create_user("alice", ALICE_PASSWORD).await;
    let token = api_token(&p).await;
    let console = admin(&p).await;
    let browser = Browser::new();

    let cli = ["app", "create", "cli-default", "--client-id", "cli-default", "--redirect-uri", REDIRECT_URI];
    p.cli(&cli, None).await;
    let (status, created) =
        api_create(&p, &token, json!({"name": "API", "client_id": "api-default", "redirect_uris": [REDIRECT_URI]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (
            created["application"]["redirect_uri_match"].clone(),
            created["application"]["pkce"].clone(),
            created["application"]["profile"].clone()
        ),
        (json!("exact"), json!("required"), json!("default"))
    );
    assert_eq!(created["application"]["allow_introspection_get"], false);
    // The form offers the default profile and the strict settings; a browser sends them ticked.
    let (_, form) = page(&console, &p, "/console/applications/new").await;
    assert!(form.contains(r#"<option value="default" selected>"#), "{form}");
    for checkbox in ["exact_redirect_uri", "pkce_required"] {
        assert!(form.contains(&format!(r#"id="{checkbox}" name="{checkbox}" value="on" checked"#)), "{checkbox} ticked");
    }
    let response = console_create(
        &console,
        &p,
        "console-default",
        REDIRECT_URI,
        &[("profile", "default"), ("exact_redirect_uri", "on"), ("pkce_required", "on")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // A script posting the form without the profile and the checkboxes gets the default too.
    assert_eq!(console_create(&console, &p, "console-bare", REDIRECT_URI, &[]).await.status(), StatusCode::SEE_OTHER);

    for client_id in ["cli-default", "api-default", "console-default", "console-bare"] {
        assert_eq!(behaviour(&p, &browser, client_id).await, strict(), "{client_id}");
    }
}

#[tokio::test]
async fn the_django_centralauth_profile_allows_the_next_query_and_no_pkce_in_every_front_end() {
    let p = TestProvider::start().await;
    p.create_user("alice", ALICE_PASSWORD).await;
    let token = api_token(&p).await;
    let console = admin(&p).await;
    let browser = Browser::new();

    p.cli(
        &["app", "create", "cli-django", "--client-id", "cli-django", "--redirect-uri", REDIRECT_URI, "--profile", "django-centralauth"],
        None,
    )
    .await;
    let body = json!({"name": "API", "client_id": "api-django", "redirect_uris": [REDIRECT_URI], "profile": "django-centralauth"});
    let (status, created) = api_create(&p, &token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (
            created["application"]["redirect_uri_match"].clone(),
            created["application"]["pkce"].clone(),
            created["application"]["profile"].clone()
        ),
        (json!("allow_extra_query"), json!("optional"), json!("django-centralauth"))
    );
    // The profile wins over the checkboxes (still ticked from the default form).
    let ticked = [("profile", "django-centralauth"), ("exact_redirect_uri", "on"), ("pkce_required", "on")];
    assert_eq!(console_create(&console, &p, "console-django", REDIRECT_URI, &ticked).await.status(), StatusCode::SEE_OTHER);

    for client_id in ["cli-django", "api-django", "console-django"] {
        assert_eq!(behaviour(&p, &browser, client_id).await, django(), "{client_id}");
    }

    // Choosing a profile later sets its settings: the API, the CLI and the console's edit form.
    let response = http()
        .patch(p.url("/api/v1/applications/api-django"))
        .bearer_auth(&token)
        .json(&json!({"profile": "default"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    p.cli(&["app", "update", "cli-django", "--profile", "default"], None).await;
    let id = p.db.scalar("SELECT id FROM applications WHERE client_id = 'console-django'").await;
    let edit = format!("/console/applications/{id}/");
    let response = submit(&console, &p, &edit, &format!("/console/applications/{id}/"), &{
        let mut f = application_form("console-django", "", REDIRECT_URI);
        f.push(("profile", "default"));
        f
    })
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    for client_id in ["cli-django", "api-django", "console-django"] {
        let [no_pkce, with_next, _] = behaviour_again(&p, &browser, client_id).await;
        assert_eq!((no_pkce.as_str(), with_next.as_str()), ("error=invalid_request", "status 400"), "{client_id}");
    }
}

/// `behaviour` for an application alice is already a member of.
async fn behaviour_again(p: &TestProvider, browser: &Browser, client_id: &str) -> [String; 3] {
    let with_next = format!("{REDIRECT_URI}?next=%2Fwhoami%2F");
    let mut extra_query = CHALLENGE.to_vec();
    extra_query.push(("redirect_uri", &with_next));
    [
        authorize(p, browser, client_id, &[]).await,
        authorize(p, browser, client_id, &extra_query).await,
        authorize(p, browser, client_id, &CHALLENGE).await,
    ]
}

fn many_uris() -> Vec<String> {
    (0..33).map(|i| format!("https://app.example/cb/{i}")).collect()
}

#[tokio::test]
async fn redirect_uris_must_be_https_or_loopback_http_and_at_most_32_in_every_front_end() {
    let p = TestProvider::start().await;
    let token = api_token(&p).await;
    let console = admin(&p).await;
    let before = p.snapshot().await;
    let many = many_uris();
    let refused: Vec<(&str, Vec<String>)> = vec![
        ("ftp", vec!["ftp://app.example/cb/".into()]),
        ("http to a host that is not loopback", vec!["http://app.example/cb/".into()]),
        ("http next to https", vec!["https://app.example/cb/".into(), "http://127.0.0.1.example.org/cb/".into()]),
        ("33 URIs", many.clone()),
    ];
    for (what, uris) in &refused {
        let mut args = vec!["app", "create", "Refused"];
        for uri in uris {
            args.extend(["--redirect-uri", uri.as_str()]);
        }
        let (ok, _, stderr) = p.try_cli(&args, None).await;
        assert!(!ok && stderr.contains("invalid redirect_uri"), "CLI, {what}: {stderr}");

        let (status, answer) = api_create(&p, &token, json!({"name": "Refused", "redirect_uris": uris})).await;
        assert_eq!(
            (status, answer["error"].clone(), answer["field"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_request"), json!("redirect_uri")),
            "API, {what}: {answer}"
        );

        let response = console_create(&console, &p, "refused", &uris.join("\n"), &[]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "console, {what}");
        let html = response.text().await.unwrap();
        assert!(html.contains("id=\"redirect_uris-error\""), "console, {what}: {html}");
    }
    // Post-logout redirect URIs follow the same rule.
    let (status, answer) = api_create(
        &p,
        &token,
        json!({"name": "Refused", "redirect_uris": [REDIRECT_URI], "post_logout_redirect_uris": ["http://app.example/bye"]}),
    )
    .await;
    assert_eq!((status, answer["field"].clone()), (StatusCode::BAD_REQUEST, json!("post_logout_redirect_uris")), "{answer}");
    assert_eq!(p.snapshot().await, before, "nothing refused was stored");

    // Loopback http (RFC 8252 §7.3), 32 URIs, and http anywhere with the allowance.
    let loopback = ["http://127.0.0.1:9000/cb/", "http://[::1]:9000/cb/", "http://localhost:9000/cb/"];
    let mut args = vec!["app", "create", "Loopback", "--client-id", "cli-loopback"];
    for uri in loopback {
        args.extend(["--redirect-uri", uri]);
    }
    p.cli(&args, None).await;
    let (status, answer) = api_create(&p, &token, json!({"name": "Thirty-two", "redirect_uris": many[..32]})).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(console_create(&console, &p, "console-loopback", &loopback.join("\n"), &[]).await.status(), StatusCode::SEE_OTHER);

    let insecure = "http://app.example/cb/";
    p.cli(&["app", "create", "Test env", "--client-id", "cli-test", "--redirect-uri", insecure, "--allow-insecure-redirect-uris"], None)
        .await;
    let body = json!({"name": "Test env", "client_id": "api-test", "redirect_uris": [insecure], "allow_insecure_redirect_uris": true});
    let (status, answer) = api_create(&p, &token, body).await;
    assert_eq!((status, answer["application"]["allow_insecure_redirect_uris"].clone()), (StatusCode::CREATED, json!(true)), "{answer}");
    let response = console_create(&console, &p, "console-test", insecure, &[("allow_insecure_redirect_uris", "on")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The allowance covers http, not other schemes.
    let (status, answer) =
        api_create(&p, &token, json!({"name": "FTP", "redirect_uris": ["ftp://app.example/cb/"], "allow_insecure_redirect_uris": true}))
            .await;
    assert_eq!((status, answer["field"].clone()), (StatusCode::BAD_REQUEST, json!("redirect_uri")), "{answer}");

    // Taking the allowance away does not drop what is registered, but nothing new may be added.
    p.cli(&["app", "update", "cli-test", "--allow-insecure-redirect-uris", "false", "--name", "Renamed"], None).await;
    p.cli(&["app", "update", "cli-test", "--redirect-uri", insecure, "--redirect-uri", "https://app.example/cb/"], None).await;
    let (ok, _, stderr) = p.try_cli(&["app", "update", "cli-test", "--redirect-uri", "http://other.example/cb/"], None).await;
    assert!(!ok && stderr.contains("invalid redirect_uri"), "{stderr}");
}

async fn introspect_by_get(p: &TestProvider, client_id: &str, token: &str) -> reqwest::Response {
    let url = format!("{}?token={token}", p.provider("/o/introspect/"));
    http().get(url).basic_auth(client_id, Some(SECRET)).send().await.unwrap()
}

async fn introspect_by_post(p: &TestProvider, client_id: &str, token: &str) -> Value {
    let response =
        http().post(p.provider("/o/introspect/")).basic_auth(client_id, Some(SECRET)).form(&[("token", token)]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn introspection_by_get_is_refused_with_405_unless_the_application_allows_it() {
    let p = TestProvider::with_scene(&[]).await;
    // The scene's client1 has the django-centralauth profile: GET is answered.
    let (access, _) = p.tokens_for_alice().await;
    let response = introspect_by_get(&p, "client1", &access).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["active"], true);

    // A new application (the default profile) gets 405 with `Allow: POST`, and POST works.
    p.cli(&["app", "create", "Default", "--client-id", "strict", "--client-secret-stdin", "--redirect-uri", REDIRECT_URI], Some(SECRET))
        .await;
    let response = introspect_by_get(&p, "strict", "anything").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "POST");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");
    assert_eq!(introspect_by_post(&p, "strict", "anything").await, json!({"active": false}));

    // Turned off for client1: its token is still introspected, by POST only.
    p.cli(&["app", "update", "client1", "--allow-introspection-get", "false"], None).await;
    assert_eq!(introspect_by_get(&p, "client1", &access).await.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(introspect_by_post(&p, "client1", &access).await["active"], true);
    // Wrong credentials are still a 401 first, whatever the method.
    let response =
        http().get(format!("{}?token={access}", p.provider("/o/introspect/"))).basic_auth("client1", Some("wrong")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

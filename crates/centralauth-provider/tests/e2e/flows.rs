//! The login round trip and the grants, as a client application experiences them.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn member_signs_in_and_user_endpoint_shows_membership_flags_and_effective_permissions() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    let with_next = format!("{REDIRECT_URI}?next=%2Fwhoami%2F");
    let response = p.authorize_as(&browser, "alice", ALICE_PASSWORD, &[("redirect_uri", &with_next)]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(&response);
    // code and state are appended after the query the redirect URI already had, as the original does.
    assert!(callback.starts_with(&format!("{REDIRECT_URI}?next=%2Fwhoami%2F&code=")), "{callback}");
    assert_eq!(query_param(&callback, "state").as_deref(), Some("xyz"));
    let code = query_param(&callback, "code").unwrap();

    let (status, tokens) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &with_next)]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "read write");
    assert_eq!(tokens["expires_in"], 300);

    let (status, mut user) = p.user_endpoint(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    // Our one addition to the contract: the user's stable id (README, differences).
    let sub = user.as_object_mut().unwrap().remove("sub").expect("sub");
    assert!(sub.as_str().is_some_and(|s| s.parse::<i64>().is_ok()), "{sub}");
    assert_eq!(
        user,
        json!({
            "username": "alice", "first_name": "First", "last_name": "Last", "email": "alice@example.com",
            "is_superuser": false, "is_staff": true, "is_active": true,
            "permissions": [["auth", "add_group"], ["auth", "view_group"]]
        })
    );
}

#[tokio::test]
async fn a_signed_in_user_without_membership_is_refused_and_never_redirected() {
    let p = TestProvider::with_scene(&[]).await;
    let response = p.authorize_as(&Browser::new(), "bob", "bob-password-1", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("not configured for the requested application"));
}

#[tokio::test]
async fn a_deactivated_membership_is_refused_at_authorization_and_at_refresh() {
    let p = TestProvider::with_scene(&[]).await;
    let (access, refresh) = p.tokens_for_alice().await;
    p.cli(&["member", "update", "client1", "alice", "--active", "false"], None).await;

    // A client sees the deactivation at once: the application's tokens of the user are revoked
    // with it (the Django client logs out on a 401 as on `is_active: false`).
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})));
    let response = p.authorize_as(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_removed_membership_or_deactivated_user_ends_refresh() {
    let p = TestProvider::with_scene(&[]).await;
    let (access, refresh) = p.tokens_for_alice().await;
    p.cli(&["member", "remove", "client1", "alice"], None).await;
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::UNAUTHORIZED, "the removal revoked the token");
    assert_eq!(p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await.0, StatusCode::BAD_REQUEST);

    p.cli(&["member", "add", "client1", "alice"], None).await;
    let (_, refresh) = p.tokens_for_alice().await;
    p.cli(&["user", "update", "alice", "--active", "false"], None).await;
    assert_eq!(p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_the_old_access_token_stops_working() {
    let p = TestProvider::with_scene(&[]).await;
    let (access, refresh) = p.tokens_for_alice().await;
    let (status, body) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(body["refresh_token"].as_str().unwrap(), refresh);
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(p.user_endpoint(body["access_token"].as_str().unwrap()).await.0, StatusCode::OK);

    let narrowed =
        p.token(&[("grant_type", "refresh_token"), ("refresh_token", body["refresh_token"].as_str().unwrap()), ("scope", "read")]).await;
    assert_eq!((narrowed.0, narrowed.1["scope"].clone()), (StatusCode::OK, json!("read")));
    let widened = p
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", narrowed.1["refresh_token"].as_str().unwrap()),
            ("scope", "read write"),
        ])
        .await;
    assert_eq!(widened, (StatusCode::BAD_REQUEST, json!({"error": "invalid_scope"})));
}

#[tokio::test]
async fn http_basic_client_authentication_works_for_both_grants() {
    let p = TestProvider::with_scene(&[]).await;
    let code = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    let response = http()
        .post(p.provider("/o/token/"))
        .basic_auth("client1", Some(SECRET))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    let response = http()
        .post(p.provider("/o/token/"))
        .basic_auth("client1", Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", body["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_the_tokens_issued_from_it() {
    let p = TestProvider::with_scene(&[]).await;
    let code = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];
    let (status, first) = p.token(&form).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p.token(&form).await, (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})));
    assert_eq!(p.user_endpoint(first["access_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(p.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_token_request_must_repeat_the_authorization_requests_redirect_uri() {
    let p = TestProvider::with_scene(&[]).await;
    let code = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    let (status, body) = p.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "invalid_grant", "error_description": "Mismatching redirect URI."}));
}

#[tokio::test]
async fn pkce_s256_is_verified_and_required_where_the_application_says_so() {
    let p = TestProvider::with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--pkce", "required"], None).await;
    let browser = Browser::new();
    let response = p.authorize_as(&browser, "alice", ALICE_PASSWORD, &[]).await;
    let callback = location(&response);
    assert_eq!(query_param(&callback, "error").as_deref(), Some("invalid_request"), "{callback}");

    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = [("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "S256")];
    let code = p.code_for(&browser, "alice", ALICE_PASSWORD, &challenge).await;
    let base = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];
    let (status, _) = p.token(&[&base[..], &[("code_verifier", "wrong-verifier-wrong-verifier-wrong-verifier-x")]].concat()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a wrong verifier fails");
    let code = p.code_for(&browser, "alice", ALICE_PASSWORD, &challenge).await;
    let (status, _) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a missing verifier fails");
    let code = p.code_for(&browser, "alice", ALICE_PASSWORD, &challenge).await;
    let (status, body) = p
        .token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_verifier_without_a_challenge_is_a_refused_downgrade() {
    let p = TestProvider::with_scene(&[]).await;
    let code = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[]).await;
    let (status, body) = p
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        ])
        .await;
    assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
}

#[tokio::test]
async fn an_exact_match_application_refuses_extra_query_parameters() {
    let p = TestProvider::with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--redirect-uri-match", "exact"], None).await;
    let with_next = format!("{REDIRECT_URI}?next=%2Fx%2F");
    let response = p.authorize_as(&Browser::new(), "alice", ALICE_PASSWORD, &[("redirect_uri", &with_next)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn revocation_works_on_own_tokens_only() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("client2", &[]).await;
    let (access, refresh) = p.tokens_for_alice().await;
    let revoke = |client: &'static str, token: String| {
        let url = p.provider("/o/revoke_token/");
        async move { http().post(url).basic_auth(client, Some(SECRET)).form(&[("token", token)]).send().await.unwrap().status() }
    };
    assert_eq!(revoke("client2", access.clone()).await, StatusCode::OK, "RFC 7009 answers 200 anyway");
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::OK, "another client cannot revoke it");
    assert_eq!(revoke("client1", access.clone()).await, StatusCode::OK);
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::UNAUTHORIZED);

    let (access, refresh2) = p.tokens_for_alice().await;
    assert_eq!(revoke("client1", refresh2.clone()).await, StatusCode::OK);
    assert_eq!(p.user_endpoint(&access).await.0, StatusCode::UNAUTHORIZED, "revoking a refresh token ends its access token");
    assert_eq!(p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh2)]).await.0, StatusCode::BAD_REQUEST);
    // The first grant's refresh token still works: only the revoked token's family ended.
    assert_eq!(p.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn introspection_describes_own_tokens_and_hides_others() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("client2", &[]).await;
    let (access, refresh) = p.tokens_for_alice().await;
    let introspect = |client: &'static str, token: String| {
        let url = p.provider("/o/introspect/");
        async move {
            let r = http().post(url).basic_auth(client, Some(SECRET)).form(&[("token", token)]).send().await.unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = introspect("client1", access.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let answer = http().post(p.provider("/o/introspect/")).basic_auth("client1", Some(SECRET)).form(&[("token", &access)]).send().await.unwrap();
    assert_eq!(answer.headers()["cache-control"], "no-store", "an answer about a token is not to be cached");
    assert_eq!(
        (body["active"].clone(), body["client_id"].clone(), body["username"].clone()),
        (json!(true), json!("client1"), json!("alice"))
    );
    assert_eq!(body["scope"], "read write");
    assert!(body["exp"].as_i64().unwrap() > 0);
    // RFC 7662 §2.2: the token type of RFC 6749 §5.1, which only access tokens have.
    assert_eq!(body["token_type"], "Bearer");
    let refresh_body = introspect("client1", refresh).await.1;
    assert_eq!(refresh_body["active"], true);
    assert!(refresh_body.get("token_type").is_none(), "{refresh_body}");
    assert_eq!(introspect("client2", access).await, (StatusCode::OK, json!({"active": false})));
    assert_eq!(introspect("client1", "nope".into()).await, (StatusCode::OK, json!({"active": false})));
    let unauthenticated = http().post(p.provider("/o/introspect/")).form(&[("token", "x")]).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn perms_sync_answers_the_originals_counters() {
    let p = TestProvider::start().await;
    p.create_app("client1", &[]).await;
    let one = ("app", "one", "One");
    let two = ("app", "two", "Two");
    let counters = |synced, created, deleted, count| json!({"success": true, "synced": synced, "created": created, "deleted": deleted, "count": count});
    assert_eq!(p.sync_perms("client1", &[]).await, (StatusCode::OK, counters(0, 0, 0, 0)));
    assert_eq!(p.sync_perms("client1", &[one, two]).await, (StatusCode::OK, counters(2, 2, 0, 2)));
    assert_eq!(p.sync_perms("client1", &[("app", "one", "One renamed"), two]).await, (StatusCode::OK, counters(2, 0, 0, 2)));
    assert!(p.cli(&["app", "perms", "client1"], None).await.contains("app.one\tOne renamed"), "a changed repr is stored");
    assert_eq!(p.sync_perms("client1", &[one, one, two]).await, (StatusCode::OK, counters(3, 0, 0, 2)));
    assert_eq!(p.sync_perms("client1", &[two]).await, (StatusCode::OK, counters(1, 0, 1, 1)));
}

#[tokio::test]
async fn deleting_a_permission_removes_its_grants() {
    let p = TestProvider::with_scene(&[]).await;
    p.sync_perms("client1", &[("auth", "view_group", "Can view group")]).await;
    let shown = p.cli(&["member", "show", "client1", "alice"], None).await;
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["permissions"], json!([["auth", "view_group"]]));
}

#[tokio::test]
async fn the_first_start_creates_an_administrator_who_can_sign_in() {
    let p = TestProvider::start().await;
    let password = p.admin_password.clone().expect("one-time password written on first start");
    // In a file beside the database (SQLite) or the master key (PostgreSQL), not in the output.
    let file = p.db.dir.path().join("centralauth-initial-admin-password");
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions()) & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), password);
    let browser = Browser::new();
    let page = browser.get(&p.url("/account/login/")).await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token");
    let response = browser
        .post_form(
            &p.url("/account/login/"),
            &[("csrf_token", &csrf), ("next", "/account/"), ("username", "admin"), ("password", &password)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let account = browser.get(&p.url("/account/")).await.text().await.unwrap();
    assert!(account.contains("admin"));
    let again = TestProvider::start_on(p.db.clone(), &[]).await;
    assert!(again.admin_password.is_none(), "no second administrator on a restart");
}

#[tokio::test]
async fn perms_sync_handles_thousands_of_permissions_in_one_request() {
    let p = TestProvider::start().await;
    p.create_app("client1", &[]).await;
    let names: Vec<(String, String)> = (0..5000).map(|i| (format!("app{}", i % 7), format!("perm_{i}"))).collect();
    let perms: Vec<(&str, &str, &str)> = names.iter().map(|(a, c)| (a.as_str(), c.as_str(), "A permission")).collect();
    let (status, body) = p.sync_perms("client1", &perms).await;
    assert_eq!((status, body["created"].clone(), body["count"].clone()), (StatusCode::OK, json!(5000), json!(5000)));
    let (status, body) = p.sync_perms("client1", &perms[..2500]).await;
    assert_eq!(
        (status, body["created"].clone(), body["deleted"].clone(), body["count"].clone()),
        (StatusCode::OK, json!(0), json!(2500), json!(2500))
    );
}

#[tokio::test]
async fn introspection_also_answers_get_with_a_query_token() {
    let p = TestProvider::with_scene(&[]).await;
    let (access, _) = p.tokens_for_alice().await;
    let response =
        http().get(p.provider("/o/introspect/")).query(&[("token", &access)]).basic_auth("client1", Some(SECRET)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["active"], true);
}

#[tokio::test]
async fn every_administrative_change_is_in_the_audit_log_with_its_actor() {
    let p = TestProvider::with_scene(&[]).await;
    p.cli(&["member", "update", "client1", "alice", "--superuser", "true"], None).await;
    let log = p.cli(&["audit", "--limit", "100"], None).await;
    let actions: Vec<(&str, &str)> = log
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            let _at = f.next();
            (f.next().unwrap_or(""), f.next().unwrap_or(""))
        })
        .collect();
    for expected in ["application.create", "permissions.sync", "group.create", "user.create", "membership.create", "membership.update"] {
        assert!(actions.iter().any(|(_, a)| *a == expected), "{expected} missing from {log}");
    }
    assert!(actions.iter().any(|(actor, a)| *a == "permissions.sync" && *actor == "application:client1"));
    let update = log.lines().find(|l| l.contains("membership.update")).unwrap();
    assert!(update.contains("\"is_superuser\":false") && update.contains("\"is_superuser\":true"), "before and after: {update}");
}

#[tokio::test]
async fn users_sign_in_with_their_email_address_too_but_not_with_one_shared_by_two_accounts() {
    let p = TestProvider::with_scene(&[]).await;
    let code = p.code_for(&Browser::new(), "Alice@Example.com", ALICE_PASSWORD, &[]).await;
    assert!(!code.is_empty());
    p.cli(&["user", "update", "bob", "--email", "alice@example.com"], None).await;
    let browser = Browser::new();
    let page = browser.get(&p.url("/account/login/")).await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token");
    let response = browser
        .post_form(
            &p.url("/account/login/"),
            &[("csrf_token", &csrf), ("next", "/account/"), ("username", "alice@example.com"), ("password", ALICE_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "an ambiguous address identifies nobody");
    assert!(response.text().await.unwrap().contains("Please enter a correct username and password."));
}

#[tokio::test]
async fn rfc8414_metadata_lists_exactly_what_the_server_supports_and_its_endpoints_answer() {
    let p = TestProvider::with_scene(&[]).await;
    let response = http().get(p.url("/.well-known/oauth-authorization-server/provider/o")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let meta: serde_json::Value = response.json().await.unwrap();
    assert_eq!(meta["issuer"], format!("{}/provider/o", p.base));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["grant_types_supported"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["token_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post"]));
    assert_eq!(meta["scopes_supported"], json!(["openid", "profile", "email", "offline_access", "read", "write"]));
    // Each advertised endpoint is the one that answers.
    let (access, _) = p.tokens_for_alice().await;
    let introspected = http()
        .post(meta["introspection_endpoint"].as_str().unwrap())
        .basic_auth("client1", Some(SECRET))
        .form(&[("token", &access)])
        .send()
        .await
        .unwrap();
    assert_eq!(introspected.json::<serde_json::Value>().await.unwrap()["active"], true);
    let token = http().post(meta["token_endpoint"].as_str().unwrap()).form(&[("grant_type", "bogus")]).send().await.unwrap();
    assert_eq!(token.status(), StatusCode::BAD_REQUEST);
    let authorize = http().get(meta["authorization_endpoint"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(authorize.status(), StatusCode::BAD_REQUEST, "the authorization endpoint answers (no client given)");
}

#[tokio::test]
async fn the_user_endpoint_answer_is_not_cached() {
    let p = TestProvider::with_scene(&[]).await;
    let (access, _) = p.tokens_for_alice().await;
    let response = http().get(p.provider("/user/")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // It names the user's permissions: no shared cache or browser history may keep it.
    assert_eq!(response.headers()["cache-control"], "no-store");
}

//! OpenID Connect, as the OpenID Foundation's certification plans check it: each test is named
//! after the module of the basic (`oidcc-basic-certification-test-plan`) or config
//! (`oidcc-config-certification-test-plan`) plan it reproduces, for a code-flow provider with
//! confidential clients. The README lists them against the plans' module names.


use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const NONCE: &str = "n-0S6_WzA2Mj";
const OPENID: &str = "openid profile email";

fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

async fn userinfo_get(p: &TestProvider, token: &str) -> reqwest::Response {
    http().get(p.provider("/o/userinfo/")).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn oidcc_discovery_endpoint_verification() {
    let p = TestProvider::start().await;
    let config = discovery(&p).await;
    let issuer = p.provider("/o");
    assert_eq!(config["issuer"], issuer.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/authorize/"),
        ("token_endpoint", "/token/"),
        ("userinfo_endpoint", "/userinfo/"),
        ("jwks_uri", "/jwks/"),
        ("end_session_endpoint", "/logout/"),
        ("revocation_endpoint", "/revoke_token/"),
        ("introspection_endpoint", "/introspect/"),
    ] {
        assert_eq!(config[field], format!("{issuer}{path}").as_str(), "{field}");
    }
    assert_eq!(config["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(config["subject_types_supported"], serde_json::json!(["public"]));
    assert!(config["id_token_signing_alg_values_supported"].as_array().unwrap().contains(&"RS256".into()));
    assert_eq!(config["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    for scope in ["openid", "profile", "email", "offline_access"] {
        assert!(config["scopes_supported"].as_array().unwrap().contains(&scope.into()), "{scope}");
    }
    assert_eq!(config["backchannel_logout_supported"], true);
    // RFC 8414 names the same document.
    let rfc8414: Value =
        http().get(p.url("/.well-known/oauth-authorization-server/provider/o")).send().await.unwrap().json().await.unwrap();
    assert_eq!(rfc8414, config);
}

#[tokio::test]
async fn oidcc_server_happy_path_id_token_with_nonce_auth_time_at_hash_and_sid() {
    let p = TestProvider::with_scene(&[]).await;
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let tokens = sign_in(&p, &Browser::new(), &[("scope", OPENID), ("nonce", NONCE)]).await;
    let (_, claims) = verify_id_token(&p, tokens["id_token"].as_str().expect("id_token")).await;
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["azp"], "client1");
    assert_eq!(claims["at_hash"], at_hash(tokens["access_token"].as_str().unwrap()).as_str());
    assert!(claims["auth_time"].as_i64().unwrap() >= before - 1);
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    // sub is the user's stable id, the same /user/ names.
    let (_, user) = p.user_endpoint(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], user["sub"]);
    // Without `openid` there is no id_token (the django-centralauth clients never ask for one).
    let plain = sign_in(&p, &Browser::new(), &[]).await;
    assert!(plain.get("id_token").is_none() || plain["id_token"].is_null());
}

#[tokio::test]
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow() {
    let p = TestProvider::with_scene(&[]).await;
    let tokens = sign_in(&p, &Browser::new(), &[("scope", "openid")]).await;
    let (_, claims) = verify_id_token(&p, tokens["id_token"].as_str().unwrap()).await;
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn oidcc_userinfo_get_post_header_and_post_body() {
    let p = TestProvider::with_scene(&[]).await;
    let tokens = sign_in(&p, &Browser::new(), &[("scope", OPENID)]).await;
    let token = tokens["access_token"].as_str().unwrap();
    let get: Value = userinfo_get(&p, token).await.json().await.unwrap();
    let header: Value = http().post(p.provider("/o/userinfo/")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    let body: Value =
        http().post(p.provider("/o/userinfo/")).form(&[("access_token", token)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(get, header);
    assert_eq!(get, body);
    assert_eq!(get["preferred_username"], "alice");
    assert_eq!(get["email"], "alice@example.com");
    assert_eq!(get["given_name"], "First");
    // The documented claim: flags and permissions in this application, as /user/ has them.
    assert_eq!(get["centralauth"]["is_staff"], true);
    assert_eq!(get["centralauth"]["permissions"], serde_json::json!([["auth", "add_group"], ["auth", "view_group"]]));
    // Both ways at once is an error (RFC 6750 §2), a bad token a 401 with a challenge.
    let both = http().post(p.provider("/o/userinfo/")).bearer_auth(token).form(&[("access_token", token)]).send().await.unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    let bad = userinfo_get(&p, "not-a-token").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn oidcc_scope_profile_email_and_other_scope_order() {
    let p = TestProvider::with_scene(&[]).await;
    let profile_only = sign_in(&p, &Browser::new(), &[("scope", "profile openid")]).await;
    let claims: Value = userinfo_get(&p, profile_only["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(claims["preferred_username"], "alice");
    assert!(claims.get("email").is_none(), "no email claims without the email scope");
    let email_only = sign_in(&p, &Browser::new(), &[("scope", "email openid")]).await;
    let claims: Value = userinfo_get(&p, email_only["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], false);
    assert!(claims.get("preferred_username").is_none());
    // A token without `openid` is not for userinfo.
    let plain = sign_in(&p, &Browser::new(), &[("scope", "read")]).await;
    let refused = userinfo_get(&p, plain["access_token"].as_str().unwrap()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    // An unknown scope goes back to the client as invalid_scope.
    let browser = Browser::new();
    let response = p.authorize_as(&browser, "alice", ALICE_PASSWORD, &[("scope", "openid phone_number_of_the_ceo")]).await;
    assert_eq!(query_param(&location(&response), "error").as_deref(), Some("invalid_scope"));
}

#[tokio::test]
async fn oidcc_prompt_none_not_logged_in_and_logged_in() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    let response = browser.get(&p.authorize_url(&[("scope", "openid"), ("prompt", "none")])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    assert!(target.starts_with(REDIRECT_URI), "{target}");
    assert_eq!(query_param(&target, "error").as_deref(), Some("login_required"));
    assert_eq!(query_param(&target, "state").as_deref(), Some("xyz"));
    let tokens = sign_in(&p, &browser, &[("scope", "openid")]).await;
    // oidcc-id-token-hint: a signed-in user, the hint of an earlier id_token, prompt=none.
    let response = browser
        .get(&p.authorize_url(&[("scope", "openid"), ("prompt", "none"), ("id_token_hint", tokens["id_token"].as_str().unwrap())]))
        .await;
    assert!(query_param(&location(&response), "code").is_some(), "{}", location(&response));
    let response = browser.get(&p.authorize_url(&[("scope", "openid"), ("prompt", "none login")])).await;
    assert_eq!(query_param(&location(&response), "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn oidcc_login_hint_ui_locales_claims_locales_acr_values_display_and_claims_are_accepted() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    let response = browser.get(&p.authorize_url(&[("scope", "openid"), ("login_hint", "alice")])).await;
    let page = browser.get(&p.url(&location(&response))).await.text().await.unwrap();
    assert!(page.contains("value=\"alice\""), "the login page suggests the hinted user");
    let extras = [
        ("scope", "openid"),
        ("ui_locales", "de-DE en"),
        ("claims_locales", "de"),
        ("acr_values", "1 2"),
        ("display", "popup"),
        ("claims", r#"{"id_token":{"email":{"essential":true}}}"#),
    ];
    let tokens = sign_in(&p, &Browser::new(), &extras).await;
    verify_id_token(&p, tokens["id_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn oidcc_codereuse_revokes_the_tokens_of_the_first_use() {
    let p = TestProvider::with_scene(&[]).await;
    let code = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[("scope", "openid")]).await;
    let exchange = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];
    let (status, first) = p.token(&exchange).await;
    assert_eq!(status, StatusCode::OK);
    let (status, second) = p.token(&exchange).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(second["error"], "invalid_grant");
    assert_eq!(userinfo_get(&p, first["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    p.authorize_as(&browser, "alice", ALICE_PASSWORD, &[("scope", "openid")]).await;
    let response = browser.get(&p.authorize_url(&[("scope", "openid"), ("redirect_uri", "https://attacker.example/cb")])).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "an error page, never a redirect");
    assert!(location(&response).is_empty());
}

#[tokio::test]
async fn oidcc_server_client_secret_basic_and_post() {
    let p = TestProvider::with_scene(&[]).await;
    let code = p.code_for(&Browser::new(), "alice", ALICE_PASSWORD, &[("scope", "openid")]).await;
    let response = http()
        .post(p.provider("/o/token/"))
        .basic_auth("client1", Some(SECRET))
        .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    verify_id_token(&p, body["id_token"].as_str().unwrap()).await;
    // client_secret_post is what sign_in uses.
    let tokens = sign_in(&p, &Browser::new(), &[("scope", "openid")]).await;
    verify_id_token(&p, tokens["id_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn oidcc_ensure_post_request_succeeds() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    sign_in(&p, &browser, &[("scope", "openid")]).await;
    let form = [
        ("response_type", "code"),
        ("client_id", "client1"),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("state", "posted"),
        ("nonce", NONCE),
    ];
    let response = browser.post_form(&p.provider("/o/authorize/"), &form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let code = query_param(&location(&response), "code").expect("code");
    assert_eq!(query_param(&location(&response), "state").as_deref(), Some("posted"));
    let (status, tokens) = p.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, claims) = verify_id_token(&p, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["nonce"], NONCE);
}

#[tokio::test]
async fn oidcc_unsigned_request_object_and_request_uri_are_rejected_as_unsupported() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = Browser::new();
    sign_in(&p, &browser, &[]).await;
    for (param, error) in [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")] {
        let response = browser.get(&p.authorize_url(&[("scope", "openid"), (param, "eyJhbGciOiJub25lIn0.e30.")])).await;
        assert_eq!(query_param(&location(&response), "error").as_deref(), Some(error));
    }
}

#[tokio::test]
async fn oidcc_response_type_missing() {
    let p = TestProvider::with_scene(&[]).await;
    let url = p.authorize_url(&[("scope", "openid")]).replace("response_type=code&", "");
    let response = Browser::new().get(&url).await;
    assert_eq!(query_param(&location(&response), "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn oidcc_refresh_token_rotates_and_issues_a_new_id_token() {
    let p = TestProvider::with_scene(&["--refresh-grace-seconds", "0"]).await;
    let tokens = sign_in(&p, &Browser::new(), &[("scope", "openid offline_access"), ("nonce", NONCE)]).await;
    let (_, original) = verify_id_token(&p, tokens["id_token"].as_str().unwrap()).await;
    let old_refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", old_refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    let (_, claims) = verify_id_token(&p, refreshed["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], original["sub"]);
    assert_eq!(claims["auth_time"], original["auth_time"]);
    assert!(claims.get("nonce").is_none(), "no nonce on refresh (Core §12.2)");
    let (status, replay) = p.token(&[("grant_type", "refresh_token"), ("refresh_token", old_refresh)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(replay["error"], "invalid_grant");
}

#[tokio::test]
async fn applications_may_choose_eddsa_id_tokens() {
    let p = TestProvider::with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--id-token-signing-alg", "EdDSA"], None).await;
    let tokens = sign_in(&p, &Browser::new(), &[("scope", "openid"), ("nonce", NONCE)]).await;
    let token = tokens["id_token"].as_str().unwrap();
    assert_eq!(jsonwebtoken::decode_header(token).unwrap().alg, jsonwebtoken::Algorithm::EdDSA);
    let (_, claims) = verify_id_token(&p, token).await;
    // Core §3.1.3.6 with the Ed25519 hash, SHA-512.
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha512::digest(tokens["access_token"].as_str().unwrap().as_bytes());
    assert_eq!(claims["at_hash"], base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..32]).as_str());
}

#[tokio::test]
async fn a_wrong_master_key_is_refused_at_start_not_at_the_first_signature() {
    let p = TestProvider::start().await;
    let (ok, _, stderr) = cli_on(&p.db.url, &["keys", "list", "--master-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"], None).await;
    assert!(!ok);
    assert!(stderr.contains("master_key"), "{stderr}");
    let (ok, stdout, _) = cli_on(&p.db.url, &["keys", "list"], None).await;
    assert!(ok);
    assert_eq!(stdout.lines().count(), 2, "one RS256 and one EdDSA key: {stdout}");
    // Nothing in the database is the private key in the clear.
    let clear = p.db.scalar("SELECT COUNT(*) FROM signing_keys WHERE public_jwk LIKE '%\"d\"%'").await;
    assert_eq!(clear, 0);
}

#[tokio::test]
async fn rp_initiated_logout_refuses_a_forged_hint_and_an_unregistered_return_address() {
    let p = TestProvider::with_scene(&[]).await;
    p.cli(&["app", "update", "client1", "--post-logout-redirect-uri", "http://127.0.0.1:9000/bye/"], None).await;
    let browser = Browser::new();
    let tokens = sign_in(&p, &browser, &[("scope", "openid")]).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let mut parts: Vec<&str> = id_token.split('.').collect();
    let forged_payload = {
        use base64::Engine;
        let mut claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["aud"] = "another-client".into();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    };
    parts[1] = &forged_payload;
    let forged = parts.join(".");
    for query in [
        format!("id_token_hint={forged}&post_logout_redirect_uri=http://127.0.0.1:9000/bye/"),
        "client_id=client1&post_logout_redirect_uri=http://127.0.0.1:9000/elsewhere/".to_string(),
        "post_logout_redirect_uri=http://127.0.0.1:9000/bye/".to_string(),
        format!("id_token_hint={id_token}&client_id=another-client"),
    ] {
        let response = browser.get(&p.provider(&format!("/o/logout/?{query}"))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(location(&response).is_empty());
    }
    // Still signed in: nothing happened.
    let response = browser.get(&p.authorize_url(&[("scope", "openid")])).await;
    assert!(query_param(&location(&response), "code").is_some());
    // A valid request without a return address ends on our own page.
    let page = browser.get(&p.provider(&format!("/o/logout/?id_token_hint={id_token}"))).await.text().await.unwrap();
    let done = browser.post_form(&p.provider("/o/logout/"), &[("csrf_token", &hidden_input(&page, "csrf_token")), ("id_token_hint", id_token)]).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("You are signed out."));
}

#[tokio::test]
async fn every_authorization_response_names_the_issuer_rfc_9207() {
    let p = TestProvider::with_scene(&[]).await;
    let config = discovery(&p).await;
    assert_eq!(config["authorization_response_iss_parameter_supported"], true);
    let issuer = config["issuer"].as_str().unwrap();
    let browser = Browser::new();
    let granted = p.authorize_as(&browser, "alice", ALICE_PASSWORD, &[]).await;
    let callback = location(&granted);
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(issuer), "{callback}");
    // An error sent back to the client names it too (RFC 9207 §2).
    let refused = browser.get(&p.authorize_url(&[("response_type", "bogus")])).await;
    let callback = location(&refused);
    assert_eq!(query_param(&callback, "error").as_deref(), Some("unsupported_response_type"), "{callback}");
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(issuer), "{callback}");
}

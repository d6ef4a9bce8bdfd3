//! The JSON admin API under `/api/v1/` against the real binary: a CLI-made token provisions an
//! installation from scratch, bad input changes nothing, revoked tokens stop at once, and a
//! delegated administrator stays inside their applications. Every change writes one audit entry.

use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// A script holding an API token.
struct Api<'a> {
    p: &'a TestProvider,
    token: String,
}

impl<'a> Api<'a> {
    /// A token made with `centralauth token create`, acting as `username`.
    async fn for_user(p: &'a TestProvider, username: &str) -> Api<'a> {
        let out = p.cli(&["token", "create", "script", "--user", username], None).await;
        let token = out.lines().find_map(|l| l.strip_prefix("token: ")).expect("the token is printed").trim().to_string();
        Api { p, token }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = http().request(method, self.p.url(&format!("/api/v1{path}"))).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    /// A change that must succeed with `expected` and write exactly one audit entry.
    async fn change(&self, method: Method, path: &str, body: Option<Value>, expected: StatusCode) -> Value {
        let before = audit_count(self.p).await;
        let (status, answer) = self.call(method.clone(), path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert_eq!(audit_count(self.p).await, before + 1, "{method} {path} wrote one audit entry");
        answer
    }

    /// A change that must be refused with `expected` and leave the database as it was.
    async fn refused(&self, method: Method, path: &str, body: Option<Value>, expected: StatusCode) -> Value {
        let before = self.p.snapshot().await;
        let (status, answer) = self.call(method.clone(), path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert!(answer["error"].is_string() && answer["error_description"].is_string(), "{method} {path}: JSON error {answer}");
        assert_eq!(self.p.snapshot().await, before, "{method} {path} changed nothing");
        answer
    }
}

async fn audit_count(p: &TestProvider) -> i64 {
    p.db.scalar("SELECT COUNT(*) FROM audit_events").await
}


fn id_of(list: &Value, key: &str, value: &str) -> i64 {
    list.as_array().unwrap().iter().find(|item| item[key] == value).unwrap_or_else(|| panic!("no {key} {value} in {list}"))["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_cli_token_provisions_an_application_users_groups_and_memberships_from_scratch() {
    let p = TestProvider::start().await;
    let api = Api::for_user(&p, "admin").await;

    let created = api
        .change(
            Method::POST,
            "/applications",
            Some(json!({"name": "Intranet", "client_id": "intranet", "redirect_uris": [REDIRECT_URI], "pkce": "optional"})),
            StatusCode::CREATED,
        )
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(created["application"]["client_id"], "intranet");
    // The application registers its permissions itself, with the secret it was given.
    let perms = json!({"client_id": "intranet", "client_secret": secret, "perms": [
        {"app_label": "blog", "codename": "view_post", "repr": "Can view post"},
        {"app_label": "blog", "codename": "add_post", "repr": "Can add post"},
        {"app_label": "blog", "codename": "delete_post", "repr": "Can delete post"}]});
    let synced = http().post(p.provider("/perms/")).json(&perms).send().await.unwrap();
    assert_eq!(synced.status(), StatusCode::OK);
    let (_, permissions) = api.get("/applications/intranet/permissions").await;
    let (view, add) = (id_of(&permissions, "codename", "view_post"), id_of(&permissions, "codename", "add_post"));

    let alice = api
        .change(
            Method::POST,
            "/users",
            Some(json!({"username": "alice", "email": "alice@example.org", "first_name": "Alice", "password": ALICE_PASSWORD})),
            StatusCode::CREATED,
        )
        .await;
    assert!(alice["password"].is_null(), "a given password is not echoed");
    let bob = api.change(Method::POST, "/users", Some(json!({"username": "bob"})), StatusCode::CREATED).await;
    let bob_password = bob["password"].as_str().expect("a generated password, shown once").to_string();
    let bob_id = bob["user"]["id"].as_i64().unwrap();

    let editors = api
        .change(Method::POST, "/applications/intranet/groups", Some(json!({"name": "editors", "permission_ids": [view]})), StatusCode::CREATED)
        .await;
    let editors_id = editors["id"].as_i64().unwrap();
    let membership = api
        .change(
            Method::PUT,
            "/applications/intranet/memberships/alice",
            Some(json!({"is_staff": true, "group_ids": [editors_id], "permission_ids": [add]})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(membership["effective_permissions"], json!([["blog", "add_post"], ["blog", "view_post"]]));
    api.change(Method::PUT, "/applications/intranet/memberships/bob", Some(json!({})), StatusCode::CREATED).await;
    let alice_id = alice["user"]["id"].as_i64().unwrap();
    let group = api
        .change(
            Method::PUT,
            &format!("/applications/intranet/groups/{editors_id}/members"),
            Some(json!({"user_ids": [alice_id, bob_id]})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(group["members"].as_array().unwrap().len(), 2);
    let (status, page) = api.get("/applications/intranet/memberships?search=B").await;
    assert_eq!((status, page["items"][0]["username"].clone(), page["items"].as_array().unwrap().len()), (StatusCode::OK, json!("bob"), 1));
    let (_, shown) = api.get("/applications/intranet/memberships/bob").await;
    assert_eq!(shown["effective_permissions"], json!([["blog", "view_post"]]));
    let (_, user) = api.get("/users/alice").await;
    assert_eq!(user["memberships"][0]["client_id"], "intranet");

    // The application sees exactly that: sign in, exchange the code, ask /user/.
    for (username, password, staff, expected) in [
        ("alice", ALICE_PASSWORD, true, json!([["blog", "add_post"], ["blog", "view_post"]])),
        ("bob", bob_password.as_str(), false, json!([["blog", "view_post"]])),
    ] {
        let browser = Browser::new();
        let code = p.code_for(&browser, username, password, &[("client_id", "intranet")]).await;
        let (status, tokens) = p
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", "intranet"),
                ("client_secret", &secret),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let (status, me) = p.user_endpoint(tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (me["username"].clone(), me["is_staff"].clone(), me["is_superuser"].clone(), me["is_active"].clone(), me["permissions"].clone()),
            (json!(username), json!(staff), json!(false), json!(true), expected)
        );
    }

    let (status, audit) = api.get("/audit?application=intranet&limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit["items"][0]["action"], "group.members");
    assert_eq!(audit["items"][0]["actor"], "user:admin");
    assert!(audit["next"].is_i64(), "a further page");
}

#[tokio::test]
async fn bad_input_over_the_api_gets_a_json_error_naming_the_field_and_changes_nothing() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("two", &[]).await;
    p.sync_perms("two", &[("other", "foreign", "Foreign")]).await;
    p.cli(&["group", "create", "two", "theirs", "--perm", "other.foreign"], None).await;
    let api = Api::for_user(&p, "admin").await;
    let (_, theirs) = api.get("/applications/two/permissions").await;
    let foreign = id_of(&theirs, "codename", "foreign");
    let (_, groups) = api.get("/applications/two/groups").await;
    let foreign_group = id_of(&groups, "name", "theirs");
    let (_, groups) = api.get("/applications/client1/groups").await;
    let viewers = id_of(&groups, "name", "viewers");
    let (_, bob) = api.get("/users/bob").await;
    let bob_id = bob["user"]["id"].as_i64().unwrap();

    let uri = [REDIRECT_URI];
    let cases: Vec<(Method, String, Value, StatusCode, Option<&str>)> = vec![
        (Method::POST, "/users".into(), json!({"username": ""}), StatusCode::BAD_REQUEST, Some("username")),
        (Method::POST, "/users".into(), json!({"username": "a".repeat(151)}), StatusCode::BAD_REQUEST, Some("username")),
        (Method::POST, "/users".into(), json!({"username": "ALICE"}), StatusCode::CONFLICT, None),
        (Method::POST, "/users".into(), json!({"username": "carol", "password": "short"}), StatusCode::BAD_REQUEST, Some("password")),
        (Method::POST, "/users".into(), json!({"username": "carol", "is_superuser": true}), StatusCode::BAD_REQUEST, None),
        (Method::PATCH, "/users/alice".into(), json!({"email": "not-an-address"}), StatusCode::BAD_REQUEST, Some("email")),
        (Method::PATCH, "/users/admin".into(), json!({"administrator": false}), StatusCode::BAD_REQUEST, Some("administrator")),
        (Method::POST, "/users/alice/password".into(), json!({"password": "short"}), StatusCode::BAD_REQUEST, Some("password")),
        (Method::PUT, "/users/alice/delegated-applications".into(), json!({"client_ids": ["client1", "nope"]}), StatusCode::BAD_REQUEST, Some("client_ids")),
        (Method::PATCH, "/users/nobody".into(), json!({"email": ""}), StatusCode::NOT_FOUND, None),
        (Method::POST, "/applications".into(), json!({"name": "", "redirect_uris": uri}), StatusCode::BAD_REQUEST, Some("name")),
        (Method::POST, "/applications".into(), json!({"name": "x".repeat(256), "redirect_uris": uri}), StatusCode::BAD_REQUEST, Some("name")),
        (Method::POST, "/applications".into(), json!({"name": "Dup", "client_id": "client1", "redirect_uris": uri}), StatusCode::CONFLICT, None),
        (Method::POST, "/applications".into(), json!({"name": "Bad", "redirect_uris": ["not a url"]}), StatusCode::BAD_REQUEST, Some("redirect_uri")),
        (Method::POST, "/applications".into(), json!({"name": "Bad", "redirect_uris": ["https://a.example/cb#x"]}), StatusCode::BAD_REQUEST, Some("redirect_uri")),
        (Method::POST, "/applications".into(), json!({"name": "Bad", "redirect_uris": []}), StatusCode::BAD_REQUEST, Some("redirect_uri")),
        (Method::POST, "/applications".into(), json!({"name": "Bad", "client_id": "a:b", "redirect_uris": uri}), StatusCode::BAD_REQUEST, Some("client_id")),
        (Method::PATCH, "/applications/client1".into(), json!({"backchannel_logout_uri": "ftp://x/"}), StatusCode::BAD_REQUEST, Some("backchannel_logout_uri")),
        (Method::PATCH, "/applications/client1".into(), json!({"access_token_lifetime": 0}), StatusCode::BAD_REQUEST, Some("access_token_lifetime")),
        (Method::PATCH, "/applications/client1".into(), json!({"pkce": "sometimes"}), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/applications/client1/groups".into(), json!({"name": "", "permission_ids": []}), StatusCode::BAD_REQUEST, Some("name")),
        (Method::POST, "/applications/client1/groups".into(), json!({"name": "viewers"}), StatusCode::CONFLICT, None),
        (Method::POST, "/applications/client1/groups".into(), json!({"name": "forged", "permission_ids": [foreign]}), StatusCode::BAD_REQUEST, Some("permission_ids")),
        (Method::PATCH, format!("/applications/client1/groups/{viewers}"), json!({"permission_ids": [foreign]}), StatusCode::BAD_REQUEST, Some("permission_ids")),
        (Method::PATCH, format!("/applications/client1/groups/{foreign_group}"), json!({"name": "mine"}), StatusCode::NOT_FOUND, None),
        (Method::PUT, format!("/applications/client1/groups/{viewers}/members"), json!({"user_ids": [bob_id]}), StatusCode::BAD_REQUEST, Some("user_ids")),
        (Method::PUT, "/applications/client1/memberships/bob".into(), json!({"permission_ids": [foreign]}), StatusCode::BAD_REQUEST, Some("permission_ids")),
        (Method::PUT, "/applications/client1/memberships/bob".into(), json!({"group_ids": [foreign_group]}), StatusCode::BAD_REQUEST, Some("group_ids")),
        (Method::PUT, "/applications/client1/memberships/nobody".into(), json!({}), StatusCode::NOT_FOUND, None),
        (Method::DELETE, "/applications/client1/memberships/bob".into(), Value::Null, StatusCode::NOT_FOUND, None),
        (Method::DELETE, "/applications/nope".into(), Value::Null, StatusCode::NOT_FOUND, None),
        (Method::POST, "/api-tokens".into(), json!({"name": ""}), StatusCode::BAD_REQUEST, Some("name")),
        (Method::DELETE, "/api-tokens/999999".into(), Value::Null, StatusCode::NOT_FOUND, None),
        (Method::GET, "/no/such/endpoint".into(), Value::Null, StatusCode::NOT_FOUND, None),
    ];
    for (method, path, body, status, field) in cases {
        let body = (!body.is_null()).then_some(body);
        let answer = api.refused(method.clone(), &path, body, status).await;
        if let Some(field) = field {
            assert_eq!(answer["field"], field, "{method} {path}: {answer}");
        }
    }

    // Bodies that are not what the API reads: malformed, of another type, too large.
    let raw: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("application/json", b"{\"username\": ".to_vec(), StatusCode::BAD_REQUEST),
        ("application/json", b"[]".to_vec(), StatusCode::BAD_REQUEST),
        ("application/x-www-form-urlencoded", b"username=carol".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json", format!("{{\"username\": \"{}\"}}", "a".repeat(2 * 1024 * 1024)).into_bytes(), StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (content_type, body, expected) in raw {
        let before = p.snapshot().await;
        let response =
            http().post(p.url("/api/v1/users")).bearer_auth(&api.token).header(CONTENT_TYPE, content_type).body(body).send().await.unwrap();
        assert_eq!(response.status(), expected, "{content_type}");
        let answer: Value = response.json().await.expect("a JSON error");
        assert!(answer["error"].is_string(), "{answer}");
        assert_eq!(p.snapshot().await, before);
    }
    let (status, answer) = api.get("/users?limit=many").await;
    assert_eq!((status, answer["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_request")));
    let (status, _) = api.get("/applications/client1/groups/notanumber").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_and_revoked_tokens_get_401_with_a_challenge_and_non_administrators_403() {
    let p = TestProvider::with_scene(&[]).await;
    let url = p.url("/api/v1/users");
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer realm=\"centralauth\"");
    let response = http().get(&url).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains("error=\"invalid_token\""));
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_token");

    let admin = Api::for_user(&p, "admin").await;
    let made = admin.change(Method::POST, "/api-tokens", Some(json!({"name": "deploy"})), StatusCode::CREATED).await;
    let second = Api { p: &p, token: made["secret"].as_str().unwrap().to_string() };
    assert_eq!(second.get("/users").await.0, StatusCode::OK);
    let id = made["token"]["id"].as_i64().unwrap();
    admin.change(Method::DELETE, &format!("/api-tokens/{id}"), None, StatusCode::NO_CONTENT).await;
    let (status, answer) = second.get("/users").await;
    assert_eq!((status, answer["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_token")), "revoked at once");

    // The CLI lists and revokes too.
    let listed = p.cli(&["token", "list", "--user", "admin"], None).await;
    let first_id = listed.lines().find(|l| l.contains("\tlive")).unwrap().split('\t').next().unwrap().to_string();
    p.cli(&["token", "revoke", &first_id], None).await;
    assert_eq!(admin.get("/applications").await.0, StatusCode::UNAUTHORIZED);
    assert!(!p.try_cli(&["token", "revoke", &first_id], None).await.0, "a token is revoked once");

    // A token of someone who administers nothing opens nothing.
    let alice = Api::for_user(&p, "alice").await;
    let (status, answer) = alice.get("/applications").await;
    assert_eq!((status, answer["error"].clone()), (StatusCode::FORBIDDEN, json!("access_denied")));
    // A deactivated owner's token stops working.
    let admin = Api::for_user(&p, "admin").await;
    let dana = {
        p.create_user("dana", "dana-password-1").await;
        p.cli(&["user", "update", "dana", "--admin", "true"], None).await;
        Api::for_user(&p, "dana").await
    };
    assert_eq!(dana.get("/users").await.0, StatusCode::OK);
    admin.change(Method::PATCH, "/users/dana", Some(json!({"is_active": false})), StatusCode::OK).await;
    assert_eq!(dana.get("/users").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_delegated_administrator_manages_only_their_applications_groups_and_memberships() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("two", &[]).await;
    p.create_user("dana", "dana-password-1").await;
    let out = p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    assert!(out.contains("dana administers client1"), "{out}");
    let admin = Api::for_user(&p, "admin").await;
    let dana = Api::for_user(&p, "dana").await;

    let (status, apps) = dana.get("/applications").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = apps.as_array().unwrap().iter().map(|a| a["client_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["client1"], "only their own application is visible");
    // Another application does not exist for them.
    for path in ["/applications/two", "/applications/two/groups", "/applications/two/memberships", "/audit?application=two"] {
        assert_eq!(dana.get(path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    dana.refused(Method::PUT, "/applications/two/memberships/bob", Some(json!({})), StatusCode::NOT_FOUND).await;
    dana.refused(Method::DELETE, "/applications/two", None, StatusCode::NOT_FOUND).await;
    // No user management, no application settings, no delegation, not their own membership.
    assert_eq!(dana.get("/users").await.0, StatusCode::FORBIDDEN);
    assert_eq!(dana.get("/audit").await.0, StatusCode::FORBIDDEN);
    dana.refused(Method::POST, "/users", Some(json!({"username": "eve"})), StatusCode::FORBIDDEN).await;
    dana.refused(Method::PATCH, "/users/dana", Some(json!({"administrator": true})), StatusCode::FORBIDDEN).await;
    dana.refused(Method::PUT, "/users/dana/delegated-applications", Some(json!({"client_ids": ["client1", "two"]})), StatusCode::FORBIDDEN).await;
    dana.refused(Method::POST, "/applications", Some(json!({"name": "Mine", "redirect_uris": [REDIRECT_URI]})), StatusCode::FORBIDDEN).await;
    dana.refused(Method::PATCH, "/applications/client1", Some(json!({"name": "Renamed"})), StatusCode::FORBIDDEN).await;
    dana.refused(Method::POST, "/applications/client1/rotate-secret", None, StatusCode::FORBIDDEN).await;
    dana.refused(Method::DELETE, "/applications/client1", None, StatusCode::FORBIDDEN).await;
    dana.refused(Method::PUT, "/applications/client1/memberships/dana", Some(json!({"is_superuser": true})), StatusCode::FORBIDDEN).await;

    // Their application's groups and memberships are theirs to manage.
    let (_, permissions) = dana.get("/applications/client1/permissions").await;
    let add = id_of(&permissions, "codename", "add_group");
    let group = dana
        .change(Method::POST, "/applications/client1/groups", Some(json!({"name": "adders", "permission_ids": [add]})), StatusCode::CREATED)
        .await;
    let group_id = group["id"].as_i64().unwrap();
    let bob = dana
        .change(Method::PUT, "/applications/client1/memberships/bob", Some(json!({"group_ids": [group_id]})), StatusCode::CREATED)
        .await;
    assert_eq!(bob["effective_permissions"], json!([["auth", "add_group"]]));
    dana.change(Method::PATCH, &format!("/applications/client1/groups/{group_id}"), Some(json!({"name": "Adders"})), StatusCode::OK).await;
    dana.change(Method::PUT, &format!("/applications/client1/groups/{group_id}/members"), Some(json!({"user_ids": []})), StatusCode::OK).await;
    dana.change(Method::DELETE, "/applications/client1/memberships/bob", None, StatusCode::NO_CONTENT).await;
    let (status, audit) = dana.get("/audit?application=client1").await;
    assert_eq!((status, audit["items"][0]["actor"].clone()), (StatusCode::OK, json!("user:dana")));

    // Once a member, they cannot widen what they hold through a group, nor take a place in one.
    p.cli(&["member", "add", "client1", "dana", "--group", "viewers"], None).await;
    let (_, groups) = dana.get("/applications/client1/groups").await;
    let viewers = id_of(&groups, "name", "viewers");
    let (_, alice) = dana.get("/applications/client1/memberships/alice").await;
    let (alice_id, dana_id) = (alice["user_id"].as_i64().unwrap(), p.db.scalar("SELECT id FROM users WHERE username = 'dana'").await);
    dana.refused(Method::PATCH, &format!("/applications/client1/groups/{viewers}"), Some(json!({"permission_ids": [add]})), StatusCode::FORBIDDEN)
        .await;
    dana.refused(Method::PUT, &format!("/applications/client1/groups/{viewers}/members"), Some(json!({"user_ids": [alice_id]})), StatusCode::FORBIDDEN)
        .await;
    dana.refused(Method::PUT, &format!("/applications/client1/groups/{group_id}/members"), Some(json!({"user_ids": [dana_id]})), StatusCode::FORBIDDEN)
        .await;
    dana.refused(Method::DELETE, "/applications/client1/memberships/dana", None, StatusCode::FORBIDDEN).await;
    dana.change(
        Method::PUT,
        &format!("/applications/client1/groups/{viewers}/members"),
        Some(json!({"user_ids": [alice_id, dana_id]})),
        StatusCode::OK,
    )
    .await;

    // Taking the delegation away closes the door at once.
    admin.change(Method::PUT, "/users/dana/delegated-applications", Some(json!({"client_ids": []})), StatusCode::OK).await;
    assert_eq!(dana.get("/applications").await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_administrator_ends_a_users_sessions_and_resets_their_password_over_the_api() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    let admin = Api::for_user(&p, "admin").await;
    let dana = Api::for_user(&p, "dana").await;
    let browser = Browser::new();
    let grant = Grant::of_alice(&p, &browser, "client1").await;

    // A delegated administrator manages no user, not even a member of their application.
    dana.refused(Method::POST, "/users/alice/end-sessions", None, StatusCode::FORBIDDEN).await;
    admin.refused(Method::POST, "/users/nobody/end-sessions", None, StatusCode::NOT_FOUND).await;
    let answer = admin.refused(Method::POST, "/users/alice/end-sessions?revoke_tokens=maybe", None, StatusCode::BAD_REQUEST).await;
    assert_eq!(answer["field"], "revoke_tokens", "{answer}");
    assert!(has_session(&p, &browser).await);
    grant.assert_standing(&p, "after the refusals").await;

    let answer = admin.change(Method::POST, "/users/alice/end-sessions", None, StatusCode::OK).await;
    assert_eq!(answer, json!({"sessions_ended": 1, "token_families_revoked": 1}));
    assert!(!has_session(&p, &browser).await);
    grant.assert_withdrawn(&p, "sessions ended over the API").await;

    // `revoke_tokens=false` ends the sessions as signing out does.
    let browser = Browser::new();
    let grant = Grant::of_alice(&p, &browser, "client1").await;
    let answer = admin.change(Method::POST, "/users/alice/end-sessions?revoke_tokens=false", None, StatusCode::OK).await;
    assert_eq!(answer, json!({"sessions_ended": 1, "token_families_revoked": 1}), "the session's own grant");
    assert!(!has_session(&p, &browser).await);
    grant.assert_withdrawn(&p, "a grant made in the ended session").await;

    // A password reset ends every session and revokes the tokens.
    let browser = Browser::new();
    let grant = Grant::of_alice(&p, &browser, "client1").await;
    admin.change(Method::POST, "/users/alice/password", Some(json!({"password": "alice-new-password"})), StatusCode::OK).await;
    assert!(!has_session(&p, &browser).await);
    grant.assert_withdrawn(&p, "password reset over the API").await;

    // So does a deactivation.
    let browser = Browser::new();
    let grant = Grant::of_alice_with(&p, &browser, "client1", "alice-new-password").await;
    admin.change(Method::PATCH, "/users/alice", Some(json!({"is_active": false})), StatusCode::OK).await;
    assert!(!has_session(&p, &browser).await);
    grant.assert_withdrawn(&p, "deactivated over the API").await;
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_token_and_describes_every_route() {
    let p = TestProvider::start().await;
    let response = http().get(p.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["components"]["securitySchemes"]["api_token"]["scheme"], "bearer");
    for (path, method) in [
        ("/api/v1/users", "post"),
        ("/api/v1/users/{username}/delegated-applications", "put"),
        ("/api/v1/users/{username}/end-sessions", "post"),
        ("/api/v1/applications/{client_id}/rotate-secret", "post"),
        ("/api/v1/applications/{client_id}/permissions", "get"),
        ("/api/v1/applications/{client_id}/groups/{id}/members", "put"),
        ("/api/v1/applications/{client_id}/memberships/{username}", "put"),
        ("/api/v1/audit", "get"),
        ("/api/v1/api-tokens/{id}", "delete"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        assert!(doc["paths"][path][method]["responses"]["401"].is_object(), "{method} {path} documents 401");
    }
}

impl<'a> Api<'a> {
    /// A token this one makes through `POST /api-tokens` with `body`.
    async fn make_token(&self, body: Value) -> (Api<'a>, Value) {
        let (status, made) = self.call(Method::POST, "/api-tokens", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        (Api { p: self.p, token: made["secret"].as_str().unwrap().to_string() }, made["token"].clone())
    }
}

#[tokio::test]
async fn a_read_only_token_reads_and_every_write_is_refused_with_insufficient_scope() {
    let p = TestProvider::with_scene(&[]).await;
    let admin = Api::for_user(&p, "admin").await;
    let (reader, made) = admin.make_token(json!({"name": "monitoring", "read_only": true})).await;
    assert_eq!(made["read_only"], true);
    for path in ["/users", "/users/alice", "/applications", "/applications/client1/memberships/alice", "/audit", "/api-tokens"] {
        assert_eq!(reader.get(path).await.0, StatusCode::OK, "{path}");
    }
    for (method, path, body) in [
        (Method::POST, "/users", json!({"username": "eve"})),
        (Method::PATCH, "/users/alice", json!({"first_name": "Eve"})),
        (Method::PUT, "/applications/client1/memberships/bob", json!({})),
        (Method::DELETE, "/applications/client1/memberships/alice", Value::Null),
        (Method::DELETE, "/applications/client1", Value::Null),
        (Method::POST, "/api-tokens", json!({"name": "wider"})),
    ] {
        let before = p.snapshot().await;
        let mut request = http().request(method.clone(), p.url(&format!("/api/v1{path}"))).bearer_auth(&reader.token);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap().to_string();
        assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "insufficient_scope");
        assert_eq!(p.snapshot().await, before, "{method} {path} changed nothing");
    }
}

#[tokio::test]
async fn an_application_scoped_token_sees_only_its_applications_and_reaches_no_users() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("two", &[]).await;
    let admin = Api::for_user(&p, "admin").await;
    let (scoped, made) = admin.make_token(json!({"name": "client1 only", "applications": ["client1"]})).await;
    assert_eq!(made["applications"], json!(["client1"]));
    let (status, apps) = scoped.get("/applications").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(apps.as_array().unwrap().iter().map(|a| a["client_id"].clone()).collect::<Vec<_>>(), [json!("client1")]);
    assert_eq!(scoped.get("/applications/two").await.0, StatusCode::NOT_FOUND);
    assert_eq!(scoped.get("/users").await.0, StatusCode::FORBIDDEN);
    assert_eq!(scoped.get("/users/alice").await.0, StatusCode::FORBIDDEN);
    scoped.refused(Method::POST, "/users", Some(json!({"username": "eve"})), StatusCode::FORBIDDEN).await;
    scoped.refused(Method::PATCH, "/applications/client1", Some(json!({"name": "Renamed"})), StatusCode::FORBIDDEN).await;
    // Acting as the delegated administrator of client1: its memberships are within reach.
    scoped.change(Method::PUT, "/applications/client1/memberships/bob", Some(json!({})), StatusCode::CREATED).await;
    // It makes no token, which could reach further than itself.
    scoped.refused(Method::POST, "/api-tokens", Some(json!({"name": "wider"})), StatusCode::FORBIDDEN).await;
    // Limiting a token to an application one does not administer is refused alike for
    // an unknown one.
    let dana = {
        p.create_user("dana", "dana-password-1").await;
        p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
        Api::for_user(&p, "dana").await
    };
    for client_id in ["two", "nonexistent"] {
        let answer = dana.refused(Method::POST, "/api-tokens", Some(json!({"name": "x", "applications": [client_id]})), StatusCode::BAD_REQUEST).await;
        assert_eq!(answer["field"], "applications");
    }
}

#[tokio::test]
async fn a_demoted_owner_s_tokens_lose_their_power_at_once() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("two", &[]).await;
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "update", "dana", "--admin", "true"], None).await;
    let dana = Api::for_user(&p, "dana").await;
    let (dana_scoped, _) = dana.make_token(json!({"name": "both apps", "applications": ["client1", "two"]})).await;
    assert_eq!(dana.get("/users").await.0, StatusCode::OK);
    assert_eq!(dana_scoped.get("/applications/two").await.0, StatusCode::OK);
    // No longer an administrator, only the delegated administrator of client1.
    p.cli(&["user", "update", "dana", "--admin", "false"], None).await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    assert_eq!(dana.get("/users").await.0, StatusCode::FORBIDDEN);
    let (_, apps) = dana.get("/applications").await;
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert_eq!(dana_scoped.get("/applications/client1").await.0, StatusCode::OK);
    assert_eq!(dana_scoped.get("/applications/two").await.0, StatusCode::NOT_FOUND, "the token never exceeds its owner");
    // Nothing left to administer: the tokens open nothing.
    p.cli(&["user", "delegate", "dana"], None).await;
    for token in [&dana, &dana_scoped] {
        let (status, answer) = token.get("/applications").await;
        assert_eq!((status, answer["error"].clone()), (StatusCode::FORBIDDEN, json!("access_denied")));
    }
}

#[tokio::test]
async fn tokens_expire_after_ninety_days_unless_asked_and_only_administrators_make_everlasting_ones() {
    let p = TestProvider::with_scene(&[]).await;
    let admin = Api::for_user(&p, "admin").await;
    let (_, default) = admin.make_token(json!({"name": "default"})).await;
    assert_eq!(default["expires_at"].as_i64().unwrap() - default["created_at"].as_i64().unwrap(), 90 * 86_400);
    let (_, short) = admin.make_token(json!({"name": "short", "expires_in_days": 7})).await;
    assert_eq!(short["expires_at"].as_i64().unwrap() - short["created_at"].as_i64().unwrap(), 7 * 86_400);
    let (_, never) = admin.make_token(json!({"name": "never", "never_expires": true})).await;
    assert!(never["expires_at"].is_null());
    for (body, field) in [
        (json!({"name": "x", "expires_in_days": 367}), "expires_in_days"),
        (json!({"name": "x", "expires_in_days": 0}), "expires_in_days"),
        (json!({"name": "x", "expires_in_days": 30, "never_expires": true}), "never_expires"),
    ] {
        assert_eq!(admin.refused(Method::POST, "/api-tokens", Some(body), StatusCode::BAD_REQUEST).await["field"], field);
    }
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    let dana = Api::for_user(&p, "dana").await;
    let answer = dana.refused(Method::POST, "/api-tokens", Some(json!({"name": "x", "never_expires": true})), StatusCode::BAD_REQUEST).await;
    assert_eq!(answer["field"], "never_expires");
}

#[tokio::test]
async fn the_cli_creates_tokens_with_expiry_and_scope_and_lists_them() {
    let p = TestProvider::with_scene(&[]).await;
    let out = p.cli(&["token", "create", "ci", "--user", "admin", "--expires", "30", "--read-only", "--app", "client1"], None).await;
    assert!(out.contains("scope read-only,apps:client1") && out.contains("expires "), "{out}");
    let token = out.lines().find_map(|l| l.strip_prefix("token: ")).unwrap().trim().to_string();
    let api = Api { p: &p, token };
    let (_, listed) = api.get("/api-tokens").await;
    let made = &listed[0];
    assert_eq!((made["read_only"].clone(), made["applications"].clone()), (json!(true), json!(["client1"])));
    assert_eq!(made["expires_at"].as_i64().unwrap() - made["created_at"].as_i64().unwrap(), 30 * 86_400);
    assert!(made["last_used_at"].is_i64(), "this very request used it");
    p.cli(&["token", "create", "forever", "--user", "admin", "--expires", "never"], None).await;
    let listed = p.cli(&["token", "list"], None).await;
    let line = |name: &str| listed.lines().find(|l| l.split('\t').nth(1) == Some(name)).unwrap_or_else(|| panic!("{name} in {listed}")).to_string();
    let ci: Vec<String> = line("ci").split('\t').map(str::to_string).collect();
    assert_eq!((ci[4].as_str(), ci[7].as_str()), ("live", "read-only,apps:client1"), "{listed}");
    assert!(ci[5].ends_with(" UTC") && ci[6].ends_with(" UTC"), "expiry and last use: {listed}");
    assert_eq!(line("forever").split('\t').nth(5), Some("never"));
    for bad in ["0", "367", "soon"] {
        assert!(!p.try_cli(&["token", "create", "x", "--user", "admin", "--expires", bad], None).await.0, "--expires {bad}");
    }
    assert!(!p.try_cli(&["token", "create", "x", "--user", "admin", "--app", "nonexistent"], None).await.0);
}

#[tokio::test]
async fn a_delegated_administrator_sees_no_email_and_one_404_for_unknown_and_unreachable_users() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    p.cli(&["user", "update", "alice", "--email", "alice@example.org"], None).await;
    p.create_user("carol", "carol-password-1").await;
    p.cli(&["user", "update", "carol", "--active", "false"], None).await;
    let admin = Api::for_user(&p, "admin").await;
    let dana = Api::for_user(&p, "dana").await;
    let (_, members) = admin.get("/applications/client1/memberships").await;
    assert_eq!(members["items"][0]["email"], "alice@example.org", "administrators see addresses");
    let (status, members) = dana.get("/applications/client1/memberships").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(members["items"][0]["username"], "alice");
    assert!(members["items"][0].get("email").is_none(), "{members}");

    // bob exists but is no member; nobody is called "ghost": one answer for both.
    let (ghost_status, ghost) = dana.get("/applications/client1/memberships/ghost").await;
    let (bob_status, bob) = dana.get("/applications/client1/memberships/bob").await;
    assert_eq!((ghost_status, bob_status), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(ghost, bob);
    let ghost = dana.refused(Method::DELETE, "/applications/client1/memberships/ghost", None, StatusCode::NOT_FOUND).await;
    let bob = dana.refused(Method::DELETE, "/applications/client1/memberships/bob", None, StatusCode::NOT_FOUND).await;
    assert_eq!(ghost, bob);
    // A deactivated account is beyond a delegated administrator's reach, and answers as nobody.
    let ghost = dana.refused(Method::PUT, "/applications/client1/memberships/ghost", Some(json!({})), StatusCode::NOT_FOUND).await;
    let carol = dana.refused(Method::PUT, "/applications/client1/memberships/carol", Some(json!({})), StatusCode::NOT_FOUND).await;
    assert_eq!(ghost, carol);
    // The audit log's user filter tells nothing either.
    let (status, page) = dana.get("/audit?application=client1&user=ghost").await;
    assert_eq!((status, page["items"].clone()), (StatusCode::OK, json!([])));
}

//! Administration of users' second factors (#15): the admin API, the CLI and the console list a
//! user's factors and let a full administrator remove one or all of them (audited, the user's
//! sessions ended), never a delegated administrator or a read-only token; and with
//! `--require-admin-mfa` no administrator uses the console on a password alone. The factors are
//! staged as rows (migration 0011): what is tested here is their administration, not enrolment.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::console::{page, submit};
use crate::support::*;

/// 2023-11-14 22:13:20 UTC, as the console and the CLI print it.
const USED_AT: i64 = 1_700_000_000;
const USED_AT_TEXT: &str = "2023-11-14 22:13:20 UTC";

async fn user_id(p: &TestProvider, username: &str) -> i64 {
    p.db.scalar(&format!("SELECT id FROM users WHERE username = '{username}'")).await
}

/// A blob literal of either backend.
fn blob(hex: &str) -> String {
    if backend_is_postgres() { format!("'\\x{hex}'::bytea") } else { format!("X'{hex}'") }
}

/// Gives `username` a TOTP factor named "Phone" (never used), a passkey named "YubiKey" (used at
/// `USED_AT`) and two recovery codes; returns the ids of the two factors.
async fn stage_factors(p: &TestProvider, username: &str) -> (i64, i64) {
    let user = user_id(p, username).await;
    p.db.execute(&format!(
        "INSERT INTO user_factors (user_id, kind, name, created_at, sealed_secret) VALUES ({user}, 'totp', 'Phone', 1600000000, {})",
        blob("7365616c65642d736563726574")
    ))
    .await;
    p.db.execute(&format!(
        "INSERT INTO user_factors (user_id, kind, name, created_at, last_used_at, credential_id, credential) \
         VALUES ({user}, 'passkey', 'YubiKey', 1650000000, {USED_AT}, {}, '{{\"cred\":\"public-key-json\"}}')",
        blob(&format!("{user:04x}c0ffee"))
    ))
    .await;
    for code in ["aa01", "aa02"] {
        p.db.execute(&format!("INSERT INTO recovery_codes (user_id, digest, created_at) VALUES ({user}, {}, 1600000000)", blob(code))).await;
    }
    let id = |kind: &str| format!("SELECT id FROM user_factors WHERE user_id = {user} AND kind = '{kind}'");
    (p.db.scalar(&id("totp")).await, p.db.scalar(&id("passkey")).await)
}

async fn factor_count(p: &TestProvider, username: &str) -> i64 {
    p.db.scalar(&format!("SELECT COUNT(*) FROM user_factors f JOIN users u ON u.id = f.user_id WHERE u.username = '{username}'")).await
}

async fn recovery_code_count(p: &TestProvider, username: &str) -> i64 {
    p.db.scalar(&format!("SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.username = '{username}'")).await
}

async fn audited(p: &TestProvider, action: &str, actor_like: &str) -> i64 {
    p.db.scalar(&format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND actor LIKE '{actor_like}'")).await
}

async fn call(p: &TestProvider, token: &str, method: Method, path: &str) -> (StatusCode, Value) {
    let response = http().request(method, p.url(&format!("/api/v1{path}"))).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Alice signed in at the provider, in a browser of her own (before she has factors: with them
/// her password alone would lead to the second step).
async fn alice_session(p: &TestProvider) -> Browser {
    let browser = Browser::new();
    Grant::of_alice(p, &browser, "client1").await;
    assert!(has_session(p, &browser).await);
    browser
}

#[tokio::test]
async fn api_lists_removes_and_resets_a_users_factors_with_audit_entries() {
    let p = TestProvider::with_scene(&[]).await;
    let token = p.api_token("admin", &[]).await;
    let alice_browser = alice_session(&p).await;
    let (totp, passkey) = stage_factors(&p, "alice").await;
    let (bobs, _) = stage_factors(&p, "bob").await;

    let (status, body) = call(&p, &token, Method::GET, "/users/alice/factors").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    assert_eq!(
        items[0],
        serde_json::json!({"id": totp, "kind": "totp", "name": "Phone", "created_at": 1_600_000_000, "last_used_at": null}),
        "exactly these fields: never a secret or a credential"
    );
    assert_eq!((items[1]["id"].as_i64(), items[1]["kind"].as_str(), items[1]["last_used_at"].as_i64()), (Some(passkey), Some("passkey"), Some(USED_AT)));

    // A factor of another user is not alice's: 404, and nothing is removed or ended.
    let before = p.snapshot().await;
    let (status, body) = call(&p, &token, Method::DELETE, &format!("/users/alice/factors/{bobs}")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");
    assert_eq!(p.snapshot().await, before);
    assert_eq!((factor_count(&p, "bob").await, factor_count(&p, "alice").await), (2, 2));
    assert!(has_session(&p, &alice_browser).await, "a refused removal ends no session");
    for (path, expected) in
        [("/users/nobody/factors".to_string(), StatusCode::NOT_FOUND), ("/users/alice/factors/not-a-number".into(), StatusCode::BAD_REQUEST)]
    {
        let (status, body) = call(&p, &token, Method::DELETE, &path).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["error"].is_string() && body["error_description"].is_string(), "{path}: JSON error {body}");
    }
    assert_eq!(call(&p, &token, Method::GET, "/users/nobody/factors").await.0, StatusCode::NOT_FOUND);

    // One factor: removed and audited; the other factor and the recovery codes stay.
    let (status, _) = call(&p, &token, Method::DELETE, &format!("/users/alice/factors/{totp}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(audited(&p, "mfa.remove", "user:admin").await, 1);
    assert_eq!((factor_count(&p, "alice").await, recovery_code_count(&p, "alice").await), (1, 2));
    assert!(!has_session(&p, &alice_browser).await, "an administrator's removal ends the user's sessions");
    let (_, body) = call(&p, &token, Method::GET, "/users/alice/factors").await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(call(&p, &token, Method::DELETE, &format!("/users/alice/factors/{totp}")).await.0, StatusCode::NOT_FOUND, "removed once");

    // Reset: the rest and the recovery codes, in one audited act; bob keeps his.
    let alice_browser = Browser::new();
    let (status, body) = call(&p, &token, Method::DELETE, "/users/alice/factors").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removed"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect::<Vec<_>>(), ["YubiKey"]);
    assert_eq!(audited(&p, "mfa.reset", "user:admin").await, 1);
    assert_eq!((factor_count(&p, "alice").await, recovery_code_count(&p, "alice").await), (0, 0));
    assert_eq!((factor_count(&p, "bob").await, recovery_code_count(&p, "bob").await), (2, 2));
    // Without factors alice signs in with her password alone again.
    Grant::of_alice(&p, &alice_browser, "client1").await;
    let (_, body) = call(&p, &token, Method::GET, "/users/alice/factors").await;
    assert_eq!(body["items"], serde_json::json!([]));
    let (status, body) = call(&p, &token, Method::DELETE, "/users/alice/factors").await;
    assert_eq!((status, body["removed"].clone()), (StatusCode::OK, serde_json::json!([])), "a reset of nothing removes nothing");
    assert!(has_session(&p, &alice_browser).await, "and ends no session");
}

#[tokio::test]
async fn api_refuses_factor_administration_to_delegated_administrators_and_limited_tokens() {
    let p = TestProvider::with_scene(&[]).await;
    let (totp, _) = stage_factors(&p, "alice").await;
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    let dana = p.api_token("dana", &[]).await;
    let read_only = p.api_token("admin", &["--read-only"]).await;
    let app_limited = p.api_token("admin", &["--app", "client1"]).await;
    let before = p.snapshot().await;
    let delete_one = format!("/users/alice/factors/{totp}");
    for (who, token, method, path, error) in [
        ("delegated", &dana, Method::GET, "/users/alice/factors", "access_denied"),
        ("delegated", &dana, Method::DELETE, delete_one.as_str(), "access_denied"),
        ("delegated", &dana, Method::DELETE, "/users/alice/factors", "access_denied"),
        ("read-only", &read_only, Method::DELETE, delete_one.as_str(), "insufficient_scope"),
        ("read-only", &read_only, Method::DELETE, "/users/alice/factors", "insufficient_scope"),
        ("application-limited", &app_limited, Method::GET, "/users/alice/factors", "access_denied"),
        ("application-limited", &app_limited, Method::DELETE, "/users/alice/factors", "access_denied"),
    ] {
        let (status, body) = call(&p, token, method.clone(), path).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some(error)), "{who} {method} {path}: {body}");
    }
    assert_eq!(p.snapshot().await, before, "nothing changed");
    assert_eq!((factor_count(&p, "alice").await, recovery_code_count(&p, "alice").await), (2, 2));
    // A read-only token of an administrator may read them.
    let (status, body) = call(&p, &read_only, Method::GET, "/users/alice/factors").await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
}

#[tokio::test]
async fn cli_lists_and_resets_a_users_factors_and_names_an_unknown_user() {
    let p = TestProvider::with_scene(&[]).await;
    let (totp, passkey) = stage_factors(&p, "alice").await;
    stage_factors(&p, "bob").await;

    let out = p.cli(&["user", "mfa", "list", "alice"], None).await;
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines[0], ["ID", "KIND", "NAME", "CREATED", "LAST USED"], "{out}");
    assert_eq!(lines[1], [totp.to_string().as_str(), "totp", "Phone", "2020-09-13 12:26:40 UTC", "-"], "{out}");
    assert_eq!(lines[2], [passkey.to_string().as_str(), "passkey", "YubiKey", "2022-04-15 05:20:00 UTC", USED_AT_TEXT], "{out}");
    assert_eq!(lines.len(), 3, "{out}");

    let out = p.cli(&["user", "mfa", "reset", "alice"], None).await;
    assert!(out.contains(&format!("removed totp {totp}\tPhone")) && out.contains(&format!("removed passkey {passkey}\tYubiKey")), "{out}");
    assert!(out.contains("removed 2 factors and the recovery codes of alice"), "{out}");
    assert_eq!(audited(&p, "mfa.reset", "cli:%").await, 1);
    assert_eq!((factor_count(&p, "alice").await, recovery_code_count(&p, "alice").await), (0, 0));
    assert_eq!(factor_count(&p, "bob").await, 2, "only alice's");
    let out = p.cli(&["user", "mfa", "list", "alice"], None).await;
    assert_eq!(out.lines().count(), 1, "the header alone: {out}");
    let out = p.cli(&["user", "mfa", "reset", "alice"], None).await;
    assert!(out.contains("alice has no second factor; nothing removed"), "{out}");

    for command in ["list", "reset"] {
        let (ok, stdout, stderr) = p.try_cli(&["user", "mfa", command, "nobody"], None).await;
        assert!(!ok, "{command} of an unknown user fails");
        assert!(stderr.contains("no user named \"nobody\"") && stdout.is_empty(), "{command}: {stderr}");
    }
    assert_eq!(factor_count(&p, "bob").await, 2);
}

#[tokio::test]
async fn console_shows_a_users_factors_and_a_full_administrator_removes_them_a_delegated_one_cannot() {
    let p = TestProvider::with_scene(&[]).await;
    let (totp, passkey) = stage_factors(&p, "alice").await;
    let alice = user_id(&p, "alice").await;
    let user_page = format!("/console/users/{alice}/");
    let admin = browser_signed_in(&p, "admin", p.admin_password.as_deref().unwrap()).await;

    let (status, html) = page(&admin, &p, &user_page).await;
    assert_eq!(status, StatusCode::OK);
    for shown in ["id=\"user-factors\"", "Authenticator app (TOTP)", "Phone", "YubiKey", "2020-09-13 12:26:40 UTC", USED_AT_TEXT, "never used"] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    assert!(html.contains(&format!("id=\"remove-factor-{totp}\"")) && html.contains("id=\"reset-factors\""));
    let german = admin.client.get(p.url(&user_page)).header("accept-language", "de").send().await.unwrap().text().await.unwrap();
    assert!(german.contains("Zweite Faktoren und Passkeys") && german.contains("Authenticator-App (TOTP)"), "{german}");

    // Removal asks first, on a page of its own; the form carries the CSRF token.
    let confirm = format!("/console/users/{alice}/factors/{totp}/remove");
    let (status, html) = page(&admin, &p, &confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"confirm-factors-form\"") && html.contains("Phone") && !html.contains("YubiKey"), "{html}");
    assert_eq!(factor_count(&p, "alice").await, 2, "showing the question removes nothing");
    let before = p.snapshot().await;
    let forged = admin.post_form(&p.url(&confirm), &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no removal without the form's CSRF token");
    assert_eq!(p.snapshot().await, before);
    assert_eq!(page(&admin, &p, &format!("/console/users/{alice}/factors/999999/remove")).await.0, StatusCode::NOT_FOUND);

    // A delegated administrator sees no user page and is refused when posting anyway.
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    let dana = browser_signed_in(&p, "dana", "dana-password-1").await;
    assert_eq!(page(&dana, &p, &user_page).await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(&dana, &p, &confirm).await.0, StatusCode::FORBIDDEN);
    let before = p.snapshot().await;
    for action in [confirm.clone(), format!("/console/users/{alice}/factors/reset")] {
        let response = submit(&dana, &p, "/console/account/", &action, &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(p.snapshot().await, before);
    assert_eq!(factor_count(&p, "alice").await, 2);

    let response = submit(&admin, &p, &confirm, &confirm, &[]).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, format!("{user_page}?notice=factor_removed")));
    assert_eq!(audited(&p, "mfa.remove", "user:admin").await, 1);
    let (_, html) = page(&admin, &p, &format!("{user_page}?notice=factor_removed")).await;
    assert!(html.contains("The factor is removed") && !html.contains("Phone") && html.contains("YubiKey"), "{html}");

    // Reset: the same, for all of them.
    let reset = format!("/console/users/{alice}/factors/reset");
    let (status, html) = page(&admin, &p, &reset).await;
    assert!(status == StatusCode::OK && html.contains("YubiKey"), "{html}");
    let response = submit(&admin, &p, &reset, &reset, &[]).await;
    assert_eq!(location(&response), format!("{user_page}?notice=factors_reset"));
    assert_eq!(audited(&p, "mfa.reset", "user:admin").await, 1);
    assert_eq!((factor_count(&p, "alice").await, recovery_code_count(&p, "alice").await), (0, 0));
    let (_, html) = page(&admin, &p, &user_page).await;
    assert!(html.contains("id=\"no-factors\"") && !html.contains("id=\"reset-factors\"") && !html.contains(&format!("remove-factor-{passkey}")));
}

#[tokio::test]
async fn with_require_admin_mfa_an_administrator_signed_in_with_a_password_alone_is_sent_to_the_step_up() {
    let p = TestProvider::with_scene(&["--require-admin-mfa"]).await;
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    let admin = browser_signed_in(&p, "admin", p.admin_password.as_deref().unwrap()).await;

    let step_up = |next: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).append_pair("require", "mfa").finish();
        format!("/account/login/verify/?{query}")
    };
    for path in ["/console/", "/console/users/?q=al", "/console/audit/", "/console/account/"] {
        let response = admin.get(&p.url(path)).await;
        assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, step_up(path)), "{path}");
    }
    // A form is not carried out either; the browser comes back to the console's start.
    let before = p.snapshot().await;
    let response = admin.post_form(&p.url("/console/users/"), &[("csrf_token", "x"), ("username", "eve")]).await;
    assert_eq!(location(&response), step_up("/console/"));
    assert_eq!(p.snapshot().await, before);
    // The account pages stay open, so that the administrator can enrol a factor.
    assert_eq!(admin.get(&p.url("/account/")).await.status(), StatusCode::OK);

    // A delegated administrator too; a user who administers nothing is not affected.
    let dana = browser_signed_in(&p, "dana", "dana-password-1").await;
    assert_eq!(location(&dana.get(&p.url("/console/applications/")).await), step_up("/console/applications/"));
    let bob = browser_signed_in(&p, "bob", "bob-password-1").await;
    assert_eq!(location(&bob.get(&p.url("/console/")).await), "/console/account/");
    assert_eq!(page(&bob, &p, "/console/account/").await.0, StatusCode::OK);

    // A session that proved a second factor passes (as the step-up page leaves it).
    p.db.execute("UPDATE sessions SET amr = 'pwd otp' WHERE user_id = (SELECT id FROM users WHERE username = 'admin')").await;
    assert_eq!(location(&admin.get(&p.url("/console/")).await), "/console/applications/");
    assert_eq!(page(&admin, &p, "/console/users/").await.0, StatusCode::OK);

    // API tokens are not affected.
    let token = p.api_token("admin", &[]).await;
    assert_eq!(p.api_get(&token, "/users/alice/factors").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn require_admin_mfa_is_off_by_default_and_read_from_flag_environment_and_file() {
    let p = TestProvider::with_scene(&[]).await;
    let admin = browser_signed_in(&p, "admin", p.admin_password.as_deref().unwrap()).await;
    assert_eq!(location(&admin.get(&p.url("/console/")).await), "/console/applications/", "off by default");

    let (ok, out, err) = p.try_cli(&["check"], None).await;
    assert!(ok && out.contains("require_admin_mfa = false"), "{out}{err}");
    let (ok, out, err) = p.try_cli(&["check", "--require-admin-mfa"], None).await;
    assert!(ok && out.contains("require_admin_mfa = true"), "{out}{err}");
    let file = p.db.dir.path().join("centralauth.toml");
    std::fs::write(&file, "require_admin_mfa = true\n").unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["check", "--database-url", &p.db.url])
        .env("CENTRALAUTH_CONFIG", &file)
        .env("CENTRALAUTH_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("require_admin_mfa = true"), "{out:?}");
    let out = tokio::process::Command::new(BIN)
        .args(["check", "--database-url", &p.db.url])
        .env("CENTRALAUTH_REQUIRE_ADMIN_MFA", "true")
        .env("CENTRALAUTH_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("require_admin_mfa = true"), "{out:?}");
}

//! The web console driven over HTTP like a browser without JavaScript: sign-in, forms with
//! their CSRF token, Post/Redirect/Get. Bad input gets its error next to the field and changes
//! nothing; delegated administrators see only their applications.

use reqwest::StatusCode;
use reqwest::header::ACCEPT_LANGUAGE;

use crate::support::*;

/// Signs in at the provider's login page and returns the browser's first console page.
async fn sign_in(p: &TestProvider, username: &str, password: &str) -> Browser {
    let browser = Browser::new();
    let response = browser.get(&p.url("/console/")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    assert!(login.starts_with("/account/login/?next="), "{login}");
    let page = browser.get(&p.url(&login)).await.text().await.unwrap();
    let response = browser
        .post_form(
            &p.url("/account/login/"),
            &[
                ("csrf_token", &hidden_input(&page, "csrf_token")),
                ("next", &hidden_input(&page, "next")),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {username} failed");
    assert_eq!(location(&response), "/console/");
    browser
}

pub(crate) async fn admin(p: &TestProvider) -> Browser {
    sign_in(p, "admin", p.admin_password.as_deref().unwrap()).await
}

pub(crate) async fn page(browser: &Browser, p: &TestProvider, path: &str) -> (StatusCode, String) {
    let response = browser.get(&p.url(path)).await;
    (response.status(), response.text().await.unwrap())
}

/// Submits a form as the page at `form_page` would: with that page's CSRF token.
pub(crate) async fn submit(browser: &Browser, p: &TestProvider, form_page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let (status, html) = page(browser, p, form_page).await;
    assert_eq!(status, StatusCode::OK, "{form_page}: {html}");
    let csrf = hidden_input(&html, "csrf_token");
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    browser.post_form(&p.url(action), &form).await
}

/// The text of the element with this id (up to the next tag).
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].trim().to_string())
}

/// The value of the checkbox `field` whose choice is labelled `label` (the picker's markup).
fn choice(html: &str, field: &str, label: &str) -> String {
    let start = html.find(&format!("data-search=\"{label} ")).unwrap_or_else(|| panic!("no choice {label}"));
    let rest = &html[start..];
    let marker = format!("name=\"{field}\" value=\"");
    let at = rest.find(&marker).unwrap() + marker.len();
    rest[at..at + rest[at..].find('"').unwrap()].to_string()
}

/// The numeric id in a console path after `segment` (`/console/users/7/…` → 7).
fn id_after(path: &str, segment: &str) -> String {
    let rest = &path[path.find(segment).unwrap_or_else(|| panic!("{segment} not in {path}")) + segment.len()..];
    rest.split(['/', '?']).next().unwrap().to_string()
}

async fn app_id(p: &TestProvider, client_id: &str) -> i64 {
    p.db.scalar(&format!("SELECT id FROM applications WHERE client_id = '{client_id}'")).await
}

async fn user_id(p: &TestProvider, username: &str) -> i64 {
    p.db.scalar(&format!("SELECT id FROM users WHERE username = '{username}'")).await
}

/// Form fields as a browser sends them.
pub(crate) type Fields<'a> = Vec<(&'a str, &'a str)>;

pub(crate) fn application_form<'a>(name: &'a str, client_id: &'a str, redirect_uris: &'a str) -> Fields<'a> {
    vec![
        ("name", name),
        ("client_id", client_id),
        ("redirect_uris", redirect_uris),
        ("access_token_lifetime", "300"),
        ("refresh_token_lifetime", "86400"),
        ("post_logout_redirect_uris", ""),
        ("backchannel_logout_uri", ""),
        ("id_token_signing_alg", "RS256"),
    ]
}

#[tokio::test]
async fn console_administrator_creates_application_user_group_and_membership() {
    let p = TestProvider::start().await;
    let browser = admin(&p).await;
    let response = browser.get(&p.url("/console/")).await;
    assert_eq!(location(&response), "/console/applications/");
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let script = browser.get(&p.url("/static/console.js")).await;
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));

    // An application: a generated client id, the secret shown once.
    let mut form = application_form("Intranet", "", REDIRECT_URI);
    form.push(("pkce_required", "on"));
    let response = submit(&browser, &p, "/console/applications/new", "/console/applications/", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let secret_page = location(&response);
    assert!(secret_page.contains("/secret"), "{secret_page}");
    let app = id_after(&secret_page, "/console/applications/");
    let (status, html) = page(&browser, &p, &secret_page).await;
    assert_eq!(status, StatusCode::OK);
    let secret = element_text(&html, "client-secret").expect("the secret is shown");
    let client_id = element_text(&html, "client-id").unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(client_id.len(), 32);
    let perms = serde_json::json!({"client_id": client_id, "client_secret": secret, "perms": [
        {"app_label": "auth", "codename": "view_group", "repr": "Can view group"},
        {"app_label": "auth", "codename": "add_group", "repr": "Can add group"},
        {"app_label": "blog", "codename": "change_post", "repr": "Can change post"},
    ]});
    let synced = http().post(p.provider("/perms/")).json(&perms).send().await.unwrap();
    assert_eq!(synced.status(), StatusCode::OK, "the shown secret authenticates the application");
    for path in [secret_page.clone(), format!("/console/applications/{app}/"), "/console/applications/".into(), "/console/audit/".into()] {
        let (_, html) = page(&browser, &p, &path).await;
        assert!(!html.contains(&secret), "the secret appears again on {path}");
        assert!(!html.contains("id=\"client-secret\""), "{path}");
    }

    // A user, a group with a permission, a membership with the group and a direct permission.
    let response = submit(
        &browser,
        &p,
        "/console/users/new",
        "/console/users/",
        &[
            ("username", "carol"),
            ("email", "carol@example.org"),
            ("first_name", "Carol"),
            ("last_name", "C"),
            ("is_active", "on"),
            ("password", "carol-password-1"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let carol = id_after(&location(&response), "/console/users/");
    let (_, users) = page(&browser, &p, "/console/users/?q=car&active=yes").await;
    assert!(users.contains("data-username=\"carol\"") && !users.contains("data-username=\"admin\""));

    let groups_new = format!("/console/applications/{app}/groups/new");
    let (_, html) = page(&browser, &p, &groups_new).await;
    let view_group = choice(&html, "permission", "auth.view_group");
    let add_group = choice(&html, "permission", "auth.add_group");
    let response = submit(
        &browser,
        &p,
        &groups_new,
        &format!("/console/applications/{app}/groups/"),
        &[("name", "viewers"), ("permission", &view_group)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let group = id_after(&location(&response), "/groups/");

    let members = format!("/console/applications/{app}/members/");
    let (_, html) = page(&browser, &p, &format!("{members}?find=caro")).await;
    assert!(html.contains("data-username=\"carol\""), "the user finder offers carol");
    let response = submit(&browser, &p, &members, &members, &[("username", "Carol")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let member_page = format!("/console/applications/{app}/members/{carol}/");
    assert!(location(&response).starts_with(&member_page));
    let response = submit(
        &browser,
        &p,
        &member_page,
        &member_page,
        &[("is_active", "on"), ("is_staff", "on"), ("group", &group), ("permission", &add_group)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&browser, &p, &member_page).await;
    let effective = &html[html.find("id=\"effective-permissions\"").unwrap()..];
    let effective = &effective[..effective.find("</ul>").unwrap()];
    assert!(effective.contains("auth.view_group") && effective.contains("auth.add_group"), "{effective}");
    assert!(!effective.contains("blog.change_post"));
    let (_, html) = page(&browser, &p, &format!("/console/applications/{app}/permissions/")).await;
    assert!(html.contains("data-permission=\"auth.view_group\"") && html.contains("viewers"));
    let (_, html) = page(&browser, &p, &format!("/console/users/{carol}/")).await;
    assert!(html.contains("id=\"user-memberships\"") && html.contains("Intranet"));

    // Deactivating the membership: the box unticked.
    let response = submit(&browser, &p, &member_page, &member_page, &[("group", &group), ("permission", &add_group)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM memberships WHERE NOT is_active").await, 1);

    // The group renamed, with carol chosen in the picker.
    let group_page = format!("/console/applications/{app}/groups/{group}/");
    let (_, html) = page(&browser, &p, &group_page).await;
    let carol_choice = choice(&html, "member", "carol");
    let response =
        submit(&browser, &p, &group_page, &group_page, &[("name", "readers"), ("permission", &view_group), ("member", &carol_choice)])
            .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM permission_groups WHERE name = 'readers'").await, 1);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM membership_groups").await, 1);

    // Settings, OpenID Connect ones included.
    let settings = format!("/console/applications/{app}/");
    let mut form = application_form("Intranet 2", "", "https://intranet.example/cb\nhttps://intranet.example/cb2");
    form[5] = ("post_logout_redirect_uris", "https://intranet.example/bye");
    form[6] = ("backchannel_logout_uri", "https://intranet.example/backchannel/");
    form[7] = ("id_token_signing_alg", "EdDSA");
    let response = submit(&browser, &p, &settings, &settings, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&browser, &p, &location(&response)).await;
    assert!(html.contains("id=\"notice\"") && html.contains("https://intranet.example/cb2") && html.contains("value=\"EdDSA\" selected"));

    // The user's account: profile, password, delegation, deactivation; the audit log by user.
    let user_page = format!("/console/users/{carol}/");
    let response = submit(
        &browser,
        &p,
        &user_page,
        &user_page,
        &[("email", "c@example.org"), ("first_name", "Caroline"), ("last_name", "C"), ("is_active", "on")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = submit(&browser, &p, &user_page, &format!("{user_page}password"), &[("password", "carol-password-2")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    sign_in(&p, "carol", "carol-password-2").await;
    let response = submit(&browser, &p, &user_page, &format!("{user_page}delegation"), &[("application", &app)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM application_admins").await, 1);
    let response = submit(&browser, &p, &user_page, &format!("{user_page}deactivate"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM users WHERE username = 'carol' AND NOT is_active").await, 1);
    let (_, html) = page(&browser, &p, "/console/audit/?user=carol").await;
    assert!(html.contains("data-action=\"user.update\"") && html.contains("data-action=\"user.delegate\""), "{html}");
    let (_, html) = page(&browser, &p, &format!("/console/audit/?actor=admin&application={app}")).await;
    assert!(html.contains("id=\"audit-list\"") && html.contains("data-audit-id="));
    assert!(!html.contains("data-action=\"user.create\""), "filtered by application");

    // A new secret replaces the old one, shown once as well.
    let response = submit(&browser, &p, &settings, &format!("/console/applications/{app}/secret"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&browser, &p, &location(&response)).await;
    let rotated = element_text(&html, "client-secret").unwrap();
    assert_ne!(rotated, secret);
    let old = http().post(p.provider("/perms/")).json(&perms).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::FORBIDDEN, "the old secret stopped working");

    // Deleting says what goes with the application.
    let (_, html) = page(&browser, &p, &format!("/console/applications/{app}/delete")).await;
    assert_eq!(element_text(&html, "usage-permissions").as_deref(), Some("3"));
    assert_eq!(element_text(&html, "usage-groups").as_deref(), Some("1"));
    assert_eq!(element_text(&html, "usage-memberships").as_deref(), Some("1"));
    let response =
        submit(&browser, &p, &format!("/console/applications/{app}/delete"), &format!("/console/applications/{app}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM applications").await, 0);
    assert!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE actor = 'user:admin'").await >= 14);
}


#[tokio::test]
async fn console_bad_input_gets_an_error_next_to_the_field_and_changes_nothing() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("client2", &[]).await;
    assert_eq!(p.sync_perms("client2", &[("other", "secret_perm", "Foreign")]).await.0, StatusCode::OK);
    p.cli(&["group", "create", "client2", "foreigners", "--perm", "other.secret_perm"], None).await;
    let browser = admin(&p).await;
    let (client1, alice) = (app_id(&p, "client1").await, user_id(&p, "alice").await);
    let foreign_perm =
        p.db.scalar("SELECT p.id FROM permissions p JOIN applications a ON a.id = p.application_id WHERE a.client_id = 'client2'").await;
    let foreign_group = p.db.scalar("SELECT g.id FROM permission_groups g WHERE g.name = 'foreigners'").await;
    let viewers = p.db.scalar("SELECT id FROM permission_groups WHERE name = 'viewers'").await;
    let before = p.snapshot().await;
    let long = "x".repeat(300);
    let (fp, fg) = (foreign_perm.to_string(), foreign_group.to_string());

    let new_app = "/console/applications/new";
    let cases: Vec<(&str, String, String, Fields, &str)> = vec![
        ("empty application name", new_app.into(), "/console/applications/".into(), application_form(" ", "", REDIRECT_URI), "name-error"),
        ("long application name", new_app.into(), "/console/applications/".into(), application_form(&long, "", REDIRECT_URI), "name-error"),
        (
            "duplicate client id",
            new_app.into(),
            "/console/applications/".into(),
            application_form("Again", "client1", REDIRECT_URI),
            "client_id-error",
        ),
        (
            "invalid redirect URI",
            new_app.into(),
            "/console/applications/".into(),
            application_form("Bad", "", "not a url"),
            "redirect_uris-error",
        ),
        ("no redirect URI", new_app.into(), "/console/applications/".into(), application_form("Bad", "", ""), "redirect_uris-error"),
        (
            "fragment in a redirect URI",
            format!("/console/applications/{client1}/"),
            format!("/console/applications/{client1}/"),
            application_form("client1", "", "https://app.example/cb#frag"),
            "redirect_uris-error",
        ),
        (
            "lifetime not a number",
            new_app.into(),
            "/console/applications/".into(),
            {
                let mut f = application_form("Lifetimes", "", REDIRECT_URI);
                f[3] = ("access_token_lifetime", "soon");
                f
            },
            "access_token_lifetime-error",
        ),
        (
            "back-channel URI not http",
            new_app.into(),
            "/console/applications/".into(),
            {
                let mut f = application_form("Backchannel", "", REDIRECT_URI);
                f[6] = ("backchannel_logout_uri", "ftp://x.example/");
                f
            },
            "backchannel_logout_uri-error",
        ),
        (
            "empty username",
            "/console/users/new".into(),
            "/console/users/".into(),
            vec![("username", ""), ("password", "long-enough-1")],
            "username-error",
        ),
        (
            "taken username",
            "/console/users/new".into(),
            "/console/users/".into(),
            vec![("username", "ALICE"), ("password", "long-enough-1")],
            "username-error",
        ),
        (
            "short password",
            "/console/users/new".into(),
            "/console/users/".into(),
            vec![("username", "dora"), ("password", "short")],
            "password-error",
        ),
        (
            "bad e-mail",
            "/console/users/new".into(),
            "/console/users/".into(),
            vec![("username", "dora"), ("email", "not mail"), ("password", "long-enough-1")],
            "email-error",
        ),
        (
            "long last name",
            format!("/console/users/{alice}/"),
            format!("/console/users/{alice}/"),
            vec![("last_name", &long), ("is_active", "on")],
            "last_name-error",
        ),
        (
            "empty group name",
            format!("/console/applications/{client1}/groups/new"),
            format!("/console/applications/{client1}/groups/"),
            vec![("name", "")],
            "name-error",
        ),
        (
            "long group name",
            format!("/console/applications/{client1}/groups/new"),
            format!("/console/applications/{client1}/groups/"),
            vec![("name", &long)],
            "name-error",
        ),
        (
            "duplicate group name",
            format!("/console/applications/{client1}/groups/new"),
            format!("/console/applications/{client1}/groups/"),
            vec![("name", "viewers")],
            "name-error",
        ),
        (
            "foreign permission in a group",
            format!("/console/applications/{client1}/groups/new"),
            format!("/console/applications/{client1}/groups/"),
            vec![("name", "forged"), ("permission", &fp)],
            "permissions-error",
        ),
        (
            "non-member in a group",
            format!("/console/applications/{client1}/groups/{viewers}/"),
            format!("/console/applications/{client1}/groups/{viewers}/"),
            vec![("name", "renamed"), ("member", "999999")],
            "members-error",
        ),
        (
            "foreign permission in a membership",
            format!("/console/applications/{client1}/members/{alice}/"),
            format!("/console/applications/{client1}/members/{alice}/"),
            vec![("is_active", "on"), ("permission", &fp)],
            "form-error",
        ),
        (
            "foreign group in a membership",
            format!("/console/applications/{client1}/members/{alice}/"),
            format!("/console/applications/{client1}/members/{alice}/"),
            vec![("is_active", "on"), ("group", &fg)],
            "form-error",
        ),
        (
            "unknown member",
            format!("/console/applications/{client1}/members/"),
            format!("/console/applications/{client1}/members/"),
            vec![("username", "nobody")],
            "username-error",
        ),
        (
            "wrong own password",
            "/console/account/".into(),
            "/console/account/password".into(),
            vec![
                ("current_password", "wrong-password"),
                ("new_password", "another-password-1"),
                ("new_password_again", "another-password-1"),
            ],
            "current_password-error",
        ),
    ];
    for (what, form_page, action, fields, error_id) in cases {
        let response = submit(&browser, &p, &form_page, &action, &fields).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("id=\"{error_id}\"")), "{what}: no {error_id} in {html}");
        assert!(html.contains("id=\"form-error\""), "{what}: no summary");
        assert_eq!(p.snapshot().await, before, "{what} changed the database");
    }

    // Malformed submissions: a readable 400 page, never a 500.
    let malformed: Vec<(&str, String, Fields)> = vec![
        ("id that is not a number", format!("/console/applications/{client1}/groups/new"), vec![("name", "g"), ("permission", "abc")]),
        ("repeated single field", format!("/console/applications/{client1}/groups/new"), vec![("name", "a"), ("name", "b")]),
        ("unknown delegated application", format!("/console/users/{alice}/"), vec![("application", "999999")]),
    ];
    let actions = [
        format!("/console/applications/{client1}/groups/"),
        format!("/console/applications/{client1}/groups/"),
        format!("/console/users/{alice}/delegation"),
    ];
    for ((what, form_page, fields), action) in malformed.into_iter().zip(actions) {
        let response = submit(&browser, &p, &form_page, &action, &fields).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        assert!(response.text().await.unwrap().contains("role=\"alert\""), "{what}");
        assert_eq!(p.snapshot().await, before, "{what} changed the database");
    }
    for path in [
        "/console/users/abc/",
        "/console/applications/999999/",
        "/console/applications/x/groups/",
        &format!("/console/applications/{client1}/members/999999/"),
    ] {
        assert_eq!(page(&browser, &p, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn console_forms_need_the_csrf_token_and_a_session() {
    let p = TestProvider::with_scene(&[]).await;
    let before = p.snapshot().await;
    let browser = admin(&p).await;
    let fields = [("username", "mallory"), ("password", "mallory-password-1")];
    let missing = browser.post_form(&p.url("/console/users/"), &fields).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing.text().await.unwrap().contains("role=\"alert\""));
    let mut wrong = vec![("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")];
    wrong.extend_from_slice(&fields);
    assert_eq!(browser.post_form(&p.url("/console/users/"), &wrong).await.status(), StatusCode::FORBIDDEN);
    let signed_in = p.snapshot().await;
    assert_eq!(signed_in[1..], before[1..], "nothing but sign-in changed");

    // Without a session: to the sign-in page, coming back to the page asked for.
    let stranger = Browser::new();
    let response = stranger.get(&p.url("/console/users/?q=al")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account/login/?next=%2Fconsole%2Fusers%2F%3Fq%3Dal");
    let response = stranger.post_form(&p.url("/console/users/"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/account/login/"));
    // An ended session is no session.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let expired = client.get(p.url("/console/")).header("cookie", "centralauth_session=no-such-session").send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::SEE_OTHER);
    assert!(location(&expired).starts_with("/account/login/"));
    let out = submit(&browser, &p, "/console/account/", "/account/logout/", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let response = browser.get(&p.url("/console/users/")).await;
    assert!(location(&response).starts_with("/account/login/"), "signed out");
    assert_eq!(p.snapshot().await[1..], before[1..]);
}

#[tokio::test]
async fn console_delegated_administrator_manages_only_their_applications() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_app("client2", &[]).await;
    p.cli(&["member", "add", "client1", "bob"], None).await;
    p.db.execute(
        "INSERT INTO application_admins (user_id, application_id) \
         SELECT u.id, a.id FROM users u, applications a WHERE u.username = 'bob' AND a.client_id = 'client1'",
    )
    .await;
    let (client1, client2) = (app_id(&p, "client1").await, app_id(&p, "client2").await);
    let (alice, bob) = (user_id(&p, "alice").await, user_id(&p, "bob").await);
    let browser = sign_in(&p, "bob", "bob-password-1").await;
    assert_eq!(location(&browser.get(&p.url("/console/")).await), "/console/applications/");
    let (_, html) = page(&browser, &p, "/console/applications/").await;
    assert!(html.contains("data-client-id=\"client1\"") && !html.contains("client2"));
    assert!(!html.contains("id=\"nav-users\"") && !html.contains("id=\"new-application\""));
    let (_, html) = page(&browser, &p, &format!("/console/applications/{client1}/")).await;
    assert!(!html.contains("id=\"application-form\"") && !html.contains("id=\"rotate-secret-form\""));

    for path in ["", "permissions/", "groups/", "groups/new", "members/", "secret", "delete"] {
        let (status, _) = page(&browser, &p, &format!("/console/applications/{client2}/{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "client2/{path}");
    }
    for path in ["/console/users/", &format!("/console/users/{alice}/"), "/console/audit/", "/console/applications/new"] {
        assert_eq!(page(&browser, &p, path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let before = p.snapshot().await;
    let own = format!("/console/applications/{client1}/members/{bob}/");
    let (status, html) = page(&browser, &p, &own).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"not-editable\"") && !html.contains("id=\"membership-submit\""));
    let members = format!("/console/applications/{client1}/members/");
    let refused: Vec<(String, Fields, StatusCode)> = vec![
        (own.clone(), vec![("is_active", "on"), ("is_superuser", "on")], StatusCode::FORBIDDEN),
        (format!("{own}delete"), vec![], StatusCode::FORBIDDEN),
        (format!("/console/applications/{client2}/members/"), vec![("username", "alice")], StatusCode::NOT_FOUND),
        (format!("/console/applications/{client1}/"), application_form("Mine", "", REDIRECT_URI), StatusCode::FORBIDDEN),
        (format!("/console/applications/{client1}/secret"), vec![], StatusCode::FORBIDDEN),
        (format!("/console/applications/{client1}/delete"), vec![], StatusCode::FORBIDDEN),
        (format!("/console/users/{bob}/"), vec![("is_active", "on"), ("administrator", "on")], StatusCode::FORBIDDEN),
        (format!("/console/users/{bob}/delegation"), vec![("application", "2")], StatusCode::FORBIDDEN),
        (format!("/console/users/{alice}/end-sessions"), vec![("revoke_tokens", "on")], StatusCode::FORBIDDEN),
        ("/console/applications/".into(), application_form("Mine", "", REDIRECT_URI), StatusCode::FORBIDDEN),
    ];
    for (action, fields, status) in refused {
        let response = submit(&browser, &p, &members, &action, &fields).await;
        assert_eq!(response.status(), status, "{action}");
        assert_eq!(p.snapshot().await, before, "{action} changed the database");
    }
    let viewers = p.db.scalar("SELECT id FROM permission_groups WHERE name = 'viewers'").await.to_string();
    let group_page = format!("/console/applications/{client1}/groups/{viewers}/");
    let (_, html) = page(&browser, &p, &group_page).await;
    let alice_choice = choice(&html, "member", "alice");
    let response =
        submit(&browser, &p, &group_page, &group_page, &[("name", "viewers"), ("member", &alice_choice), ("member", &bob.to_string())])
            .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "no joining a group oneself");
    assert_eq!(p.snapshot().await, before);

    // What is theirs to manage: other members of their application.
    let alice_page = format!("/console/applications/{client1}/members/{alice}/");
    let response = submit(&browser, &p, &alice_page, &alice_page, &[("is_staff", "on")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM memberships WHERE NOT is_active").await, 1);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE actor = 'user:bob'").await, 1);
}

#[tokio::test]
async fn console_user_changes_password_with_the_current_one_and_signs_out_everywhere() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = sign_in(&p, "alice", ALICE_PASSWORD).await;
    let other = sign_in(&p, "alice", ALICE_PASSWORD).await;
    assert_eq!(location(&browser.get(&p.url("/console/")).await), "/console/account/");
    let (_, html) = page(&browser, &p, "/console/account/").await;
    assert!(html.contains("<a href=\"http://127.0.0.1:9000/\" rel=\"noopener\">client1</a>"), "{html}");
    assert!(!html.contains("id=\"nav-users\"") && !html.contains("id=\"nav-applications\""));
    for path in ["/console/users/", "/console/applications/", "/console/audit/", "/console/applications/1/"] {
        assert_eq!(page(&browser, &p, path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let audit = p.db.scalar("SELECT COUNT(*) FROM audit_events").await;
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        vec![("current_password", current), ("new_password", new), ("new_password_again", again)]
    };
    let response = submit(
        &browser,
        &p,
        "/console/account/",
        "/console/account/password",
        &change("wrong-password", "alice-new-password", "alice-new-password"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("id=\"current_password-error\""));
    let response = submit(
        &browser,
        &p,
        "/console/account/",
        "/console/account/password",
        &change(ALICE_PASSWORD, "alice-new-password", "alice-other"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = submit(&browser, &p, "/console/account/", "/console/account/password", &change(ALICE_PASSWORD, "short", "short")).await;
    assert!(response.text().await.unwrap().contains("id=\"new_password-error\""));
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events").await, audit, "nothing changed");
    let response = submit(
        &browser,
        &p,
        "/console/account/",
        "/console/account/password",
        &change(ALICE_PASSWORD, "alice-new-password", "alice-new-password"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/console/account/?notice=password");
    sign_in(&p, "alice", "alice-new-password").await;

    let response = submit(&browser, &p, "/console/account/", "/console/account/sign-out-everywhere", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/account/login/"));
    for b in [&browser, &other] {
        let response = b.get(&p.url("/console/account/")).await;
        assert!(location(&response).starts_with("/account/login/"), "every session ended");
    }
    assert_eq!(p.db.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = {}", user_id(&p, "alice").await)).await, 0);
}

#[tokio::test]
async fn console_administrator_ends_a_users_sessions_and_resets_their_password() {
    let p = TestProvider::with_scene(&[]).await;
    let user_page = format!("/console/users/{}/", user_id(&p, "alice").await);
    let alices = Browser::new();
    let grant = Grant::of_alice(&p, &alices, "client1").await;
    let browser = admin(&p).await;
    let (_, html) = page(&browser, &p, &user_page).await;
    assert!(html.contains("id=\"end-sessions-form\"") && html.contains("id=\"revoke-tokens\" checked"), "{html}");
    let unprotected = browser.post_form(&p.url(&format!("{user_page}end-sessions")), &[("revoke_tokens", "on")]).await;
    assert_eq!(unprotected.status(), StatusCode::FORBIDDEN, "no CSRF token, no change");
    assert!(has_session(&p, &alices).await);

    let response = submit(&browser, &p, &user_page, &format!("{user_page}end-sessions"), &[("revoke_tokens", "on")]).await;
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, format!("{user_page}?notice=sessions_ended")));
    let (_, html) = page(&browser, &p, &location(&response)).await;
    assert!(html.contains("The user&#39;s sessions are ended.") || html.contains("The user's sessions are ended."), "{html}");
    assert!(!has_session(&p, &alices).await);
    grant.assert_withdrawn(&p, "sessions ended in the console").await;
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'user.end_sessions' AND actor = 'user:admin'").await, 1);
    assert_eq!(page(&browser, &p, &user_page).await.0, StatusCode::OK, "the administrator's own session is not alice's");

    let alices = Browser::new();
    let grant = Grant::of_alice(&p, &alices, "client1").await;
    let response = submit(&browser, &p, &user_page, &format!("{user_page}password"), &[("password", "alice-new-password")]).await;
    assert_eq!(location(&response), format!("{user_page}?notice=password_reset"));
    assert!(!has_session(&p, &alices).await, "a password reset ends the user's sessions");
    grant.assert_withdrawn(&p, "password reset in the console").await;

    let alices = Browser::new();
    let grant = Grant::of_alice_with(&p, &alices, "client1", "alice-new-password").await;
    let response = submit(&browser, &p, &user_page, &format!("{user_page}deactivate"), &[]).await;
    assert_eq!(location(&response), format!("{user_page}?notice=deactivated"));
    assert!(!has_session(&p, &alices).await, "deactivation ends the user's sessions");
    grant.assert_withdrawn(&p, "deactivated in the console").await;
}

#[tokio::test]
async fn console_speaks_german_when_the_browser_prefers_it() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = admin(&p).await;
    let german = |path: &str| browser.client.get(p.url(path)).header(ACCEPT_LANGUAGE, "de-DE,de;q=0.9,en;q=0.5");
    let german_post = |path: &str| browser.client.post(p.url(path)).header(ACCEPT_LANGUAGE, "de-DE,de;q=0.9,en;q=0.5");
    let html = german("/console/users/").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"de\">") && html.contains("Benutzer"));
    assert!(html.contains("Anwendungen") && html.contains("Suchen"));
    let form_page = german("/console/applications/new").send().await.unwrap().text().await.unwrap();
    let csrf = hidden_input(&form_page, "csrf_token");
    let mut form = application_form("", "", REDIRECT_URI);
    form.push(("csrf_token", &csrf));
    let response = german_post("/console/applications/").form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("muss 1 bis 255 Zeichen lang sein") && html.contains("Bitte die Fehler unten korrigieren."), "{html}");
    let missing = german_post("/console/users/").form(&[("username", "x")]).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing.text().await.unwrap().contains("Das Formular ist abgelaufen"));
}

#[tokio::test]
async fn console_delegated_administrator_adds_members_by_exact_username_without_browsing_accounts() {
    let p = TestProvider::with_scene(&[]).await;
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    p.cli(&["user", "update", "bob", "--first-name", "Bobby", "--email", "bob@example.org"], None).await;
    p.create_user("carol", "carol-password-1").await;
    p.cli(&["user", "update", "carol", "--active", "false"], None).await;
    let client1 = app_id(&p, "client1").await;
    let members = format!("/console/applications/{client1}/members/");

    // An administrator searches by the start of a name.
    let (_, html) = page(&admin(&p).await, &p, &format!("{members}?find=bo")).await;
    assert!(html.contains("data-username=\"bob\"") && html.contains("Bobby"));

    let browser = sign_in(&p, "dana", "dana-password-1").await;
    let (status, html) = page(&browser, &p, &members).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"member-find\""), "no search over every account");
    let (_, html) = page(&browser, &p, &format!("{members}?find=bo")).await;
    assert!(!html.contains("data-username=\"bob\""), "a prefix finds nobody");
    let (_, html) = page(&browser, &p, &format!("{members}?find=bob")).await;
    assert!(html.contains("data-username=\"bob\""), "the exact username finds them");
    assert!(!html.contains("Bobby") && !html.contains("bob@example.org"), "without name or address");

    // Nobody of that name and a deactivated account answer alike, and nothing changes.
    let before = p.snapshot().await;
    let mut errors = Vec::new();
    for username in ["ghost", "carol"] {
        let response = submit(&browser, &p, &members, &members, &[("username", username)]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{username}");
        errors.push(element_text(&response.text().await.unwrap(), "username-error").unwrap());
    }
    assert_eq!(errors[0], errors[1]);
    assert_eq!(p.snapshot().await, before);
    let response = submit(&browser, &p, &members, &members, &[("username", "bob")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn console_api_tokens_are_made_with_expiry_and_scope_and_show_their_last_use() {
    let p = TestProvider::with_scene(&[]).await;
    let browser = admin(&p).await;
    let tokens = "/console/account/tokens/";
    let (_, html) = page(&browser, &p, tokens).await;
    assert!(html.contains("<option value=\"never\""), "an administrator may choose never");
    let client1 = app_id(&p, "client1").await.to_string();
    let response =
        submit(&browser, &p, tokens, tokens, &[("name", "ci"), ("expires", "30"), ("read_only", "1"), ("application", &client1)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&browser, &p, &location(&response)).await;
    let secret = element_text(&html, "api-token").expect("the token, shown once");
    let row = &html[html.find("data-token-id=").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(" UTC") && row.contains("never used") && row.contains("Read only") && row.contains("client1"), "{row}");
    let (expires, created): (i64, i64) =
        (p.db.scalar("SELECT expires_at FROM api_tokens").await, p.db.scalar("SELECT created_at FROM api_tokens").await);
    assert_eq!(expires - created, 30 * 86_400);

    let response = http().get(p.url("/api/v1/applications")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, html) = page(&browser, &p, tokens).await;
    let row = &html[html.find("data-token-id=").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(!row.contains("never used"), "the last use is shown: {row}");

    // Out of range, or never for someone who is not an administrator: an error at the field.
    let response = submit(&browser, &p, tokens, tokens, &[("name", "long"), ("expires", "367")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(element_text(&response.text().await.unwrap(), "expires-error").is_some());
    p.create_user("dana", "dana-password-1").await;
    p.cli(&["user", "delegate", "dana", "--app", "client1"], None).await;
    let dana = sign_in(&p, "dana", "dana-password-1").await;
    let (_, html) = page(&dana, &p, tokens).await;
    assert!(!html.contains("<option value=\"never\""));
    let response = submit(&dana, &p, tokens, tokens, &[("name", "forever"), ("expires", "never")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM api_tokens").await, 1);
}

#[tokio::test]
async fn a_common_password_or_the_username_with_little_added_is_refused_wherever_it_is_set_with_its_reason() {
    let p = TestProvider::with_scene(&[]).await;
    let before = p.snapshot().await;
    let common = "is too common: it is on a list of passwords known from breaches";
    // The console, in English and in German: create, and an administrator's reset.
    let browser = admin(&p).await;
    let response = submit(&browser, &p, "/console/users/new", "/console/users/", &[("username", "dora"), ("password", "Password1")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(element_text(&html, "password-error").is_some_and(|e| e.contains(common)), "{html}");
    let response = submit(&browser, &p, "/console/users/new", "/console/users/", &[("username", "dora"), ("password", "dora2024")]).await;
    assert!(response.text().await.unwrap().contains("is too close to the username"));
    let alice_page = format!("/console/users/{}/", user_id(&p, "alice").await);
    let html = browser.client.get(p.url(&alice_page)).header(ACCEPT_LANGUAGE, "de").send().await.unwrap().text().await.unwrap();
    let form = [("csrf_token", hidden_input(&html, "csrf_token")), ("password".into(), "12345678".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_ref(), v.as_str())).collect();
    let response =
        browser.client.post(p.url(&format!("{alice_page}password"))).header(ACCEPT_LANGUAGE, "de").form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("ist zu verbreitet: es steht auf einer Liste von Passwörtern aus Datenlecks"), "{html}");
    // One's own change.
    let own = sign_in(&p, "alice", ALICE_PASSWORD).await;
    let change = [("current_password", ALICE_PASSWORD), ("new_password", "iloveyou"), ("new_password_again", "iloveyou")];
    let response = submit(&own, &p, "/console/account/", "/console/account/password", &change).await;
    assert!(element_text(&response.text().await.unwrap(), "new_password-error").is_some_and(|e| e.contains(common)));
    // The admin API names the field and the reason.
    let token = p.api_token("admin", &[]).await;
    for (path, body) in [
        ("/api/v1/users", serde_json::json!({"username": "dora", "password": "password"})),
        ("/api/v1/users/alice/password", serde_json::json!({"password": "qwertyuiop"})),
    ] {
        let response = http().post(p.url(path)).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["field"], "password", "{answer}");
        assert!(answer["error_description"].as_str().unwrap().contains("too common"), "{answer}");
    }
    // The CLI.
    let (ok, _, err) = p.try_cli(&["user", "create", "dora", "--password-stdin"], Some("12345678\n")).await;
    assert!(!ok && err.contains("too common"), "{err}");
    let (ok, _, err) = p.try_cli(&["user", "update", "alice", "--password-stdin"], Some("Alice-2024\n")).await;
    assert!(!ok && err.contains("too close to the username"), "{err}");
    // Nothing changed but the sign-ins and the token; alice's password is still hers.
    assert_eq!(p.snapshot().await[..1], before[..1]);
    sign_in(&p, "alice", ALICE_PASSWORD).await;
    assert_eq!(p.db.scalar("SELECT COUNT(*) FROM users WHERE username = 'dora'").await, 0);
}

//! The demo app (`examples/demo-client`, built on centralauth-client) run in the test's process
//! against a provider: started, registered, signed in to through the provider's login form.

#![allow(dead_code)]

use std::time::{Duration, UNIX_EPOCH};

use centralauth_client::{CentralAuthConfig, ClientSecret, Clock};
use centralauth_provider::domain::clock::Clock as _;
use reqwest::StatusCode;

use crate::support::*;

pub struct Demo {
    pub base: String,
}

/// Starts the demo app in-process on a free port, registered at the provider as `demo`.
pub async fn start_demo(p: &TestProvider, access_token_lifetime: &str) -> Demo {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect_uri = format!("{base}/centralauth/login/callback/");
    p.cli(
        &[
            "app",
            "create",
            "Demo",
            "--client-id",
            "demo",
            "--client-secret-stdin",
            "--redirect-uri",
            &redirect_uri,
            "--access-token-lifetime",
            access_token_lifetime,
            "--pkce",
            "required",
            "--redirect-uri-match",
            "exact",
        ],
        Some(SECRET),
    )
    .await;
    let mut config = CentralAuthConfig::new(&p.provider(""), "demo", ClientSecret::new(SECRET), &base).unwrap();
    if let Some(clock) = p.clock.clone() {
        // The demo reads the provider's test clock, so that both see a token expire together.
        config.clock = Clock::from_fn(move || UNIX_EPOCH + Duration::from_secs(clock.now() as u64));
    }
    let directory = demo_client::Directory::default();
    let auth = demo_client::central_auth(config, &directory).unwrap();
    let counts = auth.register_permissions(&demo_client::permissions()).await.unwrap();
    assert_eq!((counts.created, counts.count), (2, 2));
    let app = demo_client::app(&auth, directory);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Demo { base }
}

impl Demo {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Follows a browser through the demo, the provider's login form and back; returns the
    /// final answer.
    pub async fn sign_in(&self, p: &TestProvider, browser: &Browser, path: &str, username: &str, password: &str) -> reqwest::Response {
        let mut url = self.url(path);
        for _ in 0..10 {
            let response = browser.client.get(&url).header("accept", "text/html").send().await.unwrap();
            if !response.status().is_redirection() {
                return response;
            }
            let next = location(&response);
            url = if next.starts_with("http") {
                next
            } else if next.starts_with("/account/") {
                p.url(&next)
            } else {
                self.url(&next)
            };
            if url.contains("/account/login/") {
                let page = browser.get(&url).await.text().await.unwrap();
                let form = [("csrf_token", hidden_input(&page, "csrf_token")), ("next", hidden_input(&page, "next"))];
                let response = browser
                    .post_form(
                        &p.url("/account/login/"),
                        &[("csrf_token", &form[0].1), ("next", &form[1].1), ("username", username), ("password", password)],
                    )
                    .await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER, "provider sign-in failed");
                url = p.url(&location(&response));
            }
        }
        panic!("too many redirects");
    }

    pub async fn api_me(&self, browser: &Browser) -> (StatusCode, serde_json::Value) {
        let response = browser.get(&self.url("/api/me")).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }
}

/// The demo registered at `p` as `demo`, with alice (who may view notes) and bob (no membership).
pub async fn scene_on(p: TestProvider, lifetime: &str) -> (TestProvider, Demo) {
    let demo = start_demo(&p, lifetime).await;
    p.create_user("alice", ALICE_PASSWORD).await;
    p.create_user("bob", "bob-password-1").await;
    p.cli(&["member", "add", "demo", "alice", "--perm", "notes.view_note"], None).await;
    (p, demo)
}


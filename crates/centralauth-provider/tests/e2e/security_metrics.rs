//! The security log's events are counted for Prometheus, on a listener of their own.

use reqwest::StatusCode;

use crate::support::*;

/// `centralauth_security_events_total` by event, as a Prometheus server would read it.
async fn security_events(metrics_url: &str) -> Vec<(String, f64)> {
    let response = http().get(metrics_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    // OpenMetrics names the counter family without the `_total` of its sample.
    assert!(text.contains("# TYPE centralauth_security_events counter"), "{text}");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("the Prometheus text format");
    scrape
        .samples
        .into_iter()
        .filter(|s| s.metric == "centralauth_security_events_total")
        .map(|s| {
            // The parser reads the Prometheus 0.0.4 format, where a type names the sample itself,
            // so the OpenMetrics `_total` sample comes out untyped.
            let value = match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("a counter, not {other:?}"),
            };
            (s.labels.get("event").unwrap().to_string(), value)
        })
        .collect()
}

#[tokio::test]
async fn failed_sign_ins_and_refused_api_tokens_are_counted_on_the_metrics_listener_only() {
    let p = TestProvider::with_scene(&["--metrics-listen", "127.0.0.1:0"]).await;
    let metrics = p.metrics.clone().expect("the provider says where its metrics are");
    assert_ne!(metrics, p.url("/metrics"), "not on the public listener");
    assert_eq!(http().get(p.url("/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    for _ in 0..3 {
        let browser = Browser::new();
        let page = browser.get(&p.url("/account/login/")).await.text().await.unwrap();
        let form = [("csrf_token", hidden_input(&page, "csrf_token")), ("username", "alice".into()), ("password", "wrong-password".into())];
        let form = form.each_ref().map(|(k, v)| (*k, v.as_str()));
        assert_eq!(browser.post_form(&p.url("/account/login/"), &form).await.status(), StatusCode::OK);
    }
    let refused = http().get(p.url("/api/v1/applications")).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let counted = security_events(&metrics).await;
    assert!(counted.contains(&("sign_in_failed".to_string(), 3.0)), "{counted:?}");
    assert!(counted.iter().any(|(event, n)| event == "api_token_rejected" && *n >= 1.0), "{counted:?}");
}

#[tokio::test]
async fn wrong_second_step_codes_are_counted_as_security_events() {
    let p = TestProvider::with_scene(&["--metrics-listen", "127.0.0.1:0"]).await;
    let metrics = p.metrics.clone().expect("the provider says where its metrics are");
    // alice enrols an authenticator app; its code comes from totp-rs at the wall clock's time
    // (the provider runs as its own process, on the system clock).
    let alice = browser_signed_in(&p, "alice", ALICE_PASSWORD).await;
    let page = alice.get(&p.url("/account/security/totp/")).await.text().await.unwrap();
    let secret = page.split("id=\"totp-secret\"").nth(1).and_then(|rest| rest.split('>').nth(1)).and_then(|rest| rest.split('<').next()).unwrap().trim();
    let totp = totp_rs::Builder::new().with_secret(totp_rs::Secret::try_from_base32(secret).unwrap()).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let form = [
        ("csrf_token", hidden_input(&page, "csrf_token")),
        ("enrolment", hidden_input(&page, "enrolment")),
        ("name", "Phone".to_string()),
        ("code", totp.generate(now).to_string()),
    ];
    let response = alice.post_form(&p.url("/account/security/totp/"), &form.each_ref().map(|(k, v)| (*k, v.as_str()))).await;
    assert_eq!(response.status(), StatusCode::OK, "enrolled; the recovery codes are shown");

    // Through the password, then two wrong codes (an hour away from now: not within the window).
    let browser = Browser::new();
    let page = browser.get(&p.url("/account/login/")).await.text().await.unwrap();
    let form = [("csrf_token", hidden_input(&page, "csrf_token")), ("username", "alice".into()), ("password", ALICE_PASSWORD.into())];
    let response = browser.post_form(&p.url("/account/login/"), &form.each_ref().map(|(k, v)| (*k, v.as_str()))).await;
    assert_eq!(location(&response), "/account/login/verify/");
    for _ in 0..2 {
        let page = browser.get(&p.url("/account/login/verify/")).await.text().await.unwrap();
        let form = [("csrf_token", hidden_input(&page, "csrf_token")), ("code", totp.generate(now + 3600).to_string())];
        let response = browser.post_form(&p.url("/account/login/verify/"), &form.each_ref().map(|(k, v)| (*k, v.as_str()))).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.text().await.unwrap().contains("not right"));
    }
    let counted = security_events(&metrics).await;
    assert!(counted.contains(&("second_step_failed".to_string(), 2.0)), "{counted:?}");
    assert!(!counted.iter().any(|(event, _)| event == "sign_in_failed"), "the password was right: {counted:?}");
}

//! End-to-end tests against the real `centralauth` binary: one test binary, each test with its
//! own database and server. Run on PostgreSQL with `CENTRALAUTH_TEST_BACKEND=postgres`.

mod support;

mod admin_api;
mod app_defaults;
mod backchannel;
mod bad_input;
mod client_demo;
mod demo;
mod concurrency;
mod console;
mod flows;
mod import_django;
mod mfa_policy;
mod memory;
mod mfa_admin;
mod mfa_totp;
mod oidc;
mod passkeys;
mod protocol;
mod security_metrics;
mod storage;
mod withdrawal;

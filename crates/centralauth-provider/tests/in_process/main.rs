//! The in-process tier: the app built with `App::build` on a free port, in the test's own
//! process, with a test clock that moves only when the test says so. Every rule about time is
//! tested here, by moving the clock instead of waiting for it: code and token expiry, rotation
//! grace, session lifetime, key retirement, purge, the sign-in limit's window. Each test has its
//! own database. Settings that need the app but not the binary (client address behind proxies, https)
//! are tested here too. Run on PostgreSQL with `CENTRALAUTH_TEST_BACKEND=postgres`. What only the
//! binary shows (its output, first start, signals, memory) stays in `tests/e2e`.

#[path = "../e2e/support.rs"]
mod support;

mod time;
mod api_tokens;
#[path = "../e2e/demo.rs"]
mod demo;

mod client_demo;
mod settings;
mod sign_in_limits;

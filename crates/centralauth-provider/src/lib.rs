//! centralauth: an OAuth 2.0 / OpenID Connect authorization server that also owns each
//! application's permissions, groups and memberships, wire-compatible with django-centralauth 2.0.

pub mod app;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod django_source;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod store;

//! The HTTP surface: the wire contract under the prefix (`oauth`, `api`), the provider's own
//! sign-in (`account`), health, and the security headers every answer carries.

pub mod account;
pub mod api;
pub mod console;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod oauth;
pub mod pages;
pub mod router;
pub mod state;

//! Administrative operations, one function per act and one module per concept. Every operation
//! takes the acting [`Administrator`] (a signed-in user, an API token's owner, or the CLI as a
//! full administrator) and enforces the rules itself: the scope of a delegated administrator, no
//! self-lockout, no self-escalation. The CLI, the console and the admin API call only these.

pub mod api_tokens;
pub mod applications;
pub mod delegation;
pub mod factors;
pub mod groups;
pub mod memberships;
pub mod users;

pub use api_tokens::{Access, TokenLifetime, TokenLimits, TokenRefusal, TokenScope, authenticate_api_token, create_api_token, revoke_api_token};
pub use applications::{
    ApplicationInput, ApplicationUpdate, OidcChanges, create_application, delete_application, find_application, parse_backchannel_logout_uri,
    parse_redirect_uris, rotate_client_secret, update_application,
};
pub use delegation::{set_delegation, set_delegation_by_id};
pub use factors::{list_factors, remove_factor, reset_factors};
pub use groups::{GroupChange, create_group, delete_group, save_group, set_group_members};
pub use memberships::{
    MembershipChanges, add_membership, delete_membership, find_member, find_user_to_add, find_users_to_add, save_membership, update_membership,
};
pub use users::{
    MIN_PASSWORD_LENGTH, UserInput, UserUpdate, change_own_password, check_password, create_user, end_user_sessions, ensure_administrator, find_user,
    generate_password, set_password, update_user,
};

pub use super::authz::Administrator;

#[cfg(test)]
mod tests;

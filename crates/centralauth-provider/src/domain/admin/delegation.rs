//! Delegation: which applications a user administers as a delegated administrator (their
//! groups and memberships, not their settings). Only a full administrator delegates, so a
//! delegated administrator can never widen their own scope.

use crate::domain::application::{Application, ApplicationId};
use crate::domain::authz::Administrator;
use crate::domain::ports::{ApplicationStore, UserStore};
use crate::domain::user::User;
use crate::domain::{Error, Result};

/// Makes `user` the delegated administrator of exactly these applications (by client id; none
/// for no delegation). An unknown client id changes nothing.
pub async fn set_delegation<S: UserStore + ApplicationStore + ?Sized>(
    admin: &Administrator,
    store: &S,
    user: &User,
    client_ids: &[String],
) -> Result<Vec<Application>> {
    admin.require_full()?;
    let mut apps: Vec<Application> = Vec::with_capacity(client_ids.len());
    for client_id in client_ids {
        let app = store
            .find_application_by_client_id(client_id)
            .await?
            .ok_or_else(|| Error::invalid("client_ids", format!("{client_id:?} is not a registered application")))?;
        if !apps.iter().any(|a| a.id == app.id) {
            apps.push(app);
        }
    }
    let ids: Vec<_> = apps.iter().map(|a| a.id).collect();
    store.set_delegated_applications(user.id, &ids, &admin.actor()).await?;
    Ok(apps)
}

/// As [`set_delegation`], by application ids (the console's checkboxes); an unknown id is
/// `NotFound` and changes nothing.
pub async fn set_delegation_by_id<S: UserStore + ?Sized>(admin: &Administrator, store: &S, user: &User, apps: &[ApplicationId]) -> Result<()> {
    admin.require_full()?;
    Ok(store.set_delegated_applications(user.id, apps, &admin.actor()).await?)
}

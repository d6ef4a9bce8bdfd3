//! Applications.

use std::sync::Arc;

use async_trait::async_trait;

use super::{SqlStore, write_effects};
use crate::domain::effects;
use crate::domain::application::{
    Application, ApplicationId, NewApplication, OidcSettings, PkcePolicy, TokenLifetimes, join_redirect_uris, split_redirect_uris,
};
use crate::domain::audit::Actor;
use crate::domain::clock::UnixTime;
use crate::domain::redirect_uri::{RedirectUri, RedirectUriMatch};
use crate::domain::signing::Algorithm;
use crate::domain::secret::SecretDigest;
use crate::store::errors::conflict_or_other;
use crate::store::hot_path::{Arg, hot_path_row};
use crate::domain::ports::{ApplicationStore, ApplicationUsage, StoreError, StoreResult};

hot_path_row! {
    pub(super) struct ApplicationRow {
        id: i64,
        name: String,
        client_id: String,
        client_secret_digest: Vec<u8>,
        redirect_uris: String,
        redirect_uri_match: String,
        pkce: String,
        allow_insecure_redirect_uris: bool,
        allow_introspection_get: bool,
        access_token_lifetime: i64,
        refresh_token_lifetime: i64,
        post_logout_redirect_uris: String,
        backchannel_logout_uri: String,
        id_token_signing_alg: String,
        require_mfa: bool,
        require_passkey: bool,
        created_at: i64,
    }
}

impl From<ApplicationRow> for Application {
    fn from(r: ApplicationRow) -> Self {
        Application {
            id: ApplicationId(r.id),
            name: r.name,
            client_id: r.client_id,
            client_secret_digest: SecretDigest(r.client_secret_digest),
            redirect_uris: split_redirect_uris(&r.redirect_uris),
            // Stored values are written by this code only; an unknown one falls back to the strict side.
            redirect_uri_match: RedirectUriMatch::parse(&r.redirect_uri_match).unwrap_or(RedirectUriMatch::Exact),
            pkce: PkcePolicy::parse(&r.pkce).unwrap_or(PkcePolicy::Required),
            allow_insecure_redirect_uris: r.allow_insecure_redirect_uris,
            allow_introspection_get: r.allow_introspection_get,
            lifetimes: TokenLifetimes { access_token: r.access_token_lifetime, refresh_token: r.refresh_token_lifetime },
            oidc: OidcSettings {
                post_logout_redirect_uris: split_redirect_uris(&r.post_logout_redirect_uris),
                backchannel_logout_uri: RedirectUri::parse(&r.backchannel_logout_uri).ok(),
                id_token_signing_alg: Algorithm::parse(&r.id_token_signing_alg).unwrap_or_default(),
            },
            require_mfa: r.require_mfa,
            require_passkey: r.require_passkey,
            created_at: r.created_at,
        }
    }
}

/// Every column of `ApplicationRow`, followed by `$where` (also used by the import).
macro_rules! select_application {
    ($where:literal) => {
        concat!(
            "SELECT id, name, client_id, client_secret_digest, redirect_uris, redirect_uri_match, pkce, \
             allow_insecure_redirect_uris, allow_introspection_get, \
             access_token_lifetime, refresh_token_lifetime, post_logout_redirect_uris, backchannel_logout_uri, \
             id_token_signing_alg, require_mfa, require_passkey, created_at FROM applications ",
            $where
        )
    };
}
pub(super) use select_application;

#[async_trait]
impl ApplicationStore for SqlStore {
    async fn insert_application(&self, app: &NewApplication, actor: &Actor) -> StoreResult<Application> {
        let mut tx = self.write().await?;
        let now = self.clock.now();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO applications (name, client_id, client_secret_digest, redirect_uris, redirect_uri_match, pkce, \
             access_token_lifetime, refresh_token_lifetime, post_logout_redirect_uris, backchannel_logout_uri, id_token_signing_alg, \
             created_at, allow_insecure_redirect_uris, allow_introspection_get, require_mfa, require_passkey) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(&app.name)
        .bind(app.client_id.as_str())
        .bind(&app.client_secret_digest.0)
        .bind(join_redirect_uris(&app.redirect_uris))
        .bind(app.redirect_uri_match.as_str())
        .bind(app.pkce.as_str())
        .bind(app.lifetimes.access_token)
        .bind(app.lifetimes.refresh_token)
        .bind(join_redirect_uris(&app.oidc.post_logout_redirect_uris))
        .bind(app.oidc.backchannel_logout_uri.as_ref().map_or("", RedirectUri::as_str))
        .bind(app.oidc.id_token_signing_alg.as_str())
        .bind(now)
        .bind(app.allow_insecure_redirect_uris)
        .bind(app.allow_introspection_get)
        .bind(app.require_mfa)
        .bind(app.require_passkey)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict_or_other(e, "client_id"))?;
        let created = Application {
            id: ApplicationId(id),
            name: app.name.clone(),
            client_id: app.client_id.as_str().to_string(),
            client_secret_digest: app.client_secret_digest.clone(),
            redirect_uris: app.redirect_uris.clone(),
            redirect_uri_match: app.redirect_uri_match,
            pkce: app.pkce,
            allow_insecure_redirect_uris: app.allow_insecure_redirect_uris,
            allow_introspection_get: app.allow_introspection_get,
            lifetimes: app.lifetimes,
            oidc: app.oidc.clone(),
            require_mfa: app.require_mfa,
            require_passkey: app.require_passkey,
            created_at: now,
        };
        write_effects(&mut tx, &effects::application_created(actor, &created), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(created)
    }

    async fn find_application_by_client_id(&self, client_id: &str) -> StoreResult<Option<Application>> {
        // Every token, introspection and revocation request authenticates its client.
        let epoch = self.cache_epoch().await?;
        let key = client_id.to_string();
        let app = match self.applications.get(epoch, &key) {
            Some(app) => app,
            None => {
                let row: Option<ApplicationRow> =
                    self.hot_path.fetch_optional(select_application!("WHERE client_id = $1"), &[Arg::Text(client_id)]).await?;
                let app = row.map(|r| Arc::new(Application::from(r)));
                self.applications.insert(epoch, key, app.clone());
                app
            }
        };
        Ok(app.map(Arc::unwrap_or_clone))
    }

    async fn list_applications(&self) -> StoreResult<Vec<Application>> {
        let rows: Vec<ApplicationRow> = sqlx::query_as(select_application!("ORDER BY name, client_id")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Application::from).collect())
    }

    async fn update_application(&self, app: &Application, actor: &Actor) -> StoreResult<Application> {
        let mut tx = self.write().await?;
        let before: Application = sqlx::query_as::<_, ApplicationRow>(select_application!("WHERE id = $1"))
            .bind(app.id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .into();
        sqlx::query(
            "UPDATE applications SET name = $1, client_secret_digest = $2, redirect_uris = $3, redirect_uri_match = $4, pkce = $5, \
             access_token_lifetime = $6, refresh_token_lifetime = $7, post_logout_redirect_uris = $8, backchannel_logout_uri = $9, \
             id_token_signing_alg = $10, allow_insecure_redirect_uris = $11, allow_introspection_get = $12, \
             require_mfa = $13, require_passkey = $14 WHERE id = $15",
        )
        .bind(&app.name)
        .bind(&app.client_secret_digest.0)
        .bind(join_redirect_uris(&app.redirect_uris))
        .bind(app.redirect_uri_match.as_str())
        .bind(app.pkce.as_str())
        .bind(app.lifetimes.access_token)
        .bind(app.lifetimes.refresh_token)
        .bind(join_redirect_uris(&app.oidc.post_logout_redirect_uris))
        .bind(app.oidc.backchannel_logout_uri.as_ref().map_or("", RedirectUri::as_str))
        .bind(app.oidc.id_token_signing_alg.as_str())
        .bind(app.allow_insecure_redirect_uris)
        .bind(app.allow_introspection_get)
        .bind(app.require_mfa)
        .bind(app.require_passkey)
        .bind(app.id.0)
        .execute(&mut *tx)
        .await?;
        write_effects(&mut tx, &effects::application_updated(actor, &before, app), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(app.clone())
    }

    async fn find_application_by_id(&self, id: ApplicationId) -> StoreResult<Option<Application>> {
        let row: Option<ApplicationRow> = sqlx::query_as(select_application!("WHERE id = $1")).bind(id.0).fetch_optional(&self.pool).await?;
        Ok(row.map(Application::from))
    }

    async fn application_usage(&self, id: ApplicationId) -> StoreResult<ApplicationUsage> {
        let mut conn = self.pool.acquire().await?;
        usage(&mut conn, id, self.clock.now()).await
    }

    async fn delete_application(&self, id: ApplicationId, actor: &Actor) -> StoreResult<ApplicationUsage> {
        let mut tx = self.write().await?;
        let before: Application = sqlx::query_as::<_, ApplicationRow>(select_application!("WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .into();
        let usage = usage(&mut tx, id, self.clock.now()).await?;
        // Everything of the application goes with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM applications WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
        write_effects(&mut tx, &effects::application_deleted(actor, &before, &usage), self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(usage)
    }
}

async fn usage(conn: &mut <super::Db as sqlx::Database>::Connection, id: ApplicationId, now: UnixTime) -> StoreResult<ApplicationUsage> {
    let (permissions, groups, memberships, active_grants): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM permissions WHERE application_id = $1), \
                (SELECT COUNT(*) FROM permission_groups WHERE application_id = $1), \
                (SELECT COUNT(*) FROM memberships WHERE application_id = $1), \
                (SELECT COUNT(*) FROM token_families WHERE application_id = $1 AND revoked_at IS NULL AND expires_at > $2)",
    )
    .bind(id.0)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(ApplicationUsage { permissions, groups, memberships, active_grants })
}

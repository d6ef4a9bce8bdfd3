//! Applications: the list (each administrator sees theirs), and for administrators create,
//! settings, secret rotation (the secret shown exactly once) and deletion after confirmation;
//! the registered permissions with what uses them.

use askama::Template;
use axum::extract::Path;
use axum::response::IntoResponse;

use super::form::{FormErrors, lines};
use super::once::ShownOnce;
use super::{Chrome, Console, ConsoleError, ConsolePost, OrFail, Outcome};
use crate::domain::Error;
use crate::domain::admin::{self, ApplicationInput, ApplicationUpdate, OidcChanges};
use crate::domain::application::{Application, ApplicationProfile, PkcePolicy, TokenLifetimes};
use crate::domain::redirect_uri::{RedirectUri, RedirectUriMatch};
use crate::domain::secret::Secret;
use crate::domain::signing::Algorithm;
use crate::domain::ports::{ApplicationUsage, PermissionUsage};

/// Carries a new client secret from the POST that made it to the one page that shows it
/// (Post/Redirect/Get without server-side state); the page removes it.

#[derive(Template)]
#[template(path = "console/applications/list.html")]
struct ListPage<'a> {
    c: Chrome<'a>,
    applications: Vec<Application>,
}

pub async fn list(c: Console) -> Outcome {
    if !c.admin.is_administrator() {
        return Err(c.forbidden());
    }
    let applications = c.store().list_applications().await.or_fail(&c)?.into_iter().filter(|a| c.admin.manages(a.id)).collect();
    c.page(&ListPage { c: c.chrome("applications"), applications })
}

/// The values of the application form, as entered or as stored.
struct AppFields {
    name: String,
    client_id: String,
    redirect_uris: String,
    allow_insecure_redirect_uris: bool,
    /// `custom` (the three settings below), or a profile's name that presets them.
    profile: String,
    exact_redirect_uri: bool,
    pkce_required: bool,
    allow_introspection_get: bool,
    access_token_lifetime: String,
    refresh_token_lifetime: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    id_token_signing_alg: String,
    require_mfa: bool,
    require_passkey: bool,
}

impl Default for AppFields {
    fn default() -> Self {
        let lifetimes = TokenLifetimes::default();
        let preset = ApplicationProfile::Default.settings();
        Self {
            name: String::new(),
            client_id: String::new(),
            redirect_uris: String::new(),
            allow_insecure_redirect_uris: false,
            profile: ApplicationProfile::Default.as_str().to_string(),
            exact_redirect_uri: preset.redirect_uri_match == RedirectUriMatch::Exact,
            pkce_required: preset.pkce == PkcePolicy::Required,
            allow_introspection_get: preset.allow_introspection_get,
            access_token_lifetime: lifetimes.access_token.to_string(),
            refresh_token_lifetime: lifetimes.refresh_token.to_string(),
            post_logout_redirect_uris: String::new(),
            backchannel_logout_uri: String::new(),
            id_token_signing_alg: Algorithm::default().as_str().to_string(),
            require_mfa: false,
            require_passkey: false,
        }
    }
}

/// What the form's values mean, once each parses.
struct Parsed {
    lifetimes: TokenLifetimes,
    /// A chosen profile, which the three settings below then do not override.
    profile: Option<ApplicationProfile>,
    redirect_uri_match: RedirectUriMatch,
    pkce: PkcePolicy,
    allow_introspection_get: bool,
    oidc: OidcChanges,
}

impl Parsed {
    /// The settings the profile does not preset, or all three when none was chosen.
    fn own_settings(&self) -> (Option<RedirectUriMatch>, Option<PkcePolicy>, Option<bool>) {
        match self.profile {
            Some(_) => (None, None, None),
            None => (Some(self.redirect_uri_match), Some(self.pkce), Some(self.allow_introspection_get)),
        }
    }
}

impl AppFields {
    fn of(app: &Application) -> Self {
        let join = |uris: &[RedirectUri]| uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>().join("\n");
        Self {
            name: app.name.clone(),
            client_id: app.client_id.clone(),
            redirect_uris: join(&app.redirect_uris),
            allow_insecure_redirect_uris: app.allow_insecure_redirect_uris,
            // The settings as they are; choosing a profile is a change.
            profile: "custom".to_string(),
            exact_redirect_uri: app.redirect_uri_match == RedirectUriMatch::Exact,
            pkce_required: app.pkce == PkcePolicy::Required,
            allow_introspection_get: app.allow_introspection_get,
            access_token_lifetime: app.lifetimes.access_token.to_string(),
            refresh_token_lifetime: app.lifetimes.refresh_token.to_string(),
            post_logout_redirect_uris: join(&app.oidc.post_logout_redirect_uris),
            backchannel_logout_uri: app.oidc.backchannel_logout_uri.as_ref().map(|u| u.as_str().to_string()).unwrap_or_default(),
            id_token_signing_alg: app.oidc.id_token_signing_alg.as_str().to_string(),
            require_mfa: app.require_mfa,
            require_passkey: app.require_passkey,
        }
    }

    fn read(c: &Console, form: &super::form::Form) -> Result<Self, ConsoleError> {
        Ok(Self {
            name: form.text(c, "name")?,
            client_id: form.text(c, "client_id")?.trim().to_string(),
            redirect_uris: form.text(c, "redirect_uris")?,
            allow_insecure_redirect_uris: form.checked("allow_insecure_redirect_uris"),
            profile: form.text(c, "profile")?.trim().to_string(),
            exact_redirect_uri: form.checked("exact_redirect_uri"),
            pkce_required: form.checked("pkce_required"),
            allow_introspection_get: form.checked("allow_introspection_get"),
            access_token_lifetime: form.text(c, "access_token_lifetime")?,
            refresh_token_lifetime: form.text(c, "refresh_token_lifetime")?,
            post_logout_redirect_uris: form.text(c, "post_logout_redirect_uris")?,
            backchannel_logout_uri: form.text(c, "backchannel_logout_uri")?,
            id_token_signing_alg: form.text(c, "id_token_signing_alg")?,
            require_mfa: form.checked("require_mfa"),
            require_passkey: form.checked("require_passkey"),
        })
    }

    /// Checks what the domain would not report (a lifetime that is not a number, an unknown
    /// profile). Without a profile field (a form posted by a script), `absent` stands for it.
    fn parse(&self, c: &Console, absent: Option<ApplicationProfile>) -> Result<Parsed, FormErrors> {
        let mut errors = FormErrors::default();
        let mut seconds = |field: &'static str, raw: &str| match raw.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                errors.add(field, c.ct.whole_seconds);
                0
            }
        };
        let lifetimes = TokenLifetimes {
            access_token: seconds("access_token_lifetime", &self.access_token_lifetime),
            refresh_token: seconds("refresh_token_lifetime", &self.refresh_token_lifetime),
        };
        let profile = match self.profile.as_str() {
            "" => absent,
            "custom" => None,
            named => match ApplicationProfile::parse(named) {
                Ok(profile) => Some(profile),
                Err(Error::Invalid { field, reason }) => {
                    errors.add("profile", c.ct.reason(field, &reason));
                    None
                }
                Err(_) => None,
            },
        };
        if let Err(Error::Invalid { field, reason }) = admin::parse_backchannel_logout_uri(&self.backchannel_logout_uri) {
            errors.add("backchannel_logout_uri", c.ct.reason(field, &reason));
        }
        if Algorithm::parse(&self.id_token_signing_alg).is_err() {
            errors.add("id_token_signing_alg", c.ct.reason("algorithm", "must be RS256 or EdDSA"));
        }
        if errors.any() {
            return Err(errors);
        }
        Ok(Parsed {
            lifetimes,
            profile,
            redirect_uri_match: if self.exact_redirect_uri { RedirectUriMatch::Exact } else { RedirectUriMatch::AllowExtraQuery },
            pkce: if self.pkce_required { PkcePolicy::Required } else { PkcePolicy::Optional },
            allow_introspection_get: self.allow_introspection_get,
            oidc: OidcChanges {
                post_logout_redirect_uris: Some(lines(&self.post_logout_redirect_uris)),
                backchannel_logout_uri: Some(self.backchannel_logout_uri.clone()),
                id_token_signing_alg: Some(self.id_token_signing_alg.clone()),
            },
        })
    }
}

/// The domain's field names on this form.
const FIELDS: &[(&str, &str)] = &[("redirect_uri", "redirect_uris"), ("algorithm", "id_token_signing_alg")];

#[derive(Template)]
#[template(path = "console/applications/new.html")]
struct NewPage<'a> {
    c: Chrome<'a>,
    f: AppFields,
    errors: FormErrors,
    algorithms: [Algorithm; 2],
}

pub async fn new_form(c: Console) -> Outcome {
    c.require_full()?;
    c.page(&NewPage { c: c.chrome("applications"), f: AppFields::default(), errors: FormErrors::default(), algorithms: Algorithm::ALL })
}

pub async fn create(ConsolePost(c, form): ConsolePost) -> Outcome {
    c.require_full()?;
    let f = AppFields::read(&c, &form)?;
    let invalid = |c: &Console, f: AppFields, errors: FormErrors| {
        c.invalid(&NewPage { c: c.chrome("applications"), f, errors, algorithms: Algorithm::ALL })
    };
    let parsed = match f.parse(&c, Some(ApplicationProfile::Default)) {
        Ok(parsed) => parsed,
        Err(errors) => return invalid(&c, f, errors),
    };
    let (redirect_uri_match, pkce, allow_introspection_get) = parsed.own_settings();
    let input = ApplicationInput {
        name: f.name.clone(),
        client_id: Some(f.client_id.clone()).filter(|id| !id.is_empty()),
        client_secret: None,
        redirect_uris: lines(&f.redirect_uris),
        profile: parsed.profile.unwrap_or_default(),
        redirect_uri_match,
        pkce,
        allow_introspection_get,
        allow_insecure_redirect_uris: f.allow_insecure_redirect_uris,
        lifetimes: parsed.lifetimes,
        oidc: parsed.oidc,
        require_mfa: f.require_mfa,
        require_passkey: f.require_passkey,
    };
    match admin::create_application(&c.admin, c.store(), input).await {
        Ok((app, secret)) => show_secret_next(&c, &app, &secret, "created"),
        Err(err) => invalid(&c, f, FormErrors::from_domain(c.ct, err, FIELDS).map_err(|e| c.fail(e))?),
    }
}

fn shown_once(app: &Application) -> ShownOnce {
    ShownOnce { cookie: &crate::http::shared::cookies::SECRET_ONCE, page: format!("/console/applications/{}/secret", app.id.0) }
}

/// Hands the secret to the secret page, which shows it once.
fn show_secret_next(c: &Console, app: &Application, secret: &Secret, notice: &str) -> Outcome {
    shown_once(app).hand_over(c, secret, notice)
}

#[derive(Template)]
#[template(path = "console/applications/secret.html")]
struct SecretPage<'a> {
    c: Chrome<'a>,
    app: Application,
    secret: Option<String>,
}

/// Shows the secret the previous POST made, once: the cookie that carried it is removed.
pub async fn secret(c: Console, Path(id): Path<String>) -> Outcome {
    let app = full_application(&c, &id).await?;
    let (jar, secret) = shown_once(&app).take(c.jar(), c.state.settings.secure_cookies);
    let page = SecretPage { c: c.chrome("applications"), app, secret };
    let response = c.render(axum::http::StatusCode::OK, &page);
    Ok((jar, response).into_response())
}

pub async fn rotate_secret(Path(id): Path<String>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let app = full_application(&c, &id).await?;
    let (app, secret) = admin::rotate_client_secret(&c.admin, c.store(), app).await.or_fail(&c)?;
    show_secret_next(&c, &app, &secret, "rotated")
}

/// An application whose settings the signed-in administrator may change.
async fn full_application(c: &Console, id: &str) -> Result<Application, ConsoleError> {
    let id = id.parse::<i64>().map_err(|_| c.not_found())?;
    let app = c.application(id).await?;
    c.require_full()?;
    Ok(app)
}

pub async fn parse_id(c: &Console, id: &str) -> Result<Application, ConsoleError> {
    let id = id.parse::<i64>().map_err(|_| c.not_found())?;
    c.application(id).await
}

#[derive(Template)]
#[template(path = "console/applications/edit.html")]
struct EditPage<'a> {
    c: Chrome<'a>,
    app: Application,
    f: AppFields,
    errors: FormErrors,
    algorithms: [Algorithm; 2],
    tab: &'static str,
}

pub async fn edit_form(c: Console, Path(id): Path<String>) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let f = AppFields::of(&app);
    c.page(&EditPage { c: c.chrome("applications"), app, f, errors: FormErrors::default(), algorithms: Algorithm::ALL, tab: "settings" })
}

pub async fn update(Path(id): Path<String>, ConsolePost(c, form): ConsolePost) -> Outcome {
    let app = full_application(&c, &id).await?;
    let mut f = AppFields::read(&c, &form)?;
    f.client_id = app.client_id.clone();
    let invalid = |c: &Console, app: Application, f: AppFields, errors: FormErrors| {
        c.invalid(&EditPage { c: c.chrome("applications"), app, f, errors, algorithms: Algorithm::ALL, tab: "settings" })
    };
    let parsed = match f.parse(&c, None) {
        Ok(parsed) => parsed,
        Err(errors) => return invalid(&c, app, f, errors),
    };
    let (redirect_uri_match, pkce, allow_introspection_get) = parsed.own_settings();
    let update = ApplicationUpdate {
        name: Some(f.name.clone()),
        redirect_uris: Some(lines(&f.redirect_uris)),
        profile: parsed.profile,
        redirect_uri_match,
        pkce,
        allow_introspection_get,
        allow_insecure_redirect_uris: Some(f.allow_insecure_redirect_uris),
        access_token_lifetime: Some(parsed.lifetimes.access_token),
        refresh_token_lifetime: Some(parsed.lifetimes.refresh_token),
        oidc: parsed.oidc,
        require_mfa: Some(f.require_mfa),
        require_passkey: Some(f.require_passkey),
        rotate_secret: false,
    };
    match admin::update_application(&c.admin, c.store(), app.clone(), update).await.map(|(app, _)| app) {
        Ok(app) => c.redirect(&format!("/console/applications/{}/?notice=saved", app.id.0)),
        Err(err) => invalid(&c, app, f, FormErrors::from_domain(c.ct, err, FIELDS).map_err(|e| c.fail(e))?),
    }
}

#[derive(Template)]
#[template(path = "console/applications/delete.html")]
struct DeletePage<'a> {
    c: Chrome<'a>,
    app: Application,
    usage: ApplicationUsage,
}

pub async fn delete_form(c: Console, Path(id): Path<String>) -> Outcome {
    let app = full_application(&c, &id).await?;
    let usage = c.store().application_usage(app.id).await.or_fail(&c)?;
    c.page(&DeletePage { c: c.chrome("applications"), app, usage })
}

pub async fn delete(Path(id): Path<String>, ConsolePost(c, _form): ConsolePost) -> Outcome {
    let app = full_application(&c, &id).await?;
    admin::delete_application(&c.admin, c.store(), &app).await.or_fail(&c)?;
    c.redirect("/console/applications/?notice=deleted")
}

#[derive(Template)]
#[template(path = "console/applications/permissions.html")]
struct PermissionsPage<'a> {
    c: Chrome<'a>,
    app: Application,
    permissions: Vec<PermissionUsage>,
    tab: &'static str,
}

pub async fn permissions(c: Console, Path(id): Path<String>) -> Outcome {
    let app = parse_id(&c, &id).await?;
    let permissions = c.store().permission_usage(app.id).await.or_fail(&c)?;
    c.page(&PermissionsPage { c: c.chrome("applications"), app, permissions, tab: "permissions" })
}

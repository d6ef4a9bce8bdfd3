//! The texts of the browser pages in English and German (DESIGN §7), chosen by
//! `Accept-Language`.

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;

#[derive(Debug)]
pub struct Texts {
    pub lang: &'static str,
    pub sign_in_title: &'static str,
    pub username_or_email: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub bad_credentials: &'static str,
    pub rate_limited: &'static str,
    pub busy: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub error_title: &'static str,
    pub not_member: &'static str,
    pub unknown_client: &'static str,
    pub bad_redirect_uri: &'static str,
    pub bad_request: &'static str,
    pub csrf_failed: &'static str,
    pub internal_error: &'static str,
    pub not_found: &'static str,
    pub account_title: &'static str,
    pub sign_out_question: &'static str,
    pub signed_out: &'static str,
    pub bad_logout_request: &'static str,
    pub open_console: &'static str,
    // Passkeys (templates/passkeys/, static/passkeys.js).
    pub passkey_sign_in: &'static str,
    pub passkey_use: &'static str,
    pub passkeys_title: &'static str,
    pub passkey_about: &'static str,
    pub passkey_name: &'static str,
    pub passkey_add: &'static str,
    pub passkey_added: &'static str,
    pub passkey_failed: &'static str,
    pub passkey_needs_js: &'static str,
}

pub static EN: Texts = Texts {
    lang: "en",
    sign_in_title: "Sign in",
    username_or_email: "Username or e-mail",
    password: "Password",
    sign_in: "Sign in",
    bad_credentials: "Please enter a correct username and password. Note that both fields may be case-sensitive.",
    rate_limited: "Too many failed sign-in attempts. Please wait a few minutes and try again.",
    busy: "The server is busy right now. Please try again in a few seconds.",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    error_title: "Error",
    not_member: "Your user account is not configured for the requested application.",
    unknown_client: "Invalid client_id parameter value.",
    bad_redirect_uri: "Mismatching redirect URI.",
    bad_request: "The request is not valid.",
    csrf_failed: "The form has expired or was not sent from this site. Please go back, reload the page and try again.",
    internal_error: "Something went wrong on our side. Please try again later.",
    not_found: "There is no page at this address.",
    account_title: "Your account",
    sign_out_question: "Do you want to sign out? You will be signed out of the applications you signed in to with this account.",
    signed_out: "You are signed out.",
    bad_logout_request: "The sign-out request is not valid: unknown application, id_token_hint or return address.",
    open_console: "Your applications, password and sessions",
    // Passkeys.
    passkey_sign_in: "Sign in with a passkey",
    passkey_use: "Use a passkey",
    passkeys_title: "Passkeys",
    passkey_about: "A passkey signs you in without a password: your device asks for its PIN, fingerprint or face. It can also be your second step after the password.",
    passkey_name: "Name of the new passkey",
    passkey_add: "Add a passkey",
    passkey_added: "The passkey was added.",
    passkey_failed: "The passkey did not work:",
    passkey_needs_js: "Passkeys need JavaScript in this browser.",
};

pub static DE: Texts = Texts {
    lang: "de",
    sign_in_title: "Anmelden",
    username_or_email: "Benutzername oder E-Mail",
    password: "Passwort",
    sign_in: "Anmelden",
    bad_credentials: "Bitte einen gültigen Benutzernamen und ein Passwort eingeben. Beide Felder berücksichtigen die Groß-/Kleinschreibung.",
    rate_limited: "Zu viele fehlgeschlagene Anmeldeversuche. Bitte einige Minuten warten und erneut versuchen.",
    busy: "Der Server ist gerade ausgelastet. Bitte in einigen Sekunden erneut versuchen.",
    signed_in_as: "Angemeldet als",
    sign_out: "Abmelden",
    error_title: "Fehler",
    not_member: "Ihr Benutzerkonto ist für die angefragte Anwendung nicht eingerichtet.",
    unknown_client: "Ungültiger Wert für den Parameter client_id.",
    bad_redirect_uri: "Die Weiterleitungs-URI stimmt nicht überein.",
    bad_request: "Die Anfrage ist ungültig.",
    csrf_failed: "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte zurückgehen, die Seite neu laden und erneut versuchen.",
    internal_error: "Bei uns ist etwas schiefgegangen. Bitte später erneut versuchen.",
    not_found: "Unter dieser Adresse gibt es keine Seite.",
    account_title: "Ihr Konto",
    sign_out_question: "Möchten Sie sich abmelden? Sie werden auch bei den Anwendungen abgemeldet, bei denen Sie sich mit diesem Konto angemeldet haben.",
    signed_out: "Sie sind abgemeldet.",
    bad_logout_request: "Die Abmeldeanfrage ist ungültig: unbekannte Anwendung, id_token_hint oder Rücksprungadresse.",
    open_console: "Ihre Anwendungen, Ihr Passwort und Ihre Sitzungen",
    // Passkeys.
    passkey_sign_in: "Mit einem Passkey anmelden",
    passkey_use: "Passkey verwenden",
    passkeys_title: "Passkeys",
    passkey_about: "Mit einem Passkey melden Sie sich ohne Passwort an: Ihr Gerät fragt nach seiner PIN, dem Fingerabdruck oder dem Gesicht. Er kann auch der zweite Schritt nach dem Passwort sein.",
    passkey_name: "Name des neuen Passkeys",
    passkey_add: "Passkey hinzufügen",
    passkey_added: "Der Passkey wurde hinzugefügt.",
    passkey_failed: "Der Passkey hat nicht funktioniert:",
    passkey_needs_js: "Passkeys benötigen JavaScript in diesem Browser.",
};

/// The page language, from the first supported language in `Accept-Language`.
#[derive(Clone, Copy)]
pub struct Lang(pub &'static Texts);

impl Lang {
    pub fn from_header(value: Option<&str>) -> Self {
        let preferred = value.unwrap_or("").split(',').map(|part| part.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
        for tag in preferred {
            if tag.starts_with("de") {
                return Lang(&DE);
            }
            if tag.starts_with("en") {
                return Lang(&EN);
            }
        }
        Lang(&EN)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_header(parts.headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_is_chosen_when_preferred_before_english() {
        assert_eq!(Lang::from_header(Some("de-DE,de;q=0.9,en;q=0.8")).0.lang, "de");
        assert_eq!(Lang::from_header(Some("fr, en;q=0.5, de;q=0.1")).0.lang, "en");
        assert_eq!(Lang::from_header(None).0.lang, "en");
    }
}

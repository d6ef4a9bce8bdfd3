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
    /// Strong sign-in: the second step, the security page, TOTP and recovery codes.
    pub totp: &'static TotpTexts,
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
    totp: &TOTP_EN,
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
    totp: &TOTP_DE,
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

// --- Strong sign-in: the second step, the security page, TOTP and recovery codes ---

#[derive(Debug)]
pub struct TotpTexts {
    pub security_link: &'static str,
    pub second_step_title: &'static str,
    pub second_step_intro: &'static str,
    pub step_up_intro: &'static str,
    pub code_label: &'static str,
    pub verify: &'static str,
    pub use_recovery_code: &'static str,
    pub recovery_code_label: &'static str,
    pub wrong_code: &'static str,
    pub enter_code: &'static str,
    pub rate_limited: &'static str,
    pub start_over: &'static str,
    pub security_title: &'static str,
    pub needs_second_factor: &'static str,
    pub needs_passkey: &'static str,
    pub factors_heading: &'static str,
    pub no_factors: &'static str,
    pub kind_totp: &'static str,
    pub kind_passkey: &'static str,
    pub added: &'static str,
    pub last_used: &'static str,
    pub never: &'static str,
    pub remove: &'static str,
    pub add_totp: &'static str,
    pub recovery_heading: &'static str,
    pub recovery_left: &'static str,
    pub regenerate: &'static str,
    pub regenerate_note: &'static str,
    pub recovery_codes_title: &'static str,
    pub recovery_codes_intro: &'static str,
    pub continue_link: &'static str,
    pub totp_title: &'static str,
    pub totp_scan: &'static str,
    pub totp_key: &'static str,
    pub totp_name: &'static str,
    pub totp_default_name: &'static str,
    pub totp_code: &'static str,
    pub totp_confirm: &'static str,
    pub totp_expired: &'static str,
    pub qr_label: &'static str,
    pub bad_name: &'static str,
    pub removed: &'static str,
    pub enrolled: &'static str,
    pub no_factor_for_codes: &'static str,
    pub back_to_account: &'static str,
    pub back_to_security: &'static str,
}

pub static TOTP_EN: TotpTexts = TotpTexts {
    security_link: "Sign-in security: authenticator app, passkeys, recovery codes",
    second_step_title: "Confirm it is you",
    second_step_intro: "Enter the 6-digit code from your authenticator app.",
    step_up_intro: "This requires a second factor. Enter the 6-digit code from your authenticator app.",
    code_label: "Code",
    verify: "Verify",
    use_recovery_code: "Use a recovery code instead",
    recovery_code_label: "Recovery code",
    wrong_code: "That code is not right.",
    enter_code: "Please enter a code.",
    rate_limited: "Too many wrong codes. Please wait a few minutes and try again.",
    start_over: "Cancel and sign in again",
    security_title: "Sign-in security",
    needs_second_factor: "The application you are signing in to requires a second factor. Set one up below to continue.",
    needs_passkey: "The application you are signing in to requires a passkey. Add one below to continue.",
    factors_heading: "Your second factors",
    no_factors: "You have no second factor yet: your password alone protects your account.",
    kind_totp: "Authenticator app",
    kind_passkey: "Passkey",
    added: "Added",
    last_used: "last used",
    never: "never",
    remove: "Remove",
    add_totp: "Set up an authenticator app",
    recovery_heading: "Recovery codes",
    recovery_left: "Unused recovery codes:",
    regenerate: "Generate new recovery codes",
    regenerate_note: "New codes replace all old ones.",
    recovery_codes_title: "Your recovery codes",
    recovery_codes_intro: "Keep these codes somewhere safe. If you lose your device, each code signs you in once in place of a code from your app. They are shown only now.",
    continue_link: "Continue",
    totp_title: "Set up an authenticator app",
    totp_scan: "Scan this QR code with your authenticator app, or type in the key below.",
    totp_key: "Key",
    totp_name: "Name of this app or device",
    totp_default_name: "Authenticator app",
    totp_code: "Code shown by the app",
    totp_confirm: "Confirm",
    totp_expired: "The set-up took too long. Please scan this new code.",
    qr_label: "QR code for your authenticator app",
    bad_name: "Please choose a name of at most 100 characters.",
    removed: "The second factor was removed.",
    enrolled: "Your authenticator app is set up.",
    no_factor_for_codes: "Set up a second factor first.",
    back_to_account: "Back to your account",
    back_to_security: "Back to sign-in security",
};

pub static TOTP_DE: TotpTexts = TotpTexts {
    security_link: "Anmeldesicherheit: Authenticator-App, Passkeys, Wiederherstellungscodes",
    second_step_title: "Bestätigen Sie, dass Sie es sind",
    second_step_intro: "Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein.",
    step_up_intro: "Dafür ist ein zweiter Faktor nötig. Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein.",
    code_label: "Code",
    verify: "Bestätigen",
    use_recovery_code: "Stattdessen einen Wiederherstellungscode verwenden",
    recovery_code_label: "Wiederherstellungscode",
    wrong_code: "Dieser Code ist nicht richtig.",
    enter_code: "Bitte einen Code eingeben.",
    rate_limited: "Zu viele falsche Codes. Bitte einige Minuten warten und erneut versuchen.",
    start_over: "Abbrechen und neu anmelden",
    security_title: "Anmeldesicherheit",
    needs_second_factor: "Die Anwendung, bei der Sie sich anmelden, verlangt einen zweiten Faktor. Richten Sie unten einen ein, um fortzufahren.",
    needs_passkey: "Die Anwendung, bei der Sie sich anmelden, verlangt einen Passkey. Fügen Sie unten einen hinzu, um fortzufahren.",
    factors_heading: "Ihre zweiten Faktoren",
    no_factors: "Sie haben noch keinen zweiten Faktor: Ihr Konto ist nur durch Ihr Passwort geschützt.",
    kind_totp: "Authenticator-App",
    kind_passkey: "Passkey",
    added: "Hinzugefügt",
    last_used: "zuletzt verwendet",
    never: "nie",
    remove: "Entfernen",
    add_totp: "Authenticator-App einrichten",
    recovery_heading: "Wiederherstellungscodes",
    recovery_left: "Unbenutzte Wiederherstellungscodes:",
    regenerate: "Neue Wiederherstellungscodes erzeugen",
    regenerate_note: "Neue Codes ersetzen alle alten.",
    recovery_codes_title: "Ihre Wiederherstellungscodes",
    recovery_codes_intro: "Bewahren Sie diese Codes sicher auf. Verlieren Sie Ihr Gerät, meldet Sie jeder Code einmal an Stelle eines Codes aus Ihrer App an. Sie werden nur jetzt angezeigt.",
    continue_link: "Weiter",
    totp_title: "Authenticator-App einrichten",
    totp_scan: "Scannen Sie diesen QR-Code mit Ihrer Authenticator-App oder geben Sie den Schlüssel unten ein.",
    totp_key: "Schlüssel",
    totp_name: "Name dieser App oder dieses Geräts",
    totp_default_name: "Authenticator-App",
    totp_code: "Von der App angezeigter Code",
    totp_confirm: "Bestätigen",
    totp_expired: "Die Einrichtung hat zu lange gedauert. Bitte scannen Sie diesen neuen Code.",
    qr_label: "QR-Code für Ihre Authenticator-App",
    bad_name: "Bitte einen Namen mit höchstens 100 Zeichen wählen.",
    removed: "Der zweite Faktor wurde entfernt.",
    enrolled: "Ihre Authenticator-App ist eingerichtet.",
    no_factor_for_codes: "Richten Sie zuerst einen zweiten Faktor ein.",
    back_to_account: "Zurück zu Ihrem Konto",
    back_to_security: "Zurück zur Anmeldesicherheit",
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

//! Reading console forms (single fields, checkboxes, id lists, one-per-line lists) and the
//! errors shown next to their fields.

use super::texts::ConsoleTexts;
use super::{Console, ConsoleError};
use crate::domain::Error;
use crate::http::shared::Params;

/// Longest value a console text field accepts; the domain's own limits are shorter.
const MAX_FIELD: usize = 16 * 1024;

pub struct Form(pub Params);

impl Form {
    /// A single text field ("" when absent); sent twice or too long is a bad request.
    pub fn text(&self, console: &Console, name: &str) -> Result<String, ConsoleError> {
        match self.0.get(name) {
            Ok(value) if value.is_none_or(|v| v.len() <= MAX_FIELD) => Ok(value.unwrap_or("").to_string()),
            _ => Err(console.bad_request()),
        }
    }

    /// A checkbox: ticked when sent with any value.
    pub fn checked(&self, name: &str) -> bool {
        self.0.raw_pairs().iter().any(|(k, _)| k == name)
    }

    /// Every value of a repeated field (a checkbox list) as ids; anything else is a bad request.
    pub fn ids(&self, console: &Console, name: &str) -> Result<Vec<i64>, ConsoleError> {
        let mut ids = self
            .0
            .raw_pairs()
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.parse::<i64>().map_err(|_| console.bad_request()))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// The non-empty lines of a text area (redirect URIs, one per line).
pub fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// Errors of a form, by field; `"form"` holds one that belongs to no single field.
#[derive(Default, Debug)]
pub struct FormErrors(Vec<(&'static str, String)>);

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    /// One error of a form: a domain error that belongs next to a field (invalid input, a name
    /// taken, a forged reference). `rename` maps the domain's field names to the form's.
    /// Anything else is returned to become an error page.
    pub fn from_domain(ct: &ConsoleTexts, err: Error, rename: &[(&str, &'static str)]) -> Result<Self, Error> {
        let mut errors = Self::default();
        let field_of = |field: &str| rename.iter().find(|(from, _)| *from == field).map(|(_, to)| *to);
        match err {
            Error::Invalid { field: "reference", .. } => errors.add(field_of("reference").unwrap_or("form"), ct.foreign_reference),
            Error::Invalid { field, reason } => errors.add(field_of(field).unwrap_or(field), ct.reason(field, &reason)),
            Error::Conflict { what } => {
                let field = match what.as_str() {
                    "username" | "membership" => "username",
                    "client_id" => "client_id",
                    _ => "name",
                };
                errors.add(field_of(field).unwrap_or(field), ct.taken);
            }
            Error::SelfLockout { fields } => {
                for field in fields {
                    errors.add(field_of(field).unwrap_or(field), ct.not_yourself);
                }
            }
            // Renamed by the caller to the field that asked for it (`form` when not).
            Error::OwnAccess { .. } => errors.add(field_of("own_access").unwrap_or("form"), ct.not_own_access),
            other => return Err(other),
        }
        Ok(errors)
    }
}

/// A choice of a checkbox list (the two-pane picker without JavaScript).
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: i64,
    pub label: String,
    pub detail: String,
    pub checked: bool,
}

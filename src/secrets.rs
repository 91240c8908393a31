//! Secrets: key references ("name" or "env:VAR"), a secret type that never prints, and the store trait.
//!
//! The config only ever holds a [`KeyRef`]. The value is resolved at request time
//! through a [`SecretStore`] (the OS keychain lives in `desktop::keychain`) or the
//! environment, wrapped in [`Secret`] whose `Debug` and `Display` print `***`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The service name keychain entries are stored under.
pub const KEYCHAIN_SERVICE: &str = "overwatch";

/// Where a service's API key lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyRef {
    /// An entry in the OS keychain, by name.
    Keychain(String),
    /// An environment variable (`env:VAR`).
    Env(String),
}

impl KeyRef {
    /// The name shown to people: `acme-railway` or `env:RAILWAY_TOKEN`.
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// The command that puts this secret in place.
    pub(crate) fn how_to_set(&self) -> String {
        match self {
            KeyRef::Keychain(name) => format!("run `overwatch secret set {name}`"),
            KeyRef::Env(var) => {
                format!("set {var} to a valid key in the environment Overwatch runs in")
            }
        }
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::Keychain(n) => f.write_str(n),
            KeyRef::Env(v) => write!(f, "env:{v}"),
        }
    }
}

impl FromStr for KeyRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(var) = s.strip_prefix("env:") {
            if var.is_empty()
                || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || var.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(format!(
                    "`{s}` is not a valid environment reference: write `env:VARNAME` with letters, digits and `_`"
                ));
            }
            return Ok(KeyRef::Env(var.to_string()));
        }
        validate_key_name(s)?;
        Ok(KeyRef::Keychain(s.to_string()))
    }
}

impl Serialize for KeyRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for KeyRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Checks a keychain entry name: short, printable, no spaces or colons.
pub(crate) fn validate_key_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a key name cannot be empty".into());
    }
    if name.len() > 100 {
        return Err("a key name is at most 100 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        return Err(format!(
            "`{name}` is not a valid key name: use letters, digits, `-`, `_`, `.` or `@` (e.g. `acme-railway`), or `env:VARNAME`"
        ));
    }
    Ok(())
}

/// The longest key value accepted; longer is refused, never cut.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Checks a key's value as read: a single trailing line ending (`echo` adds
/// one) is dropped; a value over the cap, or with a line break or another
/// control character inside, is refused — it could never be sent in an HTTP
/// header, and storing it would only fail later, at every poll.
pub(crate) fn check_value(name: &str, value: String) -> Result<String, String> {
    if value.len() as u64 > MAX_SECRET_BYTES {
        return Err(format!(
            "the value for key `{name}` is longer than {} KiB: that is not an API key (is this the right input?); nothing was stored",
            MAX_SECRET_BYTES / 1024
        ));
    }
    let value = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value)
        .to_string();
    if value.trim().is_empty() {
        return Err(format!(
            "the value for key `{name}` is empty: nothing was stored"
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control() && *c != '\t') {
        let what = match c {
            '\n' | '\r' => "a line break".to_string(),
            c => format!("the control character U+{:04X}", c as u32),
        };
        return Err(format!(
            "the value for key `{name}` contains {what}, so it can never be sent as an HTTP header: pass the key alone (`printf %s \"$TOKEN\" | overwatch secret set {name}`); nothing was stored"
        ));
    }
    Ok(value)
}

/// A secret value. It prints as `***` everywhere; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that needs it: building a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed
        // (zeroize's volatile writes are not optimised away).
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Why a secret could not be had. Messages name the key and say what to do; never the value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SecretError {
    #[error("key `{name}` is not in the keychain: run `overwatch secret set {name}`")]
    Missing { name: String },
    #[error("environment variable `{var}` (key `env:{var}`) is not set: export it before starting Overwatch")]
    EnvMissing { var: String },
    #[error("the keychain is not available ({detail}); {hint}")]
    Unavailable { detail: String, hint: String },
    #[error(
        "the keychain refused access to key `{name}` ({detail}): unlock the keychain and try again"
    )]
    Denied { name: String, detail: String },
    #[error("{0}")]
    Invalid(String),
}

/// A place secrets are kept by name (the OS keychain, or a test store).
pub trait SecretStore: Send + Sync {
    /// Which backend this is, for the startup log ("Secret Service (gnome-keyring)").
    fn backend(&self) -> String;
    fn get(&self, name: &str) -> Result<Secret, SecretError>;
    fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError>;
    /// Deletes the entry; `Ok(false)` when there was none.
    fn delete(&self, name: &str) -> Result<bool, SecretError>;
    /// Names of the entries this store holds for Overwatch, when it can list them.
    fn list(&self) -> Result<Vec<String>, SecretError>;
}

/// Resolves a key reference: keychain names through `store`, `env:` from the environment.
pub fn resolve(key: &KeyRef, store: &dyn SecretStore) -> Result<Secret, SecretError> {
    match key {
        KeyRef::Keychain(name) => store.get(name),
        KeyRef::Env(var) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            _ => Err(SecretError::EnvMissing { var: var.clone() }),
        },
    }
}

/// A store that holds nothing: for commands run where no keychain is wanted
/// (env references still resolve). Never silently stands in for the keychain.
pub struct NoStore {
    pub why: String,
}

impl SecretStore for NoStore {
    fn backend(&self) -> String {
        format!("none ({})", self.why)
    }
    fn get(&self, _name: &str) -> Result<Secret, SecretError> {
        Err(SecretError::Unavailable {
            detail: self.why.clone(),
            hint: "use `env:VAR` keys or start a Secret Service".into(),
        })
    }
    fn set(&self, name: &str, _value: &Secret) -> Result<(), SecretError> {
        self.get(name).map(|_| ())
    }
    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        self.get(name).map(|_| false)
    }
    fn list(&self) -> Result<Vec<String>, SecretError> {
        Ok(Vec::new())
    }
}

/// Named secrets held in memory in front of another store: the demo's
/// simulator token (a public, made-up value) without touching the
/// environment or the keychain. Every other name goes to `inner`.
pub struct Overlay {
    entries: std::collections::HashMap<String, Secret>,
    inner: std::sync::Arc<dyn SecretStore>,
}

impl Overlay {
    pub fn new(
        entries: impl IntoIterator<Item = (String, Secret)>,
        inner: std::sync::Arc<dyn SecretStore>,
    ) -> Overlay {
        Overlay {
            entries: entries.into_iter().collect(),
            inner,
        }
    }
}

impl SecretStore for Overlay {
    fn backend(&self) -> String {
        format!(
            "{} (+ {} in memory)",
            self.inner.backend(),
            self.entries.len()
        )
    }
    fn get(&self, name: &str) -> Result<Secret, SecretError> {
        match self.entries.get(name) {
            Some(s) => Ok(s.clone()),
            None => self.inner.get(name),
        }
    }
    fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        self.inner.set(name, value)
    }
    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        self.inner.delete(name)
    }
    fn list(&self) -> Result<Vec<String>, SecretError> {
        self.inner.list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("tok-very-secret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "tok-very-secret");
    }

    #[test]
    fn key_refs_parse() {
        assert_eq!(
            "acme-railway".parse::<KeyRef>().unwrap(),
            KeyRef::Keychain("acme-railway".into())
        );
        assert_eq!(
            "env:RAILWAY_TOKEN".parse::<KeyRef>().unwrap(),
            KeyRef::Env("RAILWAY_TOKEN".into())
        );
        assert!("env:".parse::<KeyRef>().is_err());
        assert!("env:1BAD".parse::<KeyRef>().is_err());
        assert!("has space".parse::<KeyRef>().is_err());
        assert_eq!(KeyRef::Env("X".into()).to_string(), "env:X");
    }

    #[test]
    fn env_references_resolve_and_missing_ones_name_the_variable() {
        let store = NoStore { why: "test".into() };
        std::env::set_var("OVERWATCH_TEST_ENV_KEY_1", "value-1");
        let got = resolve(&KeyRef::Env("OVERWATCH_TEST_ENV_KEY_1".into()), &store).unwrap();
        assert_eq!(got.expose(), "value-1");
        let err = resolve(&KeyRef::Env("OVERWATCH_TEST_ENV_KEY_UNSET".into()), &store).unwrap_err();
        assert!(err.to_string().contains("OVERWATCH_TEST_ENV_KEY_UNSET"));
    }

    #[test]
    fn an_overlay_answers_its_names_and_defers_the_rest() {
        let inner = std::sync::Arc::new(NoStore { why: "test".into() });
        let o = Overlay::new([("demo".to_string(), Secret::new("sim-token"))], inner);
        assert_eq!(o.get("demo").unwrap().expose(), "sim-token");
        assert!(matches!(
            o.get("other"),
            Err(SecretError::Unavailable { .. })
        ));
        assert!(!format!("{:?}", o.get("demo")).contains("sim-token"));
    }

    #[test]
    fn missing_keychain_entry_names_the_key_and_the_command() {
        let e = SecretError::Missing {
            name: "acme-railway".into(),
        };
        assert_eq!(
            e.to_string(),
            "key `acme-railway` is not in the keychain: run `overwatch secret set acme-railway`"
        );
    }
}

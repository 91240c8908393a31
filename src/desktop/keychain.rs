//! The OS keychain as a `SecretStore`: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows.
//!
//! Built on `keyring` 3.x with exactly one native store enabled per platform
//! (see Cargo.toml). keyring falls back to an in-memory mock store when no
//! platform store is compiled in; [`Keychain::open`] refuses that, so a
//! misbuilt binary fails loudly instead of "saving" keys that vanish.

use crate::secrets::{validate_key_name, Secret, SecretError, SecretStore, KEYCHAIN_SERVICE};

/// The platform keychain.
pub struct Keychain {
    backend: String,
}

impl Keychain {
    /// Checks which credential store keyring will use and refuses the mock one.
    pub fn open() -> Result<Keychain, SecretError> {
        let probe = keyring::Entry::new(KEYCHAIN_SERVICE, "overwatch-backend-probe")
            .map_err(|e| unavailable(&e))?;
        let debug = format!("{probe:?}");
        let backend = if debug.contains("Mock") {
            return Err(SecretError::Unavailable {
                detail: "this build has no keychain backend (keyring's mock store)".into(),
                hint: "rebuild with the platform store enabled, or use `env:VAR` keys".into(),
            });
        } else if debug.contains("SsCredential") {
            "Secret Service (D-Bus org.freedesktop.secrets)"
        } else if debug.contains("MacCredential") {
            "macOS Keychain"
        } else if debug.contains("WinCredential") {
            "Windows Credential Manager"
        } else if debug.contains("KeyutilsCredential") {
            "Linux kernel keyutils"
        } else {
            "platform keychain"
        };
        Ok(Keychain {
            backend: backend.to_string(),
        })
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry, SecretError> {
        validate_key_name(name).map_err(SecretError::Invalid)?;
        keyring::Entry::new(KEYCHAIN_SERVICE, name).map_err(|e| unavailable(&e))
    }
}

/// Maps keyring's errors to ours. keyring's own messages never contain the
/// secret, but they are passed through `detail` only after this mapping.
fn map_err(name: &str, e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::NoEntry => SecretError::Missing { name: name.into() },
        keyring::Error::NoStorageAccess(inner) => SecretError::Denied {
            name: name.into(),
            detail: inner.to_string(),
        },
        other => unavailable(&other),
    }
}

fn unavailable(e: &keyring::Error) -> SecretError {
    SecretError::Unavailable {
        detail: e.to_string(),
        hint: HINT.into(),
    }
}

#[cfg(target_os = "linux")]
const HINT: &str = "start and unlock a Secret Service (GNOME Keyring or KWallet) in this session, or use `env:VAR` keys";
#[cfg(not(target_os = "linux"))]
const HINT: &str = "unlock the system keychain, or use `env:VAR` keys";

impl SecretStore for Keychain {
    fn backend(&self) -> String {
        self.backend.clone()
    }

    fn get(&self, name: &str) -> Result<Secret, SecretError> {
        let entry = self.entry(name)?;
        match entry.get_password() {
            Ok(v) => Ok(Secret::new(v)),
            Err(e) => Err(map_err(name, e)),
        }
    }

    fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        if value.expose().is_empty() {
            return Err(SecretError::Invalid("an empty key cannot be stored".into()));
        }
        self.entry(name)?
            .set_password(value.expose())
            .map_err(|e| map_err(name, e))
    }

    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_err(name, e)),
        }
    }

    #[cfg(target_os = "linux")]
    fn list(&self) -> Result<Vec<String>, SecretError> {
        use dbus_secret_service::{EncryptionType, SecretService};
        use std::collections::HashMap;
        let ss = SecretService::connect(EncryptionType::Plain).map_err(|e| {
            SecretError::Unavailable {
                detail: e.to_string(),
                hint: HINT.into(),
            }
        })?;
        let found = ss
            .search_items(HashMap::from([("service", KEYCHAIN_SERVICE)]))
            .map_err(|e| SecretError::Unavailable {
                detail: e.to_string(),
                hint: HINT.into(),
            })?;
        let mut names: Vec<String> = found
            .unlocked
            .iter()
            .chain(found.locked.iter())
            .filter_map(|item| item.get_attributes().ok())
            .filter_map(|attrs| attrs.get("username").cloned())
            .filter(|n| n != "overwatch-backend-probe")
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    #[cfg(not(target_os = "linux"))]
    fn list(&self) -> Result<Vec<String>, SecretError> {
        Err(SecretError::Unavailable {
            detail: "this keychain cannot list entries".into(),
            hint: "the names your config uses are shown by `overwatch secret list`".into(),
        })
    }
}

/// The OS keychain, or a store that says why there is none (env keys still work).
pub(crate) fn open_store() -> std::sync::Arc<dyn SecretStore> {
    match Keychain::open() {
        Ok(k) => {
            tracing::info!(backend = %k.backend(), "keychain");
            std::sync::Arc::new(k)
        }
        Err(e) => {
            tracing::warn!("keychain unavailable: {e}");
            std::sync::Arc::new(crate::secrets::NoStore { why: e.to_string() })
        }
    }
}

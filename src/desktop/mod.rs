//! OS integrations behind small traits the core defines: the keychain behind `SecretStore`.

pub mod keychain;
pub mod tray;

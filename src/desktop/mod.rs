//! OS integrations behind small traits the core defines: the keychain behind `SecretStore`.

pub mod autostart;
pub mod keychain;
pub mod tray;

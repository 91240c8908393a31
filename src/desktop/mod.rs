//! OS integrations behind small traits the core defines: the keychain behind `SecretStore`, desktop notifications behind `Notifier`.

pub mod keychain;
pub mod notifier;

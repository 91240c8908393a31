//! OS integrations behind small traits the core defines: the keychain behind `SecretStore`.

pub mod app;
pub mod autostart;
pub mod keychain;
pub mod tray;

/// The desktop notifier, when this build has one.
pub fn notifier() -> Option<std::sync::Arc<dyn crate::engine::Notifier>> {
    None
}

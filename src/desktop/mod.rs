//! OS integrations behind small traits the core defines: the keychain behind `SecretStore`, desktop notifications behind `Notifier`, the tray, launch at login.

pub mod app;
pub mod autostart;
pub mod control;
pub mod gl;
pub mod keychain;
mod memory;
pub mod notifier;
pub mod tray;

/// The desktop notifier (notify-rust).
pub fn notifier() -> Option<std::sync::Arc<dyn crate::engine::Notifier>> {
    Some(std::sync::Arc::new(notifier::DesktopNotifier::new()))
}

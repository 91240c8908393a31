//! Desktop notifications through notify-rust (the freedesktop D-Bus service on Linux, Notification Center on macOS, toasts on Windows), implementing the engine's `Notifier`.
//!
//! Clicking a notification opens the service's dashboard where the platform
//! reports clicks (an XDG "default" action): a short-lived thread waits for
//! the click, so the notifier never blocks for longer than the D-Bus call.
//! Each notification carries its urgency (down is critical, degraded normal,
//! good news low) and the status icon in the tray's shapes as its image.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::engine::{EventKind, Notification, Notifier, Urgency};
use crate::model::Status;
use crate::view::icon::{self, IconSpec, Look};

/// The application name notifications are sent under.
pub const APP_NAME: &str = "Overwatch";

/// At most this many notifications wait for a click at once; later ones are
/// shown without the click-to-open action rather than piling up threads.
const MAX_WAITING: usize = 8;

/// Sends notifications to the desktop's notification service.
#[derive(Debug, Clone)]
pub struct DesktopNotifier {
    /// Offer "open the dashboard" on click.
    actions: bool,
    waiting: Arc<AtomicUsize>,
}

impl Default for DesktopNotifier {
    fn default() -> Self {
        DesktopNotifier::new()
    }
}

impl DesktopNotifier {
    pub fn new() -> DesktopNotifier {
        DesktopNotifier {
            actions: true,
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Without the click-to-open action (headless use, tests).
    pub fn without_actions() -> DesktopNotifier {
        DesktopNotifier {
            actions: false,
            ..DesktopNotifier::new()
        }
    }
}

impl Notifier for DesktopNotifier {
    fn notify(&self, n: &Notification) -> Result<(), String> {
        let mut note = notify_rust::Notification::new();
        // Titles and bodies carry names from the config and text from
        // providers. The freedesktop spec makes the summary plain text (dunst
        // escapes it itself) and the body markup, so only the body is escaped.
        let title = crate::text::clean(&n.title).into_owned();
        let body = if cfg!(all(unix, not(target_os = "macos"))) {
            crate::text::markup(&n.body)
        } else {
            crate::text::clean(&n.body).into_owned()
        };
        note.appname(APP_NAME).summary(&title).body(&body);
        #[cfg(all(unix, not(target_os = "macos")))]
        note.urgency(match n.urgency() {
            Urgency::Low => notify_rust::Urgency::Low,
            Urgency::Normal => notify_rust::Urgency::Normal,
            Urgency::Critical => notify_rust::Urgency::Critical,
        });
        #[cfg(any(target_os = "macos", target_os = "windows"))]
        let _ = n.urgency();
        if let Some(path) = image_file(look(n)) {
            note.image_path(&path.to_string_lossy());
        }
        let url = n.dashboard_url.clone().filter(|_| self.actions);
        let wait = url.is_some() && self.waiting.load(Ordering::SeqCst) < MAX_WAITING;
        if wait {
            // "default" is what a click on the notification itself sends.
            note.action("default", "Open dashboard");
        }
        let (true, Some(url)) = (wait, url) else {
            return note.show().map(drop).map_err(not_taken);
        };
        // The handle holds the D-Bus connection the click comes back on, and
        // libdbus's connection stays on the thread that opened it: that
        // thread shows the notification, reports back, then waits.
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let waiting = self.waiting.clone();
        let (shown_tx, shown) = std::sync::mpsc::sync_channel(1);
        let on_thread = note.clone();
        let spawned = std::thread::Builder::new()
            .name("overwatch-notification-click".into())
            .spawn(move || {
                match on_thread.show() {
                    Ok(handle) => {
                        let _ = shown_tx.send(Ok(()));
                        // Returns when the notification is clicked, dismissed or expires.
                        handle.wait_for_action(|action| {
                            if action == "default" {
                                if let Err(e) = super::gl::open_now(&url) {
                                    tracing::warn!("cannot open {url}: {e}");
                                }
                            }
                        });
                    }
                    Err(e) => {
                        let _ = shown_tx.send(Err(not_taken(e)));
                    }
                }
                waiting.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            // No thread to wait on: show it here, without the click.
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            note.actions.clear();
            return note.show().map(drop).map_err(not_taken);
        }
        shown
            .recv()
            .unwrap_or_else(|_| Err("the notification thread ended before showing it".into()))
    }
}

/// The error for a notification the desktop did not take.
fn not_taken(e: impl std::fmt::Display) -> String {
    format!(
        "the desktop notification service did not take it ({e}); is a notification daemon running?"
    )
}

/// The icon a notification shows: the status it is about, in the tray's shapes.
pub fn look(n: &Notification) -> Look {
    match (n.kind, n.status) {
        (EventKind::Offline, _) => Look::Offline,
        (EventKind::Recovered | EventKind::Online, _) => Look::Healthy,
        (EventKind::CantCheck, _) => Look::Unknown,
        (_, Some(s)) => Look::from_status(s),
        (EventKind::Summary, None) => Look::Degraded,
        (_, None) => Look::from_status(Status::Unknown),
    }
}

/// Where the notification images live: a private directory of the user's
/// runtime dir (or the temp dir), one PNG per look, written once.
fn image_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("overwatch"),
        None => std::env::temp_dir().join(format!("overwatch-{}", user_tag())),
    }
}

/// Whose temp files these are, when there is no runtime dir.
fn user_tag() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default()
}

/// The PNG of `look` for notifications (64 px), written on first use; `None`
/// when it cannot be written (the notification then goes without an image).
pub fn image_file(look: Look) -> Option<PathBuf> {
    let dir = image_dir();
    let path = dir.join(format!("status-{}.png", look.name()));
    if path.is_file() {
        return Some(path);
    }
    let written = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        std::io::Write::write_all(&mut tmp, &icon::png(IconSpec::new(look), 64))?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    })();
    match written {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::debug!("no notification image at {}: {e}", path.display());
            None
        }
    }
}

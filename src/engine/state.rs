//! The persisted engine state: the latest card, transition tracker and 24-hour history per service, mutes and the notification pause, as JSON in the platform data directory.
//!
//! It exists so that a restart neither re-announces problems the user was
//! already told about nor forgets "down since 09:12". The file gets the
//! config's rules ([`crate::fsutil`]): only a regular file of at most
//! [`MAX_STATE_BYTES`] is read, writes are atomic (0600) and go through a
//! link only to a regular file that could be read. A file that is not
//! Overwatch's state — unreadable, not a regular file, too large, without
//! the [`FORMAT`] marker, of another version, or with times absurdly in the
//! future — is moved aside with a warning (never overwritten) and rebuilt:
//! losing history is better than not starting.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;

use super::history::History;
use super::transitions::Tracker;
use crate::model::{Card, ServiceId};

/// Environment variable that overrides the data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "OVERWATCH_DATA_DIR";

/// The state file's name inside the data directory.
pub const STATE_FILE: &str = "state.json";

/// The format version written; files of another version are rebuilt.
/// Version 2 added the [`FORMAT`] marker.
pub const VERSION: u32 = 2;

/// Every state file says what it is: a JSON file that merely has
/// `"version": 2` is somebody else's, set aside rather than overwritten.
pub const FORMAT: &str = "overwatch-state";

/// A state file is a few KiB per service; anything larger is not ours.
pub const MAX_STATE_BYTES: usize = 16 << 20;

/// Times further ahead than this (a clock or a file near year 9999) mean the
/// file cannot be trusted: the arithmetic on them would overflow.
const FUTURE_SLACK: time::Duration = time::Duration::days(2);

/// Why the state could not be located or written.
#[derive(Debug, Error)]
pub enum StateError {
    #[error("cannot find the data directory: {0}; set {DATA_DIR_ENV}")]
    NoDataDir(String),
    #[error("cannot save the engine state to {}: {detail}", path.display())]
    Write { path: PathBuf, detail: String },
}

/// What a mute covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum MuteTarget {
    Service(ServiceId),
    /// A workspace by name (case-insensitive).
    Workspace(String),
}

/// How long a mute lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "at")]
pub enum MuteUntil {
    /// Until a wall-clock time ("for 1 hour").
    #[serde(with = "time::serde::rfc3339")]
    Time(OffsetDateTime),
    /// Until the service (every service of the workspace) is healthy again.
    Recovered,
}

/// One mute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    pub target: MuteTarget,
    pub until: MuteUntil,
}

/// What is kept of one service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// What the service points at, so a reused id with a new target starts fresh.
    pub target: String,
    /// The latest card.
    pub card: Option<Card>,
    /// The latest card that was an answer (not unknown): shown, marked stale, while offline.
    pub last_good: Option<Card>,
    /// When a check last succeeded.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_success: Option<OffsetDateTime>,
    pub tracker: Tracker,
    /// The last 24 hours, for the dashboard (absent in files from before it).
    #[serde(default, skip_serializing_if = "History::is_empty")]
    pub history: History,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Always [`FORMAT`].
    #[serde(default)]
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub services: BTreeMap<ServiceId, ServiceRecord>,
    #[serde(default)]
    pub mutes: Vec<Mute>,
    /// Every notification is held back until then.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub notifications_paused_until: Option<OffsetDateTime>,
}

impl Default for State {
    fn default() -> Self {
        State {
            format: FORMAT.into(),
            version: VERSION,
            services: BTreeMap::new(),
            mutes: Vec::new(),
            notifications_paused_until: None,
        }
    }
}

/// Where the state lives: `$OVERWATCH_DATA_DIR/state.json`, else the platform
/// data directory (`$XDG_DATA_HOME/overwatch` on Linux, Application Support
/// on macOS, AppData on Windows).
pub(crate) fn default_path() -> Result<PathBuf, StateError> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir).join(STATE_FILE));
    }
    use etcetera::app_strategy::{choose_native_strategy, AppStrategy, AppStrategyArgs};
    let strategy = choose_native_strategy(AppStrategyArgs {
        top_level_domain: "org".into(),
        author: "overwatch".into(),
        app_name: "overwatch".into(),
    })
    .map_err(|e| StateError::NoDataDir(e.to_string()))?;
    Ok(strategy.data_dir().join(STATE_FILE))
}

/// Reads the state; a missing file is an empty state, anything that is not
/// Overwatch's current state is moved aside (to `state.json.corrupt-<unix
/// time>`) with a warning. `now` is the wall clock, to catch absurd times.
pub fn load(path: &Path, now: OffsetDateTime) -> State {
    use crate::fsutil::{read_capped, ReadError};
    let bytes = match read_capped(path, MAX_STATE_BYTES) {
        Ok(b) => b,
        Err(ReadError::NotFound) => return State::default(),
        Err(e) => {
            set_aside(path, &e.to_string());
            return State::default();
        }
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            set_aside(path, &e.to_string());
            return State::default();
        }
    };
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        set_aside(
            path,
            "it is not an Overwatch state file (no format marker; older versions had none)",
        );
        return State::default();
    }
    if let Some(t) = latest_time(&value).filter(|t| *t > now + FUTURE_SLACK) {
        set_aside(path, &format!("it holds a time in the future ({t})"));
        return State::default();
    }
    match serde_json::from_value::<State>(value) {
        Ok(s) if s.version == VERSION => s,
        Ok(s) => {
            set_aside(path, &format!("it is version {}", s.version));
            State::default()
        }
        Err(e) => {
            set_aside(path, &e.to_string());
            State::default()
        }
    }
}

/// The latest RFC 3339 time anywhere in the file.
fn latest_time(v: &serde_json::Value) -> Option<OffsetDateTime> {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        }
        Value::Array(a) => a.iter().filter_map(latest_time).max(),
        Value::Object(o) => o.values().filter_map(latest_time).max(),
        _ => None,
    }
}

fn set_aside(path: &Path, why: &str) {
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{stamp}"));
    let aside = PathBuf::from(aside);
    // A rename moves the link or the node itself, never what a link points at.
    match std::fs::rename(path, &aside) {
        Ok(()) => tracing::warn!(
            "the engine state {} could not be used ({why}); moved it to {} and started afresh",
            path.display(),
            aside.display()
        ),
        Err(e) => tracing::warn!(
            "the engine state {} could not be used ({why}) nor moved aside ({e}); starting afresh",
            path.display()
        ),
    }
}

/// Writes the state atomically (0600).
pub fn save(path: &Path, state: &State) -> Result<(), StateError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| StateError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    crate::fsutil::write_atomic(path, &bytes).map_err(|detail| StateError::Write {
        path: path.to_path_buf(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-08-22 12:00 UTC);

    fn aside_names(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("state.json.corrupt-"))
            .collect()
    }

    #[test]
    fn a_foreign_or_future_file_is_set_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        // Somebody else's JSON that happens to say "version": 2.
        std::fs::write(&path, br#"{"version": 2, "notes": "mine"}"#).unwrap();
        assert_eq!(load(&path, NOW), State::default());
        assert_eq!(aside_names(dir.path()).len(), 1);
        // Our own file, with a time near year 9999.
        let mut s = State {
            notifications_paused_until: Some(time::macros::datetime!(9999-12-31 23:00 UTC)),
            ..State::default()
        };
        save(&path, &s).unwrap();
        assert_eq!(load(&path, NOW), State::default());
        assert!(!path.exists());
        // A day ahead is a clock slightly off, not an absurd file.
        s.notifications_paused_until = Some(NOW + time::Duration::days(1));
        save(&path, &s).unwrap();
        assert_eq!(load(&path, NOW), s);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_link_to_a_device_is_moved_aside_and_the_device_kept() {
        use std::os::unix::fs::{symlink, FileTypeExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        let ok = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(ok.success());
        // Would block forever on open; read at once instead.
        assert_eq!(load(&path, NOW), State::default());
        assert!(!path.exists());
        symlink("/dev/zero", &path).unwrap();
        assert_eq!(load(&path, NOW), State::default());
        assert!(!path.exists(), "the link was moved aside");
        assert!(std::fs::metadata("/dev/zero")
            .unwrap()
            .file_type()
            .is_char_device());
        // A save after that writes a plain file of our own.
        save(&path, &State::default()).unwrap();
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
        // A link to a device is never written through.
        std::fs::remove_file(&path).unwrap();
        symlink("/dev/null", &path).unwrap();
        let e = save(&path, &State::default()).unwrap_err().to_string();
        assert!(e.contains("a device"), "{e}");
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn round_trips_and_sets_a_corrupt_file_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(STATE_FILE);
        assert_eq!(load(&path, NOW), State::default());
        let mut s = State::default();
        let mut rec = ServiceRecord {
            target: "project p".into(),
            ..Default::default()
        };
        rec.tracker.confirmed = Some(Status::Down);
        s.services.insert(ServiceId("acme/api".into()), rec);
        s.mutes.push(Mute {
            target: MuteTarget::Workspace("Acme".into()),
            until: MuteUntil::Recovered,
        });
        s.mutes.push(Mute {
            target: MuteTarget::Service(ServiceId("acme/api".into())),
            until: MuteUntil::Time(time::macros::datetime!(2026-08-22 10:00 UTC)),
        });
        save(&path, &s).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load(&path, NOW), s);

        std::fs::write(&path, b"{ not json").unwrap();
        assert_eq!(load(&path, NOW), State::default());
        assert!(!path.exists(), "the corrupt file was moved away");
        let aside: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            aside.iter().any(|n| n.starts_with("state.json.corrupt-")),
            "{aside:?}"
        );
    }
}

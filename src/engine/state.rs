//! The persisted engine state: the latest card and transition tracker per service, mutes and the notification pause, as JSON in the platform data directory.
//!
//! It exists so that a restart neither re-announces problems the user was
//! already told about nor forgets "down since 09:12". Writes go through
//! [`crate::config::write_atomic`] (temporary file, rename, mode 0600). A file
//! that cannot be read as state is moved aside with a warning and rebuilt:
//! losing history is better than not starting.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;

use super::transitions::Tracker;
use crate::model::{Card, ServiceId};

/// Environment variable that overrides the data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "OVERWATCH_DATA_DIR";

/// The state file's name inside the data directory.
pub const STATE_FILE: &str = "state.json";

/// The format version written; files of another version are rebuilt.
pub const VERSION: u32 = 1;

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
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
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
pub fn default_path() -> Result<PathBuf, StateError> {
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

/// Reads the state; a missing file is an empty state, an unreadable one is
/// moved aside (to `state.json.corrupt-<unix time>`) with a warning.
pub fn load(path: &Path) -> State {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return State::default(),
        Err(e) => {
            tracing::warn!(
                "cannot read the engine state {}: {e}; starting without it",
                path.display()
            );
            return State::default();
        }
    };
    match serde_json::from_slice::<State>(&bytes) {
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

fn set_aside(path: &Path, why: &str) {
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{stamp}"));
    let aside = PathBuf::from(aside);
    match std::fs::rename(path, &aside) {
        Ok(()) => tracing::warn!(
            "the engine state {} could not be read ({why}); moved it to {} and started afresh",
            path.display(),
            aside.display()
        ),
        Err(e) => tracing::warn!(
            "the engine state {} could not be read ({why}) nor moved aside ({e}); starting afresh",
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
    crate::config::write_atomic(path, &bytes).map_err(|e| StateError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    #[test]
    fn round_trips_and_sets_a_corrupt_file_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(STATE_FILE);
        assert_eq!(load(&path), State::default());
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
        assert_eq!(load(&path), s);

        std::fs::write(&path, b"{ not json").unwrap();
        assert_eq!(load(&path), State::default());
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

//! The TOML config file: where it lives, parse and validate it (every problem with file:line:column), and edit it keeping comments.
//!
//! Parsing walks a `toml_edit` document rather than deriving serde structs so
//! that every problem, not only the first, is reported with its position, and
//! so the same document type serves both reading and comment-keeping edits.
//! A file that fails to parse or validate is never written to.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use toml_edit::{DocumentMut, Item, TableLike, Value};
use url::Url;

use crate::model::{
    format_duration, is_loopback, parse_duration, AlertRules, Mode, Provider, Service, ServiceId,
    Target, Thresholds, Workspace,
};
use crate::providers::{FieldSpec, Fields};
use crate::secrets::KeyRef;

/// Environment variable that picks the config file (after `--config`).
pub const CONFIG_ENV: &str = "OVERWATCH_CONFIG";

/// The default auto-refresh interval.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(60);

/// The shortest refresh interval accepted (the simulator and tests use 1 s).
pub const MIN_REFRESH: Duration = Duration::from_secs(1);
/// The longest refresh interval: longer is "off" in all but name, and every
/// time sum in the engine stays far from overflowing.
pub const MAX_REFRESH: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest `unreachable_alert_after`.
pub const MAX_UNREACHABLE_ALERT_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The commented example shipped with the program (`overwatch config init`).
pub const EXAMPLE: &str = include_str!("../../config.example.toml");

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Auto-refresh interval; `None` when the user turned it off.
    pub refresh: Option<Duration>,
    pub notifications: bool,
    /// Total time one request may take before the card says "timeout".
    pub timeout: Duration,
    /// `icon_colour = "problems"`: a monochrome icon while all is healthy.
    pub icon_problems_only: bool,
    pub workspaces: Vec<Workspace>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            refresh: Some(DEFAULT_REFRESH),
            notifications: true,
            timeout: DEFAULT_TIMEOUT,
            icon_problems_only: false,
            workspaces: Vec::new(),
        }
    }
}

impl Config {
    /// Every service, workspace by workspace, in order.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.workspaces.iter().flat_map(|w| w.services.iter())
    }

    pub fn workspace(&self, name: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| same_name(&w.name, name))
    }

    /// Every distinct key reference, in first-use order.
    pub(crate) fn key_refs(&self) -> Vec<KeyRef> {
        let mut seen = HashSet::new();
        self.services()
            .filter_map(|s| s.key.clone())
            .filter(|k| seen.insert(k.clone()))
            .collect()
    }
}

/// One problem found in a config file, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why a config could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("no config file at {}: run `overwatch config init` to create one", path.display())]
    NotFound { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error("cannot write {}: {detail}; the file was left as it was", path.display())]
    Write { path: PathBuf, detail: String },
    #[error("cannot find the config directory: {0}; use --config PATH or OVERWATCH_CONFIG")]
    NoConfigDir(String),
    #[error("{0}")]
    Edit(String),
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    let n = problems.len();
    out.push_str(&format!(
        "{} has {} problem{}:",
        path.display(),
        n,
        if n == 1 { "" } else { "s" }
    ));
    for p in problems {
        out.push_str(&format!(
            "\n  {}:{}:{}: {}",
            path.display(),
            p.line,
            p.column,
            p.message
        ));
    }
    out
}

impl ConfigError {
    /// The problems, for an invalid file.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// The platform's config file path, exactly where earlier versions (which
/// asked confy, i.e. the `directories` crate's `ProjectDirs("rs", "",
/// "overwatch")`) put it, so no user's file moves: `$XDG_CONFIG_HOME`
/// (`~/.config`)`/overwatch/config.toml` on Linux and the BSDs,
/// `~/Library/Application Support/rs.overwatch/config.toml` on macOS,
/// `%APPDATA%\overwatch\config\config.toml` on Windows.
fn platform_path() -> Result<PathBuf, etcetera::HomeDirError> {
    use etcetera::base_strategy::{choose_native_strategy, BaseStrategy};
    let base = choose_native_strategy()?;
    let dir = if cfg!(target_os = "macos") {
        base.data_dir().join("rs.overwatch")
    } else if cfg!(windows) {
        base.config_dir().join("overwatch").join("config")
    } else {
        base.config_dir().join("overwatch")
    };
    Ok(dir.join("config.toml"))
}

/// Where the config file is: `--config`, else `OVERWATCH_CONFIG`, else the platform config dir.
pub(crate) fn resolve_path(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    platform_path().map_err(|e| ConfigError::NoConfigDir(e.to_string()))
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read(path)?;
    parse(&text, path)
}

/// Reads the file's text, mapping "not there" to [`ConfigError::NotFound`].
pub fn read(path: &Path) -> Result<String, ConfigError> {
    let rerr = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => ConfigError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        },
    };
    // Only a regular file (through links), at most the cap: see crate::fsutil.
    let bytes = match crate::fsutil::read_capped(path, MAX_CONFIG_BYTES) {
        Ok(b) => b,
        Err(crate::fsutil::ReadError::NotFound) => return Err(rerr(std::io::ErrorKind::NotFound.into())),
        Err(crate::fsutil::ReadError::Io(e)) => return Err(rerr(e)),
        Err(e @ crate::fsutil::ReadError::NotRegular(_)) => {
            return Err(rerr(std::io::Error::other(format!(
                "{e}; --config and OVERWATCH_CONFIG take a TOML file"
            ))))
        }
        Err(crate::fsutil::ReadError::TooLarge { len, cap }) => {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: vec![Problem {
                    line: 1,
                    column: 1,
                    message: format!(
                        "the file is {len} bytes; a config is at most {cap} bytes — is this the right file?"
                    ),
                }],
            })
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
        let (line, column) = line_col(valid, at);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: vec![Problem {
                line,
                column,
                message: "the file is not valid UTF-8 text".into(),
            }],
        }
    })
}

/// A config is small; anything larger is the wrong file.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

mod edit;
mod validate;

pub use edit::{Editor, ServiceFields};
use validate::*;
pub use validate::{derived_id, parse, same_name, unique_id, DEFAULT_TIMEOUT};

/// Writes `bytes` to `path` through a temporary file in the same directory and
/// a rename, with mode 0600, so a crash leaves the old file or the new one.
/// A symlinked config is written through to its target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|detail| ConfigError::Write {
        path: path.to_path_buf(),
        detail,
    })
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Formats a refresh setting the way the file writes it.
pub(crate) fn refresh_value(refresh: Option<Duration>) -> String {
    match refresh {
        None => "off".into(),
        Some(d) => format_duration(d),
    }
}

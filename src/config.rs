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
    Target, Thresholds, TokenKind, Workspace,
};
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
pub const EXAMPLE: &str = include_str!("../config.example.toml");

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
    pub fn key_refs(&self) -> Vec<KeyRef> {
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
pub fn resolve_path(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
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

/// Parses and validates config text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let doc = match toml_edit::Document::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let at = e.span().map(|r| r.start).unwrap_or(0);
            let (line, column) = line_col(text, at);
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: vec![Problem {
                    line,
                    column,
                    message: format!("this is not valid TOML: {}", e.message().trim()),
                }],
            });
        }
    };
    let mut v = Validator {
        text,
        problems: Vec::new(),
    };
    let config = v.config(doc.as_table());
    if v.problems.is_empty() {
        Ok(config)
    } else {
        v.problems.sort_by_key(|p| (p.line, p.column));
        v.problems.dedup();
        Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: v.problems,
        })
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut start = offset;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

const TOP_KEYS: &[&str] = &[
    "refresh",
    "notifications",
    "timeout",
    "icon_colour",
    "workspaces",
];

/// How long one check may take by default (connect is capped at 5 s on top).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
const WORKSPACE_KEYS: &[&str] = &["name", "services"];
const COMMON_SERVICE_KEYS: &[&str] = &[
    "id",
    "name",
    "provider",
    "mode",
    "key",
    "dashboard",
    "base_url",
    "allow_insecure",
    "enabled",
    "refresh",
    "confirm",
    "confirm_recovery",
    "unreachable_alert_after",
];

/// Keys only some providers take.
fn provider_keys(p: Provider) -> &'static [&'static str] {
    match p {
        Provider::Railway => &["project", "environment", "token_kind"],
        Provider::Plausible => &["site", "traffic_drop", "traffic_min_baseline"],
        Provider::Netlify => &["site"],
        Provider::Sentry => &[
            "org",
            "project",
            "spike_degraded",
            "spike_down",
            "unhandled_users_down",
        ],
    }
}

fn all_service_keys() -> Vec<&'static str> {
    let mut v: Vec<&str> = COMMON_SERVICE_KEYS.to_vec();
    for p in Provider::ALL {
        for k in provider_keys(p) {
            if !v.contains(k) {
                v.push(k);
            }
        }
    }
    v
}

struct Validator<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn at(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.map(|r| r.start).unwrap_or(0));
        self.problems.push(Problem {
            line,
            column,
            message: message.into(),
        });
    }

    /// Span of a key inside a table, falling back to its value, then the table.
    fn key_span(
        t: &dyn TableLike,
        key: &str,
        fallback: Option<Range<usize>>,
    ) -> Option<Range<usize>> {
        t.key(key)
            .and_then(|k| k.span())
            .or_else(|| t.get(key).and_then(|i| i.span()))
            .or(fallback)
    }

    fn unknown_keys(
        &mut self,
        t: &dyn TableLike,
        allowed: &[&str],
        whose: &str,
        span: Option<Range<usize>>,
    ) {
        for (k, _) in t.iter() {
            if !allowed.contains(&k) {
                let hint = suggest(k, allowed)
                    .map(|s| format!(" — did you mean `{s}`?"))
                    .unwrap_or_else(|| format!(" ({whose} take {})", allowed.join(", ")));
                self.at(
                    Self::key_span(t, k, span.clone()),
                    format!("unknown key `{k}`{hint}"),
                );
            }
        }
    }

    fn string(
        &mut self,
        t: &dyn TableLike,
        key: &str,
        span: Option<Range<usize>>,
    ) -> Option<String> {
        let item = t.get(key)?;
        match item.as_str() {
            // No name, id or URL needs a control character, and each of
            // them reaches terminals, menus and notifications.
            Some(s) if s.chars().any(crate::text::is_unsafe) => {
                let c = s
                    .chars()
                    .find(|c| crate::text::is_unsafe(*c))
                    .unwrap_or(' ');
                self.at(
                    item.span().or(span),
                    format!(
                        "`{key}` contains a control character (U+{:04X}); remove it",
                        u32::from(c)
                    ),
                );
                None
            }
            Some(s) => Some(s.to_string()),
            None => {
                self.at(
                    item.span().or(span),
                    format!("`{key}` must be a string in quotes, like {key} = \"…\""),
                );
                None
            }
        }
    }

    /// A string value read through `FromStr` (provider, mode, key, ...): `None`
    /// when absent or wrong, the problem reported at the value.
    fn parsed<T: std::str::FromStr<Err = String>>(
        &mut self,
        t: &dyn TableLike,
        key: &str,
        span: Option<Range<usize>>,
    ) -> Option<T> {
        let raw = self.string(t, key, span.clone())?;
        match raw.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.at(t.get(key).and_then(|i| i.span()).or(span), e);
                None
            }
        }
    }

    fn boolean(
        &mut self,
        t: &dyn TableLike,
        key: &str,
        span: Option<Range<usize>>,
    ) -> Option<bool> {
        let item = t.get(key)?;
        match item.as_bool() {
            Some(b) => Some(b),
            None => {
                self.at(
                    item.span().or(span),
                    format!("`{key}` must be true or false"),
                );
                None
            }
        }
    }

    fn number(&mut self, t: &dyn TableLike, key: &str, span: Option<Range<usize>>) -> Option<f64> {
        let item = t.get(key)?;
        match item
            .as_float()
            .or_else(|| item.as_integer().map(|i| i as f64))
        {
            Some(n) if n.is_finite() && n >= 0.0 => Some(n),
            _ => {
                self.at(
                    item.span().or(span),
                    format!("`{key}` must be a number of at least 0"),
                );
                None
            }
        }
    }

    /// A refresh interval: "60s", an integer of seconds, or "off".
    fn refresh(
        &mut self,
        t: &dyn TableLike,
        span: Option<Range<usize>>,
    ) -> Option<Option<Duration>> {
        let item = t.get("refresh")?;
        let here = item.span().or(span);
        if item
            .as_str()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("off"))
        {
            return Some(None);
        }
        let parsed = duration_value(item, "\"60s\", \"5m\" or \"off\"");
        match parsed {
            Ok(d) if d < MIN_REFRESH => {
                self.at(here, "`refresh` must be at least 1s (or \"off\")");
                None
            }
            Ok(d) if d > MAX_REFRESH => {
                self.at(
                    here,
                    "`refresh` must be at most 7 days (168h); to stop checking, write \"off\"",
                );
                None
            }
            Ok(d) => Some(Some(d)),
            Err(e) => {
                self.at(here, format!("`refresh`: {e}"));
                None
            }
        }
    }

    /// The request timeout: a duration from 1 s to 5 min.
    fn timeout(&mut self, t: &dyn TableLike) -> Option<Duration> {
        let item = t.get("timeout")?;
        let parsed = duration_value(item, "\"15s\"");
        match parsed {
            Ok(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(300) => Some(d),
            Ok(_) => {
                self.at(item.span(), "`timeout` must be between 1s and 5m");
                None
            }
            Err(e) => {
                self.at(item.span(), format!("`timeout`: {e}"));
                None
            }
        }
    }

    fn url(&mut self, t: &dyn TableLike, key: &str, span: Option<Range<usize>>) -> Option<Url> {
        let s = self.string(t, key, span.clone())?;
        let here = t.get(key).and_then(|i| i.span()).or(span);
        match Url::parse(s.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(u),
            Ok(_) => {
                self.at(
                    here,
                    format!("`{key}` must be an http(s) URL like \"https://host\""),
                );
                None
            }
            Err(e) => {
                self.at(
                    here,
                    format!("`{key}` is not a valid URL ({e}): write it like \"https://host\""),
                );
                None
            }
        }
    }

    fn config(&mut self, root: &dyn TableLike) -> Config {
        self.unknown_keys(root, TOP_KEYS, "the top level can", None);
        let refresh = self.refresh(root, None).unwrap_or(Some(DEFAULT_REFRESH));
        let notifications = self.boolean(root, "notifications", None).unwrap_or(true);
        let timeout = self.timeout(root).unwrap_or(DEFAULT_TIMEOUT);
        let icon_problems_only = match self.string(root, "icon_colour", None).as_deref() {
            None | Some("always") => false,
            Some("problems") => true,
            Some(other) => {
                self.at(
                    root.get("icon_colour").and_then(|i| i.span()),
                    format!("`icon_colour` is \"always\" or \"problems\" (colour only when something is wrong), not `{other}`"),
                );
                false
            }
        };
        let mut workspaces = Vec::new();
        let mut names: HashMap<String, ()> = HashMap::new();
        let mut ids: HashSet<String> = HashSet::new();
        let reserved = explicit_ids(root);
        for (t, span) in tables(root.get("workspaces"), self, "workspaces") {
            let Some(ws) = self.workspace(t, span.clone(), &mut ids, &reserved) else {
                continue;
            };
            if names.insert(ws.name.to_lowercase(), ()).is_some() {
                self.at(
                    Self::key_span(t, "name", span),
                    format!(
                        "a workspace named `{}` already exists: workspace names must be unique",
                        ws.name
                    ),
                );
            }
            workspaces.push(ws);
        }
        Config {
            refresh,
            notifications,
            timeout,
            icon_problems_only,
            workspaces,
        }
    }

    fn workspace(
        &mut self,
        t: &dyn TableLike,
        span: Option<Range<usize>>,
        ids: &mut HashSet<String>,
        reserved: &HashSet<String>,
    ) -> Option<Workspace> {
        self.unknown_keys(t, WORKSPACE_KEYS, "workspaces", span.clone());
        let name = match self.string(t, "name", span.clone()) {
            Some(n) if !n.trim().is_empty() => n.trim().to_string(),
            Some(_) => {
                self.at(
                    Self::key_span(t, "name", span),
                    "a workspace name cannot be empty",
                );
                return None;
            }
            None => {
                if t.get("name").is_none() {
                    self.at(span, "this workspace has no `name`: add name = \"Acme\"");
                }
                return None;
            }
        };
        let mut services: Vec<Service> = Vec::new();
        for (st, sspan) in tables(t.get("services"), self, "services") {
            if let Some(mut svc) = self.service(st, sspan.clone(), &name) {
                if services.iter().any(|s| same_name(&s.name, &svc.name)) {
                    self.at(
                        Self::key_span(st, "name", sspan.clone()),
                        format!(
                            "workspace `{name}` already has a service named `{}`: names must be unique within a workspace",
                            svc.name
                        ),
                    );
                    continue;
                }
                if st.get("id").is_none() {
                    // A derived id never takes one written out, nor an
                    // earlier service's: see `unique_id`.
                    svc.id = unique_id(&name, &svc.name, |c| {
                        ids.contains(c) || reserved.contains(c)
                    });
                }
                if !ids.insert(svc.id.0.clone()) {
                    self.at(
                        Self::key_span(st, "id", sspan),
                        format!(
                            "another service already has the id `{}`: give this one a different `id` (`overwatch service edit \"{}\" --id NEW`)",
                            svc.id, svc.name
                        ),
                    );
                    continue;
                }
                svc.order = services.len();
                services.push(svc);
            }
        }
        Some(Workspace { name, services })
    }

    fn service(
        &mut self,
        t: &dyn TableLike,
        span: Option<Range<usize>>,
        workspace: &str,
    ) -> Option<Service> {
        let before = self.problems.len();
        let name = self
            .string(t, "name", span.clone())
            .map(|s| s.trim().to_string());
        let label = name.clone().unwrap_or_else(|| "(unnamed)".into());
        match &name {
            Some(n) if n.is_empty() => self.at(
                Self::key_span(t, "name", span.clone()),
                "a service name cannot be empty",
            ),
            None if t.get("name").is_none() => self.at(
                span.clone(),
                format!("a service in workspace `{workspace}` has no `name`: add name = \"API\""),
            ),
            _ => {}
        }
        let provider = self.parsed::<Provider>(t, "provider", span.clone());
        if t.get("provider").is_none() {
            self.at(
                span.clone(),
                format!("service `{label}` has no `provider`: add provider = \"railway\" (or plausible, netlify, sentry)"),
            );
        }
        let allowed: Vec<&str> = match provider {
            Some(p) => COMMON_SERVICE_KEYS
                .iter()
                .chain(provider_keys(p))
                .copied()
                .collect(),
            None => all_service_keys(),
        };
        for (k, _) in t.iter() {
            if allowed.contains(&k) {
                continue;
            }
            let here = Self::key_span(t, k, span.clone());
            match provider {
                Some(p) if all_service_keys().contains(&k) => self.at(
                    here,
                    format!(
                        "`{k}` is not used by {p} services; {p} takes {}",
                        provider_keys(p).join(", ")
                    ),
                ),
                _ => {
                    let hint = suggest(k, &allowed)
                        .map(|s| format!(" — did you mean `{s}`?"))
                        .unwrap_or_default();
                    self.at(
                        here,
                        format!("unknown key `{k}` in service `{label}`{hint}"),
                    );
                }
            }
        }
        let mode = self
            .parsed::<Mode>(t, "mode", span.clone())
            .unwrap_or_default();
        let required = |v: &mut Self, key: &str, what: &str| -> Option<String> {
            match v.string(t, key, span.clone()) {
                // "." or ".." as one path segment would move the request to
                // another path of the provider's API.
                Some(s) if matches!(s.trim(), "." | "..") => {
                    v.at(
                        Self::key_span(t, key, span.clone()),
                        format!("`{key}` cannot be `{}`: it is {what}", s.trim()),
                    );
                    None
                }
                Some(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Some(_) => {
                    v.at(
                        Self::key_span(t, key, span.clone()),
                        format!("`{key}` cannot be empty: it is {what}"),
                    );
                    None
                }
                None => {
                    if t.get(key).is_none() {
                        v.at(
                            span.clone(),
                            format!(
                                "service `{label}` ({}) needs `{key}` = {what}",
                                provider.map(|p| p.as_str()).unwrap_or("?")
                            ),
                        );
                    }
                    None
                }
            }
        };
        let target = match provider? {
            Provider::Railway => {
                let project = required(
                    self,
                    "project",
                    "the Railway project id (Project Settings → General)",
                );
                let environment = self
                    .string(t, "environment", span.clone())
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "production".into());
                let token_kind = self
                    .parsed::<TokenKind>(t, "token_kind", span.clone())
                    .unwrap_or_default();
                project.map(|project| Target::Railway {
                    project,
                    environment,
                    token_kind,
                })
            }
            Provider::Plausible => required(
                self,
                "site",
                "the site's domain as set in Plausible (e.g. \"example.com\")",
            )
            .map(|site| Target::Plausible { site }),
            Provider::Netlify => required(
                self,
                "site",
                "the Netlify site id or its domain (e.g. \"acme.netlify.app\")",
            )
            .map(|site| Target::Netlify { site }),
            Provider::Sentry => {
                let org = required(self, "org", "the Sentry organization slug");
                let project = required(self, "project", "the Sentry project slug");
                match (org, project) {
                    (Some(org), Some(project)) => Some(Target::Sentry { org, project }),
                    _ => None,
                }
            }
        };
        let key = match self.parsed::<KeyRef>(t, "key", span.clone()) {
            Some(k) => Some(k),
            None => {
                if mode == Mode::Api && t.get("key").is_none() {
                    self.at(
                        span.clone(),
                        format!(
                            "service `{label}` needs `key` = the name of its API key in the keychain (store it with `overwatch secret set NAME`) or \"env:VAR\"; or set mode = \"link\" for a dashboard link only"
                        ),
                    );
                }
                None
            }
        };
        let base_url = self.url(t, "base_url", span.clone());
        let dashboard = self.url(t, "dashboard", span.clone());
        let allow_insecure = self
            .boolean(t, "allow_insecure", span.clone())
            .unwrap_or(false);
        if let Some(u) = &base_url {
            if u.scheme() == "http" && !is_loopback(u) && !allow_insecure {
                self.at(
                    t.get("base_url").and_then(|i| i.span()),
                    format!(
                        "`base_url` uses plain http to {}: the API key would travel unencrypted; use https, or add allow_insecure = true if you really mean it",
                        u.host_str().unwrap_or("?")
                    ),
                );
            }
        }
        let enabled = self.boolean(t, "enabled", span.clone()).unwrap_or(true);
        let refresh = match self.refresh(t, span.clone()) {
            Some(None) => {
                // "off" per service used to be accepted and ignored.
                let here = t.get("refresh").and_then(|i| i.span()).or(span.clone());
                self.at(
                    here,
                    "`refresh = \"off\"` only works for the whole config; to stop checking this service write `enabled = false`",
                );
                None
            }
            other => other.flatten(),
        };
        let mut thresholds = Thresholds::default();
        // A spike is a multiple of the usual error rate: below 1 even a
        // quiet hour "spikes" (0 called 1.2× the usual a spike).
        let mut spikes_ok = true;
        for key in ["spike_degraded", "spike_down"] {
            let Some(n) = self.number(t, key, span.clone()) else {
                continue;
            };
            if n < 1.0 {
                spikes_ok = false;
                self.at(
                    t.get(key).and_then(|i| i.span()).or(span.clone()),
                    format!(
                        "`{key}` is a multiple of the usual error rate and must be at least 1 (2 means twice the usual), not {n}"
                    ),
                );
            } else if key == "spike_degraded" {
                thresholds.spike_degraded = n;
            } else {
                thresholds.spike_down = n;
            }
        }
        if spikes_ok && thresholds.spike_down < thresholds.spike_degraded {
            self.at(
                Self::key_span(t, "spike_down", span.clone()),
                "`spike_down` must be at least `spike_degraded`",
            );
        }
        if let Some(n) = self.number(t, "unhandled_users_down", span.clone()) {
            thresholds.unhandled_users_down = n as u64;
        }
        if let Some(item) = t.get("traffic_drop") {
            if item.as_bool() == Some(false) {
                thresholds.traffic_drop = None;
            } else if let Some(n) = self.number(t, "traffic_drop", span.clone()) {
                if n > 100.0 {
                    self.at(
                        item.span(),
                        "`traffic_drop` is a percentage from 0 to 100 (or false)",
                    );
                } else {
                    thresholds.traffic_drop = Some(n);
                }
            }
        }
        if let Some(n) = self.number(t, "traffic_min_baseline", span.clone()) {
            thresholds.traffic_min_baseline = n as u64;
        }
        let alerts = self.alerts(t, span.clone());
        let id = match self.string(t, "id", span.clone()) {
            Some(id) if !id.trim().is_empty() => ServiceId(id.trim().to_string()),
            Some(_) => {
                self.at(Self::key_span(t, "id", span), "`id` cannot be empty");
                return None;
            }
            None => derived_id(workspace, name.as_deref().unwrap_or("")),
        };
        if self.problems.len() > before {
            return None;
        }
        Some(Service {
            id,
            workspace: workspace.to_string(),
            name: name?,
            mode,
            target: target?,
            key,
            dashboard,
            base_url,
            allow_insecure,
            enabled,
            order: 0,
            refresh,
            thresholds,
            alerts,
        })
    }

    /// `confirm`, `confirm_recovery` (whole numbers of observations) and
    /// `unreachable_alert_after` (a duration).
    fn alerts(&mut self, t: &dyn TableLike, span: Option<Range<usize>>) -> AlertRules {
        let mut rules = AlertRules::default();
        for key in ["confirm", "confirm_recovery"] {
            let Some(item) = t.get(key) else { continue };
            match item.as_integer() {
                Some(n) if (1..=i64::from(AlertRules::MAX_CONFIRM)).contains(&n) => {
                    let n = n as u32;
                    if key == "confirm" {
                        rules.confirm = n;
                    } else {
                        rules.confirm_recovery = n;
                    }
                }
                _ => self.at(
                    item.span().or(span.clone()),
                    format!(
                        "`{key}` must be a whole number of checks from 1 to {}, like {key} = 2",
                        AlertRules::MAX_CONFIRM
                    ),
                ),
            }
        }
        if let Some(item) = t.get("unreachable_alert_after") {
            let here = item.span().or(span);
            let parsed = duration_value(item, "\"15m\" or \"1h\"");
            match parsed {
                Ok(d) if d > MAX_UNREACHABLE_ALERT_AFTER => self.at(
                    here,
                    "`unreachable_alert_after` must be at most 1 day (24h)",
                ),
                Ok(d) => rules.unreachable_alert_after = d,
                Err(e) => self.at(here, format!("`unreachable_alert_after`: {e}")),
            }
        }
        rules
    }
}

/// A duration written as a string ("90s", "5m") or a whole number of seconds.
fn duration_value(item: &Item, example: &str) -> Result<Duration, String> {
    if let Some(s) = item.as_str() {
        parse_duration(s)
    } else if let Some(i) = item.as_integer() {
        u64::try_from(i)
            .map(Duration::from_secs)
            .map_err(|_| "a duration cannot be negative".to_string())
    } else {
        Err(format!("write a duration like {example}"))
    }
}

/// Tables of an array of tables (`[[x]]`) or an inline array of tables.
fn tables<'a>(
    item: Option<&'a Item>,
    v: &mut Validator<'_>,
    key: &str,
) -> Vec<(&'a dyn TableLike, Option<Range<usize>>)> {
    let Some(item) = item else {
        return Vec::new();
    };
    if let Some(aot) = item.as_array_of_tables() {
        return aot
            .iter()
            .map(|t| (t as &dyn TableLike, t.span()))
            .collect();
    }
    if let Some(arr) = item.as_array() {
        let mut out = Vec::new();
        for val in arr.iter() {
            match val {
                Value::InlineTable(t) => out.push((t as &dyn TableLike, t.span())),
                other => v.at(
                    other.span(),
                    format!("each entry of `{key}` must be a table ([[{key}]] or {{ … }})"),
                ),
            }
        }
        return out;
    }
    v.at(
        item.span(),
        format!("`{key}` must be a list of tables, written [[{key}]]"),
    );
    Vec::new()
}

/// The id of a service without an explicit `id`: workspace and name, slugged.
/// Two names can slug alike ("Acme Co", "Acme-Co"; "🚀" and "🔥" slug to
/// nothing): see [`unique_id`] for the id a service actually gets.
pub fn derived_id(workspace: &str, name: &str) -> ServiceId {
    ServiceId(format!("{}/{}", slug(workspace), slug(name)))
}

/// The id a service without an explicit `id` gets: [`derived_id`] when that
/// is free (so every id that was derivable before stays as it was), else the
/// same with a short hash of the exact workspace and name appended — stable
/// whatever the order of the file — and a counter only if even that is taken.
pub fn unique_id(workspace: &str, name: &str, taken: impl Fn(&str) -> bool) -> ServiceId {
    let base = derived_id(workspace, name).0;
    if !taken(&base) {
        return ServiceId(base);
    }
    // FNV-1a: fixed across releases and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in workspace
        .trim()
        .bytes()
        .chain([0])
        .chain(name.trim().bytes())
    {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let sep = if base.ends_with('/') { "" } else { "-" };
    let hashed = format!("{base}{sep}{:06x}", h & 0xff_ffff);
    if !taken(&hashed) {
        return ServiceId(hashed);
    }
    (2..)
        .map(|n| format!("{hashed}-{n}"))
        .find(|c| !taken(c))
        .map(ServiceId)
        .expect("an unbounded counter finds a free id")
}

/// Whether two workspace or service names are the same name: trimmed and
/// compared in Unicode lower case ("Äpi" is "äpi"), the one rule for both
/// lookups and uniqueness.
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Every `id` written out in the file, reserved before any is derived.
fn explicit_ids(root: &dyn TableLike) -> HashSet<String> {
    fn each(item: Option<&Item>) -> Vec<&dyn TableLike> {
        match item {
            Some(Item::ArrayOfTables(a)) => a.iter().map(|t| t as &dyn TableLike).collect(),
            Some(Item::Value(Value::Array(a))) => a
                .iter()
                .filter_map(|v| v.as_inline_table().map(|t| t as &dyn TableLike))
                .collect(),
            _ => Vec::new(),
        }
    }
    each(root.get("workspaces"))
        .into_iter()
        .flat_map(|w| each(w.get("services")))
        .filter_map(|s| s.get("id").and_then(|i| i.as_str()))
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .collect()
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The closest allowed key to a misspelt one, if close enough.
fn suggest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (levenshtein(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------
// Editing

/// The fields of a service as given on the command line; `None` = leave as is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceFields {
    /// An explicit id (state and mutes follow it); `None` derives one.
    pub id: Option<String>,
    pub name: Option<String>,
    pub provider: Option<Provider>,
    pub mode: Option<Mode>,
    pub key: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub token_kind: Option<String>,
    pub site: Option<String>,
    pub org: Option<String>,
    pub base_url: Option<String>,
    pub dashboard: Option<String>,
    pub enabled: Option<bool>,
    pub refresh: Option<String>,
    pub allow_insecure: Option<bool>,
}

impl ServiceFields {
    /// (key, value) pairs to write, in the order they read best.
    fn pairs(&self) -> Vec<(&'static str, toml_edit::Value)> {
        let mut v: Vec<(&'static str, toml_edit::Value)> = Vec::new();
        let s = |x: &Option<String>| x.as_ref().map(|s| toml_edit::Value::from(s.as_str()));
        if let Some(x) = s(&self.id) {
            v.push(("id", x));
        }
        if let Some(x) = s(&self.name) {
            v.push(("name", x));
        }
        if let Some(p) = self.provider {
            v.push(("provider", p.as_str().into()));
        }
        if let Some(m) = self.mode {
            v.push(("mode", m.as_str().into()));
        }
        for (k, val) in [
            ("project", &self.project),
            ("environment", &self.environment),
            ("token_kind", &self.token_kind),
            ("site", &self.site),
            ("org", &self.org),
            ("key", &self.key),
            ("base_url", &self.base_url),
            ("dashboard", &self.dashboard),
            ("refresh", &self.refresh),
        ] {
            if let Some(x) = s(val) {
                v.push((k, x));
            }
        }
        if let Some(a) = self.allow_insecure {
            v.push(("allow_insecure", a.into()));
        }
        if let Some(e) = self.enabled {
            v.push(("enabled", e.into()));
        }
        v
    }
}

/// An open config file being edited. Every change is validated as a whole
/// before [`Editor::save`] writes it, atomically and with mode 0600.
///
/// Edits from several processes at once (parallel CLI commands, the tray's
/// own writes) never lose one another: every change is recorded as it is
/// made, and [`Editor::save`] takes an advisory lock beside the file, reads
/// it again, and — when another edit got there first — replays the recorded
/// changes onto the new text (or fails saying why, writing nothing).
pub struct Editor {
    path: PathBuf,
    doc: DocumentMut,
    existed: bool,
    /// The file's bytes the document was read from (`None`: there was no file).
    base: Option<Vec<u8>>,
    /// The changes made since `base`, to replay onto a newer file.
    ops: Vec<EditOp>,
    /// The file's line endings were CRLF (a file from Windows or an editor set
    /// so): written back the same way, not silently turned into LF.
    crlf: bool,
    /// The file started with a UTF-8 byte-order mark, which is kept.
    bom: bool,
}

/// One recorded change, replayable onto a freshly read document.
type EditOp = Box<dyn Fn(&mut Editor) -> Result<(), ConfigError> + Send>;

impl Editor {
    /// Opens `path` for editing. A missing file starts empty; a file that does not
    /// validate is refused, so a broken file is never rewritten.
    pub fn open(path: &Path) -> Result<Editor, ConfigError> {
        let text = match read(path) {
            Ok(t) => Some(t),
            Err(ConfigError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        Editor::from_text(path, text)
    }

    fn from_text(path: &Path, text: Option<String>) -> Result<Editor, ConfigError> {
        let existed = text.is_some();
        let text = text.unwrap_or_default();
        parse(&text, path)?;
        let bom = text.starts_with('\u{feff}');
        // The first line ending decides; toml_edit writes LF for everything.
        let crlf = text.find('\n').is_some_and(|i| text[..i].ends_with('\r'));
        let doc = text
            .trim_start_matches('\u{feff}')
            .parse::<DocumentMut>()
            .map_err(|e| ConfigError::Edit(format!("cannot edit {}: {e}", path.display())))?;
        Ok(Editor {
            path: path.to_path_buf(),
            doc,
            existed,
            base: existed.then(|| text.into_bytes()),
            ops: Vec::new(),
            crlf,
            bom,
        })
    }

    /// Applies a change and records it for a replay in [`Editor::save`].
    fn record<T>(
        &mut self,
        op: impl Fn(&mut Editor) -> Result<T, ConfigError> + Send + 'static,
    ) -> Result<T, ConfigError> {
        self.pin_irregular_ids();
        let out = op(self)?;
        self.pin_irregular_ids();
        self.ops.push(Box::new(move |e| op(e).map(|_| ())));
        Ok(out)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current text, validated.
    pub fn config(&self) -> Result<Config, ConfigError> {
        parse(&self.text(), &self.path)
    }

    /// The document as it will be written, in the file's own line endings and
    /// with its byte-order mark, if it had one. Tables are rendered in the order of
    /// their document positions, so they are renumbered to follow the array
    /// order first (otherwise a moved or added service would be written where
    /// it used to be, or at the end of the file under the wrong workspace).
    fn text(&self) -> String {
        let mut doc = self.doc.clone();
        let mut pos: isize = 0;
        let mut next = || {
            pos += 1;
            Some(pos)
        };
        if let Some(wss) = doc
            .get_mut("workspaces")
            .and_then(|i| i.as_array_of_tables_mut())
        {
            for ws in wss.iter_mut() {
                ws.set_position(next());
                if let Some(svcs) = ws
                    .get_mut("services")
                    .and_then(|i| i.as_array_of_tables_mut())
                {
                    for svc in svcs.iter_mut() {
                        svc.set_position(next());
                    }
                }
            }
        }
        let text = doc.to_string();
        let text = if self.crlf {
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        } else {
            text
        };
        if self.bom {
            format!("\u{feff}{}", text.trim_start_matches('\u{feff}'))
        } else {
            text
        }
    }

    fn workspaces_mut(&mut self) -> Result<&mut toml_edit::ArrayOfTables, ConfigError> {
        let root = self.doc.as_table_mut();
        if !root.contains_key("workspaces") {
            root.insert("workspaces", Item::ArrayOfTables(Default::default()));
        }
        root.get_mut("workspaces")
            .and_then(|i| i.as_array_of_tables_mut())
            .ok_or_else(|| {
                ConfigError::Edit(
                    "`workspaces` is written as an inline array; edit it by hand or rewrite it as [[workspaces]] tables".into(),
                )
            })
    }

    fn workspace_index(&mut self, name: &str) -> Result<usize, ConfigError> {
        let wss = self.workspaces_mut()?;
        wss.iter()
            .position(|t| {
                t.get("name")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| same_name(n, name))
            })
            .ok_or_else(|| {
                ConfigError::Edit(format!(
                    "no workspace named `{name}`: see `overwatch workspace list`"
                ))
            })
    }

    fn services_mut(&mut self, ws: usize) -> Result<&mut toml_edit::ArrayOfTables, ConfigError> {
        let t = self
            .workspaces_mut()?
            .get_mut(ws)
            .expect("index from workspace_index");
        if !t.contains_key("services") {
            t.insert("services", Item::ArrayOfTables(Default::default()));
        }
        t.get_mut("services")
            .and_then(|i| i.as_array_of_tables_mut())
            .ok_or_else(|| {
                ConfigError::Edit(
                    "this workspace's `services` is an inline array; edit it by hand or rewrite it as [[workspaces.services]] tables".into(),
                )
            })
    }

    fn service_index(&mut self, ws: usize, name: &str) -> Result<usize, ConfigError> {
        let ws_name = self.workspace_name(ws);
        self.services_mut(ws)?
            .iter()
            .position(|t| {
                t.get("name")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| same_name(n, name))
            })
            .ok_or_else(|| {
                ConfigError::Edit(format!(
                    "workspace `{ws_name}` has no service named `{name}`: see `overwatch service list --workspace \"{ws_name}\"`"
                ))
            })
    }

    fn workspace_name(&mut self, ws: usize) -> String {
        self.workspaces_mut()
            .ok()
            .and_then(|w| w.get(ws))
            .and_then(|t| t.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Pins the derived id of every service of a workspace that has none, so a
    /// rename does not change which state and mutes belong to it.
    fn pin_ids(&mut self, ws: usize) -> Result<(), ConfigError> {
        let ids = self.effective_ids();
        for (j, t) in self.services_mut(ws)?.iter_mut().enumerate() {
            if let (false, Some(id)) = (t.contains_key("id"), ids.get(&(ws, j))) {
                insert_first(t, "id", id.as_str().into());
            }
        }
        Ok(())
    }

    /// The id each service has now, by (workspace, service) index: the same
    /// assignment as validation (written ids reserved first, then derived
    /// ones in file order), read off the document without parsing it again.
    fn effective_ids(&self) -> HashMap<(usize, usize), String> {
        self.id_plan()
            .into_iter()
            .map(|(k, (id, _))| (k, id))
            .collect()
    }

    /// [`Editor::effective_ids`], each with whether it is a derived id that
    /// is not its plain [`derived_id`] (so it depends on its neighbours).
    fn id_plan(&self) -> HashMap<(usize, usize), (String, bool)> {
        let Some(wss) = self
            .doc
            .get("workspaces")
            .and_then(|i| i.as_array_of_tables())
        else {
            return HashMap::new();
        };
        let reserved = explicit_ids(self.doc.as_table());
        let mut taken: HashSet<String> = HashSet::new();
        let mut out = HashMap::new();
        for (i, w) in wss.iter().enumerate() {
            let ws_name = w.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            let Some(svcs) = w.get("services").and_then(|s| s.as_array_of_tables()) else {
                continue;
            };
            for (j, t) in svcs.iter().enumerate() {
                let (id, irregular) = match t.get("id").and_then(|v| v.as_str()) {
                    Some(id) => (id.trim().to_string(), false),
                    None => {
                        let name = t.get("name").and_then(|n| n.as_str()).unwrap_or_default();
                        let (ws, name) = (ws_name.trim(), name.trim());
                        let base = derived_id(ws, name).0;
                        if !taken.contains(&base) && !reserved.contains(&base) {
                            (base, false)
                        } else {
                            let id =
                                unique_id(ws, name, |c| taken.contains(c) || reserved.contains(c));
                            (id.0, true)
                        }
                    }
                };
                taken.insert(id.clone());
                out.insert((i, j), (id, irregular));
            }
        }
        out
    }

    /// Writes out every id that is not its plain [`derived_id`] (a name that
    /// slugs like another's got a hash): such an id depends on the services
    /// around it, so adding, removing or moving one must not change it.
    fn pin_irregular_ids(&mut self) {
        let plan = self.id_plan();
        if !plan.values().any(|(_, irregular)| *irregular) {
            return;
        }
        let Ok(wss) = self.workspaces_mut() else {
            return;
        };
        for (i, w) in wss.iter_mut().enumerate() {
            let Some(svcs) = w
                .get_mut("services")
                .and_then(|s| s.as_array_of_tables_mut())
            else {
                continue;
            };
            for (j, t) in svcs.iter_mut().enumerate() {
                if let Some((id, true)) = plan.get(&(i, j)) {
                    insert_first(t, "id", id.as_str().into());
                }
            }
        }
    }

    fn add_workspace_now(&mut self, name: &str) -> Result<(), ConfigError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ConfigError::Edit("a workspace name cannot be empty".into()));
        }
        if self.workspace_index(name).is_ok() {
            return Err(ConfigError::Edit(format!(
                "a workspace named `{name}` already exists"
            )));
        }
        let mut t = toml_edit::Table::new();
        t.insert("name", toml_edit::value(name));
        self.workspaces_mut()?.push(t);
        Ok(())
    }

    fn rename_workspace_now(&mut self, from: &str, to: &str) -> Result<(), ConfigError> {
        let i = self.workspace_index(from)?;
        let to = to.trim();
        if to.is_empty() {
            return Err(ConfigError::Edit("a workspace name cannot be empty".into()));
        }
        if let Ok(j) = self.workspace_index(to) {
            if j != i {
                return Err(ConfigError::Edit(format!(
                    "a workspace named `{to}` already exists"
                )));
            }
        }
        self.pin_ids(i)?;
        let t = self.workspaces_mut()?.get_mut(i).expect("index");
        set_keep_decor(t, "name", to.into());
        Ok(())
    }

    /// Removes a workspace; one that still has services needs `force`.
    fn remove_workspace_now(&mut self, name: &str, force: bool) -> Result<usize, ConfigError> {
        let i = self.workspace_index(name)?;
        let n = self.services_mut(i)?.len();
        if n > 0 && !force {
            return Err(ConfigError::Edit(format!(
                "workspace `{name}` still has {n} service{}: remove them first, or pass --force to remove it with them",
                if n == 1 { "" } else { "s" }
            )));
        }
        self.workspaces_mut()?.remove(i);
        Ok(n)
    }

    /// Adds a service at the end of a workspace (created if `create_workspace`).
    fn add_service_now(
        &mut self,
        workspace: &str,
        fields: &ServiceFields,
    ) -> Result<(), ConfigError> {
        let ws = self.workspace_index(workspace)?;
        let name = fields
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ConfigError::Edit("a service needs a name (--name)".into()))?;
        if self.service_index(ws, name).is_ok() {
            return Err(ConfigError::Edit(format!(
                "workspace `{}` already has a service named `{name}`: names must be unique within a workspace",
                self.workspace_name(ws)
            )));
        }
        let mut t = toml_edit::Table::new();
        for (k, v) in fields.pairs() {
            t.insert(k, Item::Value(v));
        }
        self.services_mut(ws)?.push(t);
        Ok(())
    }

    /// Changes the given fields of a service; the rest stays as written.
    fn edit_service_now(
        &mut self,
        workspace: &str,
        name: &str,
        fields: &ServiceFields,
    ) -> Result<(), ConfigError> {
        let ws = self.workspace_index(workspace)?;
        let i = self.service_index(ws, name)?;
        if let Some(new) = fields.name.as_deref().map(str::trim) {
            if !same_name(new, name) && self.service_index(ws, new).is_ok() {
                return Err(ConfigError::Edit(format!(
                    "workspace `{}` already has a service named `{new}`",
                    self.workspace_name(ws)
                )));
            }
            // Keep the id stable across the rename.
            let id = self.effective_ids().remove(&(ws, i));
            let t = self.services_mut(ws)?.get_mut(i).expect("index");
            if let (false, Some(id)) = (t.contains_key("id"), id) {
                insert_first(t, "id", id.as_str().into());
            }
        }
        let t = self.services_mut(ws)?.get_mut(i).expect("index");
        if let Some(p) = fields.provider {
            let old = t
                .get("provider")
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<Provider>().ok());
            if old != Some(p) {
                // Target keys of the old provider would not validate under the new one.
                for k in [
                    "project",
                    "environment",
                    "token_kind",
                    "site",
                    "org",
                    "spike_degraded",
                    "spike_down",
                    "unhandled_users_down",
                    "traffic_drop",
                    "traffic_min_baseline",
                ] {
                    if !provider_keys(p).contains(&k) {
                        t.remove(k);
                    }
                }
            }
        }
        for (k, v) in fields.pairs() {
            set_keep_decor(t, k, v);
        }
        Ok(())
    }

    fn remove_service_now(&mut self, workspace: &str, name: &str) -> Result<(), ConfigError> {
        let ws = self.workspace_index(workspace)?;
        let i = self.service_index(ws, name)?;
        self.services_mut(ws)?.remove(i);
        Ok(())
    }

    /// Moves a service to a 1-based position, and/or into another workspace.
    fn move_service_now(
        &mut self,
        workspace: &str,
        name: &str,
        to_workspace: Option<&str>,
        position: Option<usize>,
    ) -> Result<(), ConfigError> {
        let from = self.workspace_index(workspace)?;
        let i = self.service_index(from, name)?;
        let to = match to_workspace {
            Some(w) => self.workspace_index(w)?,
            None => from,
        };
        if to != from && self.service_index(to, name).is_ok() {
            return Err(ConfigError::Edit(format!(
                "workspace `{}` already has a service named `{name}`",
                self.workspace_name(to)
            )));
        }
        if to != from {
            // The derived id contains the workspace: pin it before moving.
            let id = self.effective_ids().remove(&(from, i));
            let t = self.services_mut(from)?.get_mut(i).expect("index");
            if let (false, Some(id)) = (t.contains_key("id"), id) {
                insert_first(t, "id", id.as_str().into());
            }
        }
        let table = self.services_mut(from)?.get(i).expect("index").clone();
        self.services_mut(from)?.remove(i);
        let dest = self.services_mut(to)?;
        let len = dest.len();
        let at = match position {
            Some(0) => return Err(ConfigError::Edit("positions start at 1".into())),
            Some(p) => (p - 1).min(len),
            None => len,
        };
        // ArrayOfTables has no insert: rebuild it in the new order.
        let mut all: Vec<toml_edit::Table> = dest.iter().cloned().collect();
        all.insert(at, table);
        dest.clear();
        for t in all {
            dest.push(t);
        }
        Ok(())
    }

    /// Sets a top-level value (e.g. `refresh`).
    pub fn set_top(&mut self, key: &str, value: toml_edit::Value) {
        let key = key.to_string();
        let _ = self.record(move |e| {
            set_keep_decor(e.doc.as_table_mut(), &key, value.clone());
            Ok(())
        });
    }

    /// Adds the workspace unless one of that name exists (also when the edit
    /// is replayed onto a file where another edit created it meanwhile).
    /// Says whether it was created.
    pub fn ensure_workspace(&mut self, name: &str) -> Result<bool, ConfigError> {
        let name = name.to_string();
        self.record(move |e| {
            if e.workspace_index(&name).is_ok() {
                return Ok(false);
            }
            e.add_workspace_now(&name).map(|()| true)
        })
    }

    pub fn add_workspace(&mut self, name: &str) -> Result<(), ConfigError> {
        let name = name.to_string();
        self.record(move |e| e.add_workspace_now(&name))
    }

    pub fn rename_workspace(&mut self, from: &str, to: &str) -> Result<(), ConfigError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.record(move |e| e.rename_workspace_now(&from, &to))
    }

    pub fn remove_workspace(&mut self, name: &str, force: bool) -> Result<usize, ConfigError> {
        let name = name.to_string();
        self.record(move |e| e.remove_workspace_now(&name, force))
    }

    pub fn add_service(
        &mut self,
        workspace: &str,
        fields: &ServiceFields,
    ) -> Result<(), ConfigError> {
        let (ws, f) = (workspace.to_string(), fields.clone());
        self.record(move |e| e.add_service_now(&ws, &f))
    }

    pub fn edit_service(
        &mut self,
        workspace: &str,
        name: &str,
        fields: &ServiceFields,
    ) -> Result<(), ConfigError> {
        let (ws, n, f) = (workspace.to_string(), name.to_string(), fields.clone());
        self.record(move |e| e.edit_service_now(&ws, &n, &f))
    }

    pub fn remove_service(&mut self, workspace: &str, name: &str) -> Result<(), ConfigError> {
        let (ws, n) = (workspace.to_string(), name.to_string());
        self.record(move |e| e.remove_service_now(&ws, &n))
    }

    pub fn move_service(
        &mut self,
        workspace: &str,
        name: &str,
        to_workspace: Option<&str>,
        position: Option<usize>,
    ) -> Result<(), ConfigError> {
        let (ws, n, to) = (
            workspace.to_string(),
            name.to_string(),
            to_workspace.map(str::to_string),
        );
        self.record(move |e| e.move_service_now(&ws, &n, to.as_deref(), position))
    }

    /// Validates the whole edited document and writes it atomically (0600),
    /// under the edit lock. When the file changed since it was read (another
    /// edit saved first), the recorded changes are replayed onto the new text;
    /// if they no longer apply, nothing is written and the error says why.
    pub fn save(&mut self) -> Result<Config, ConfigError> {
        let werr = |detail: String| ConfigError::Write {
            path: self.path.clone(),
            detail,
        };
        let _lock =
            crate::fsutil::lock_for_edit(&self.path, crate::fsutil::LOCK_WAIT).map_err(werr)?;
        let now = current_bytes(&self.path)?;
        if now != self.base {
            let text = now.map(|b| String::from_utf8(b).expect("read() checked UTF-8"));
            let mut fresh = Editor::from_text(&self.path, text).map_err(|e| {
                ConfigError::Edit(format!(
                    "{} was changed by something else while this edit was being made, and the new file cannot be edited: {e}; nothing was written",
                    self.path.display()
                ))
            })?;
            for op in &self.ops {
                op(&mut fresh).map_err(|e| {
                    ConfigError::Edit(format!(
                        "{} was changed by another edit while this one was being made, and this change no longer applies: {e}; nothing was written — check the file and try again",
                        self.path.display()
                    ))
                })?;
            }
            self.doc = fresh.doc;
            self.base = fresh.base;
            self.existed = fresh.existed;
            self.crlf = fresh.crlf;
            self.bom = fresh.bom;
        }
        let text = self.text();
        let config = parse(&text, &self.path)?;
        // A file over the read cap would be refused by every command after
        // this one, even the `remove` that could shrink it again.
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::Edit(format!(
                "the change was not saved: {} would grow to {} bytes, and a config is at most {MAX_CONFIG_BYTES} bytes; the file was left as it was",
                self.path.display(),
                text.len()
            )));
        }
        let base = self.base.clone();
        let path = self.path.clone();
        crate::fsutil::write_atomic_checked(&self.path, text.as_bytes(), move || {
            // The lock keeps other Overwatch edits out; a text editor saving
            // right now is not, and its change must not be overwritten.
            match current_bytes(&path) {
                Ok(b) if b == base => Ok(()),
                _ => Err(
                    "the file changed while this edit was being written; run the command again"
                        .into(),
                ),
            }
        })
        .map_err(|detail| ConfigError::Write {
            path: self.path.clone(),
            detail,
        })?;
        self.base = Some(text.into_bytes());
        self.ops.clear();
        self.existed = true;
        Ok(config)
    }

    /// Whether the file existed when it was opened.
    pub fn existed(&self) -> bool {
        self.existed
    }
}

/// The file's bytes now (`None`: no file), as [`read`] reads them.
fn current_bytes(path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
    match read(path) {
        Ok(t) => Ok(Some(t.into_bytes())),
        Err(ConfigError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets `key` keeping the comments and spacing around an existing value.
fn set_keep_decor(t: &mut dyn TableLike, key: &str, mut value: toml_edit::Value) {
    if let Some(old) = t.get(key).and_then(|i| i.as_value()) {
        *value.decor_mut() = old.decor().clone();
    }
    t.insert(key, Item::Value(value));
}

/// Inserts `key` as the first entry of a table (ids read best at the top).
fn insert_first(t: &mut toml_edit::Table, key: &str, value: toml_edit::Value) {
    t.insert(key, Item::Value(value));
    t.sort_values_by(|a, _, b, _| (b.get() == key).cmp(&(a.get() == key)));
}

/// Writes `bytes` to `path` through a temporary file in the same directory and
/// a rename, with mode 0600, so a crash leaves the old file or the new one.
/// A symlinked config is written through to its target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
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
pub fn refresh_value(refresh: Option<Duration>) -> String {
    match refresh {
        None => "off".into(),
        Some(d) => format_duration(d),
    }
}

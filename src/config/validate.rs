//! Config validation: walks the TOML document and reports every problem at its file:line:column with a fix, building the validated `Config`.

#![allow(unused_imports)]
use super::*;

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
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
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

pub(super) const TOP_KEYS: &[&str] = &[
    "refresh",
    "notifications",
    "timeout",
    "icon_colour",
    "workspaces",
];

/// How long one check may take by default (connect is capped at 5 s on top).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
pub(super) const WORKSPACE_KEYS: &[&str] = &["name", "services"];
pub(super) const COMMON_SERVICE_KEYS: &[&str] = &[
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

/// Keys only some providers take, from the provider's spec.
pub(super) fn provider_keys(p: Provider) -> Vec<&'static str> {
    p.spec().keys().collect()
}

pub(super) fn all_service_keys() -> Vec<&'static str> {
    let mut v: Vec<&str> = COMMON_SERVICE_KEYS.to_vec();
    for p in Provider::ALL {
        for k in p.spec().keys() {
            if !v.contains(&k) {
                v.push(k);
            }
        }
    }
    v
}

pub(super) struct Validator<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    pub(super) fn at(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.map(|r| r.start).unwrap_or(0));
        self.problems.push(Problem {
            line,
            column,
            message: message.into(),
        });
    }

    /// Span of a key inside a table, falling back to its value, then the table.
    pub(super) fn key_span(
        t: &dyn TableLike,
        key: &str,
        fallback: Option<Range<usize>>,
    ) -> Option<Range<usize>> {
        t.key(key)
            .and_then(|k| k.span())
            .or_else(|| t.get(key).and_then(|i| i.span()))
            .or(fallback)
    }

    pub(super) fn unknown_keys(
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

    pub(super) fn string(
        &mut self,
        t: &dyn TableLike,
        key: &str,
        span: Option<Range<usize>>,
    ) -> Option<String> {
        let item = t.get(key)?;
        match item.as_str() {
            // No name, id or URL needs a control character, and each of
            // them reaches terminals, menus and notifications.
            Some(s) => match s.chars().find(|c| crate::text::is_unsafe(*c)) {
                Some(c) => {
                    self.at(
                        item.span().or(span),
                        format!(
                            "`{key}` contains a control character (U+{:04X}); remove it",
                            u32::from(c)
                        ),
                    );
                    None
                }
                None => Some(s.to_string()),
            },
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
    pub(super) fn parsed<T: std::str::FromStr<Err = String>>(
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

    pub(super) fn boolean(
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

    pub(super) fn number(
        &mut self,
        t: &dyn TableLike,
        key: &str,
        span: Option<Range<usize>>,
    ) -> Option<f64> {
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
    pub(super) fn refresh(
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
    pub(super) fn timeout(&mut self, t: &dyn TableLike) -> Option<Duration> {
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

    pub(super) fn url(
        &mut self,
        t: &dyn TableLike,
        key: &str,
        span: Option<Range<usize>>,
    ) -> Option<Url> {
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

    pub(super) fn config(&mut self, root: &dyn TableLike) -> Config {
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

    pub(super) fn workspace(
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

    pub(super) fn service(
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
                format!(
                    "service `{label}` has no `provider`: add provider = \"{}\" (or {})",
                    Provider::ALL[0],
                    Provider::ALL[1..]
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let allowed: Vec<&str> = match provider {
            Some(p) => COMMON_SERVICE_KEYS
                .iter()
                .copied()
                .chain(p.spec().keys())
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
        let target = {
            let p = provider?;
            let mut fields = TomlFields {
                v: self,
                t,
                span: span.clone(),
                label: &label,
                provider: p,
            };
            Target::parse(p, &mut fields)
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
    pub(super) fn alerts(&mut self, t: &dyn TableLike, span: Option<Range<usize>>) -> AlertRules {
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
pub(super) fn duration_value(item: &Item, example: &str) -> Result<Duration, String> {
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
pub(super) fn tables<'a>(
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
pub(super) fn explicit_ids(root: &dyn TableLike) -> HashSet<String> {
    pub(super) fn each(item: Option<&Item>) -> Vec<&dyn TableLike> {
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

pub(super) fn slug(s: &str) -> String {
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
pub(super) fn suggest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (levenshtein(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

pub(super) fn levenshtein(a: &str, b: &str) -> usize {
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

/// A service table's fields as a provider's target reads them, problems
/// reported at their file:line:column.
struct TomlFields<'v, 't, 'x> {
    v: &'v mut Validator<'t>,
    t: &'x dyn TableLike,
    span: Option<Range<usize>>,
    label: &'x str,
    provider: Provider,
}

impl Fields for TomlFields<'_, '_, '_> {
    fn get(&mut self, key: &'static str) -> Option<String> {
        self.v.string(self.t, key, self.span.clone())
    }

    fn has(&self, key: &'static str) -> bool {
        self.t.get(key).is_some()
    }

    fn problem(&mut self, key: &'static str, message: String) {
        let here = Validator::key_span(self.t, key, self.span.clone());
        self.v.at(here, message);
    }

    fn missing(&mut self, field: &FieldSpec) {
        self.v.at(
            self.span.clone(),
            format!(
                "service `{}` ({}) needs `{}` = {}",
                self.label, self.provider, field.key, field.help
            ),
        );
    }
}

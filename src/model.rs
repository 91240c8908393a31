//! The domain model: workspaces, services, statuses, reasons, metrics and cards.
//!
//! Plain data shared by every other module. Nothing here does I/O.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::secrets::KeyRef;

/// Durations as the config writes them, from their one home in [`crate::text`].
pub use crate::text::{format_duration, parse_duration};

/// The providers and targets, from the registry in [`crate::providers`].
pub use crate::providers::netlify::NetlifyTarget;
pub use crate::providers::plausible::PlausibleTarget;
pub use crate::providers::railway::{RailwayTarget, TokenKind};
pub use crate::providers::sentry::SentryTarget;
pub use crate::providers::{Provider, Target};

/// How a service is connected: polled through its API, or only a dashboard link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Api,
    Link,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Api => "api",
            Mode::Link => "link",
        }
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "api" => Ok(Mode::Api),
            "link" => Ok(Mode::Link),
            _ => Err(format!("unknown mode `{s}`: use `api` or `link`")),
        }
    }
}

/// User-tunable rules that turn numbers into a colour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Sentry: last hour's errors above this many times the trailing median → degraded.
    pub spike_degraded: f64,
    /// Sentry: last hour's errors above this many times the trailing median → down.
    pub spike_down: f64,
    /// Sentry: an unhandled error issue seen by at least this many users in
    /// the last hour → down. 0 turns the rule off.
    pub unhandled_users_down: u64,
    /// Plausible: a fall of at least this many percent against the previous
    /// period → degraded. `None` turns the rule off.
    pub traffic_drop: Option<f64>,
    /// Plausible: the drop rule only applies when the previous period had at
    /// least this many visitors (a quiet site is not a broken site).
    pub traffic_min_baseline: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            spike_degraded: 3.0,
            spike_down: 10.0,
            unhandled_users_down: 100,
            traffic_drop: Some(80.0),
            traffic_min_baseline: 50,
        }
    }
}

/// A stable identifier for a service, kept across renames of its display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceId(pub String);

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One watched service, fully validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: ServiceId,
    /// Name of the workspace it belongs to.
    pub workspace: String,
    pub name: String,
    pub mode: Mode,
    pub target: Target,
    /// Reference to the secret (never the secret). `None` only in link mode.
    pub key: Option<KeyRef>,
    /// Explicit dashboard URL; see [`Service::dashboard_url`] for the effective one.
    pub dashboard: Option<Url>,
    /// Replaces the provider's API root (self-hosted, regional hosts, tests).
    pub base_url: Option<Url>,
    /// Allows `http://` to a non-loopback `base_url`.
    pub allow_insecure: bool,
    pub enabled: bool,
    /// Position inside its workspace (0-based).
    pub order: usize,
    /// Per-service refresh interval; `None` uses the global one.
    pub refresh: Option<Duration>,
    pub thresholds: Thresholds,
    /// When a change becomes a notification (hysteresis, long blindness).
    pub alerts: AlertRules,
}

/// Per-service rules that decide when a change is worth a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRules {
    /// Consecutive observations needed to enter a worse status (degraded, down).
    pub confirm: u32,
    /// Consecutive observations needed to move to a better status (recover).
    pub confirm_recovery: u32,
    /// How long "unreachable", "timeout" or "rate limited" must last before it notifies.
    pub unreachable_alert_after: Duration,
}

impl AlertRules {
    /// The most observations a rule may ask for (a larger count would hide real outages).
    pub const MAX_CONFIRM: u32 = 10;
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            confirm: 2,
            confirm_recovery: 2,
            unreachable_alert_after: Duration::from_secs(15 * 60),
        }
    }
}

impl Service {
    pub fn provider(&self) -> Provider {
        self.target.provider()
    }

    /// The API root requests go to.
    pub(crate) fn api_base(&self) -> Url {
        self.base_url.clone().unwrap_or_else(|| {
            Url::parse(self.provider().default_base_url()).expect("built-in base URLs are valid")
        })
    }

    /// The dashboard the "Open dashboard" action opens.
    pub fn dashboard_url(&self) -> String {
        match &self.dashboard {
            Some(u) => u.to_string(),
            None => self.target.default_dashboard(self.base_url.as_ref()),
        }
    }

    /// Whether the engine polls this service.
    pub fn polled(&self) -> bool {
        self.enabled && self.mode == Mode::Api
    }
}

impl Service {
    /// A service with defaults around `target`, for tests, the demo and benchmarks.
    pub fn example(workspace: &str, name: &str, target: Target, key: Option<KeyRef>) -> Service {
        Service {
            id: ServiceId(format!(
                "{}/{}",
                workspace.to_lowercase(),
                name.to_lowercase()
            )),
            workspace: workspace.into(),
            name: name.into(),
            mode: Mode::Api,
            target,
            key,
            dashboard: None,
            base_url: None,
            allow_insecure: false,
            enabled: true,
            order: 0,
            refresh: None,
            thresholds: Thresholds::default(),
            alerts: AlertRules::default(),
        }
    }
}

/// A named group of services ("Acme").
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    pub name: String,
    pub services: Vec<Service>,
}

/// The health ladder. `Loading` is only shown before a first answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    Degraded,
    Down,
    Unknown,
    Loading,
}

impl Status {
    /// Rank for worst-of: down > degraded > unknown > loading > healthy.
    pub(crate) fn severity(self) -> u8 {
        match self {
            Status::Healthy => 0,
            Status::Loading => 1,
            Status::Unknown => 2,
            Status::Degraded => 3,
            Status::Down => 4,
        }
    }

    /// The worst of a set of statuses; `None` when the set is empty.
    pub fn worst<I: IntoIterator<Item = Status>>(items: I) -> Option<Status> {
        items.into_iter().max_by_key(|s| s.severity())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Down => "down",
            Status::Unknown => "unknown",
            Status::Loading => "loading",
        }
    }

    /// A glyph that reads without colour.
    pub(crate) fn glyph(self) -> &'static str {
        match self {
            Status::Healthy => "✓",
            Status::Degraded => "!",
            Status::Down => "×",
            Status::Unknown => "?",
            Status::Loading => "…",
        }
    }

    /// The monitoring-plugin exit code: 0 healthy, 1 degraded, 2 down, 3 unknown.
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            Status::Healthy => 0,
            Status::Degraded => 1,
            Status::Down => 2,
            Status::Unknown | Status::Loading => 3,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a card is `unknown`: what stopped us from seeing the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    Offline,
    Unreachable,
    Timeout,
    Auth,
    RateLimited,
    Config,
    BadResponse,
}

impl ReasonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::Offline => "offline",
            ReasonKind::Unreachable => "unreachable",
            ReasonKind::Timeout => "timeout",
            ReasonKind::Auth => "auth",
            ReasonKind::RateLimited => "rate_limited",
            ReasonKind::Config => "config",
            ReasonKind::BadResponse => "bad_response",
        }
    }
}

/// Whether a URL's host is loopback: `localhost` and any `*.localhost` name
/// (RFC 6761 reserves them for this machine), 127.0.0.0/8 and ::1. The one
/// rule for "plain http may carry the key here", used by the config's
/// validation, the CLI and the HTTP layer alike.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost"
                || d.ends_with(".localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

/// A reason with a message a person can act on, and the facts behind it.
///
/// `kind` and `message` are for people; decisions (is the network gone? was
/// it an answer at all?) read `facts`, never the message text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub kind: ReasonKind,
    pub message: String,
    /// Absent from the JSON when nothing is known, so older readers and
    /// state files see the same shape as before.
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
}

impl Reason {
    pub fn new(kind: ReasonKind, message: impl Into<String>) -> Self {
        Reason {
            kind,
            message: message.into(),
            facts: Facts::default(),
        }
    }

    /// The request failed below HTTP in this way.
    pub(crate) fn with_transport(mut self, t: Transport) -> Self {
        self.facts.transport = Some(t);
        self
    }

    /// The provider answered with this HTTP status.
    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.facts.http_status = Some(status);
        self
    }

    /// The answer's body was of this kind.
    pub(crate) fn with_body(mut self, body: BodyKind) -> Self {
        self.facts.body = Some(body);
        self
    }

    /// The provider asked us to wait this long (rounded up to whole seconds).
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.facts.set_retry_after(wait);
        self
    }

    /// Adds the facts this reason does not know yet. Never changes the kind,
    /// the message or a fact already set: whoever wrote the reason knew best.
    pub(crate) fn add_facts(&mut self, more: &Facts) {
        let f = &mut self.facts;
        f.transport = f.transport.or(more.transport);
        f.http_status = f.http_status.or(more.http_status);
        f.body = f.body.or(more.body);
        f.retry_after_secs = f.retry_after_secs.or(more.retry_after_secs);
    }
}

/// What is known for certain about a failed check, as types. Every field is
/// optional: a config problem has none, a refused connection only `transport`,
/// a 429 `http_status` and `retry_after_secs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// How the request failed below HTTP (no answer at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// The status of the answer the reason is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What that answer's body was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyKind>,
    /// The wait the provider asked for, in whole seconds (whole so that the
    /// state file round-trips exactly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl Facts {
    pub fn is_empty(&self) -> bool {
        *self == Facts::default()
    }

    /// The provider's wait as a duration.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_secs.map(Duration::from_secs)
    }

    pub(crate) fn set_retry_after(&mut self, wait: Duration) {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.retry_after_secs = Some(secs);
    }
}

/// How a request failed before any HTTP answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// The host refused the connection: nothing listens on that port.
    Refused,
    /// No answer in time (connecting, or waiting for the answer).
    TimedOut,
    /// The host name could not be resolved.
    Dns,
    /// The TLS handshake or the certificate failed.
    Tls,
    /// No route to the host or its network, or the network is down.
    NoRoute,
    /// The connection was reset or closed under us.
    Reset,
    /// Anything else below HTTP.
    Other,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Refused => "refused",
            Transport::TimedOut => "timed_out",
            Transport::Dns => "dns",
            Transport::Tls => "tls",
            Transport::NoRoute => "no_route",
            Transport::Reset => "reset",
            Transport::Other => "other",
        }
    }

    /// Whether something at the host's address answered below HTTP (a
    /// refusal, a TLS peer, a reset): proof that the network itself works,
    /// so this failure is the service's, never a sign of being offline.
    pub(crate) fn proves_network(self) -> bool {
        matches!(self, Transport::Refused | Transport::Tls | Transport::Reset)
    }
}

/// What an answer's body was, as far as a reason needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    Empty,
    Html,
    PlainText,
    /// Looks like JSON (starts with `{` or `[`) but does not parse.
    MalformedJson,
    Json,
}

impl BodyKind {
    /// Classifies a body: valid JSON first, then by its first characters.
    pub fn of(body: &[u8]) -> BodyKind {
        if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
            return BodyKind::Json;
        }
        let t = String::from_utf8_lossy(&body[..body.len().min(512)]);
        let t = t.trim_start();
        if t.is_empty() {
            BodyKind::Empty
        } else if t.starts_with('<') {
            BodyKind::Html
        } else if t.starts_with('{') || t.starts_with('[') {
            BodyKind::MalformedJson
        } else {
            BodyKind::PlainText
        }
    }

    /// The body in a few words, for messages ("an HTML page", "an empty body").
    pub fn describe(self) -> &'static str {
        match self {
            BodyKind::Empty => "an empty body",
            BodyKind::Html => "an HTML page",
            BodyKind::PlainText => "plain text",
            BodyKind::MalformedJson => "malformed JSON",
            BodyKind::Json => "JSON",
        }
    }
}

/// One metric line ("visitors today", "1,234").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    pub label: String,
    /// The text shown ("1,934 (+4 % vs yesterday)").
    pub value: String,
    /// The figure behind `value`, as a number, when it has one (1934);
    /// absent for text, ages and capped counts ("25+").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<serde_json::Number>,
    /// The unit of `number` when it is not a plain count (`"s"` for seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The change against the previous period, in percent (4 for "+4 %").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_pct: Option<serde_json::Number>,
}

impl Metric {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Metric {
            label: label.into(),
            value: value.into(),
            number: None,
            unit: None,
            change_pct: None,
        }
    }

    /// Adds the raw figure (a whole number prints without a fraction).
    /// A figure that is not finite is left out rather than made up.
    pub(crate) fn number(mut self, n: f64) -> Self {
        self.number = json_number(n);
        self
    }

    /// Adds the raw figure with its unit (`"s"`).
    pub(crate) fn number_in(mut self, n: f64, unit: &str) -> Self {
        self.number = json_number(n);
        self.unit = self.number.as_ref().map(|_| unit.to_string());
        self
    }

    /// Adds the change against the previous period, in percent.
    pub(crate) fn change_pct(mut self, pct: Option<f64>) -> Self {
        self.change_pct = pct.and_then(json_number);
        self
    }
}

/// `n` as a JSON number: an integer when it is whole, else a float; `None`
/// when it is not finite.
fn json_number(n: f64) -> Option<serde_json::Number> {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.0e15 {
        Some(serde_json::Number::from(n as i64))
    } else {
        serde_json::Number::from_f64(n)
    }
}

/// A card's main number, for the dashboard's 24-hour sparkline: what the
/// provider counts that is worth watching over a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gauge {
    /// What is counted ("visitors now", "errors in the last hour").
    pub label: String,
    pub value: u64,
}

/// What one check of one service found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub status: Status,
    /// Set when `status` is `unknown` (and only then).
    pub reason: Option<Reason>,
    /// A deploy or build is running; shown beside the status, never changes the colour.
    pub in_progress: bool,
    /// What is in progress ("deploying api"), when `in_progress`.
    pub activity: Option<String>,
    /// One line saying what matters most ("api crashed", "1,234 visitors today").
    pub summary: String,
    pub metrics: Vec<Metric>,
    /// Facts a user acts on that do not fit the metric lines (the failing
    /// commit, its branch, the users an issue affects): shown in `--json` and on
    /// the dashboard, never in the menu.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Metric>,
    pub dashboard_url: Option<String>,
    /// The provider's page about what the card reports (the failed deploy, the
    /// top issue), when there is one: "Open" goes here rather than to the
    /// service's dashboard. Always an `http(s)` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The number the dashboard draws over 24 hours, when the provider has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gauge: Option<Gauge>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl Card {
    /// Where "Open" goes: the page about what the card reports, else the dashboard.
    pub fn open_url(&self) -> Option<&str> {
        self.link.as_deref().or(self.dashboard_url.as_deref())
    }

    /// The card shown before the first answer.
    pub fn loading() -> Self {
        Card {
            status: Status::Loading,
            reason: None,
            in_progress: false,
            activity: None,
            summary: "checking…".into(),
            metrics: Vec::new(),
            details: Vec::new(),
            dashboard_url: None,
            link: None,
            gauge: None,
            updated_at: None,
        }
    }

    /// An `unknown` card carrying why we could not see the service.
    pub fn unknown(reason: Reason) -> Self {
        Card {
            status: Status::Unknown,
            summary: reason.message.clone(),
            reason: Some(reason),
            in_progress: false,
            activity: None,
            metrics: Vec::new(),
            details: Vec::new(),
            dashboard_url: None,
            link: None,
            gauge: None,
            updated_at: None,
        }
    }
}

#[cfg(test)]
mod tests {

    /// `--json` metrics: the raw figure beside the text, integers without a
    /// fraction, nothing made up for a figure that is not finite; the fields
    /// are left out when absent (additive to the documented schema).
    #[test]
    fn metrics_carry_raw_numbers_only_when_there_are_some() {
        let j = |m: &Metric| serde_json::to_string(m).unwrap();
        assert_eq!(j(&Metric::new("a", "b")), r#"{"label":"a","value":"b"}"#);
        let m = Metric::new("visitors today", "1,934 (+4 % vs yesterday)")
            .number(1934.0)
            .change_pct(Some(4.0));
        assert_eq!(
            j(&m),
            r#"{"label":"visitors today","value":"1,934 (+4 % vs yesterday)","number":1934,"change_pct":4}"#
        );
        assert_eq!(
            j(&Metric::new("x", "2.5").number(2.5)),
            r#"{"label":"x","value":"2.5","number":2.5}"#
        );
        assert_eq!(
            j(&Metric::new("x", "?")
                .number(f64::NAN)
                .change_pct(Some(f64::INFINITY))),
            r#"{"label":"x","value":"?"}"#
        );
        assert_eq!(
            j(&Metric::new("build time", "1 min 5 s").number_in(65.0, "s")),
            r#"{"label":"build time","value":"1 min 5 s","number":65,"unit":"s"}"#
        );
        // An old state file without the fields still reads.
        let old: Metric = serde_json::from_str(r#"{"label":"a","value":"b"}"#).unwrap();
        assert_eq!(old, Metric::new("a", "b"));
    }
    use super::*;

    #[test]
    fn facts_are_additive_in_json() {
        // A reason without facts keeps the old shape, and old JSON still reads.
        let plain = Reason::new(ReasonKind::Config, "no key");
        let json = serde_json::to_value(&plain).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "config", "message": "no key"})
        );
        let old: Reason = serde_json::from_value(json).unwrap();
        assert_eq!(old, plain);
        let r = Reason::new(ReasonKind::RateLimited, "slow down")
            .with_status(429)
            .with_body(BodyKind::Html)
            .with_retry_after(Duration::from_millis(1500));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["facts"],
            serde_json::json!({"http_status": 429, "body": "html", "retry_after_secs": 2})
        );
        assert_eq!(serde_json::from_value::<Reason>(json).unwrap(), r);
        let t = Reason::new(ReasonKind::Unreachable, "x").with_transport(Transport::NoRoute);
        assert_eq!(
            serde_json::to_value(&t).unwrap()["facts"],
            serde_json::json!({"transport": "no_route"})
        );
    }

    #[test]
    fn added_facts_never_override_what_the_writer_knew() {
        let mut r = Reason::new(ReasonKind::RateLimited, "adapter's words")
            .with_retry_after(Duration::from_secs(10));
        let mut more = Facts {
            http_status: Some(429),
            ..Facts::default()
        };
        more.set_retry_after(Duration::from_secs(37));
        r.add_facts(&more);
        assert_eq!(r.message, "adapter's words");
        assert_eq!(r.kind, ReasonKind::RateLimited);
        assert_eq!(r.facts.retry_after(), Some(Duration::from_secs(10)));
        assert_eq!(r.facts.http_status, Some(429));
    }

    #[test]
    fn loopback_hosts() {
        for u in [
            "http://127.0.0.1:8080/",
            "http://127.5.0.1/",
            "http://[::1]:9/",
            "http://localhost/",
            "http://LOCALHOST.:80/",
            "http://api.localhost:8080/",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in [
            "http://10.0.0.1/",
            "http://example.invalid/",
            "http://localhost.example/",
            "http://notlocalhost/",
            "http://127.0.0.1.example/",
        ] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn worst_of_orders_down_over_degraded_over_unknown() {
        use Status::*;
        assert_eq!(Status::worst([Healthy, Unknown, Degraded]), Some(Degraded));
        assert_eq!(Status::worst([Healthy, Down, Degraded]), Some(Down));
        assert_eq!(Status::worst([Healthy, Unknown]), Some(Unknown));
        assert_eq!(Status::worst([Healthy, Loading]), Some(Loading));
        assert_eq!(Status::worst([]), None);
    }

    #[test]
    fn providers_parse_case_insensitively_and_reject_others() {
        assert_eq!("Railway".parse::<Provider>().unwrap(), Provider::Railway);
        let err = "heroku".parse::<Provider>().unwrap_err();
        assert!(err.contains("heroku") && err.contains("railway"));
    }

    #[test]
    fn dashboards_derive_from_targets() {
        let t = Target::Sentry(SentryTarget {
            org: "acme".into(),
            project: "shop".into(),
        });
        assert_eq!(
            t.default_dashboard(None),
            "https://acme.sentry.io/issues/?project=shop"
        );
        let self_hosted = Url::parse("https://sentry.example.org").unwrap();
        assert_eq!(
            t.default_dashboard(Some(&self_hosted)),
            "https://sentry.example.org/organizations/acme/issues/?project=shop"
        );
        let p = Target::Plausible(PlausibleTarget {
            site: "example.com".into(),
        });
        assert_eq!(
            p.default_dashboard(None),
            "https://plausible.io/example.com"
        );
    }
}

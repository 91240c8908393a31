//! A loopback HTTP server that speaks the Railway, Plausible, Netlify and Sentry wire formats, with per-target scripted scenarios; for tests, the demo tray and benchmarks.
//!
//! One base URL serves all four providers (`/graphql/v2`, `/api/v1/stats/…`
//! and `/api/v2/query`, `/api/v1/sites/…`, `/api/0/…`). Targets are keyed by
//! what a request names (a Railway project id, a Plausible `site_id`, a
//! Netlify site id, a Sentry `org/project`); each has a [`Scenario`] that can
//! be changed while the server runs. Bodies mirror the shapes in
//! `tests/fixtures/` with timestamps relative to the real clock. Canned
//! routes ([`Canned`]) take precedence and serve fixture files verbatim.
//!
//! The server only ever binds loopback addresses.

mod netlify;
mod plausible;
mod railway;
mod sentry;
mod util;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::model::Target;

pub use util::sentry_project_id;

/// The token every provider accepts unless the config says otherwise.
pub const DEFAULT_TOKEN: &str = "sim-token";

/// How many requests the handle remembers for [`SimHandle::requests`].
const LOG_CAP: usize = 1000;

/// A target as requests name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetKey {
    /// A Railway project id.
    Railway(String),
    /// A Plausible `site_id` (the site's domain).
    Plausible(String),
    /// A Netlify site id (or the domain it is looked up by).
    Netlify(String),
    /// A Sentry project by organization and project slug. Requests may also
    /// name the project by the numeric id the sim invents ([`sentry_project_id`]).
    Sentry { org: String, project: String },
    /// A target of a provider the simulator has no routes for.
    Other(&'static str, String),
}

impl TargetKey {
    pub fn railway(project: impl Into<String>) -> Self {
        TargetKey::Railway(project.into())
    }
    pub fn plausible(site: impl Into<String>) -> Self {
        TargetKey::Plausible(site.into())
    }
    pub fn netlify(site: impl Into<String>) -> Self {
        TargetKey::Netlify(site.into())
    }
    pub fn sentry(org: impl Into<String>, project: impl Into<String>) -> Self {
        TargetKey::Sentry {
            org: org.into(),
            project: project.into(),
        }
    }
}

impl From<&Target> for TargetKey {
    fn from(t: &Target) -> Self {
        match t {
            Target::Railway(t) => TargetKey::railway(t.project.as_str()),
            Target::Plausible(t) => TargetKey::plausible(t.site.as_str()),
            Target::Netlify(t) => TargetKey::netlify(t.site.as_str()),
            Target::Sentry(t) => TargetKey::sentry(t.org.as_str(), t.project.as_str()),
            // A provider the simulator does not speak: no route answers it.
            #[allow(unreachable_patterns)]
            other => TargetKey::Other(other.provider().as_str(), other.describe()),
        }
    }
}

/// What a target does. Scenarios that mean nothing for a provider (a
/// traffic collapse on Railway) serve that provider's healthy answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    Healthy,
    /// The newest deploy failed while the previous one still serves.
    DeployFailing,
    /// Nothing serves: Railway's serving deploy crashed with no running
    /// instance; Netlify has no published deploy and the newest failed.
    Crash,
    /// A deploy or build is in progress; the previous one serves.
    Deploying,
    /// Sentry: unresolved error issues in the last hour and an hourly error
    /// count about 7× the trailing median.
    ErrorSpike,
    /// Sentry: an unresolved, unhandled fatal issue seen minutes ago.
    Fatal,
    /// Plausible: visitors far below the previous period (change −92 %), realtime 0.
    TrafficCollapse,
    /// Every request gets the provider's auth-failure answer.
    AuthFailure,
    /// HTTP 429 with the provider's own rate-limit headers.
    RateLimited {
        reset_in: Duration,
    },
    /// A healthy answer after a delay.
    Slow(Duration),
    /// HTTP 200 with an HTML "Access denied" page (Railway, Sentry) or
    /// truncated JSON (Plausible, Netlify).
    Garbage,
    /// HTTP 502/503 with the body an edge proxy would send.
    ServerError,
    /// `(offset, scenario)` steps measured from when the timeline was set
    /// (or the sim started); before the first step the target is healthy.
    Timeline(Vec<(Duration, Scenario)>),
    /// A random fault mix, drawn per request (for soak runs): 70 % healthy,
    /// 7.5 % each of HTTP 5xx, garbage, 429 (reset 1 s) and an answer
    /// delayed by `hang` (a timeout for any client that waits less).
    Faults {
        hang: Duration,
    },
}

impl Scenario {
    /// The scenario in force `elapsed` after it was set (timelines resolved).
    pub fn at(&self, elapsed: Duration) -> &Scenario {
        match self {
            Scenario::Timeline(steps) => steps
                .iter()
                .rev()
                .find(|(at, _)| *at <= elapsed)
                .map(|(_, s)| s.at(elapsed))
                .unwrap_or(&Scenario::Healthy),
            other => other,
        }
    }

    /// A demo story: healthy, a deploy runs, it fails, a fix deploys, healthy again.
    pub(crate) fn deploy_fails_and_recovers(step: Duration) -> Scenario {
        Scenario::Timeline(vec![
            (step, Scenario::Deploying),
            (step * 2, Scenario::DeployFailing),
            (step * 4, Scenario::Deploying),
            (step * 5, Scenario::Healthy),
        ])
    }
}

impl FromStr for Scenario {
    type Err = String;
    /// The simple scenarios by name ("deploy-failing", "rate-limited", "slow").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "healthy" => Scenario::Healthy,
            "deploy-failing" => Scenario::DeployFailing,
            "crash" => Scenario::Crash,
            "deploying" => Scenario::Deploying,
            "error-spike" => Scenario::ErrorSpike,
            "fatal" => Scenario::Fatal,
            "traffic-collapse" => Scenario::TrafficCollapse,
            "auth-failure" => Scenario::AuthFailure,
            "rate-limited" => Scenario::RateLimited {
                reset_in: Duration::from_secs(60),
            },
            "slow" => Scenario::Slow(Duration::from_secs(20)),
            "garbage" => Scenario::Garbage,
            "server-error" => Scenario::ServerError,
            "story" => Scenario::deploy_fails_and_recovers(Duration::from_secs(30)),
            "faults" => Scenario::Faults {
                hang: Duration::from_secs(2),
            },
            _ => {
                return Err(format!(
                    "unknown scenario `{s}`: use healthy, deploy-failing, crash, deploying, error-spike, fatal, traffic-collapse, auth-failure, rate-limited, slow, garbage, server-error, story or faults"
                ))
            }
        })
    }
}

/// A fixed answer for a route, served before anything else.
#[derive(Debug, Clone, PartialEq)]
pub struct Canned {
    /// Upper-case method ("GET").
    pub method: String,
    /// The path, optionally with `?query` (then the query must match exactly).
    pub path: String,
    /// Only match requests whose body contains this text (Railway's GraphQL
    /// operations share one path).
    pub body_contains: Option<String>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    pub fn new(method: &str, path: &str, status: u16, body: impl Into<Vec<u8>>) -> Canned {
        Canned {
            method: method.to_ascii_uppercase(),
            path: path.into(),
            body_contains: None,
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// Adds (or replaces) a response header.
    pub fn header(mut self, name: &str, value: &str) -> Canned {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn when_body_contains(mut self, text: &str) -> Canned {
        self.body_contains = Some(text.into());
        self
    }

    fn matches(&self, req: &SeenRequest) -> bool {
        let path_ok = match self.path.split_once('?') {
            Some((p, q)) => p == req.path && Some(q) == req.query.as_deref(),
            None => self.path == req.path,
        };
        path_ok
            && self.method == req.method
            && self
                .body_contains
                .as_ref()
                .is_none_or(|t| String::from_utf8_lossy(&req.body).contains(t.as_str()))
    }
}

/// How the sim starts.
#[derive(Clone)]
pub struct SimConfig {
    /// Tokens every provider accepts (`Authorization: Bearer`).
    pub tokens: Vec<String>,
    /// Railway project tokens (`Project-Access-Token`) and the project each belongs to.
    pub project_tokens: Vec<(String, String)>,
    /// Targets that exist, with their starting scenario.
    pub targets: Vec<(TargetKey, Scenario)>,
    pub canned: Vec<Canned>,
    /// Treat any target a request names as existing and healthy (for demos
    /// pointed at arbitrary configs); otherwise unknown targets are "not found".
    pub accept_any_target: bool,
    /// Names of the environments every Railway project has; scenarios apply to all.
    pub railway_environments: Vec<String>,
    /// The scenario of targets that exist only through `accept_any_target`.
    pub fallback: Scenario,
    /// Added to every provider answer (not to `/_sim/` control calls): a
    /// network round trip, for benchmarks.
    pub latency: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tokens: vec![DEFAULT_TOKEN.into()],
            project_tokens: Vec::new(),
            targets: Vec::new(),
            canned: Vec::new(),
            accept_any_target: false,
            railway_environments: vec!["production".into()],
            fallback: Scenario::Healthy,
            latency: Duration::ZERO,
        }
    }
}

// Tokens stay out of Debug, as everywhere else, even though these are test values.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("tokens", &format_args!("[{} hidden]", self.tokens.len()))
            .field(
                "project_tokens",
                &format_args!("[{} hidden]", self.project_tokens.len()),
            )
            .field("targets", &self.targets)
            .field("canned", &self.canned.len())
            .field("accept_any_target", &self.accept_any_target)
            .field("railway_environments", &self.railway_environments)
            .field("fallback", &self.fallback)
            .field("latency", &self.latency)
            .finish()
    }
}

impl SimConfig {
    pub fn with_target(mut self, key: impl Into<TargetKey>, scenario: Scenario) -> Self {
        self.targets.push((key.into(), scenario));
        self
    }

    pub fn with_token(mut self, token: &str) -> Self {
        self.tokens.push(token.into());
        self
    }

    pub fn with_project_token(mut self, token: &str, project: &str) -> Self {
        self.project_tokens.push((token.into(), project.into()));
        self
    }

    pub fn with_canned(mut self, canned: Canned) -> Self {
        self.canned.push(canned);
        self
    }

    /// A ready-made set for the demo: two targets per provider, one of them
    /// telling a story on its own.
    pub fn demo() -> Self {
        // Fast enough that a newcomer sees colours change and notifications
        // arrive within the first minute (the demo polls every 5 s and confirms
        // a change on the second answer).
        let step = Duration::from_secs(12);
        SimConfig {
            accept_any_target: true,
            ..SimConfig::default()
        }
        .with_target(
            TargetKey::railway("acme-shop"),
            // deploying at 12 s, failed (previous deploy serving) at 24 s,
            // redeploying at 48 s, healthy at 60 s
            Scenario::deploy_fails_and_recovers(step),
        )
        .with_target(
            TargetKey::railway("acme-jobs"),
            Scenario::Timeline(vec![
                (step * 8, Scenario::Crash),
                (step * 11, Scenario::Healthy),
            ]),
        )
        .with_target(TargetKey::plausible("acme.example"), Scenario::Healthy)
        .with_target(
            TargetKey::plausible("blog.acme.example"),
            Scenario::Timeline(vec![
                (step * 5, Scenario::TrafficCollapse),
                (step * 10, Scenario::Healthy),
            ]),
        )
        .with_target(TargetKey::netlify("acme-marketing"), Scenario::Healthy)
        .with_target(TargetKey::netlify("acme-docs"), Scenario::Deploying)
        .with_target(
            TargetKey::sentry("acme-web", "shop-api"),
            Scenario::Timeline(vec![
                (step * 3, Scenario::ErrorSpike),
                (step * 7, Scenario::Healthy),
            ]),
        )
        .with_target(TargetKey::sentry("acme-web", "frontend"), Scenario::Healthy)
    }
}

/// One request the sim received.
#[derive(Clone, PartialEq)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for SeenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let sensitive = k == "authorization" || k == "project-access-token";
                (k.as_str(), if sensitive { "***" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("SeenRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl SeenRequest {
    /// First header value with that (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// First query parameter with that name, decoded.
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        self.params(name).into_iter().next()
    }

    /// Every value of a (repeatable) query parameter, decoded.
    pub(crate) fn params(&self, name: &str) -> Vec<String> {
        let q = self.query.as_deref().unwrap_or("");
        url::form_urlencoded::parse(q.as_bytes())
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .collect()
    }

    /// The bearer token, if the request carries one.
    fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?;
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .map(str::trim)
    }
}

/// An answer being built.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Option<Duration>,
}

impl Reply {
    fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::raw(
            status,
            "application/json; charset=utf-8",
            serde_json::to_vec(value).expect("JSON values serialize"),
        )
    }

    fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            delay: None,
        }
    }

    fn header(mut self, name: &str, value: impl ToString) -> Reply {
        self.headers.push((name.into(), value.to_string()));
        self
    }

    /// Plain-text 404, what an unrouted path gets.
    fn not_found() -> Reply {
        Reply::raw(404, "text/plain; charset=utf-8", "Not Found")
    }
}

struct TargetState {
    scenario: Scenario,
    since: Instant,
}

/// State shared by the server task and the handle.
struct Shared {
    config: SimConfig,
    base_url: Url,
    targets: Mutex<HashMap<TargetKey, TargetState>>,
    canned: Mutex<Vec<Canned>>,
    count: AtomicU64,
    log: Mutex<VecDeque<SeenRequest>>,
    /// The fault mix's random draws.
    rng: Mutex<fastrand::Rng>,
}

/// Locks a mutex, carrying on if a panicking test thread poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn token_ok(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| self.config.tokens.iter().any(|ok| ok == t))
    }

    /// The scenario in force for a target, or `None` if it does not exist.
    fn scenario(&self, key: &TargetKey) -> Option<Scenario> {
        let found = {
            let targets = lock(&self.targets);
            match targets.get(key) {
                Some(t) => Some(t.scenario.at(t.since.elapsed()).clone()),
                None => self
                    .config
                    .accept_any_target
                    .then(|| self.config.fallback.clone()),
            }
        };
        found.map(|s| match s {
            Scenario::Faults { hang } => self.draw_fault(hang),
            other => other,
        })
    }

    /// One draw of the fault mix (see [`Scenario::Faults`]).
    fn draw_fault(&self, hang: Duration) -> Scenario {
        match lock(&self.rng).u32(0..40) {
            0..=27 => Scenario::Healthy,
            28..=30 => Scenario::ServerError,
            31..=33 => Scenario::Garbage,
            34..=36 => Scenario::RateLimited {
                reset_in: Duration::from_secs(1),
            },
            _ => Scenario::Slow(hang),
        }
    }

    /// Registered Sentry projects of an organization (slugs).
    fn sentry_projects(&self, org: &str) -> Vec<String> {
        let mut out: Vec<String> = lock(&self.targets)
            .keys()
            .filter_map(|k| match k {
                TargetKey::Sentry { org: o, project } if o == org => Some(project.clone()),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    /// Registered Sentry organizations (slugs).
    fn sentry_orgs(&self) -> Vec<String> {
        let mut out: Vec<String> = lock(&self.targets)
            .keys()
            .filter_map(|k| match k {
                TargetKey::Sentry { org, .. } => Some(org.clone()),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Registered Netlify site keys.
    fn netlify_sites(&self) -> Vec<String> {
        lock(&self.targets)
            .keys()
            .filter_map(|k| match k {
                TargetKey::Netlify(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// The remote control, for end-to-end tests and demos driven from a shell:
    /// `POST /_sim/scenario?target=railway:ID&scenario=crash` (targets are
    /// `railway:PROJECT`, `plausible:SITE`, `netlify:SITE`, `sentry:ORG/PROJECT`)
    /// and `GET /_sim/stats` (`{"requests": N}`, control calls not counted).
    fn control(&self, req: &SeenRequest) -> Reply {
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/_sim/stats") => Reply::json(
                200,
                &serde_json::json!({ "requests": self.count.load(Ordering::Relaxed) }),
            ),
            ("POST", "/_sim/scenario") => {
                let (Some(target), Some(name)) = (req.param("target"), req.param("scenario"))
                else {
                    return Reply::raw(400, "text/plain", "need ?target=…&scenario=…");
                };
                let key = match target.split_once(':') {
                    Some(("railway", id)) => TargetKey::railway(id),
                    Some(("plausible", id)) => TargetKey::plausible(id),
                    Some(("netlify", id)) => TargetKey::netlify(id),
                    Some(("sentry", id)) => match id.split_once('/') {
                        Some((org, project)) => TargetKey::sentry(org, project),
                        None => {
                            return Reply::raw(
                                400,
                                "text/plain",
                                "sentry targets are sentry:ORG/PROJECT",
                            )
                        }
                    },
                    _ => return Reply::raw(400, "text/plain", "target is PROVIDER:ID"),
                };
                match name.parse::<Scenario>() {
                    Ok(scenario) => {
                        lock(&self.targets).insert(
                            key,
                            TargetState {
                                scenario,
                                since: Instant::now(),
                            },
                        );
                        Reply::raw(200, "text/plain", "ok")
                    }
                    Err(e) => Reply::raw(400, "text/plain", e),
                }
            }
            _ => Reply::not_found(),
        }
    }

    fn dispatch(&self, req: &SeenRequest) -> Reply {
        if let Some(c) = lock(&self.canned).iter().rev().find(|c| c.matches(req)) {
            return Reply {
                status: c.status,
                headers: c.headers.clone(),
                body: c.body.clone(),
                delay: None,
            };
        }
        let now = OffsetDateTime::now_utc();
        let p = req.path.as_str();
        if p == "/graphql/v2" {
            railway::handle(self, req, now)
        } else if p.starts_with("/api/v1/stats/") || p == "/api/v2/query" {
            plausible::handle(self, req, now)
        } else if p.starts_with("/api/v1/sites/") {
            netlify::handle(self, req, now)
        } else if p.starts_with("/api/0/") {
            sentry::handle(self, req, now)
        } else {
            Reply::not_found()
        }
    }
}

/// Splits `Slow` off: the healthy scenario to render, and the delay.
fn split_slow(s: Scenario) -> (Scenario, Option<Duration>) {
    match s {
        Scenario::Slow(d) => (Scenario::Healthy, Some(d)),
        other => (other, None),
    }
}

async fn serve_request(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let req = SeenRequest {
        method: method.as_str().to_ascii_uppercase(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let control = req.path.starts_with("/_sim/");
    let mut reply = if control {
        shared.control(&req)
    } else {
        shared.count.fetch_add(1, Ordering::Relaxed);
        shared.dispatch(&req)
    };
    if !control && !shared.config.latency.is_zero() {
        reply.delay = Some(reply.delay.unwrap_or_default() + shared.config.latency);
    }
    if !control {
        let mut log = lock(&shared.log);
        if log.len() == LOG_CAP {
            log.pop_front();
        }
        log.push_back(req);
    }
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    let mut out = HeaderMap::new();
    for (k, v) in &reply.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            out.append(k, v);
        }
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, out, reply.body).into_response()
}

/// A running sim. Dropping it stops the server.
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.shared.base_url.as_str())
            .finish()
    }
}

/// Starts the sim on an ephemeral loopback port.
pub async fn start(config: SimConfig) -> io::Result<SimHandle> {
    start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
}

/// Starts the sim on a given loopback address (port 0 picks one).
pub async fn start_on(addr: SocketAddr, config: SimConfig) -> io::Result<SimHandle> {
    if !addr.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the simulator only listens on loopback addresses, not {addr}"),
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let base_url = Url::parse(&format!("http://{addr}/")).expect("a socket address makes a URL");
    let now = Instant::now();
    let targets = config
        .targets
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                TargetState {
                    scenario: s.clone(),
                    since: now,
                },
            )
        })
        .collect();
    let shared = Arc::new(Shared {
        canned: Mutex::new(config.canned.clone()),
        config,
        base_url,
        targets: Mutex::new(targets),
        count: AtomicU64::new(0),
        log: Mutex::new(VecDeque::new()),
        rng: Mutex::new(fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15)),
    });
    let app = axum::Router::new()
        .fallback(serve_request)
        .with_state(shared.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(SimHandle {
        shared,
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// Runs the sim on `127.0.0.1:port` until the process ends, on its own
/// runtime; for a binary's `sim` subcommand. `on_ready` gets the base URL
/// once the port is bound. Returns only on a startup error.
pub(crate) fn serve_forever(
    port: u16,
    config: SimConfig,
    on_ready: impl FnOnce(&Url),
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let handle = start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), config).await?;
        on_ready(&handle.base_url());
        std::future::pending::<()>().await;
        Ok(())
    })
}

impl SimHandle {
    /// The root all four providers are served under (`http://127.0.0.1:PORT/`).
    pub fn base_url(&self) -> Url {
        self.shared.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Creates the target or changes its behaviour; a timeline starts now.
    pub fn set_scenario(&self, key: impl Into<TargetKey>, scenario: Scenario) {
        lock(&self.shared.targets).insert(
            key.into(),
            TargetState {
                scenario,
                since: Instant::now(),
            },
        );
    }

    /// The scenario in force for a target now (timelines resolved).
    pub fn scenario(&self, key: impl Into<TargetKey>) -> Option<Scenario> {
        self.shared.scenario(&key.into())
    }

    /// Makes a target unknown again.
    pub fn remove_target(&self, key: impl Into<TargetKey>) {
        lock(&self.shared.targets).remove(&key.into());
    }

    /// Adds a canned route; the latest added wins over earlier ones.
    pub fn add_canned(&self, canned: Canned) {
        lock(&self.shared.canned).push(canned);
    }

    pub fn clear_canned(&self) {
        lock(&self.shared.canned).clear();
    }

    /// Requests received since start.
    pub fn request_count(&self) -> u64 {
        self.shared.count.load(Ordering::Relaxed)
    }

    /// The last requests received (up to 1000), oldest first.
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.shared.log).iter().cloned().collect()
    }

    /// Stops the server and waits (briefly) for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Keep-alive connections could hold graceful shutdown open; do not wait on them.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests;

/// A config for the [`SimConfig::demo`] targets served at `base`: one workspace
/// per provider. Keys are read from `key` (e.g. `env:OVERWATCH_DEMO_TOKEN`),
/// which must hold [`DEFAULT_TOKEN`].
pub fn demo_config_toml(base: &Url, key: &str, refresh: &str) -> String {
    let base = base.as_str().trim_end_matches('/');
    let svc = |name: &str, provider: &str, target: &str| {
        format!(
            "\n[[workspaces.services]]\nname = \"{name}\"\nprovider = \"{provider}\"\n{target}\nkey = \"{key}\"\nbase_url = \"{base}\"\n"
        )
    };
    let mut out = format!(
        "# Demo: every service below is served by Overwatch's built-in simulator at {base}.\nrefresh = \"{refresh}\"\nnotifications = true\n"
    );
    out.push_str("\n[[workspaces]]\nname = \"Deploys\"\n");
    out.push_str(&svc("Shop", "railway", "project = \"acme-shop\""));
    out.push_str(&svc("Jobs", "railway", "project = \"acme-jobs\""));
    out.push_str("\n[[workspaces]]\nname = \"Traffic\"\n");
    out.push_str(&svc("Site", "plausible", "site = \"acme.example\""));
    out.push_str(&svc("Blog", "plausible", "site = \"blog.acme.example\""));
    out.push_str("\n[[workspaces]]\nname = \"Sites\"\n");
    out.push_str(&svc("Marketing", "netlify", "site = \"acme-marketing\""));
    out.push_str(&svc("Docs", "netlify", "site = \"acme-docs\""));
    out.push_str("\n[[workspaces]]\nname = \"Errors\"\n");
    out.push_str(&svc(
        "Shop API",
        "sentry",
        "org = \"acme-web\"\nproject = \"shop-api\"",
    ));
    out.push_str(&svc(
        "Frontend",
        "sentry",
        "org = \"acme-web\"\nproject = \"frontend\"",
    ));
    out
}

/// A config of `n` services served at `base` (any target name works with
/// `accept_any_target`), for benchmarks: the providers in `providers` in
/// turn (all four when empty), ten services per workspace.
pub fn fleet_config_toml(
    base: &Url,
    key: &str,
    refresh: &str,
    n: usize,
    providers: &[crate::model::Provider],
) -> String {
    use crate::model::Provider;
    let all = Provider::ALL;
    let providers = if providers.is_empty() {
        &all[..]
    } else {
        providers
    };
    let base = base.as_str().trim_end_matches('/');
    let mut out =
        format!("# A fleet of {n} simulated services at {base}.\nrefresh = \"{refresh}\"\n");
    for i in 0..n {
        if i % 10 == 0 {
            out.push_str(&format!(
                "\n[[workspaces]]\nname = \"Fleet {}\"\n",
                i / 10 + 1
            ));
        }
        let provider = providers[i % providers.len()];
        let target: String = provider
            .spec()
            .example_values(i)
            .iter()
            .map(|(k, v)| format!("{k} = \"{v}\"\n"))
            .collect();
        out.push_str(&format!(
            "\n[[workspaces.services]]\nname = \"S{i}\"\nprovider = \"{provider}\"\n{target}key = \"{key}\"\nbase_url = \"{base}\"\n"
        ));
    }
    out
}

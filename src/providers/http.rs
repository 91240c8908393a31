//! The one HTTP loop: sends the requests adapters describe, with timeouts, a body cap, a same-origin redirect policy and rate-limit parsing, and turns every transport failure into a [`Reason`].
//!
//! Adapters stay pure (see `providers/mod.rs`); this module owns the client,
//! the clock-free retry hints and the rule that the API key only ever goes to
//! the host the service is configured for.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION};
use thiserror::Error;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use super::{
    plan, Auth, Context, Exchange, Method, PollResult, Request, Response, Step, MAX_ROUNDS,
};
use crate::model::{
    is_loopback, Card, Facts, Mode, Provider, Reason, ReasonKind, Service, Transport,
};
use crate::secrets::{self, Secret, SecretError, SecretStore};

/// The most redirects one request follows (same origin only).
pub const MAX_REDIRECTS: usize = 3;
/// The longest wait a rate-limit header may ask for; longer values are treated as nonsense.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The wait after a 429 that carried no usable header.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Requests in flight to one API host at most, whoever sends them (the
/// engine's polls, `status`, the parallel requests of one check): a tray that
/// watches 200 services on one provider is one bounded client of that host.
/// Hosts do not wait for each other. The providers' APIs speak HTTP/2, where
/// these are streams of the one connection the host's first request opened
/// (and hyper also keeps within the server's own stream limit); the per-key
/// budgets, not this, decide how many requests a minute a key sends.
/// 32 lets the first round of 200 services on one host at 300 ms a request
/// finish in about 2.4 s (8 took 8 s: issue #16, BENCHMARKS.md section 4).
pub const PER_HOST_IN_FLIGHT: usize = 32;
/// How long a host's first request goes alone at most (less when it is
/// answered sooner): time for its connection to open, so that the requests
/// after it find that connection and share it where the host speaks HTTP/2.
pub const FIRST_TURN_ALONE: Duration = Duration::from_millis(500);

/// Limits and identity of the shared client.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time allowed to open the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time allowed for the whole exchange, body included.
    pub total_timeout: Duration,
    /// Largest response body accepted, in bytes.
    pub max_body: usize,
    pub user_agent: String,
    /// Extra trusted roots (PEM), merged with the platform's; for tests and private CAs.
    pub extra_root_certs: Vec<Vec<u8>>,
    /// Requests in flight to one host (scheme, host and port) at most.
    pub per_host: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(15),
            max_body: 4 * 1024 * 1024,
            user_agent: format!("overwatch/{}", env!("CARGO_PKG_VERSION")),
            extra_root_certs: Vec::new(),
            per_host: PER_HOST_IN_FLIGHT,
        }
    }
}

/// Why the client could not be built.
#[derive(Debug, Error)]
pub enum HttpError {
    #[error("an extra root certificate is not valid PEM: {0}")]
    Certificate(String),
    #[error("could not set up the HTTP client: {0}")]
    Build(String),
}

/// Installs the ring crypto provider as rustls' process default. Safe to call
/// any number of times: "already installed" is the expected outcome after the first.
pub(crate) fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The shared HTTP client. Cheap to clone (the connection pool and the
/// per-host limits are shared).
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    opts: HttpOptions,
    hosts: Arc<HostGates>,
}

/// The turns of each host (scheme, host and port).
#[derive(Default)]
struct HostGates {
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

/// One host's turns: a single one until the first exchange with the host is
/// over (or [`FIRST_TURN_ALONE`] has passed), then [`HttpOptions::per_host`].
/// So the first request opens the connection and, where the host speaks
/// HTTP/2, every later one finds it and shares it — instead of a burst of
/// requests each opening (and handshaking) a connection of its own before
/// any of them knows the host multiplexes.
struct Gate {
    turns: Arc<Semaphore>,
    /// The remaining turns, handed out once.
    more: std::sync::atomic::AtomicUsize,
}

impl Gate {
    fn open(&self) {
        let more = self.more.swap(0, std::sync::atomic::Ordering::AcqRel);
        if more > 0 {
            self.turns.add_permits(more);
        }
    }
}

impl HostGates {
    /// Waits for a turn at `url`'s host. Fair: first come, first served.
    async fn enter(
        &self,
        url: &Url,
        per_host: usize,
        open_after: Duration,
    ) -> (Arc<Gate>, Option<OwnedSemaphorePermit>) {
        let origin = format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or_default().to_ascii_lowercase(),
            url.port_or_known_default().unwrap_or(0)
        );
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
            gates
                .entry(origin)
                .or_insert_with(|| {
                    let gate = Arc::new(Gate {
                        turns: Arc::new(Semaphore::new(1)),
                        more: per_host.max(1).saturating_sub(1).into(),
                    });
                    // A slow first answer holds the others back no longer
                    // than a connection usually takes to open.
                    let g = gate.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(open_after).await;
                        g.open();
                    });
                    gate
                })
                .clone()
        };
        // Never closed, so this only fails if that changes; then go ungated.
        let turn = gate.turns.clone().acquire_owned().await.ok();
        (gate, turn)
    }
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("opts", &self.opts).finish()
    }
}

impl Http {
    pub fn new(opts: HttpOptions) -> Result<Http, HttpError> {
        Http::build(opts, Arc::default())
    }

    /// A client with other options that shares this one's per-host limits, so
    /// requests of the old and the new client together stay within them (a
    /// config reload that changes the timeout while polls are in flight).
    pub fn rebuilt(&self, opts: HttpOptions) -> Result<Http, HttpError> {
        Http::build(opts, self.hosts.clone())
    }

    fn build(opts: HttpOptions, hosts: Arc<HostGates>) -> Result<Http, HttpError> {
        install_crypto();
        let mut roots = Vec::new();
        for pem in &opts.extra_root_certs {
            roots.push(
                reqwest::Certificate::from_pem(pem)
                    .map_err(|e| HttpError::Certificate(source_text(&e)))?,
            );
        }
        let client = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.total_timeout)
            .user_agent(opts.user_agent.clone())
            .redirect(same_origin_redirects())
            // The Referer would only repeat our own API URL to the same host.
            .referer(false)
            .tls_certs_merge(roots)
            .build()
            .map_err(|e| HttpError::Build(source_text(&e)))?;
        Ok(Http {
            client,
            opts,
            hosts,
        })
    }

    pub fn options(&self) -> &HttpOptions {
        &self.opts
    }

    /// Sends one request with the token attached per `req.auth`. Refuses plain
    /// `http://` to anything but loopback (use [`Http::send_with`] to allow it).
    pub async fn send(&self, req: &Request, token: &Secret) -> Result<Response, Reason> {
        self.send_with(req, token, false).await
    }

    /// Like [`Http::send`]; `allow_insecure` permits `http://` to any host.
    pub async fn send_with(
        &self,
        req: &Request,
        token: &Secret,
        allow_insecure: bool,
    ) -> Result<Response, Reason> {
        check_scheme(&req.url, allow_insecure)?;
        let headers = build_headers(req, token)?;
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self
            .client
            .request(method, req.url.clone())
            .headers(headers);
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let host = host_port(&req.url);
        let max = self.opts.max_body;
        // The wait for a turn is not the request's time: the timeout starts after it.
        let (gate, _turn) = self
            .hosts
            .enter(
                &req.url,
                self.opts.per_host,
                FIRST_TURN_ALONE.min(self.opts.connect_timeout),
            )
            .await;
        let exchange = async {
            let mut resp = builder
                .send()
                .await
                .map_err(|e| Failure::classify(&e, &self.opts).reason(&host))?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            if resp.content_length().is_some_and(|n| n > max as u64) {
                return Err(too_large(max, status));
            }
            let mut body = Vec::new();
            // Chunk by chunk, so an endless or huge body costs at most `max` bytes.
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| Failure::classify(&e, &self.opts).reason(&host))?
            {
                if body.len() + chunk.len() > max {
                    return Err(too_large(max, status));
                }
                body.extend_from_slice(&chunk);
            }
            let mut response = Response {
                status,
                headers,
                body,
                retry_after: None,
            };
            // Read at arrival, against the real clock: reset headers are
            // instants on the provider's clock, and this is the one place
            // that reads them.
            response.retry_after = rate_limit_wait(&response, OffsetDateTime::now_utc());
            Ok(response)
        };
        // reqwest's own timeout covers the body too; this outer one is the
        // guarantee, whatever the client's internals do.
        let result = match tokio::time::timeout(self.opts.total_timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(Failure::TimedOut(self.opts.total_timeout).reason(&host)),
        };
        // An exchange with the host is over: its connection exists (or cannot).
        gate.open();
        result
    }

    /// Checks one service: resolves its key, drives its adapter round by round
    /// and returns the card. Never fails: every problem is a reason on the card.
    pub async fn check(
        &self,
        service: &Service,
        store: &dyn SecretStore,
        now: OffsetDateTime,
    ) -> PollResult {
        let mut result = self.check_inner(service, store, now).await;
        let card = &mut result.card;
        if card.dashboard_url.is_none() {
            card.dashboard_url = Some(service.dashboard_url());
        }
        if card.updated_at.is_none() {
            card.updated_at = Some(now);
        }
        if let Some(reason) = card.reason.as_mut() {
            if reason.kind == ReasonKind::RateLimited {
                // A "slow down" that came without a 429 (Railway's Cloudflare
                // page) still asks the scheduler to wait.
                let wait = *result.retry_after.get_or_insert(DEFAULT_RETRY_AFTER);
                // The wait the scheduler will honour, as a fact; the
                // adapter's message stays as it was written.
                let mut f = Facts::default();
                f.set_retry_after(wait);
                reason.add_facts(&f);
            }
        }
        result
    }

    async fn check_inner(
        &self,
        service: &Service,
        store: &dyn SecretStore,
        now: OffsetDateTime,
    ) -> PollResult {
        let unknown = |kind, msg: String| PollResult {
            card: Card::unknown(Reason::new(kind, msg)),
            retry_after: None,
            requests: 0,
        };
        if service.mode == Mode::Link {
            return unknown(
                ReasonKind::Config,
                format!(
                    "`{}` is a link-only service; set mode = \"api\" and a key to check it",
                    service.name
                ),
            );
        }
        let Some(key) = &service.key else {
            return unknown(
                ReasonKind::Config,
                format!(
                    "`{}` has no API key: set `key` to a keychain name or `env:VAR`",
                    service.name
                ),
            );
        };
        // Refuse before touching the keychain: no point unlocking it for a
        // request we will not send.
        if let Err(r) = check_scheme(&service.api_base(), service.allow_insecure) {
            return PollResult {
                card: Card::unknown(r),
                retry_after: None,
                requests: 0,
            };
        }
        let token = match secrets::resolve(key, store) {
            Ok(t) => t,
            Err(e) => {
                let kind = match e {
                    SecretError::Denied { .. } => ReasonKind::Auth,
                    _ => ReasonKind::Config,
                };
                return unknown(kind, e.to_string());
            }
        };

        let ctx = Context { service, now };
        let mut done: Vec<Exchange> = Vec::new();
        let mut requests = 0u32;
        let mut retry_after: Option<Duration> = None;
        let mut rounds = 0usize;
        loop {
            let step = match catch_unwind(AssertUnwindSafe(|| plan(&ctx, &done))) {
                Ok(step) => step,
                Err(payload) => {
                    return PollResult {
                        card: Card::unknown(adapter_panic(service.provider(), &payload)),
                        retry_after,
                        requests,
                    }
                }
            };
            let reqs = match step {
                Step::Done(card) => {
                    return PollResult {
                        card,
                        retry_after,
                        requests,
                    };
                }
                Step::Fetch(reqs) => reqs,
            };
            if reqs.is_empty() || rounds >= MAX_ROUNDS {
                let why = if reqs.is_empty() {
                    "asked for nothing".to_string()
                } else {
                    format!("needed more than {MAX_ROUNDS} request rounds")
                };
                return PollResult {
                    card: Card::unknown(Reason::new(
                        ReasonKind::BadResponse,
                        format!(
                            "internal error in the {} adapter: it {why}",
                            service.provider().title()
                        ),
                    )),
                    retry_after,
                    requests,
                };
            }
            rounds += 1;
            if let Some(r) = reqs.iter().find_map(|r| foreign_host(service, &r.url)) {
                return PollResult {
                    card: Card::unknown(r),
                    retry_after,
                    requests,
                };
            }
            requests += reqs.len() as u32;
            let answers = self.send_all(&reqs, &token, service.allow_insecure).await;
            for (request, answer) in reqs.into_iter().zip(answers) {
                match answer {
                    Ok(response) => {
                        if let Some(wait) = response.retry_after {
                            retry_after = Some(retry_after.map_or(wait, |w| w.max(wait)));
                        }
                        done.push(Exchange { request, response });
                    }
                    Err(reason) => {
                        return PollResult {
                            card: Card::unknown(reason),
                            retry_after,
                            requests,
                        }
                    }
                }
            }
        }
    }

    /// Sends a round concurrently; answers come back in request order.
    async fn send_all(
        &self,
        reqs: &[Request],
        token: &Secret,
        allow_insecure: bool,
    ) -> Vec<Result<Response, Reason>> {
        if let [one] = reqs {
            return vec![self.send_with(one, token, allow_insecure).await];
        }
        let mut set = tokio::task::JoinSet::new();
        for (i, req) in reqs.iter().enumerate() {
            let (http, req, token) = (self.clone(), req.clone(), token.clone());
            set.spawn(async move { (i, http.send_with(&req, &token, allow_insecure).await) });
        }
        let mut out: Vec<Option<Result<Response, Reason>>> = vec![None; reqs.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r)) = joined {
                out[i] = Some(r);
            }
        }
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(Reason::new(
                        ReasonKind::BadResponse,
                        "internal error in the HTTP layer: a request task failed",
                    ))
                })
            })
            .collect()
    }
}

/// The redirect rule: at most [`MAX_REDIRECTS`], and only within the origin
/// of the first request. Anything else stops and hands back the 3xx itself.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        // `previous` holds the original URL plus every redirect followed so far.
        if attempt.previous().len() > MAX_REDIRECTS || !same_origin(first, attempt.url()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn check_scheme(url: &Url, allow_insecure: bool) -> Result<(), Reason> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure || is_loopback(url) => Ok(()),
        "http" => Err(Reason::new(
            ReasonKind::Config,
            format!(
                "refusing to send the API key over plain http to host {}; use https or set allow_insecure = true",
                url.host_str().unwrap_or("(none)")
            ),
        )),
        other => Err(Reason::new(
            ReasonKind::Config,
            format!("unsupported URL scheme `{other}`: use https"),
        )),
    }
}

/// A reason when a request would carry the key away from the configured
/// host, unless the provider's spec says that host is still its API
/// (Sentry SaaS hands out regional hosts such as `de.sentry.io`).
fn foreign_host(service: &Service, url: &Url) -> Option<Reason> {
    let base = service.api_base();
    if same_origin(&base, url) {
        return None;
    }
    if (service.provider().spec().same_api)(&base, url) {
        return None;
    }
    Some(Reason::new(
        ReasonKind::Config,
        format!(
            "refusing to send the API key to {} (the service is configured for {}); check `base_url`",
            host_port(url),
            host_port(&base)
        ),
    ))
}

fn build_headers(req: &Request, token: &Secret) -> Result<HeaderMap, Reason> {
    let bad = |what: &str| {
        Reason::new(
            ReasonKind::Config,
            format!("the API key cannot be sent: {what}"),
        )
    };
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    for (k, v) in &req.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) else {
            return Err(Reason::new(
                ReasonKind::BadResponse,
                format!("internal error: the adapter built an invalid header `{k}`"),
            ));
        };
        headers.insert(name, value);
    }
    let (name, value) = match req.auth {
        Auth::Bearer => (AUTHORIZATION, format!("Bearer {}", token.expose())),
        Auth::Header(name) => (
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("invalid header name"))?,
            token.expose().to_string(),
        ),
    };
    // Never echo the value: it is the secret.
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        bad("it contains characters not allowed in an HTTP header (a stray newline?)")
    })?;
    value.set_sensitive(true);
    headers.insert(name, value);
    Ok(headers)
}

fn host_port(url: &Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(h) => h.to_string(),
        None => "(no host)".into(),
    };
    match url.port_or_known_default() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// "4 MiB", "512 KiB", "100 bytes".
fn human_size(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

fn too_large(max: usize, status: u16) -> Reason {
    Reason::new(
        ReasonKind::BadResponse,
        format!("response larger than {}", human_size(max)),
    )
    .with_status(status)
}

/// The chain of causes under an error, innermost last. `io::Error` hides its
/// payload from `source()`, so it is unwrapped by hand.
fn causes<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        out.push(e);
        cur = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    out
}

/// The innermost cause's text: the useful part, and never reqwest's
/// "error sending request for url (...)" wrapper with its URL.
fn source_text(err: &(dyn StdError + 'static)) -> String {
    causes(err)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

/// A request that got no HTTP answer, classified once: the typed
/// [`Transport`] fact and the detail its wording needs. Wording is derived
/// from this in [`Failure::reason`], nowhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    Refused,
    /// No answer within this limit (connect or whole exchange).
    TimedOut(Duration),
    Dns,
    /// A certificate the client would not trust: the problem in plain words.
    Certificate(String),
    /// Any other TLS failure: rustls' text.
    Handshake(String),
    /// No route to the host or network, or the network is down: the OS's text.
    NoRoute(String),
    Reset,
    /// A connect failure of another kind: the innermost cause's text.
    Connect(String),
    /// The connection broke after the answer began.
    Body(String),
    Other(String),
}

impl Failure {
    /// Reads the reqwest error chain: the TLS error, the I/O error kind,
    /// resolver texts (hyper-util wraps resolver failures without a kind).
    fn classify(err: &reqwest::Error, opts: &HttpOptions) -> Failure {
        let chain = causes(err);
        if let Some(tls) = chain.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
            return match tls {
                rustls::Error::InvalidCertificate(c) => {
                    Failure::Certificate(certificate_problem(c))
                }
                other => Failure::Handshake(other.to_string()),
            };
        }
        if err.is_timeout() {
            return Failure::TimedOut(if err.is_connect() {
                opts.connect_timeout
            } else {
                opts.total_timeout
            });
        }
        let io_kind = chain
            .iter()
            .find_map(|e| e.downcast_ref::<std::io::Error>())
            .map(|e| e.kind());
        let text: Vec<String> = chain.iter().map(|e| e.to_string()).collect();
        let any = |needle: &str| text.iter().any(|t| t.to_ascii_lowercase().contains(needle));
        use std::io::ErrorKind as K;
        match io_kind {
            Some(K::ConnectionRefused) => Failure::Refused,
            Some(K::TimedOut) => Failure::TimedOut(opts.connect_timeout),
            _ if any("dns error") || any("failed to lookup address") || any("name or service") => {
                Failure::Dns
            }
            Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof) => {
                Failure::Reset
            }
            Some(
                K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown | K::AddrNotAvailable,
            ) => Failure::NoRoute(source_text(err)),
            _ if err.is_connect() => Failure::Connect(source_text(err)),
            _ if err.is_body() || err.is_decode() => Failure::Body(source_text(err)),
            _ => Failure::Other(source_text(err)),
        }
    }

    fn transport(&self) -> Transport {
        match self {
            Failure::Refused => Transport::Refused,
            Failure::TimedOut(_) => Transport::TimedOut,
            Failure::Dns => Transport::Dns,
            Failure::Certificate(_) | Failure::Handshake(_) => Transport::Tls,
            Failure::NoRoute(_) => Transport::NoRoute,
            Failure::Reset => Transport::Reset,
            Failure::Connect(_) | Failure::Body(_) | Failure::Other(_) => Transport::Other,
        }
    }

    /// The reason a card shows: kind, wording and the transport fact.
    fn reason(&self, host: &str) -> Reason {
        let kind = match self {
            Failure::TimedOut(_) => ReasonKind::Timeout,
            _ => ReasonKind::Unreachable,
        };
        let msg = match self {
            Failure::Refused => format!("could not connect to {host}: connection refused"),
            Failure::TimedOut(d) => format!(
                "no answer within {} from {host}",
                crate::text::short_duration(*d)
            ),
            Failure::Dns => format!("could not resolve {host}: DNS lookup failed"),
            Failure::Certificate(problem) => {
                format!("TLS certificate problem with {host}: {problem}")
            }
            Failure::Handshake(text) => format!("TLS handshake with {host} failed: {text}"),
            Failure::Reset => format!("connection to {host} was closed unexpectedly"),
            Failure::NoRoute(text) | Failure::Connect(text) => {
                format!("could not connect to {host}: {text}")
            }
            Failure::Body(text) => {
                format!("connection to {host} broke while reading the answer: {text}")
            }
            Failure::Other(text) => format!("request to {host} failed: {text}"),
        };
        Reason::new(kind, msg).with_transport(self.transport())
    }
}

/// A certificate error in plain words. rustls' own texts speak in UNIX
/// seconds and its `Debug` in type names; a card needs a sentence and a hint.
fn certificate_problem(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    let date = |t: &rustls::pki_types::UnixTime| {
        OffsetDateTime::from_unix_timestamp(t.as_secs() as i64)
            .map(|d| d.date().to_string())
            .unwrap_or_else(|_| format!("{} (UNIX time)", t.as_secs()))
    };
    match c {
        C::UnknownIssuer => "its certificate is not issued by an authority this machine trusts \
             (self-signed, or a private CA that is not installed)"
            .into(),
        C::Expired => "its certificate has expired".into(),
        C::ExpiredContext { not_after, .. } => {
            format!("its certificate expired on {}", date(not_after))
        }
        C::NotValidYet => {
            "its certificate is not valid yet — is this machine's clock right?".into()
        }
        C::NotValidYetContext { not_before, .. } => format!(
            "its certificate is not valid before {} — is this machine's clock right?",
            date(not_before)
        ),
        C::NotValidForName => "its certificate is for another host name".into(),
        C::NotValidForNameContext { presented, .. } => format!(
            "its certificate is for another host ({})",
            if presented.is_empty() {
                "no names at all".to_string()
            } else {
                // rustls lists them as `DnsName("a.example")`: keep the name.
                let names: Vec<&str> = presented
                    .iter()
                    .map(|p| match (p.find('('), p.rfind(')')) {
                        (Some(a), Some(b)) if a < b => p[a + 1..b].trim_matches('"'),
                        _ => p.as_str(),
                    })
                    .collect();
                super::clip(&names.join(", "), 120)
            }
        ),
        C::Revoked => "its certificate has been revoked".into(),
        other => other.to_string(),
    }
}

fn adapter_panic(provider: Provider, payload: &(dyn std::any::Any + Send)) -> Reason {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned());
    let mut msg = format!("internal error in the {} adapter", provider.title());
    if let Some(d) = detail {
        msg.push_str(&format!(" ({})", super::clip(&d, 120)));
    }
    Reason::new(ReasonKind::BadResponse, msg)
}

/// The wait before the next request after this response: `None` unless it
/// is a 429, then the header's wait or [`DEFAULT_RETRY_AFTER`].
pub fn rate_limit_wait(resp: &Response, now: OffsetDateTime) -> Option<Duration> {
    (resp.status == 429).then(|| retry_after_from(resp, now).unwrap_or(DEFAULT_RETRY_AFTER))
}

/// The wait a response asks for, from `Retry-After` (seconds or an HTTP
/// date), `X-Sentry-Rate-Limit-Reset` or `X-RateLimit-Reset` (epoch seconds;
/// a small number is taken as seconds from now, since Railway's format is
/// unconfirmed). Values in the past, beyond [`MAX_RETRY_AFTER`], negative or
/// unreadable are ignored: a broken header must not silence a service for years.
pub(crate) fn retry_after_from(resp: &Response, now: OffsetDateTime) -> Option<Duration> {
    if let Some(v) = resp.header("retry-after") {
        let v = v.trim();
        let wait = match v.parse::<u64>() {
            Ok(secs) => Some(Duration::from_secs(secs)),
            Err(_) => OffsetDateTime::parse(v, &Rfc2822)
                .ok()
                .and_then(|at| until(at.unix_timestamp() as f64, now)),
        };
        if let Some(w) = wait.filter(|w| *w <= MAX_RETRY_AFTER) {
            return Some(w);
        }
    }
    ["x-sentry-rate-limit-reset", "x-ratelimit-reset"]
        .iter()
        .filter_map(|name| resp.header(name))
        .find_map(|v| reset_header(v, now))
}

/// Epoch seconds, or (below a day's worth) seconds from now.
fn reset_header(v: &str, now: OffsetDateTime) -> Option<Duration> {
    let n: f64 = v.trim().parse().ok().filter(|n: &f64| n.is_finite())?;
    if n < 0.0 {
        return None;
    }
    let wait = if n <= MAX_RETRY_AFTER.as_secs() as f64 {
        Some(Duration::from_secs_f64(n))
    } else {
        until(n, now)
    }?;
    (wait <= MAX_RETRY_AFTER).then_some(wait)
}

/// Time from `now` to the epoch instant `at`; `None` when it has passed.
fn until(at: f64, now: OffsetDateTime) -> Option<Duration> {
    let now = now.unix_timestamp() as f64 + f64::from(now.nanosecond()) / 1e9;
    let d = at - now;
    (d > 0.0).then(|| Duration::from_secs(d.ceil() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn resp(headers: &[(&str, &str)]) -> Response {
        Response {
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
            retry_after: None,
        }
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_epochs() {
        let now = datetime!(2026-08-22 12:00 UTC);
        let t = now.unix_timestamp();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            retry_after_from(&resp(&[("retry-after", "37")]), now),
            secs(37)
        );
        assert_eq!(
            retry_after_from(
                &resp(&[("retry-after", "Sat, 22 Aug 2026 12:01:30 GMT")]),
                now
            ),
            secs(90)
        );
        let reset = (t + 42).to_string();
        assert_eq!(
            retry_after_from(&resp(&[("x-ratelimit-reset", &reset)]), now),
            secs(42)
        );
        assert_eq!(
            retry_after_from(&resp(&[("x-sentry-rate-limit-reset", &reset)]), now),
            secs(42)
        );
        // Railway's unconfirmed format: a small number means seconds from now.
        assert_eq!(
            retry_after_from(&resp(&[("x-ratelimit-reset", "120")]), now),
            secs(120)
        );
        let past = (t - 10).to_string();
        let far = (t + 10 * 365 * 86400).to_string();
        for bad in [past.as_str(), far.as_str(), "-5", "soon", "", "NaN", "inf"] {
            assert_eq!(
                retry_after_from(&resp(&[("x-ratelimit-reset", bad)]), now),
                None,
                "{bad}"
            );
            assert_eq!(retry_after_from(&resp(&[("retry-after", bad)]), now), None);
        }
        assert_eq!(
            retry_after_from(&resp(&[("retry-after", "999999999")]), now),
            None
        );
        // A bad Retry-After falls through to a good reset header.
        assert_eq!(
            retry_after_from(
                &resp(&[("retry-after", "soon"), ("x-ratelimit-reset", &reset)]),
                now
            ),
            secs(42)
        );
    }

    #[test]
    fn each_transport_failure_has_one_kind_fact_and_wording() {
        let host = "api.example:443";
        let cases = [
            (
                Failure::Refused,
                Transport::Refused,
                ReasonKind::Unreachable,
                "could not connect to api.example:443: connection refused",
            ),
            (
                Failure::TimedOut(Duration::from_secs(5)),
                Transport::TimedOut,
                ReasonKind::Timeout,
                "no answer within 5 s from api.example:443",
            ),
            (
                Failure::Dns,
                Transport::Dns,
                ReasonKind::Unreachable,
                "could not resolve api.example:443: DNS lookup failed",
            ),
            (
                Failure::Certificate("its certificate has expired".into()),
                Transport::Tls,
                ReasonKind::Unreachable,
                "TLS certificate problem with api.example:443: its certificate has expired",
            ),
            (
                Failure::Handshake("peer is incompatible".into()),
                Transport::Tls,
                ReasonKind::Unreachable,
                "TLS handshake with api.example:443 failed: peer is incompatible",
            ),
            (
                Failure::NoRoute("Network is unreachable (os error 101)".into()),
                Transport::NoRoute,
                ReasonKind::Unreachable,
                "could not connect to api.example:443: Network is unreachable (os error 101)",
            ),
            (
                Failure::Reset,
                Transport::Reset,
                ReasonKind::Unreachable,
                "connection to api.example:443 was closed unexpectedly",
            ),
            (
                Failure::Body("unexpected end".into()),
                Transport::Other,
                ReasonKind::Unreachable,
                "connection to api.example:443 broke while reading the answer: unexpected end",
            ),
        ];
        for (failure, transport, kind, message) in cases {
            let r = failure.reason(host);
            assert_eq!(r.facts.transport, Some(transport), "{failure:?}");
            assert_eq!(r.kind, kind, "{failure:?}");
            assert_eq!(r.message, message);
            assert_eq!(r.facts.http_status, None, "no answer, no status");
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_classified_as_refused_not_by_its_text() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let opts = HttpOptions::default();
        let http = Http::new(opts.clone()).unwrap();
        let err = http
            .client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(Failure::classify(&err, &opts), Failure::Refused);
    }

    #[test]
    fn refusals_tls_and_resets_prove_the_network_timeouts_dns_and_routes_do_not() {
        use Transport as T;
        for t in [T::Refused, T::Tls, T::Reset] {
            assert!(t.proves_network(), "{t:?}");
        }
        for t in [T::TimedOut, T::Dns, T::NoRoute, T::Other] {
            assert!(!t.proves_network(), "{t:?}");
        }
    }

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(human_size(4 * 1024 * 1024), "4 MiB");
        assert_eq!(human_size(64 * 1024), "64 KiB");
        assert_eq!(human_size(100), "100 bytes");
        assert_eq!(crate::text::short_duration(Duration::from_secs(15)), "15 s");
        assert_eq!(
            crate::text::short_duration(Duration::from_millis(300)),
            "300 ms"
        );
    }
}

//! The provider registry: the request/response types every adapter speaks, and the one `match` that dispatches to them.
//!
//! Providers are pure: given a service and what has been fetched so far, an
//! adapter either asks for more requests ([`Step::Fetch`]) or returns a
//! [`Card`] ([`Step::Done`]). It never owns a client, a clock or a retry loop;
//! `http.rs` sends the requests (timeouts, size cap, redirects, rate-limit
//! headers) and drives the steps.

mod common;
pub mod http;
#[macro_use]
mod registry;
pub mod spec;
#[cfg(test)]
mod testkit;

pub use spec::{FieldSpec, Fields, Limit, MapFields, Spec, TargetSpec};

// The provider registry. One line per provider: its `Provider`/`Target`
// variant, its file `providers/<module>.rs` (which defines `SPEC` and the
// target type) and that target type. Everything else derives from it.
registry! {
    Railway => railway::RailwayTarget,
    Plausible => plausible::PlausibleTarget,
    Netlify => netlify::NetlifyTarget,
    Sentry => sentry::SentryTarget,
}

use std::time::Duration;

use time::OffsetDateTime;
use url::Url;

use crate::model::{BodyKind, Card, Facts, Reason, ReasonKind, Service};

/// The text helpers adapters use, from their one home in [`crate::text`].
pub use crate::text::{ago, clip, thousands};

/// HTTP method of a provider request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// How the token is attached to a request. The HTTP layer adds the header;
/// adapters never see the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The token as the value of a named header (Railway's `Project-Access-Token`).
    Header(&'static str),
}

/// One request an adapter wants sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// What it is for, so the adapter can find its response ("site", "deploys").
    pub tag: &'static str,
    pub method: Method,
    pub url: Url,
    pub auth: Auth,
    /// Extra, non-secret headers.
    pub headers: Vec<(String, String)>,
    /// A JSON body (POST).
    pub body: Option<serde_json::Value>,
}

/// One response as received (body already capped by the HTTP layer).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The wait this answer asks for, read from its rate-limit headers by the
    /// HTTP layer when it arrived (429 only: the header's wait, else the
    /// default). Adapters read this, never the headers: one parser, one clock.
    pub retry_after: Option<Duration>,
}

impl Response {
    /// First header value with that (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request paired with its response.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Request,
    pub response: Response,
}

/// What an adapter wants next.
// One Step is made per round of a check and matched at once: boxing the
// card would add an allocation per check to save a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Step {
    /// Send these (concurrently) and call again with their responses appended.
    Fetch(Vec<Request>),
    /// The check is complete.
    Done(Card),
}

/// Everything an adapter may look at besides the responses.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub service: &'a Service,
    /// Wall-clock now, for ages ("last deploy 2 h ago"). Passed in, never read.
    pub now: OffsetDateTime,
}

/// The most request rounds one check may take.
pub const MAX_ROUNDS: usize = 4;

/// Asks the service's adapter for its next step, given the exchanges so far.
pub fn plan(ctx: &Context<'_>, done: &[Exchange]) -> Step {
    (ctx.service.provider().spec().plan)(ctx, done)
}

/// The result of one check: the card plus what the scheduler should know.
#[derive(Debug, Clone)]
pub struct PollResult {
    pub card: Card,
    /// The provider asked us to wait this long before the next request (429).
    pub retry_after: Option<Duration>,
    /// Requests this check sent.
    pub requests: u32,
}

/// A reason for a non-2xx answer that every provider shares: 401/403 are auth,
/// 404 is config, 429 is rate limiting, 5xx is unreachable. `detail` is the
/// provider's own message (already extracted from its error shape), if any.
pub(crate) fn http_error_reason(
    service: &Service,
    status: u16,
    detail: Option<&str>,
    retry_after: Option<Duration>,
) -> Reason {
    let key = service
        .key
        .as_ref()
        .map(|k| k.to_string())
        .unwrap_or_else(|| "(none)".into());
    let detail = detail
        .map(|d| format!(": {}", clip(d, 160)))
        .unwrap_or_default();
    let mut facts = Facts {
        http_status: Some(status),
        ..Facts::default()
    };
    if let Some(wait) = retry_after {
        facts.set_retry_after(wait);
    }
    let mut reason = match status {
        401 | 403 => Reason::new(
            ReasonKind::Auth,
            format!(
                "API key `{key}` was rejected (HTTP {status}{detail}) — {}",
                service
                    .key
                    .as_ref()
                    .map(|k| k.how_to_set())
                    .unwrap_or_else(|| "set a key for this service".into())
            ),
        ),
        404 => Reason::new(
            ReasonKind::Config,
            format!(
                "{} not found (HTTP 404{detail}) — check the service's settings",
                service.target.describe()
            ),
        ),
        429 => Reason::new(
            ReasonKind::RateLimited,
            // Worded from the fact, so the message and `facts` agree to the second.
            match facts.retry_after() {
                Some(d) => format!(
                    "rate limited by {} (HTTP 429) — retrying in {}",
                    service.provider().title(),
                    crate::model::format_duration(d)
                ),
                None => format!(
                    "rate limited by {} (HTTP 429) — backing off",
                    service.provider().title()
                ),
            },
        ),
        500..=599 => Reason::new(
            ReasonKind::Unreachable,
            format!(
                "{} answered with a server error (HTTP {status}{detail})",
                service.provider().title()
            ),
        ),
        _ => Reason::new(
            ReasonKind::BadResponse,
            format!(
                "{} answered HTTP {status}{detail}",
                service.provider().title()
            ),
        ),
    };
    reason.facts = facts;
    reason
}

/// A `bad_response` reason for a body that could not be understood.
pub(crate) fn bad_body(service: &Service, what: &str, err: impl std::fmt::Display) -> Reason {
    Reason::new(
        ReasonKind::BadResponse,
        format!(
            "{} sent a {what} that could not be read ({})",
            service.provider().title(),
            clip(&err.to_string(), 120)
        ),
    )
}

/// A `bad_response` reason for a body that arrived but could not be read:
/// the body's kind is a fact on the reason, and the one wording of it
/// ("an HTML page: expected value at line 1") is derived here.
pub(crate) fn unreadable_body(
    service: &Service,
    what: &str,
    body: &[u8],
    err: impl std::fmt::Display,
) -> Reason {
    let kind = BodyKind::of(body);
    // Valid JSON of the wrong shape: the error says what was wrong with it.
    let err = match kind {
        BodyKind::Json => err.to_string(),
        other => format!("{}: {err}", other.describe()),
    };
    bad_body(service, what, err).with_body(kind)
}

/// The facts one answer proves: its status, its body's kind and the wait
/// it asked for. Added to a reason about that answer (never overriding).
pub(crate) fn answer_facts(resp: &Response) -> Facts {
    let mut f = Facts {
        http_status: Some(resp.status),
        body: Some(BodyKind::of(&resp.body)),
        ..Facts::default()
    };
    if let Some(wait) = resp.retry_after {
        f.set_retry_after(wait);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NetlifyTarget;

    fn site_service() -> Service {
        Service::example(
            "Acme",
            "Web",
            crate::model::Target::Netlify(NetlifyTarget { site: "www".into() }),
            Some("acme-netlify".parse().unwrap()),
        )
    }

    #[test]
    fn bodies_are_described() {
        let d = |b: &[u8]| BodyKind::of(b).describe();
        assert_eq!(d(b""), "an empty body");
        assert_eq!(d(b"  \n"), "an empty body");
        assert_eq!(d(b"<!DOCTYPE html>"), "an HTML page");
        assert_eq!(d(b"Not Found"), "plain text");
        assert_eq!(d(b"{\"a\":"), "malformed JSON");
        assert_eq!(BodyKind::of(b"{\"a\": [1]}"), BodyKind::Json);
        assert_eq!(BodyKind::of(b" [] "), BodyKind::Json);
    }

    #[test]
    fn unreadable_bodies_carry_their_kind_and_say_it_once() {
        let svc = site_service();
        let r = unreadable_body(&svc, "issue list", b"<html>x</html>", "expected value");
        assert_eq!(r.kind, ReasonKind::BadResponse);
        assert_eq!(r.facts.body, Some(BodyKind::Html));
        assert!(
            r.message.contains("(an HTML page: expected value)"),
            "{}",
            r.message
        );
        // Valid JSON of the wrong shape is not "malformed".
        let r = unreadable_body(&svc, "deploy list", br#"{"a":1}"#, "expected an array");
        assert_eq!(r.facts.body, Some(BodyKind::Json));
        assert!(r.message.contains("(expected an array)"), "{}", r.message);
    }

    #[test]
    fn http_error_reasons_carry_status_and_wait() {
        let svc = site_service();
        let r = http_error_reason(&svc, 429, None, Some(Duration::from_millis(36_200)));
        assert_eq!(r.kind, ReasonKind::RateLimited);
        assert_eq!(r.facts.http_status, Some(429));
        assert_eq!(r.facts.retry_after(), Some(Duration::from_secs(37)));
        assert!(r.message.ends_with("retrying in 37s"), "{}", r.message);
        let r = http_error_reason(&svc, 502, Some("bad gateway"), None);
        assert_eq!(r.kind, ReasonKind::Unreachable);
        assert_eq!(r.facts.http_status, Some(502));
        assert_eq!(
            r.facts.transport, None,
            "an answer is not a transport failure"
        );
    }
}

//! Test driver that plays the HTTP layer: it feeds canned responses to an
//! adapter round by round, the way `http.rs` does with real ones.

use time::macros::datetime;
use time::OffsetDateTime;

use super::{Context, Exchange, Request, Response, Step, MAX_ROUNDS};
use crate::model::{Card, Service};

/// The fixed "now" of every adapter test (the fixtures are dated around it).
pub const NOW: OffsetDateTime = datetime!(2026-08-22 14:05 UTC);

pub fn json(status: u16, body: &[u8]) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_vec(),
        retry_after: None,
    }
}

pub(crate) fn with_header(mut r: Response, name: &str, value: &str) -> Response {
    r.headers.push((name.to_ascii_lowercase(), value.into()));
    r
}

pub const CLOUDFLARE: &[u8] = b"<!DOCTYPE html>\n<html><head><title>Access denied | backboard.railway.com used Cloudflare to restrict access</title></head><body><h1>Access denied</h1><p>Cloudflare Ray ID: 8b1c2d3e4f5a6b7c</p></body></html>";

/// What a run looked like: every round's requests, and the card.
pub struct Run {
    pub rounds: Vec<Vec<Request>>,
    pub card: Card,
}

/// Runs an adapter to completion, answering each request with `answer`.
/// Panics (failing the test) if it does not finish within `MAX_ROUNDS`.
pub fn drive(service: &Service, answer: impl Fn(&Request) -> Response) -> Run {
    let ctx = Context { service, now: NOW };
    let mut done: Vec<Exchange> = Vec::new();
    let mut rounds = Vec::new();
    loop {
        match super::plan(&ctx, &done) {
            Step::Done(card) => {
                assert_eq!(card.dashboard_url, Some(service.dashboard_url()));
                assert_eq!(card.updated_at, Some(NOW));
                assert!(!card.summary.trim().is_empty(), "empty summary");
                assert_eq!(
                    card.reason.is_some(),
                    card.status == crate::model::Status::Unknown,
                    "reason must be set exactly when unknown: {card:?}"
                );
                return Run { rounds, card };
            }
            Step::Fetch(reqs) => {
                assert!(!reqs.is_empty(), "an empty fetch would never finish");
                assert!(rounds.len() < MAX_ROUNDS, "more than MAX_ROUNDS rounds");
                for r in &reqs {
                    let mut response = answer(r);
                    // As the HTTP layer does on arrival (against this run's clock).
                    if response.retry_after.is_none() {
                        response.retry_after = super::http::rate_limit_wait(&response, NOW);
                    }
                    done.push(Exchange {
                        request: r.clone(),
                        response,
                    });
                }
                rounds.push(reqs);
            }
        }
    }
}

impl Run {
    /// The value of the metric with this label (fails the test if absent).
    pub fn metric(&self, label: &str) -> &str {
        self.card
            .metrics
            .iter()
            .find(|m| m.label == label)
            .map(|m| m.value.as_str())
            .unwrap_or_else(|| panic!("no metric `{label}` in {:?}", self.card.metrics))
    }

    /// The value of the detail with this label, if there is one.
    pub fn find_detail(&self, label: &str) -> Option<&str> {
        self.card
            .details
            .iter()
            .find(|m| m.label == label)
            .map(|m| m.value.as_str())
    }

    /// The value of the detail with this label (fails the test if absent).
    pub fn detail(&self, label: &str) -> &str {
        self.find_detail(label)
            .unwrap_or_else(|| panic!("no detail `{label}` in {:?}", self.card.details))
    }

    pub(crate) fn reason_kind(&self) -> Option<crate::model::ReasonKind> {
        self.card.reason.as_ref().map(|r| r.kind)
    }

    pub(crate) fn reason_text(&self) -> &str {
        self.card
            .reason
            .as_ref()
            .map(|r| r.message.as_str())
            .unwrap_or("")
    }
}

/// A query parameter of a request URL, decoded.
pub fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

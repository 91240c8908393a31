//! Hostile answers per provider, table-driven through the loopback sim and the real HTTP layer: each bad body or header makes that card `unknown` with the right reason kind while a healthy service checked at the same time keeps its card.
//!
//! The cases already covered elsewhere are not repeated here: HTML (the
//! Cloudflare page), plain text and empty 200 bodies are
//! `providers_http::html_plain_text_and_empty_bodies_per_provider`, a silent
//! server is `providers_http::a_server_that_never_answers_times_out_for_every_provider`,
//! redirects to another port are `providers_http::a_redirect_to_another_port_does_not_carry_the_token`.
//! Every row here runs against every provider of `Provider::ALL`; [`ROWS`] × 4 is the count
//! the README's Reliability section quotes.

use std::time::Duration;

use overwatch::model::{ReasonKind, Status, Target};
use overwatch::providers::http::{Http, HttpOptions, DEFAULT_RETRY_AFTER};
use overwatch::providers::PollResult;
use overwatch::sim::{self, Canned, SimConfig};
use serde_json::Value;

use crate::support::*;

// ---- each provider's healthy answers, route by route ------------------------

/// One route of a provider's healthy check: how to answer it, and its good body.
struct Route {
    make: fn(u16, Vec<u8>) -> Canned,
    good: Vec<u8>,
}

/// The routes that make each provider's check healthy.
fn healthy_routes(target: &Target) -> Vec<Route> {
    let r = |make: fn(u16, Vec<u8>) -> Canned, path: &str| Route {
        make,
        good: fixture(path),
    };
    match target {
        Target::Railway(_) => vec![r(railway_project, "railway/project_overview_healthy.json")],
        Target::Plausible(_) => vec![
            r(plausible_aggregate, "plausible/v1_aggregate_healthy.json"),
            r(plausible_realtime, "plausible/v1_realtime_visitors.json"),
        ],
        Target::Netlify(_) => vec![
            r(netlify_site, "netlify/site_healthy.json"),
            r(netlify_deploys, "netlify/deploys_healthy.json"),
        ],
        Target::Sentry(_) => vec![
            r(sentry_details, "sentry/project_details.json"),
            r(sentry_issues, "sentry/org_issues_empty.json"),
            r(sentry_stats, "sentry/stats_v2_errors_healthy.json"),
        ],
    }
}

// ---- JSON mutations -----------------------------------------------------------

/// Applies `f` to every leaf (non-container) value, keeping the structure.
fn map_leaves(v: &mut Value, f: &dyn Fn(&mut Value)) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| map_leaves(x, f)),
        Value::Object(o) => o.values_mut().for_each(|x| map_leaves(x, f)),
        leaf => f(leaf),
    }
}

fn mutate_json(body: &[u8], f: &dyn Fn(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).expect("fixtures are JSON");
    map_leaves(&mut v, f);
    serde_json::to_vec(&v).unwrap()
}

fn numbers_as_strings(body: &[u8]) -> Vec<u8> {
    mutate_json(body, &|v| {
        if let Value::Number(n) = v {
            *v = Value::String(n.to_string());
        }
    })
}

fn strings_as_numbers(body: &[u8]) -> Vec<u8> {
    mutate_json(body, &|v| {
        if v.is_string() {
            *v = Value::from(7);
        }
    })
}

fn all_null(body: &[u8]) -> Vec<u8> {
    mutate_json(body, &|v| *v = Value::Null)
}

/// The enum values the four APIs send (Railway's upper-case states,
/// Netlify's deploy states, Sentry's statuses, levels and outcomes).
const ENUMS: &[&str] = &[
    "ready",
    "error",
    "building",
    "new",
    "enqueued",
    "processing",
    "uploading",
    "active",
    "unresolved",
    "resolved",
    "ignored",
    "fatal",
    "warning",
    "info",
    "debug",
    "ongoing",
    "regressed",
    "escalating",
    "accepted",
    "filtered",
    "rate_limited",
    "invalid",
];

/// Every enum value becomes one no adapter knows; names and ids stay.
fn unknown_enums(body: &[u8]) -> Vec<u8> {
    mutate_json(body, &|v| {
        if let Value::String(s) = v {
            let upper = s.len() >= 3 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            if upper || ENUMS.contains(&s.as_str()) {
                *v = Value::String("QUANTUM_FLUX".into());
            }
        }
    })
}

/// Every number becomes one no integer type holds.
fn huge_numbers(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(mutate_json(body, &|v| {
        if v.is_number() {
            *v = Value::String("@HUGE@".into());
        }
    }))
    .unwrap();
    text.replace("\"@HUGE@\"", "1e400").into_bytes()
}

/// An invalid UTF-8 byte inside the first string value.
fn invalid_utf8(body: &[u8]) -> Vec<u8> {
    // The first `:` followed (after spaces) by a string's opening quote.
    let at = (0..body.len()).filter(|&i| body[i] == b':').find_map(|i| {
        let q = i
            + 1
            + body[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        (body.get(q) == Some(&b'"')).then_some(q + 1)
    });
    // A body without strings (Plausible's realtime count) becomes one.
    let Some(at) = at else {
        return b"\"\xff\xfe\"".to_vec();
    };
    let mut out = body[..at].to_vec();
    out.extend_from_slice(&[0xff, 0xfe]);
    out.extend_from_slice(&body[at..]);
    out
}

fn deeply_nested(_: &[u8]) -> Vec<u8> {
    let depth = 100_000;
    let mut out = "{\"data\":".repeat(depth).into_bytes();
    out.extend_from_slice(b"1");
    out.extend(std::iter::repeat_n(b'}', depth));
    out
}

/// A gzip stream of 64 MiB of zeros (about 64 KiB on the wire).
fn gzip_bomb() -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        z.write_all(&zeros).unwrap();
    }
    z.finish().unwrap()
}

// ---- the table ----------------------------------------------------------------

/// What a row expects of the bad service's card.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// `unknown`, with this reason kind.
    Unknown(ReasonKind),
    /// The oddity is ignored and the card is read as usual.
    Healthy,
    /// Read leniently (the card the good answer gives: healthy) or refused as
    /// a bad response — never another colour, never another reason (a
    /// malformed answer is not a wrong setting or a rejected key).
    Lenient,
}

/// One bad input: the body each route gets (from its good body), extra
/// headers, the status, the client's body cap, and the expected card.
struct Row {
    name: &'static str,
    status: u16,
    body: fn(&[u8]) -> Vec<u8>,
    headers: &'static [(&'static str, &'static str)],
    expect: Expect,
}

const JSON_ERROR: Expect = Expect::Unknown(ReasonKind::BadResponse);

/// The rows; each is run for every provider.
const ROWS: &[Row] = &[
    Row {
        name: "truncated JSON",
        status: 200,
        // Half the answer; a bare number cut in half ("23" → "2") is still
        // JSON, so such an answer is cut as if inside an enclosing array.
        body: |b| {
            let half = b[..b.len() / 2].to_vec();
            if serde_json::from_slice::<Value>(&half).is_ok() {
                [b"[".as_slice(), b].concat()
            } else {
                half
            }
        },
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "JSON of the wrong shape: an array",
        status: 200,
        body: |_| b"[1, 2, 3]".to_vec(),
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "JSON of the wrong shape: an unrelated object",
        status: 200,
        body: |_| b"{\"hello\": \"world\", \"items\": {}}".to_vec(),
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "JSON of the wrong shape: a bare string",
        status: 200,
        body: |_| b"\"ok\"".to_vec(),
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "JSON null",
        status: 200,
        body: |_| b"null".to_vec(),
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "deeply nested JSON (100,000 levels)",
        status: 200,
        body: deeply_nested,
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "invalid UTF-8 inside a string",
        status: 200,
        body: invalid_utf8,
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "a UTF-8 byte-order mark before the JSON",
        status: 200,
        body: |b| [b"\xef\xbb\xbf".as_slice(), b].concat(),
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "binary garbage",
        status: 200,
        body: |_| (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        headers: &[("content-type", "application/octet-stream")],
        expect: JSON_ERROR,
    },
    Row {
        name: "a gzip bomb (Content-Encoding: gzip, 64 MiB of zeros)",
        status: 200,
        body: |_| gzip_bomb(),
        headers: &[("content-encoding", "gzip")],
        expect: JSON_ERROR,
    },
    Row {
        name: "numbers as strings",
        status: 200,
        body: numbers_as_strings,
        headers: &[],
        expect: Expect::Lenient,
    },
    Row {
        name: "strings as numbers",
        status: 200,
        body: strings_as_numbers,
        headers: &[],
        expect: Expect::Lenient,
    },
    Row {
        name: "numbers too large for any integer (1e400)",
        status: 200,
        body: huge_numbers,
        headers: &[],
        expect: Expect::Lenient,
    },
    Row {
        name: "every field null",
        status: 200,
        body: all_null,
        headers: &[],
        expect: Expect::Lenient,
    },
    Row {
        name: "unknown enum values",
        status: 200,
        body: unknown_enums,
        headers: &[],
        expect: Expect::Lenient,
    },
    Row {
        name: "GraphQL-style errors and no data",
        status: 200,
        body: |_| b"{\"errors\":[{\"message\":\"Internal server hiccup\"}]}".to_vec(),
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "a Link header pointing at another host",
        status: 200,
        body: |b| b.to_vec(),
        headers: &[(
            "link",
            "<http://127.0.0.2:9/steal?page=2>; rel=\"next\", <https://evil.invalid/x>; rel=\"last\"",
        )],
        expect: Expect::Healthy,
    },
    Row {
        name: "HTTP 204 No Content",
        status: 204,
        body: |_| Vec::new(),
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "HTTP 418 with a JSON body",
        status: 418,
        body: |_| b"{\"message\":\"I'm a teapot\"}".to_vec(),
        headers: &[],
        expect: JSON_ERROR,
    },
    Row {
        name: "HTTP 503 with an HTML page",
        status: 503,
        body: |_| b"<html><body>Service Unavailable</body></html>".to_vec(),
        headers: &[("content-type", "text/html")],
        expect: Expect::Unknown(ReasonKind::Unreachable),
    },
    Row {
        name: "HTTP 429 with a reset in the past",
        status: 429,
        body: |_| b"{}".to_vec(),
        headers: &[
            ("retry-after", "Thu, 01 Jan 1970 00:00:10 GMT"),
            ("x-ratelimit-reset", "1000000000"),
        ],
        expect: Expect::Unknown(ReasonKind::RateLimited),
    },
    Row {
        name: "HTTP 429 with a reset in 10 years",
        status: 429,
        body: |_| b"{}".to_vec(),
        headers: &[
            ("retry-after", "315360000"),
            ("x-sentry-rate-limit-reset", "2100000000"),
        ],
        expect: Expect::Unknown(ReasonKind::RateLimited),
    },
    Row {
        name: "HTTP 429 with negative reset values",
        status: 429,
        body: |_| b"{}".to_vec(),
        headers: &[("retry-after", "-30"), ("x-ratelimit-reset", "-1")],
        expect: Expect::Unknown(ReasonKind::RateLimited),
    },
    Row {
        name: "HTTP 429 with non-numeric reset values",
        status: 429,
        body: |_| b"{}".to_vec(),
        headers: &[
            ("retry-after", "soon-ish"),
            ("x-ratelimit-reset", "NaN"),
            ("x-sentry-rate-limit-reset", "1e999"),
        ],
        expect: Expect::Unknown(ReasonKind::RateLimited),
    },
];

/// Whether `row` changes anything on route `only` of `target` (a mutation of
/// an empty list is no bad input at all, and is not counted).
fn changes_something(target: &Target, row: &Row, only: usize) -> bool {
    let r = &healthy_routes(target)[only];
    row.status != 200 || !row.headers.is_empty() || row.make_body(&r.good) != r.good
}

/// Serves `row` on every route of `target` (or on route `only`), checks it
/// and, at the same time and through the same client, a healthy service of
/// the same provider on another sim.
async fn run_row(
    http: &Http,
    target: &Target,
    row: &Row,
    only: Option<usize>,
) -> (PollResult, PollResult) {
    let routes = healthy_routes(target);
    let mut bad = SimConfig::default();
    let mut good = SimConfig::default();
    for (i, r) in routes.iter().enumerate() {
        good = good.with_canned((r.make)(200, r.good.clone()));
        let mut c = if only.is_none_or(|o| o == i) {
            (row.make_body(&r.good), row.status)
        } else {
            (r.good.clone(), 200)
        };
        let mut canned = (r.make)(c.1, std::mem::take(&mut c.0));
        if only.is_none_or(|o| o == i) {
            for (k, v) in row.headers {
                canned = canned.header(k, v);
            }
        }
        bad = bad.with_canned(canned);
    }
    let bad_sim = sim::start(bad).await.unwrap();
    let good_sim = sim::start(good).await.unwrap();
    let bad_svc = service(target.clone(), &bad_sim.base_url());
    let good_svc = service(target.clone(), &good_sim.base_url());
    let store = store();
    let (b, g) = tokio::join!(
        http.check(&bad_svc, &store, NOW),
        http.check(&good_svc, &store, NOW)
    );
    (b, g)
}

impl Row {
    fn make_body(&self, good: &[u8]) -> Vec<u8> {
        (self.body)(good)
    }
}

fn describe(r: &PollResult) -> String {
    format!(
        "{:?} {:?}: {} | {:?}",
        r.card.status,
        r.card.reason.as_ref().map(|r| r.kind),
        r.card
            .reason
            .as_ref()
            .map(|r| r.message.as_str())
            .unwrap_or(&r.card.summary),
        r.card.metrics
    )
}

fn check_row(target: &Target, row: &Row, bad: &PollResult, good: &PollResult) -> Vec<String> {
    let mut failures = Vec::new();
    let provider = target.provider();
    let mut fail = |what: String| failures.push(format!("{provider} / {}: {what}", row.name));
    if good.card.status != Status::Healthy {
        fail(format!(
            "the healthy neighbour lost its card: {}",
            describe(good)
        ));
    }
    match row.expect {
        Expect::Unknown(kind) => {
            let got = bad.card.reason.as_ref().map(|r| r.kind);
            if bad.card.status != Status::Unknown || got != Some(kind) {
                fail(format!("expected unknown/{kind:?}, got {}", describe(bad)));
            }
            let msg = bad.card.reason.as_ref().map(|r| r.message.as_str());
            if msg.is_none_or(|m| m.trim().len() < 10) {
                fail(format!("the reason says too little: {}", describe(bad)));
            }
        }
        Expect::Healthy => {
            if bad.card.status != Status::Healthy {
                fail(format!("expected healthy, got {}", describe(bad)));
            }
        }
        Expect::Lenient => {
            let ok = bad.card.status == Status::Healthy || kind_is(bad, ReasonKind::BadResponse);
            if !ok {
                fail(format!(
                    "expected healthy or unknown/BadResponse, got {}",
                    describe(bad)
                ));
            }
        }
    }
    if kind_is(bad, ReasonKind::RateLimited) && bad.retry_after != Some(DEFAULT_RETRY_AFTER) {
        fail(format!(
            "an absurd rate-limit header must fall back to the default wait, got {:?}",
            bad.retry_after
        ));
    }
    if format!("{bad:?}").contains(sim::DEFAULT_TOKEN) {
        fail("the token leaked into the card".into());
    }
    failures
}

fn kind_is(r: &PollResult, kind: ReasonKind) -> bool {
    r.card.reason.as_ref().map(|r| r.kind) == Some(kind)
}

fn http() -> Http {
    Http::new(HttpOptions {
        // Short, so a row that hangs fails quickly instead of stalling the table.
        total_timeout: Duration::from_secs(5),
        ..HttpOptions::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_answer_makes_only_its_own_card_unknown_for_every_provider() {
    let http = http();
    let mut failures = Vec::new();
    let mut tried = 0;
    for target in targets() {
        for row in ROWS {
            let (bad, good) = run_row(&http, &target, row, None).await;
            tried += 1;
            failures.extend(check_row(&target, row, &bad, &good));
        }
    }
    assert_eq!(tried, ROWS.len() * 4);
    assert!(
        failures.is_empty(),
        "{} of {tried} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same rows served on one route at a time (the others stay good), for
/// the providers that make more than one request: a bad second answer must
/// not be hidden by a good first one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_answer_on_any_one_route_still_makes_the_card_unknown() {
    let http = http();
    let mut failures = Vec::new();
    let mut tried = 0;
    for target in targets() {
        let n = healthy_routes(&target).len();
        if n < 2 {
            continue;
        }
        for i in 0..n {
            for row in ROWS.iter().filter(|r| r.expect != Expect::Healthy) {
                if !changes_something(&target, row, i) {
                    continue;
                }
                tried += 1;
                let (bad, good) = run_row(&http, &target, row, Some(i)).await;
                failures.extend(
                    check_row(&target, row, &bad, &good)
                        .into_iter()
                        .map(|f| format!("route {i}: {f}")),
                );
            }
        }
    }
    // Plausible 2 routes, Netlify 2, Sentry 3; each with the rows that
    // change that route's answer.
    eprintln!("{tried} single-route cases");
    assert!(tried > ROWS.len() * 5, "only {tried} cases ran");
    assert!(
        failures.is_empty(),
        "{} of {tried} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_for_every_provider() {
    // providers_http covers Netlify's deploy list; here every provider's
    // first answer is over a small cap, declared (Content-Length) or not.
    let small = Http::new(HttpOptions {
        max_body: 1024,
        ..HttpOptions::default()
    })
    .unwrap();
    for target in targets() {
        let row = Row {
            name: "a body larger than the cap",
            status: 200,
            body: |b| {
                let mut big = vec![b' '; 4096];
                big.extend_from_slice(b);
                big
            },
            headers: &[],
            expect: JSON_ERROR,
        };
        // The neighbour shares the small cap, so only the bad card is judged.
        let (bad, _) = run_row(&small, &target, &row, Some(0)).await;
        assert_eq!(bad.card.status, Status::Unknown, "{}", describe(&bad));
        let reason = bad.card.reason.as_ref().unwrap();
        assert_eq!(reason.kind, ReasonKind::BadResponse);
        assert_eq!(reason.message, "response larger than 1 KiB", "{target:?}");
    }
}

#[tokio::test]
async fn a_link_header_elsewhere_is_never_followed() {
    // The rows above serve a Link to 127.0.0.2:9 (nothing listens) and to
    // an .invalid host; here the other end is a live sim, so a request to it
    // would be seen.
    let elsewhere = sim::start(SimConfig::default()).await.unwrap();
    let link = format!("<{}api/next?page=2>; rel=\"next\"", elsewhere.base_url());
    for target in targets() {
        let mut cfg = SimConfig::default();
        for r in healthy_routes(&target) {
            cfg = cfg.with_canned((r.make)(200, r.good).header("link", &link));
        }
        let sim = sim::start(cfg).await.unwrap();
        let svc = service(target.clone(), &sim.base_url());
        let r = http().check(&svc, &store(), NOW).await;
        assert_eq!(r.card.status, Status::Healthy, "{}", describe(&r));
    }
    assert!(
        elsewhere.requests().is_empty(),
        "a Link header was followed: {:?}",
        elsewhere.requests()
    );
}

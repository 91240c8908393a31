//! Property tests: every provider's pure interpreter (`plan`) and the config parser and editor, fed arbitrary and near-valid input, never panic and always end in a well-formed result.
//!
//! Case counts are fixed ([`CASES`] per property, fewer for the editor,
//! which writes files) so CI time stays bounded; `PROPTEST_CASES` raises them
//! for a longer local run. Failures are not persisted to disk (no
//! `proptest-regressions/` files): proptest prints the shrunk input instead.

use std::path::Path;

use overwatch::config::{self, Editor};
use overwatch::model::{
    Card, NetlifyTarget, PlausibleTarget, Provider, RailwayTarget, SentryTarget, Service, Status,
    Target, TokenKind,
};
use overwatch::providers::{plan, Context, Exchange, Response, Step, MAX_ROUNDS};
use overwatch::secrets::KeyRef;
use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;
use serde_json::Value;
use time::macros::datetime;
use time::OffsetDateTime;
use url::Url;

/// Cases per property: 256 for the adapter property (each case runs every
/// provider) + 3 config properties.
const CASES: u32 = 256;
const NOW: OffsetDateTime = datetime!(2026-08-22 14:05 UTC);

fn pt(cases: u32) -> PtConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    }
}

fn fixture(path: &str) -> Value {
    serde_json::from_slice(&crate::support::fixture(path)).unwrap()
}

/// The real answers each request tag gets, to mutate from.
fn fixtures_for(provider: Provider, tag: &str) -> Vec<Value> {
    let names: &[&str] = match (provider, tag) {
        (Provider::Railway, "project") => &[
            "railway/project_overview_healthy.json",
            "railway/project_overview_degraded.json",
            "railway/project_overview_down.json",
            "railway/project_overview_in_progress.json",
            "railway/error_not_authorized_200.json",
        ],
        (Provider::Railway, "identity") => &["railway/project_token_identity.json"],
        (Provider::Railway, _) => &["railway/environment_instances_project_token.json"],
        (Provider::Plausible, "realtime") => &[
            "plausible/v1_realtime_visitors.json",
            "plausible/v1_realtime_visitors_zero.json",
        ],
        (Provider::Plausible, _) => &[
            "plausible/v1_aggregate_healthy.json",
            "plausible/v1_aggregate_zero_traffic.json",
            "plausible/v1_aggregate_compare_with_warning.json",
        ],
        (Provider::Netlify, "site") => &["netlify/site_healthy.json"],
        (Provider::Netlify, _) => &[
            "netlify/deploys_healthy.json",
            "netlify/deploys_failed_production.json",
            "netlify/deploys_in_progress.json",
            "netlify/deploys_empty.json",
        ],
        (Provider::Sentry, "project") => &["sentry/project_details.json"],
        (Provider::Sentry, "issues") => &[
            "sentry/org_issues_unresolved.json",
            "sentry/org_issues_empty.json",
        ],
        (Provider::Sentry, "stats") => &[
            "sentry/stats_v2_errors_healthy.json",
            "sentry/stats_v2_empty_groups.json",
        ],
        (Provider::Sentry, _) => &["sentry/organizations_list.json"],
    };
    names.iter().map(|n| fixture(n)).collect()
}

// ---- strategies ---------------------------------------------------------------

/// Keys and strings the four APIs use, so random JSON often lands on a real
/// field with a wrong value rather than only on unknown fields.
const KEYS: &[&str] = &[
    "data",
    "errors",
    "message",
    "project",
    "projectToken",
    "environment",
    "environments",
    "edges",
    "node",
    "name",
    "id",
    "services",
    "serviceInstances",
    "deployments",
    "latestDeployment",
    "status",
    "canAccess",
    "createdAt",
    "results",
    "visitors",
    "pageviews",
    "value",
    "change",
    "comparison_value",
    "warning",
    "state",
    "published_deploy",
    "published_at",
    "created_at",
    "updated_at",
    "error_message",
    "context",
    "branch",
    "level",
    "count",
    "userCount",
    "firstSeen",
    "lastSeen",
    "substatus",
    "groups",
    "totals",
    "sum(quantity)",
    "intervals",
    "by",
    "outcome",
    "slug",
    "title",
    "region",
    "links",
];

const WORDS: &[&str] = &[
    "",
    "SUCCESS",
    "CRASHED",
    "FAILED",
    "SLEEPING",
    "BUILDING",
    "REMOVED",
    "ready",
    "error",
    "building",
    "fatal",
    "warning",
    "new",
    "regressed",
    "escalating",
    "accepted",
    "rate_limited",
    "production",
    "2026-08-22T14:00:00Z",
    "2026-08-22T14:00:00.000000Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "not a date",
    "-1",
    "NaN",
    "\u{0}",
    "é\u{202e}x",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        "[a-zA-Z0-9_ .:-]{0,16}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        3 => prop::sample::select(KEYS).prop_map(String::from),
                        1 => "[a-z]{1,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// One edit to a JSON document, aimed by `at` at one of its nodes.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Delete(usize),
    /// Number ↔ string, bool → string, string → number.
    SwapType(usize),
    /// Inserts a key into the nearest object.
    Insert(usize, String, Value),
    /// Repeats an array element (or wraps a value in an array).
    Duplicate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<usize>(), json_value()).prop_map(|(a, v)| Mutation::Replace(a, v)),
        1 => any::<usize>().prop_map(Mutation::Delete),
        3 => any::<usize>().prop_map(Mutation::SwapType),
        1 => (
            any::<usize>(),
            prop::sample::select(KEYS).prop_map(String::from),
            json_value()
        )
            .prop_map(|(a, k, v)| Mutation::Insert(a, k, v)),
        1 => any::<usize>().prop_map(Mutation::Duplicate),
    ]
}

/// JSON pointers of every node, root first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => {
            out.push(at.clone());
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            out.push(at.clone());
            for (k, x) in o {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        _ => out.push(at),
    }
}

fn apply(doc: &mut Value, m: &Mutation) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pick = |i: usize| all[i % all.len()].clone();
    match m {
        Mutation::Replace(i, v) => {
            if let Some(node) = doc.pointer_mut(&pick(*i)) {
                *node = v.clone();
            }
        }
        Mutation::SwapType(i) => {
            if let Some(node) = doc.pointer_mut(&pick(*i)) {
                *node = match node.take() {
                    Value::Number(n) => Value::String(n.to_string()),
                    Value::String(s) => s
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .unwrap_or(Value::from(s.len())),
                    Value::Bool(b) => Value::String(b.to_string()),
                    Value::Null => Value::from(0),
                    Value::Array(_) => Value::Object(Default::default()),
                    Value::Object(_) => Value::Array(Vec::new()),
                };
            }
        }
        Mutation::Delete(i) => {
            let p = pick(*i);
            let Some((parent, last)) = p.rsplit_once('/') else {
                *doc = Value::Null;
                return;
            };
            let last = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent) {
                Some(Value::Object(o)) => {
                    o.remove(&last);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
        Mutation::Insert(i, k, v) => {
            let mut p = pick(*i);
            loop {
                if let Some(Value::Object(o)) = doc.pointer_mut(&p) {
                    o.insert(k.clone(), v.clone());
                    return;
                }
                match p.rsplit_once('/') {
                    Some((parent, _)) => p = parent.to_string(),
                    None => return,
                }
            }
        }
        Mutation::Duplicate(i) => {
            if let Some(node) = doc.pointer_mut(&pick(*i)) {
                match node {
                    Value::Array(a) if !a.is_empty() => {
                        let first = a[0].clone();
                        a.push(first);
                    }
                    other => *other = Value::Array(vec![other.clone(), other.clone()]),
                }
            }
        }
    }
}

/// How one answer's body is made.
#[derive(Debug, Clone)]
enum Body {
    /// One of the request's real fixtures (by index) with some edits.
    Mutated(usize, Vec<Mutation>),
    /// Random JSON.
    Json(Value),
    /// Random bytes.
    Bytes(Vec<u8>),
    /// A real fixture cut short.
    Truncated(usize, usize),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        6 => (any::<usize>(), prop::collection::vec(mutation(), 1..5))
            .prop_map(|(f, m)| Body::Mutated(f, m)),
        2 => json_value().prop_map(Body::Json),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Body::Bytes),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(f, at)| Body::Truncated(f, at)),
    ]
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

fn answer() -> impl Strategy<Value = Answer> {
    let status = prop_oneof![
        8 => Just(200u16),
        3 => prop::sample::select(vec![
            201u16, 204, 301, 302, 400, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503,
        ]),
        1 => 0u16..1000,
    ];
    let header = (
        prop::sample::select(vec![
            "retry-after",
            "x-ratelimit-reset",
            "x-sentry-rate-limit-reset",
            "x-ratelimit-remaining",
            "link",
            "content-type",
            "content-encoding",
        ]),
        prop_oneof![
            "[0-9]{0,12}",
            "-[0-9]{1,4}",
            ".{0,24}",
            Just("text/html; charset=utf-8".to_string()),
        ],
    )
        .prop_map(|(k, v)| (k.to_string(), v));
    (status, prop::collection::vec(header, 0..3), body()).prop_map(|(status, headers, body)| {
        Answer {
            status,
            headers,
            body,
        }
    })
}

fn render(provider: Provider, tag: &str, a: &Answer) -> Response {
    let fixtures = fixtures_for(provider, tag);
    let body = match &a.body {
        Body::Mutated(f, muts) => {
            let mut doc = fixtures[f % fixtures.len()].clone();
            for m in muts {
                apply(&mut doc, m);
            }
            serde_json::to_vec(&doc).unwrap()
        }
        Body::Json(v) => serde_json::to_vec(v).unwrap(),
        Body::Bytes(b) => b.clone(),
        Body::Truncated(f, at) => {
            let full = serde_json::to_vec(&fixtures[f % fixtures.len()]).unwrap();
            full[..at % full.len().max(1)].to_vec()
        }
    };
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(a.headers.iter().cloned());
    Response {
        status: a.status,
        headers,
        body,
        retry_after: None,
    }
}

/// Services that take each adapter down its different paths.
fn services(provider: Provider) -> Vec<Service> {
    let key = Some(KeyRef::Keychain("prop-key".into()));
    let svc = |t: Target| Service::example("Props", "svc", t, key.clone());
    match provider {
        Provider::Railway => vec![
            svc(Target::Railway(RailwayTarget {
                project: "p1".into(),
                environment: "production".into(),
                token_kind: TokenKind::Account,
            })),
            svc(Target::Railway(RailwayTarget {
                project: "p1".into(),
                environment: "*".into(),
                token_kind: TokenKind::Account,
            })),
            svc(Target::Railway(RailwayTarget {
                project: "p1".into(),
                environment: "production".into(),
                token_kind: TokenKind::Project,
            })),
        ],
        Provider::Plausible => vec![svc(Target::Plausible(PlausibleTarget {
            site: "example.com".into(),
        }))],
        Provider::Netlify => vec![svc(Target::Netlify(NetlifyTarget {
            site: "acme.netlify.app".into(),
        }))],
        Provider::Sentry => {
            let saas = svc(Target::Sentry(SentryTarget {
                org: "acme".into(),
                project: "shop".into(),
            }));
            let mut hosted = saas.clone();
            hosted.base_url = Some(Url::parse("https://sentry.example.com/sentry/").unwrap());
            vec![saas, hosted]
        }
    }
}

/// Drives an adapter to its card, answering request `n` with `answers[n % len]`.
/// Any panic in the adapter fails the property (proptest catches it and
/// shrinks the input).
fn drive(service: &Service, answers: &[Answer]) -> Result<Card, TestCaseError> {
    let ctx = Context { service, now: NOW };
    let mut done: Vec<Exchange> = Vec::new();
    let mut n = 0usize;
    for _round in 0..=MAX_ROUNDS {
        match plan(&ctx, &done) {
            Step::Done(card) => return Ok(card),
            Step::Fetch(reqs) => {
                prop_assert!(!reqs.is_empty(), "an empty fetch never finishes");
                for r in reqs {
                    let a = &answers[n % answers.len()];
                    n += 1;
                    let response = render(service.provider(), r.tag, a);
                    done.push(Exchange {
                        request: r,
                        response,
                    });
                }
            }
        }
    }
    Err(TestCaseError::fail("more than MAX_ROUNDS request rounds"))
}

fn well_formed(card: &Card) -> Result<(), TestCaseError> {
    prop_assert!(!card.summary.trim().is_empty(), "empty summary: {card:?}");
    prop_assert_eq!(
        card.reason.is_some(),
        card.status == Status::Unknown,
        "a reason exactly when unknown: {:?}",
        card
    );
    if let Some(r) = &card.reason {
        prop_assert!(!r.message.trim().is_empty(), "empty reason: {card:?}");
    }
    for m in &card.metrics {
        prop_assert!(!m.label.is_empty(), "a metric without a label: {card:?}");
    }
    prop_assert!(card.updated_at.is_some() && card.dashboard_url.is_some());
    Ok(())
}

fn adapter_property(provider: Provider, answers: &[Answer]) -> Result<(), TestCaseError> {
    for svc in services(provider) {
        let card = drive(&svc, answers)?;
        well_formed(&card)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(pt(CASES))]

    /// Every provider of the registry, each on the same answers.
    #[test]
    fn every_adapter_never_panics_on_any_answer(answers in prop::collection::vec(answer(), 1..5)) {
        for provider in Provider::ALL {
            adapter_property(provider, &answers)
                .map_err(|e| TestCaseError::fail(format!("{provider:?}: {e}")))?;
        }
    }
}

// ---- config -------------------------------------------------------------------

/// Lines that are almost right: real keys with wrong values, real values
/// under wrong keys, broken syntax, duplicates.
const CONFIG_FRAGMENTS: &[&str] = &[
    "[[workspaces]]",
    "[[workspaces.services]]",
    "[workspaces]",
    "[workspaces.services]",
    "name = \"Acme\"",
    "name = 42",
    "name = \"\"",
    "provider = \"railway\"",
    "provider = \"railwya\"",
    "provider = [\"sentry\"]",
    "project = \"p\"",
    "site = \"example.com\"",
    "org = \"acme\"",
    "key = \"env:X\"",
    "key = \"env:\"",
    "key = \"\"",
    "mode = \"link\"",
    "refresh = \"0s\"",
    "refresh = \"-5m\"",
    "refresh = \"99999999999999999999s\"",
    "refresh = 60",
    "timeout = \"1ms\"",
    "confirm = 0",
    "confirm = 4294967296",
    "spike_down = -1",
    "traffic_drop = 1e308",
    "traffic_drop = nan",
    "base_url = \"http://10.0.0.1/\"",
    "base_url = \"not a url\"",
    "base_url = \"file:///etc/passwd\"",
    "dashboard = \"javascript:alert(1)\"",
    "unreachable_alert_after = \"1000000h\"",
    "id = \"\"",
    "enabled = \"yes\"",
    "icon_colour = \"plaid\"",
    "notifications = 1",
    "x = { a = { b = { c = 1 } } }",
    "= =",
    "\"\"\"",
    "[[",
    "key = \"env:A\" # a comment",
    "\u{feff}",
    "\u{0}",
];

fn config_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Anything at all.
        any::<String>(),
        // TOML-looking lines in any order.
        prop::collection::vec(prop::sample::select(CONFIG_FRAGMENTS), 0..30)
            .prop_map(|lines| lines.join("\n")),
    ]
}

/// The shipped example with line-level edits: lines dropped, repeated,
/// swapped, replaced by fragments, or cut inside.
fn mutated_example() -> impl Strategy<Value = String> {
    let edit = (
        0u8..5,
        any::<usize>(),
        any::<usize>(),
        prop::sample::select(CONFIG_FRAGMENTS),
    );
    prop::collection::vec(edit, 1..6).prop_map(|edits| {
        let mut lines: Vec<String> = config::EXAMPLE.lines().map(String::from).collect();
        for (op, a, b, frag) in edits {
            if lines.is_empty() {
                lines.push(frag.to_string());
                continue;
            }
            let i = a % lines.len();
            match op {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                2 => {
                    let j = b % lines.len();
                    lines.swap(i, j);
                }
                3 => lines[i] = frag.to_string(),
                _ => {
                    let l = &lines[i];
                    let cut = l.char_indices().nth(b % (l.chars().count() + 1));
                    let at = cut.map(|(c, _)| c).unwrap_or(l.len());
                    lines[i] = l[..at].to_string();
                }
            }
        }
        lines.join("\n")
    })
}

proptest! {
    #![proptest_config(pt(CASES))]

    #[test]
    fn config_parse_never_panics_on_any_text(text in config_text()) {
        match config::parse(&text, Path::new("props.toml")) {
            Ok(_) => {}
            Err(e) => {
                // Every refusal says where and what.
                let msg = e.to_string();
                prop_assert!(msg.contains("props.toml"), "{}", msg);
                for p in e.problems() {
                    prop_assert!(p.line >= 1 && p.column >= 1, "{:?}", p);
                    prop_assert!(!p.message.trim().is_empty());
                }
            }
        }
    }

    #[test]
    fn config_parse_never_panics_on_a_mutated_example(text in mutated_example()) {
        if let Err(e) = config::parse(&text, Path::new("props.toml")) {
            for p in e.problems() {
                prop_assert!(p.line >= 1 && p.line <= text.lines().count().max(1) + 1, "{:?}", p);
            }
        }
    }
}

proptest! {
    // Each case writes a file: fewer cases.
    #![proptest_config(pt(CASES / 4))]

    /// Whatever the file holds, an edit either refuses and leaves the file
    /// byte for byte as it was, or writes a file that parses again.
    #[test]
    fn an_edit_never_writes_a_file_that_does_not_parse(text in mutated_example(), name in "[A-Za-z][A-Za-z0-9 ]{0,10}") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &text).unwrap();
        let saved = Editor::open(&path).and_then(|mut ed| {
            ed.add_workspace(&name)?;
            ed.save()
        });
        let after = std::fs::read_to_string(&path).unwrap();
        match saved {
            Ok(_) => {
                prop_assert!(config::parse(&after, &path).is_ok(), "saved an invalid file:\n{}", after);
            }
            Err(_) => prop_assert_eq!(after, text, "a refused edit changed the file"),
        }
    }
}

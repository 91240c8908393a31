//! Helpers shared by the integration test binaries (`tests/it`, `tests/hardening_faults.rs`): the private-session check, fixtures, simulator routes and temporary configs.

// Each binary uses its own subset of these helpers.
#![allow(dead_code)]

use overwatch::model::{NetlifyTarget, PlausibleTarget, RailwayTarget, SentryTarget};

use std::io::Write as _;

/// Set to `1` by `scripts/session.sh` once its private session is up.
pub const SESSION_MARKER: &str = "OVERWATCH_TEST_SESSION";

fn in_session() -> bool {
    std::env::var_os(SESSION_MARKER).is_some_and(|v| v == "1")
}

/// Prints why the current test did not run, on the real stderr: the test
/// harness captures `eprintln!` of passing tests, and a skip must be seen.
fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}

/// Whether the private desktop session of `make test` is here (`needs` says
/// which part of it the test uses). Outside it the test should return at once:
/// it prints a one-line reason, and the user's own keychain and notification
/// daemon are never touched. Inside it the test runs, and fails loudly if the
/// service it needs is missing. Use: `if !support::session("dunst") { return; }`
#[must_use]
pub fn session(needs: &str) -> bool {
    if in_session() {
        return true;
    }
    skip(&format!(
        "needs the private test session ({needs}): run `make test` or `scripts/session.sh cargo test`"
    ));
    false
}

/// Whether the program `name` is on the PATH. Inside the session a missing
/// tool is a failure of the test setup (`scripts/deps.sh` installs it), so this
/// answers true there and lets the test fail; outside it, the test skips.
#[must_use]
pub fn tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()));
    if found || in_session() {
        return true;
    }
    skip(&format!("needs `{name}` (installed by scripts/deps.sh)"));
    false
}

// ---- fixtures and the simulator's routes ---------------------------------------

use std::sync::Once;

use overwatch::model::{Provider, Service, Target, TokenKind};
use overwatch::secrets::{KeyRef, NoStore};
use overwatch::sim::{self, Canned};
use time::macros::datetime;
use time::OffsetDateTime;
use url::Url;

/// The clock the fixtures are dated around (the adapters' unit tests use it too).
pub const NOW: OffsetDateTime = datetime!(2026-08-22 14:05 UTC);
pub const RAILWAY_PROJECT: &str = "3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41";
pub const NETLIFY_SITE: &str = "8c3f1d2e-5a6b-4c7d-9e0f-1a2b3c4d5e6f";
/// `id` in sentry/project_details.json.
pub const SENTRY_PROJECT_ID: &str = "4507281934056448";

/// A file of `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// `path?query`, encoded the way the adapters' URLs are (form encoding).
pub fn pq(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

pub fn railway_project(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    Canned::new("POST", "/graphql/v2", status, body).when_body_contains("query TrayProject(")
}

pub fn railway_identity(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    Canned::new("POST", "/graphql/v2", status, body).when_body_contains("query TrayProjectToken")
}

pub fn railway_environment(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    Canned::new("POST", "/graphql/v2", status, body).when_body_contains("query TrayEnvironment(")
}

pub fn plausible_aggregate_path() -> String {
    pq(
        "/api/v1/stats/aggregate",
        &[
            ("site_id", "example.com"),
            ("period", "day"),
            ("metrics", "visitors,pageviews"),
            ("compare", "previous_period"),
        ],
    )
}

pub fn plausible_aggregate(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    Canned::new("GET", &plausible_aggregate_path(), status, body)
}

pub fn plausible_realtime(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    let path = pq(
        "/api/v1/stats/realtime/visitors",
        &[("site_id", "example.com")],
    );
    Canned::new("GET", &path, status, body)
}

/// The second-round request: visitors per hour, yesterday and today (v2).
pub fn plausible_hours(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    Canned::new("POST", "/api/v2/query", status, body).when_body_contains("\"time:hour\"")
}

pub fn netlify_site(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    let path = format!("/api/v1/sites/{NETLIFY_SITE}");
    Canned::new("GET", &path, status, body)
}

pub fn netlify_deploys(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    let path = pq(
        &format!("/api/v1/sites/{NETLIFY_SITE}/deploys"),
        &[("production", "true"), ("per_page", "5")],
    );
    Canned::new("GET", &path, status, body)
}

pub fn sentry_details(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    Canned::new("GET", "/api/0/projects/acme-web/shop-api/", status, body)
}

pub fn sentry_issues(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    let path = pq(
        "/api/0/organizations/acme-web/issues/",
        &[
            ("project", SENTRY_PROJECT_ID),
            ("query", "is:unresolved"),
            ("statsPeriod", "1h"),
            ("sort", "freq"),
            ("limit", "25"),
        ],
    );
    Canned::new("GET", &path, status, body)
}

pub fn sentry_stats(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    let path = pq(
        "/api/0/organizations/acme-web/stats_v2/",
        &[
            ("field", "sum(quantity)"),
            ("category", "error"),
            ("groupBy", "outcome"),
            ("interval", "1h"),
            ("statsPeriod", "24h"),
            ("project", SENTRY_PROJECT_ID),
        ],
    );
    Canned::new("GET", &path, status, body)
}

// ---- targets and services --------------------------------------------------------

pub fn railway(kind: TokenKind, environment: &str) -> Target {
    Target::Railway(RailwayTarget {
        project: RAILWAY_PROJECT.into(),
        environment: environment.into(),
        token_kind: kind,
    })
}

pub fn plausible() -> Target {
    Target::Plausible(PlausibleTarget {
        site: "example.com".into(),
    })
}

pub fn netlify() -> Target {
    Target::Netlify(NetlifyTarget {
        site: NETLIFY_SITE.into(),
    })
}

pub fn sentry() -> Target {
    Target::Sentry(SentryTarget {
        org: "acme-web".into(),
        project: "shop-api".into(),
    })
}

/// The target of each provider that the fixtures and routes above answer.
/// The match has no wildcard: a new provider does not compile until it has one.
pub fn target(provider: Provider) -> Target {
    match provider {
        Provider::Railway => railway(TokenKind::Account, "production"),
        Provider::Plausible => plausible(),
        Provider::Netlify => netlify(),
        Provider::Sentry => sentry(),
    }
}

/// One target per provider in `Provider::ALL`, so tests that mean "every
/// provider" cannot silently skip a new one.
pub fn targets() -> Vec<Target> {
    Provider::ALL.into_iter().map(target).collect()
}

/// The env variable every test service's key points at; it holds the sim's token.
pub const KEY_VAR: &str = "OVERWATCH_TEST_KEY";

/// A service of `target` whose API root is `base` and whose key is `env:KEY_VAR`.
pub fn service(target: Target, base: &Url) -> Service {
    service_named("Acme", "watched", target, base)
}

pub fn service_named(workspace: &str, name: &str, target: Target, base: &Url) -> Service {
    static KEY: Once = Once::new();
    KEY.call_once(|| std::env::set_var(KEY_VAR, sim::DEFAULT_TOKEN));
    let mut s = Service::example(workspace, name, target, Some(KeyRef::Env(KEY_VAR.into())));
    s.base_url = Some(base.clone());
    s
}

/// A secret store for services whose keys are all `env:` references.
pub fn store() -> NoStore {
    NoStore {
        why: "env keys only".into(),
    }
}

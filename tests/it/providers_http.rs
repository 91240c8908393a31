//! Every shared API fixture served verbatim by the loopback sim and read through the real HTTP layer and each provider's adapter: card status, reason kind, metrics, auth headers, rate-limit waits, odd bodies, timeouts and redirects.
//!
//! Canned routes match the exact method, path and query each adapter sends,
//! so a request the adapter changes stops matching (and [`poll`] fails: every
//! request must have been answered by a fixture). Canned routes bypass the
//! sim's own auth check, so [`poll`] asserts on what the sim received that each
//! request carried the header its provider expects. The generic transport
//! cases (chunked bodies over the cap, TLS, refused connections, header
//! parsing) live in `http_layer`; this module covers them per provider,
//! through `Http::check`.

use std::time::{Duration, Instant};

use overwatch::model::{
    BodyKind, Card, RailwayTarget, ReasonKind, Service, Status, Target, TokenKind,
};
use overwatch::providers::http::{Http, HttpOptions, DEFAULT_RETRY_AFTER};
use overwatch::providers::PollResult;
use overwatch::sim::{self, Canned, Scenario, SeenRequest, SimConfig, TargetKey};
use time::macros::datetime;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use url::Url;

/// A page like the one Cloudflare shows blocked clients.
const CLOUDFLARE: &[u8] = b"<!DOCTYPE html>\n<html lang=\"en-US\"><head><title>Access denied | backboard.railway.com used Cloudflare to restrict access</title></head><body><h1>Access denied</h1><p>Cloudflare Ray ID: 8b1c2d3e4f5a6b7c</p></body></html>";

// The routes each adapter requests, its targets and services: tests/support.
use crate::support::*;

fn account() -> Target {
    railway(TokenKind::Account, "production")
}

fn http() -> Http {
    Http::new(HttpOptions::default()).unwrap()
}

/// One check's result and what the server received.
struct Polled {
    result: PollResult,
    seen: Vec<SeenRequest>,
}

impl Polled {
    fn card(&self) -> &Card {
        &self.result.card
    }

    fn status(&self) -> Status {
        self.result.card.status
    }

    fn kind(&self) -> Option<ReasonKind> {
        self.result.card.reason.as_ref().map(|r| r.kind)
    }

    fn reason(&self) -> &str {
        self.result
            .card
            .reason
            .as_ref()
            .map(|r| r.message.as_str())
            .unwrap_or("")
    }

    fn summary(&self) -> &str {
        &self.result.card.summary
    }

    /// The value of the metric with this label (fails the test if absent).
    fn metric(&self, label: &str) -> &str {
        self.result
            .card
            .metrics
            .iter()
            .find(|m| m.label == label)
            .map(|m| m.value.as_str())
            .unwrap_or_else(|| panic!("no metric `{label}` in {:?}", self.result.card.metrics))
    }

    /// The value of the detail with this label, if there is one.
    fn find_detail(&self, label: &str) -> Option<&str> {
        self.result
            .card
            .details
            .iter()
            .find(|m| m.label == label)
            .map(|m| m.value.as_str())
    }

    /// The value of the detail with this label (fails the test if absent).
    fn detail(&self, label: &str) -> &str {
        self.find_detail(label)
            .unwrap_or_else(|| panic!("no detail `{label}` in {:?}", self.result.card.details))
    }

    /// Asserts the card is unknown for this reason kind.
    fn assert_unknown(&self, kind: ReasonKind) {
        assert_eq!(self.status(), Status::Unknown, "{:?}", self.card());
        assert_eq!(self.kind(), Some(kind), "{}", self.reason());
    }
}

/// Whether a canned route answers this request (the sim's own rule).
fn served_by(c: &Canned, r: &SeenRequest) -> bool {
    let (path, query) = match c.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (c.path.as_str(), None),
    };
    c.method == r.method
        && path == r.path
        && query.is_none_or(|q| Some(q) == r.query.as_deref())
        && c.body_contains
            .as_ref()
            .is_none_or(|t| String::from_utf8_lossy(&r.body).contains(t.as_str()))
}

/// Asserts each request carried the token the way its provider wants it,
/// and nowhere else.
fn assert_auth(target: &Target, seen: &[SeenRequest]) {
    let project_token = matches!(
        target,
        Target::Railway(RailwayTarget {
            token_kind: TokenKind::Project,
            ..
        })
    );
    for r in seen {
        if project_token {
            assert_eq!(
                r.header("project-access-token"),
                Some(sim::DEFAULT_TOKEN),
                "{r:?}"
            );
            assert_eq!(r.header("authorization"), None, "{r:?}");
        } else {
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {}", sim::DEFAULT_TOKEN).as_str()),
                "{r:?}"
            );
            assert_eq!(r.header("project-access-token"), None, "{r:?}");
        }
        if matches!(target, Target::Netlify(_)) {
            // Netlify asks API callers to identify themselves.
            assert_eq!(r.header("user-agent"), Some("overwatch"), "{r:?}");
        }
    }
}

/// Checks a service against a sim serving only `routes`, at the fixtures' clock.
async fn poll(target: Target, routes: Vec<Canned>) -> Polled {
    poll_with(target, |_| {}, routes, &http(), NOW).await
}

/// Like [`poll`], with the service edited, a given client and clock. Asserts
/// that every request was answered by a canned route, that the request count
/// is honest, and the auth header of each.
async fn poll_with(
    target: Target,
    edit: impl FnOnce(&mut Service),
    routes: Vec<Canned>,
    http: &Http,
    now: OffsetDateTime,
) -> Polled {
    let config = routes
        .iter()
        .cloned()
        .fold(SimConfig::default(), SimConfig::with_canned);
    let sim = sim::start(config).await.unwrap();
    let mut svc = service(target.clone(), &sim.base_url());
    edit(&mut svc);
    let result = http.check(&svc, &store(), now).await;
    let seen = sim.requests();
    assert_eq!(seen.len() as u32, result.requests, "{seen:?}");
    for r in &seen {
        assert!(
            routes.iter().any(|c| served_by(c, r)),
            "no fixture answers {r:?}"
        );
    }
    assert_auth(&target, &seen);
    assert!(
        !format!("{result:?}").contains(sim::DEFAULT_TOKEN),
        "the token leaked into the result"
    );
    Polled { result, seen }
}

// ---- Railway ---------------------------------------------------------------

#[tokio::test]
async fn railway_project_fixtures() {
    let healthy = fixture("railway/project_overview_healthy.json");

    let p = poll(account(), vec![railway_project(200, healthy.clone())]).await;
    assert_eq!(p.status(), Status::Healthy);
    assert!(!p.card().in_progress);
    assert_eq!(p.metric("services"), "2/2 running");
    assert_eq!(p.metric("last deploy"), "2 d ago (api)");
    assert_eq!(p.summary(), "all 2 services running");
    assert_eq!(p.result.requests, 1);
    let sent: serde_json::Value = serde_json::from_slice(&p.seen[0].body).unwrap();
    assert_eq!(sent["variables"]["projectId"], RAILWAY_PROJECT);
    assert_eq!(
        p.seen[0].header("content-type"),
        Some("application/json"),
        "GraphQL wants JSON"
    );
    assert_eq!(p.result.retry_after, None);

    // Every environment: staging's service joins, names get prefixed.
    let p = poll(
        railway(TokenKind::Account, "*"),
        vec![railway_project(200, healthy)],
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("services"), "3/3 running");
    assert_eq!(p.metric("last deploy"), "23 h ago (staging/api)");

    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/project_overview_degraded.json"),
        )],
    )
    .await;
    assert_eq!(p.status(), Status::Degraded);
    assert!(p.card().reason.is_none());
    assert_eq!(p.metric("services"), "2/2 running");
    assert_eq!(p.metric("api"), "deploy failed, previous deploy serving");
    // Three metric lines at most: the second service moves to the details.
    assert_eq!(p.detail("worker"), "1/2 instances crashed");
    assert_eq!(
        p.summary(),
        "api: deploy failed, previous deploy serving; worker: 1/2 instances crashed"
    );
    assert_eq!(
        p.card().open_url(),
        Some("https://railway.com/project/3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41/service/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b?environmentId=b7e41d0a-2c5f-4f6e-8a93-11c0d2e3f4a5&id=0e9d8c7b-6a5f-4e3d-2c1b-a09f8e7d6c5b")
    );

    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/project_overview_down.json"),
        )],
    )
    .await;
    assert_eq!(p.status(), Status::Down);
    assert_eq!(p.metric("services"), "0/2 running, 1 crashed, 1 failed");
    assert_eq!(p.metric("api"), "crashed");
    assert_eq!(p.detail("frontend"), "deploy failed, nothing serving");
    assert_eq!(
        p.summary(),
        "api crashed; frontend: deploy failed, nothing serving"
    );

    // Rollouts keep the colour; `search`'s first deploy (QUEUED) is listed
    // but does not colour the card.
    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/project_overview_in_progress.json"),
        )],
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert!(p.card().in_progress);
    assert_eq!(
        p.card().activity.as_deref(),
        Some("building api; deploying mailer; search queued; billing awaiting approval")
    );
    assert_eq!(p.metric("services"), "3/4 running, 1 first deploy");
    assert_eq!(p.metric("search"), "first deploy queued");
    assert_eq!(p.summary(), "all 3 services running");
}

#[tokio::test]
async fn railway_project_token_identity_then_environment() {
    let p = poll(
        railway(TokenKind::Project, "production"),
        vec![
            railway_identity(200, fixture("railway/project_token_identity.json")),
            railway_environment(
                200,
                fixture("railway/environment_instances_project_token.json"),
            ),
        ],
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("services"), "1/1 running");
    assert_eq!(p.summary(), "api running");
    // Two rounds; `poll` checked both carried Project-Access-Token only.
    assert_eq!(p.result.requests, 2);
    let second: serde_json::Value = serde_json::from_slice(&p.seen[1].body).unwrap();
    assert_eq!(
        second["variables"]["environmentId"],
        "b7e41d0a-2c5f-4f6e-8a93-11c0d2e3f4a5"
    );
    assert_eq!(second["variables"]["projectId"], RAILWAY_PROJECT);
}

#[tokio::test]
async fn railway_error_fixtures() {
    // GraphQL errors on HTTP 200.
    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/error_not_authorized_200.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::Auth);
    assert!(p.reason().contains("Not Authorized"), "{}", p.reason());
    assert!(p.reason().contains(KEY_VAR), "{}", p.reason());

    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/error_project_not_found_200.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::Config);
    assert!(p.reason().contains(RAILWAY_PROJECT), "{}", p.reason());

    // A revoked project token fails at the identity step: one request.
    let p = poll(
        railway(TokenKind::Project, "production"),
        vec![railway_identity(
            200,
            fixture("railway/error_project_token_not_found_200.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::Auth);
    assert_eq!(p.result.requests, 1);

    let p = poll(
        account(),
        vec![railway_project(
            400,
            fixture("railway/error_validation_400.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::BadResponse);
    assert!(p.reason().contains("Cannot query field"), "{}", p.reason());
    assert_eq!(p.metric("response"), "HTTP 400");

    // The per-service history query is never sent; its answer in the
    // project's place is "no project", not a colour.
    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/deployments_list.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::Config);
}

#[tokio::test]
async fn railway_429_waits_for_retry_after() {
    let p = poll(
        account(),
        vec![
            railway_project(429, fixture("railway/error_rate_limited_429.json"))
                .header("Retry-After", "37")
                .header("X-RateLimit-Remaining", "0"),
        ],
    )
    .await;
    p.assert_unknown(ReasonKind::RateLimited);
    assert_eq!(p.result.retry_after, Some(Duration::from_secs(37)));
    assert_eq!(
        p.reason(),
        "rate limited by Railway (HTTP 429) — retrying in 37s"
    );
    assert_eq!(p.summary(), p.reason());
    let facts = p.card().reason.as_ref().unwrap().facts;
    assert_eq!(facts.http_status, Some(429));
    assert_eq!(facts.retry_after(), Some(Duration::from_secs(37)));
    assert_eq!(facts.body, Some(BodyKind::Json));
}

#[tokio::test]
async fn the_http_layer_adds_facts_and_keeps_the_adapters_words() {
    // Railway's Cloudflare page on a 429: the adapter says what it is; the
    // layer (which read the wait) used to replace that with a generic line.
    let p = poll(
        account(),
        vec![railway_project(429, CLOUDFLARE).header("Retry-After", "45")],
    )
    .await;
    p.assert_unknown(ReasonKind::RateLimited);
    assert!(
        p.reason().contains("Cloudflare front blocked"),
        "{}",
        p.reason()
    );
    assert_eq!(p.result.retry_after, Some(Duration::from_secs(45)));
    let facts = p.card().reason.as_ref().unwrap().facts;
    assert_eq!(facts.http_status, Some(429));
    assert_eq!(facts.body, Some(BodyKind::Html));
    assert_eq!(facts.retry_after(), Some(Duration::from_secs(45)));
}

#[tokio::test]
async fn railway_stopped_web_service_vs_completed_cron_job() {
    // A web service (no `cronSchedule`) whose SUCCESS deployment stopped:
    // not running, so never green.
    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/project_overview_stopped_web.json"),
        )],
    )
    .await;
    assert_eq!(p.status(), Status::Degraded, "{:?}", p.card());
    assert_eq!(p.summary(), "api stopped (stopped by hand?)");
    assert_eq!(p.metric("services"), "1/2 running, 1 stopped");
    assert_eq!(p.detail("api commit"), "5e6f7a8");
    assert_eq!(p.detail("api commit message"), "Add order export endpoint");
    assert_eq!(
        p.detail("api url"),
        "https://api-production-5d2c.up.railway.app"
    );
    // "Open" goes to the deployment's dashboard page (its logs), not the app.
    assert_eq!(
        p.card().open_url(),
        Some("https://railway.com/project/3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41/service/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b?environmentId=b7e41d0a-2c5f-4f6e-8a93-11c0d2e3f4a5&id=7b3e9f12-4c6a-4d8e-b1f0-2a9c8d7e6f50")
    );
    // The query asked for what tells the two apart.
    let sent: serde_json::Value = serde_json::from_slice(&p.seen[0].body).unwrap();
    let q = sent["query"].as_str().unwrap();
    assert!(q.contains("cronSchedule") && q.contains(" meta ") && q.contains(" url "));

    // A cron service (`cronSchedule` set) whose run finished: completed.
    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/project_overview_cron_completed.json"),
        )],
    )
    .await;
    assert_eq!(p.status(), Status::Healthy, "{:?}", p.card());
    assert_eq!(p.summary(), "all 3 services up");
    assert_eq!(p.metric("services"), "2/3 running, 1 completed");
    assert_eq!(p.card().link, None);
}

#[tokio::test]
async fn railway_404_and_internal_errors_are_not_settings_of_the_project() {
    // HTTP 404: Railway does not route the path — the address is wrong.
    let p = poll(
        account(),
        vec![railway_project(
            404,
            fixture("railway/error_not_found_404.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::Config);
    assert!(
        p.reason().starts_with("Railway's API answered 404"),
        "{}",
        p.reason()
    );
    assert!(
        p.reason().contains("check the service's base_url"),
        "{}",
        p.reason()
    );
    assert!(!p.reason().contains(RAILWAY_PROJECT), "{}", p.reason());

    // `data` beside an INTERNAL_SERVER_ERROR: Railway's fault, can't see.
    let p = poll(
        account(),
        vec![railway_project(
            200,
            fixture("railway/error_internal_with_data_200.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::Unreachable);
    assert!(
        p.reason()
            .contains("a fault on Railway's side, not your settings"),
        "{}",
        p.reason()
    );
    assert!(
        p.reason().contains("Problem processing request"),
        "{}",
        p.reason()
    );
}

#[tokio::test]
async fn railway_sim_failed_deploy_links_to_its_page() {
    // The sim's own answer to the adapter's query (no canned routes).
    let sim = sim::start(
        SimConfig::default()
            .with_target(TargetKey::railway(RAILWAY_PROJECT), Scenario::DeployFailing),
    )
    .await
    .unwrap();
    let svc = service(account(), &sim.base_url());
    let r = http()
        .check(&svc, &store(), OffsetDateTime::now_utc())
        .await;
    assert_eq!(r.card.status, Status::Degraded, "{:?}", r.card);
    assert_eq!(
        r.card.summary,
        "api: deploy failed, previous deploy serving"
    );
    let commit = r
        .card
        .details
        .iter()
        .find(|m| m.label == "api commit message")
        .map(|m| m.value.as_str());
    assert_eq!(
        commit,
        Some("Upgrade the payment SDK"),
        "{:?}",
        r.card.details
    );
    let link = r.card.link.as_deref().unwrap_or("");
    assert!(
        link.starts_with(&format!(
            "https://railway.com/project/{RAILWAY_PROJECT}/service/"
        )),
        "{link}"
    );
    assert_auth(&account(), &sim.requests());
}

// ---- Plausible -------------------------------------------------------------

/// Today's aggregate and the realtime count.
fn plausible_routes(aggregate: &str, realtime: &str) -> Vec<Canned> {
    vec![
        plausible_aggregate(200, fixture(&format!("plausible/{aggregate}"))),
        plausible_realtime(200, fixture(&format!("plausible/{realtime}"))),
    ]
}

#[tokio::test]
async fn plausible_traffic_fixtures() {
    let p = poll(
        plausible(),
        plausible_routes("v1_aggregate_healthy.json", "v1_realtime_visitors.json"),
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("visitors now"), "23");
    assert_eq!(p.metric("visitors today"), "1,934");
    assert_eq!(p.metric("pageviews today"), "5,822");
    assert_eq!(p.summary(), "1,934 visitors today, 23 now");
    assert_eq!(p.result.requests, 2);

    // Realtime zero alone is healthy.
    let p = poll(
        plausible(),
        plausible_routes(
            "v1_aggregate_healthy.json",
            "v1_realtime_visitors_zero.json",
        ),
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("visitors now"), "0");

    // −41 %: healthy under the default 80 % rule, degraded under a 40 % one;
    // the null bounce_rate change and the `warning` do not disturb parsing.
    let compare = || {
        plausible_routes(
            "v1_aggregate_compare_with_warning.json",
            "v1_realtime_visitors.json",
        )
    };
    let p = poll(plausible(), compare()).await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("visitors today"), "1,011 (−41 % vs yesterday)");
    assert_eq!(p.metric("pageviews today"), "3,120 (−38 % vs yesterday)");
    // Under a 40 % rule the fall is checked on the same hours of both days:
    // as busy as yesterday by this hour, then empty since 01:00.
    let forty = |s: &mut Service| s.thresholds.traffic_drop = Some(40.0);
    let mut routes = compare();
    routes.push(plausible_hours(
        200,
        fixture("plausible/v2_query_hours_yesterday_and_today.json"),
    ));
    let p = poll_with(plausible(), forty, routes, &http(), NOW).await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.result.requests, 3);
    let mut routes = compare();
    routes.push(plausible_hours(
        200,
        fixture("plausible/v2_query_hours_collapsed.json"),
    ));
    let p = poll_with(plausible(), forty, routes, &http(), NOW).await;
    assert_eq!(p.status(), Status::Degraded);
    assert_eq!(
        p.summary(),
        "traffic down 95 % on the same hours yesterday (5 visitors so far, 96 by this time yesterday)"
    );

    // v2 shapes in the v1 slots read the same.
    let p = poll(
        plausible(),
        plausible_routes("v2_query_aggregate.json", "v2_query_last_5_minutes.json"),
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("visitors today"), "1,934");
    assert_eq!(p.metric("pageviews today"), "5,822");
    assert_eq!(p.metric("visitors now"), "19");

    // An hourly series is not an aggregate: refused, not summed.
    let p = poll(
        plausible(),
        plausible_routes(
            "v2_query_timeseries_hourly.json",
            "v1_realtime_visitors.json",
        ),
    )
    .await;
    p.assert_unknown(ReasonKind::BadResponse);
}

#[tokio::test]
async fn plausible_early_morning_is_judged_on_the_same_hours() {
    // An older Plausible at 07:05 on the site's clock (UTC−7): today so far
    // against all of yesterday reads −94 %. The same hours say otherwise.
    let morning = || {
        plausible_routes(
            "v1_aggregate_compare_early_morning.json",
            "v1_realtime_visitors.json",
        )
    };
    let mut routes = morning();
    routes.push(plausible_hours(
        200,
        fixture("plausible/v2_query_hours_yesterday_and_today.json"),
    ));
    let p = poll(plausible(), routes).await;
    assert_eq!(p.status(), Status::Healthy, "{}", p.summary());
    assert_eq!(p.summary(), "91 visitors today, 23 now");
    assert_eq!(
        p.detail("same hours yesterday"),
        "98 visitors so far today, 96 by this time yesterday"
    );
    assert_eq!(p.result.requests, 3);
    let check = p.seen.iter().find(|r| r.path == "/api/v2/query").unwrap();
    assert_eq!(check.method, "POST");
    let body: serde_json::Value = serde_json::from_slice(&check.body).unwrap();
    assert_eq!(
        body["date_range"],
        serde_json::json!(["2026-08-20", "2026-08-23"])
    );
    assert_eq!(body["dimensions"], serde_json::json!(["time:hour"]));

    // The same morning with the site empty since 01:00 is a real collapse.
    let mut routes = morning();
    routes.push(plausible_hours(
        200,
        fixture("plausible/v2_query_hours_collapsed.json"),
    ));
    let p = poll(plausible(), routes).await;
    assert_eq!(p.status(), Status::Degraded);
    assert_eq!(
        p.summary(),
        "traffic down 95 % on the same hours yesterday (5 visitors so far, 96 by this time yesterday)"
    );

    // A Community Edition without Stats API v2 (POST-only route: 404): not judged.
    let mut routes = morning();
    routes.push(plausible_hours(404, &b"Not Found"[..]));
    let p = poll(plausible(), routes).await;
    assert_eq!(p.status(), Status::Healthy);
    assert!(
        p.detail("traffic drop").starts_with("not judged"),
        "{}",
        p.detail("traffic drop")
    );
}

#[tokio::test]
async fn plausible_comparison_value_needs_no_extra_request() {
    // −41 % by `change`, but Plausible's own previous value says −16 %.
    let body = &br#"{"results":{"visitors":{"value":1011,"change":-41,"comparison_value":1200},"pageviews":{"value":3120,"change":-38,"comparison_value":5032}}}"#[..];
    let p = poll_with(
        plausible(),
        |s| s.thresholds.traffic_drop = Some(40.0),
        vec![
            plausible_aggregate(200, body),
            plausible_realtime(200, fixture("plausible/v1_realtime_visitors.json")),
        ],
        &http(),
        NOW,
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.result.requests, 2);
}

#[tokio::test]
async fn plausible_fall_to_zero_over_http() {
    let fell = &br#"{"results":{"visitors":{"value":0,"change":-100},"pageviews":{"value":0,"change":-100}}}"#[..];
    let routes = |hours: &str| {
        vec![
            plausible_aggregate(200, fell),
            plausible_realtime(200, fixture("plausible/v1_realtime_visitors_zero.json")),
            plausible_hours(200, fixture(&format!("plausible/{hours}"))),
        ]
    };
    let p = poll(plausible(), routes("v2_query_hours_collapsed.json")).await;
    assert_eq!(p.status(), Status::Degraded);
    assert_eq!(p.result.requests, 3);

    // The zero-traffic fixture (no change at all) is checked the same way.
    let p = poll(
        plausible(),
        vec![
            plausible_aggregate(200, fixture("plausible/v1_aggregate_zero_traffic.json")),
            plausible_realtime(200, fixture("plausible/v1_realtime_visitors_zero.json")),
            plausible_hours(200, fixture("plausible/v2_query_hours_collapsed.json")),
        ],
    )
    .await;
    assert_eq!(p.status(), Status::Degraded);

    // Rule off: no check at all, and healthy.
    let p = poll_with(
        plausible(),
        |s| s.thresholds.traffic_drop = None,
        routes("v2_query_hours_collapsed.json"),
        &http(),
        NOW,
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.result.requests, 2);
}

/// 1e308 visitors showed as 18,446,744,073,709,551,615 and a negative count
/// as "?" on a healthy card; through the real HTTP layer both are an answer
/// not understood.
#[tokio::test]
async fn plausible_absurd_or_negative_counts_are_a_bad_response() {
    for (aggregate, realtime, why) in [
        (
            &br#"{"results":{"visitors":{"value":1e308},"pageviews":{"value":5}}}"#[..],
            &b"23"[..],
            "visitors 1e308 is not a count",
        ),
        (
            &br#"{"results":{"visitors":{"value":-40},"pageviews":{"value":5}}}"#[..],
            &b"23"[..],
            "visitors -40 is not a count",
        ),
        (
            &br#"{"results":{"visitors":{"value":40},"pageviews":{"value":5}}}"#[..],
            &b"-1"[..],
            "-1 is not a count",
        ),
    ] {
        let p = poll(
            plausible(),
            vec![
                plausible_aggregate(200, aggregate),
                plausible_realtime(200, realtime),
            ],
        )
        .await;
        assert_eq!(p.status(), Status::Unknown, "{why}");
        assert_eq!(p.kind(), Some(ReasonKind::BadResponse), "{why}");
        assert!(p.reason().contains(why), "{}", p.reason());
    }
}

#[tokio::test]
async fn plausible_sim_traffic_collapse_is_degraded() {
    // The sim's own answers (no canned routes): −92 % with its previous
    // value, realtime 0, and hours on a site clock at 14:xx.
    let sim = sim::start(SimConfig::default().with_target(
        TargetKey::plausible("example.com"),
        Scenario::TrafficCollapse,
    ))
    .await
    .unwrap();
    let svc = service(plausible(), &sim.base_url());
    let r = http()
        .check(&svc, &store(), OffsetDateTime::now_utc())
        .await;
    assert_eq!(r.card.status, Status::Degraded, "{:?}", r.card);
    assert!(
        r.card.summary.starts_with("traffic down 9")
            && r.card.summary.contains("on the same hours yesterday"),
        "{}",
        r.card.summary
    );
    assert_eq!(r.requests, 3);
    assert_auth(&plausible(), &sim.requests());

    // A fall to exactly zero (canned today, no previous value).
    sim.add_canned(plausible_aggregate(
        200,
        &br#"{"results":{"visitors":{"value":0,"change":-100},"pageviews":{"value":0,"change":-100}}}"#[..],
    ));
    let r = http()
        .check(&svc, &store(), OffsetDateTime::now_utc())
        .await;
    assert_eq!(r.card.status, Status::Degraded, "{:?}", r.card);
    assert_eq!(r.requests, 3);
    let seen = sim.requests();
    assert_eq!(seen.last().unwrap().path, "/api/v2/query");
    assert_auth(&plausible(), &seen);

    // A healthy sim site is not suspect: two requests, healthy.
    sim.set_scenario(TargetKey::plausible("example.com"), Scenario::Healthy);
    sim.clear_canned();
    let r = http()
        .check(&svc, &store(), OffsetDateTime::now_utc())
        .await;
    assert_eq!(r.card.status, Status::Healthy, "{:?}", r.card);
    assert_eq!(r.requests, 2);
}

#[tokio::test]
async fn plausible_error_fixtures() {
    // Plausible answers both requests the same way; serve the error on both.
    let both = |status: u16, name: &str| {
        let body = fixture(&format!("plausible/{name}"));
        vec![
            plausible_aggregate(status, body.clone()),
            plausible_realtime(status, body),
        ]
    };
    for name in [
        "error_401_missing_api_key.json",
        "error_401_invalid_key_or_unknown_site.json",
    ] {
        let p = poll(plausible(), both(401, name)).await;
        p.assert_unknown(ReasonKind::Auth);
        // A 401 is also Plausible's "unknown site": the reason says so.
        assert!(p.reason().contains("example.com"), "{}", p.reason());
        assert_eq!(p.result.retry_after, None);
    }

    let p = poll(
        plausible(),
        both(402, "error_402_stats_api_not_in_plan.json"),
    )
    .await;
    p.assert_unknown(ReasonKind::Config);
    assert!(
        p.reason()
            .contains("Stats API is not in this Plausible plan"),
        "{}",
        p.reason()
    );
    assert!(!p.reason().contains("locked"), "{}", p.reason());

    // The other 402: a real site locked for a lapsed subscription is degraded.
    let p = poll(plausible(), both(402, "error_402_site_locked.json")).await;
    assert_eq!(p.status(), Status::Degraded);
    assert!(p.card().reason.is_none());
    assert_eq!(
        p.summary(),
        "site locked: the subscription lapsed — renew it in Plausible's billing settings"
    );

    for (name, needle) in [
        ("error_400_missing_site_id.json", "Missing site ID"),
        ("error_400_v1_invalid_period.json", "invalid period `24h`"),
        (
            "error_400_v2_invalid_metric.json",
            "Invalid metric \"uptime\"",
        ),
    ] {
        let p = poll(plausible(), both(400, name)).await;
        p.assert_unknown(ReasonKind::BadResponse);
        assert!(p.reason().contains(needle), "{}", p.reason());
        assert_eq!(p.metric("response"), "HTTP 400");
    }

    // No rate-limit headers from Plausible: the default wait.
    for name in ["error_429_hourly_limit.json", "error_429_burst_limit.json"] {
        let p = poll(plausible(), both(429, name)).await;
        p.assert_unknown(ReasonKind::RateLimited);
        assert_eq!(p.result.retry_after, Some(DEFAULT_RETRY_AFTER));
        assert_eq!(
            p.reason(),
            "rate limited by Plausible (HTTP 429) — retrying in 1m"
        );
    }
}

// ---- Netlify ---------------------------------------------------------------

#[tokio::test]
async fn netlify_fixtures() {
    let site = fixture("netlify/site_healthy.json");
    let with = |deploys: &str| {
        vec![
            netlify_site(200, site.clone()),
            netlify_deploys(200, fixture(&format!("netlify/{deploys}"))),
        ]
    };

    let p = poll(netlify(), with("deploys_healthy.json")).await;
    assert_eq!(p.status(), Status::Healthy);
    assert!(!p.card().in_progress);
    assert_eq!(p.metric("published"), "5 h ago");
    assert_eq!(p.metric("last deploy"), "ready 5 h ago");
    assert_eq!(p.summary(), "acme-marketing live, published 5 h ago");
    assert_eq!(p.result.requests, 2);

    let p = poll(netlify(), with("deploys_failed_production.json")).await;
    assert_eq!(p.status(), Status::Degraded);
    assert_eq!(
        p.metric("last deploy"),
        "error 1 h ago: Build script returned non-zero exit code: 2"
    );
    assert_eq!(
        p.summary(),
        "production deploy failed, previous deploy still live"
    );

    let p = poll(netlify(), with("deploys_in_progress.json")).await;
    assert_eq!(p.status(), Status::Healthy);
    assert!(p.card().in_progress);
    assert_eq!(p.card().activity.as_deref(), Some("building"));
    assert_eq!(p.metric("in progress"), "building (started 12 min ago)");
    assert_eq!(p.metric("last deploy"), "ready 5 h ago");

    // No deploys, but the site has a published one: healthy.
    let p = poll(netlify(), with("deploys_empty.json")).await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("published"), "5 h ago");

    // The README's brand-new site: nothing published (the only change to
    // the site fixture) and no deploys: unknown.
    let mut fresh: serde_json::Value = serde_json::from_slice(&site).unwrap();
    fresh["published_deploy"] = serde_json::Value::Null;
    let p = poll(
        netlify(),
        vec![
            netlify_site(200, serde_json::to_vec(&fresh).unwrap()),
            netlify_deploys(200, fixture("netlify/deploys_empty.json")),
        ],
    )
    .await;
    p.assert_unknown(ReasonKind::Config);
    assert_eq!(p.reason(), "no production deploys yet");
    assert_eq!(p.metric("published"), "never");
}

#[tokio::test]
async fn netlify_error_fixtures() {
    let both = |status: u16, body: Vec<u8>| {
        vec![
            netlify_site(status, body.clone()),
            netlify_deploys(status, body),
        ]
    };
    let p = poll(netlify(), both(401, fixture("netlify/error_401.json"))).await;
    p.assert_unknown(ReasonKind::Auth);
    assert!(p.reason().contains("Access Denied"), "{}", p.reason());

    let p = poll(netlify(), both(404, fixture("netlify/error_404.json"))).await;
    p.assert_unknown(ReasonKind::Config);

    // Unrouted paths answer plain text.
    let plain = |c: Canned| c.header("content-type", "text/plain; charset=utf-8");
    let p = poll(
        netlify(),
        both(404, b"Not Found".to_vec())
            .into_iter()
            .map(plain)
            .collect(),
    )
    .await;
    p.assert_unknown(ReasonKind::Config);
    assert!(p.reason().contains("Not Found"), "{}", p.reason());
    assert_eq!(p.metric("response"), "HTTP 404, plain text");

    // 429 with the reset as epoch seconds (the HTTP layer reads the real clock).
    let reset = OffsetDateTime::now_utc().unix_timestamp() + 90;
    let p = poll(
        netlify(),
        vec![
            netlify_site(200, fixture("netlify/site_healthy.json")),
            netlify_deploys(429, fixture("netlify/error_429.json"))
                .header("X-RateLimit-Limit", "500")
                .header("X-RateLimit-Remaining", "0")
                .header("X-RateLimit-Reset", &reset.to_string()),
        ],
    )
    .await;
    p.assert_unknown(ReasonKind::RateLimited);
    let wait = p.result.retry_after.unwrap().as_secs();
    assert!((88..=91).contains(&wait), "{wait}");
    assert!(
        p.reason()
            .starts_with("rate limited by Netlify (HTTP 429) — retrying in "),
        "{}",
        p.reason()
    );
}

#[tokio::test]
async fn netlify_skipped_builds_are_not_failures() {
    let site = fixture("netlify/site_healthy.json");
    let with = |site: &[u8], deploys: &str| {
        vec![
            netlify_site(200, site.to_vec()),
            netlify_deploys(200, fixture(&format!("netlify/{deploys}"))),
        ]
    };

    // Two docs-only pushes skipped by the `[build] ignore` command
    // (`state: "error"`), a ready deploy behind them: green.
    let p = poll(netlify(), with(&site, "deploys_skipped_no_change.json")).await;
    assert_eq!(p.status(), Status::Healthy, "{:?}", p.card());
    assert_eq!(p.summary(), "acme-marketing live, published 5 h ago");
    assert_eq!(p.metric("last deploy"), "ready 5 h ago");
    assert_eq!(
        p.metric("last build"),
        "skipped (no content change) 24 min ago"
    );
    assert_eq!(p.card().link, None);

    // Superseded by a newer commit (`skipped: true`, "Skipped") while that
    // commit builds: green, in progress, at most three metric lines.
    let p = poll(netlify(), with(&site, "deploys_superseded_skipped.json")).await;
    assert_eq!(p.status(), Status::Healthy, "{:?}", p.card());
    assert!(p.card().in_progress);
    assert_eq!(p.card().activity.as_deref(), Some("building"));
    assert_eq!(
        p.metric("last build"),
        "skipped (superseded by a newer commit) 6 min ago"
    );
    assert_eq!(p.card().metrics.len(), 3, "{:?}", p.card().metrics);
    assert_eq!(p.detail("in progress"), "building (started 6 min ago)");

    // Every recent build skipped: the published deploy decides.
    let p = poll(netlify(), with(&site, "deploys_all_skipped.json")).await;
    assert_eq!(p.status(), Status::Healthy, "{:?}", p.card());
    assert_eq!(
        p.metric("last build"),
        "skipped (no content change) 24 min ago"
    );
    // ...and with nothing published there is nothing to judge.
    let mut fresh: serde_json::Value = serde_json::from_slice(&site).unwrap();
    fresh["published_deploy"] = serde_json::Value::Null;
    let fresh = serde_json::to_vec(&fresh).unwrap();
    let p = poll(netlify(), with(&fresh, "deploys_all_skipped.json")).await;
    p.assert_unknown(ReasonKind::Config);
    assert!(
        p.reason().starts_with("no production deploy published yet"),
        "{}",
        p.reason()
    );
}

#[tokio::test]
async fn netlify_failed_deploy_details_and_link() {
    let p = poll(
        netlify(),
        vec![
            netlify_site(200, fixture("netlify/site_healthy.json")),
            netlify_deploys(200, fixture("netlify/deploys_failed_with_details.json")),
        ],
    )
    .await;
    assert_eq!(p.status(), Status::Degraded);
    assert_eq!(
        p.summary(),
        "production deploy failed, previous deploy still live"
    );
    assert_eq!(
        p.metric("last deploy"),
        "error 1 h ago: Build script returned non-zero exit code: 1"
    );
    assert_eq!(
        p.metric("commit"),
        "9a8b7c6 on main: Switch image pipeline to sharp"
    );
    assert_eq!(p.detail("commit"), "9a8b7c6");
    assert_eq!(p.detail("commit message"), "Switch image pipeline to sharp");
    assert_eq!(p.detail("branch"), "main");
    assert_eq!(p.detail("build time"), "1m 31s");
    // "Open" goes to the failed deploy's build log in the Netlify app.
    assert_eq!(
        p.card().open_url(),
        Some("https://app.netlify.com/sites/acme-marketing/deploys/66c7c8aa4d5e6f0008b1c2d3")
    );
}

// ---- Sentry ----------------------------------------------------------------

fn sentry_routes(issues: Canned, stats: Canned) -> Vec<Canned> {
    vec![
        sentry_details(200, fixture("sentry/project_details.json")),
        issues,
        stats,
    ]
}

#[tokio::test]
async fn sentry_fixtures() {
    let stats_ok = || sentry_stats(200, fixture("sentry/stats_v2_errors_healthy.json"));
    let no_issues = || sentry_issues(200, fixture("sentry/org_issues_empty.json"));

    let p = poll(sentry(), sentry_routes(no_issues(), stats_ok())).await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("unresolved issues (1 h)"), "0");
    assert_eq!(
        p.metric("events (24 h)"),
        "121 (9 in the last hour, median 4)"
    );
    assert_eq!(p.metric("top issue"), "none");
    assert_eq!(p.summary(), "no unresolved errors in the last hour");
    // Details first, then issues and stats by the numeric id.
    assert_eq!(p.result.requests, 3);
    assert_eq!(p.seen[0].path, "/api/0/projects/acme-web/shop-api/");

    // With the pagination header the real API sends; page one is enough.
    let link = "<https://sentry.io/api/0/organizations/acme-web/issues/?cursor=0:0:1>; rel=\"previous\"; results=\"false\"; cursor=\"0:0:1\", <https://sentry.io/api/0/organizations/acme-web/issues/?cursor=0:25:0>; rel=\"next\"; results=\"false\"; cursor=\"0:25:0\"";
    let p = poll(
        sentry(),
        sentry_routes(
            sentry_issues(200, fixture("sentry/org_issues_unresolved.json")).header("Link", link),
            stats_ok(),
        ),
    )
    .await;
    assert_eq!(p.status(), Status::Degraded);
    assert_eq!(p.metric("unresolved issues (1 h)"), "2");
    assert_eq!(
        p.metric("top issue"),
        "IntegrityError: duplicate key value violates unique constraint \"orders_pkey\" (418 events)"
    );
    assert!(
        p.summary().starts_with("new issue: IntegrityError"),
        "{}",
        p.summary()
    );
    assert_eq!(p.result.requests, 3);

    // The legacy issue shape (no substatus) in the issues slot.
    let p = poll(
        sentry(),
        sentry_routes(
            sentry_issues(200, fixture("sentry/project_issues_legacy.json")),
            stats_ok(),
        ),
    )
    .await;
    assert_eq!(p.status(), Status::Degraded);
    assert_eq!(p.summary(), "1 unresolved error issue in the last hour");

    let p = poll(
        sentry(),
        sentry_routes(
            no_issues(),
            sentry_stats(200, fixture("sentry/stats_v2_empty_groups.json")),
        ),
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(
        p.metric("events (24 h)"),
        "0 (0 in the last hour, median 0)"
    );

    // The legacy [[ts, count]] stats in the stats slot: the same series.
    let p = poll(
        sentry(),
        sentry_routes(
            no_issues(),
            sentry_stats(200, fixture("sentry/project_stats_legacy.json")),
        ),
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(
        p.metric("events (24 h)"),
        "121 (9 in the last hour, median 4)"
    );
}

#[tokio::test]
async fn sentry_error_fixtures() {
    for (status, name) in [
        (401, "error_401_invalid_token.json"),
        (401, "error_401_no_credentials.json"),
        (403, "error_403_forbidden.json"),
    ] {
        let p = poll(
            sentry(),
            vec![sentry_details(status, fixture(&format!("sentry/{name}")))],
        )
        .await;
        p.assert_unknown(ReasonKind::Auth);
        assert_eq!(p.result.requests, 1, "{name}");
    }

    // Self-hosted (loopback) base: no region lookup, the generic hint.
    let p = poll(
        sentry(),
        vec![sentry_details(
            404,
            fixture("sentry/error_404_not_found.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::Config);
    assert!(p.reason().contains("de.sentry.io"), "{}", p.reason());
    assert_eq!(p.result.requests, 1);

    let p = poll(
        sentry(),
        sentry_routes(
            sentry_issues(200, fixture("sentry/org_issues_empty.json")),
            sentry_stats(400, fixture("sentry/error_400_stats_v2_invalid.json")),
        ),
    )
    .await;
    p.assert_unknown(ReasonKind::BadResponse);
    assert!(p.reason().contains("too granular"), "{}", p.reason());

    let reset = OffsetDateTime::now_utc().unix_timestamp() + 90;
    let p = poll(
        sentry(),
        vec![
            sentry_details(429, fixture("sentry/error_429_rate_limited.json"))
                .header("X-Sentry-Rate-Limit-Limit", "40")
                .header("X-Sentry-Rate-Limit-Remaining", "0")
                .header("X-Sentry-Rate-Limit-Reset", &reset.to_string()),
        ],
    )
    .await;
    p.assert_unknown(ReasonKind::RateLimited);
    let wait = p.result.retry_after.unwrap().as_secs();
    assert!((88..=91).contains(&wait), "{wait}");
}

#[tokio::test]
async fn sentry_stats_v2_categories_outcomes_and_the_partial_hour() {
    let no_issues = || sentry_issues(200, fixture("sentry/org_issues_empty.json"));

    // Grouped by category: only error + default count, summed per hour; the
    // profile_duration group's 3,000 this hour is not an error spike, and
    // the transactions' rate limiting is not Sentry dropping errors.
    let mixed = || sentry_stats(200, fixture("sentry/stats_v2_mixed_categories.json"));
    let p = poll(sentry(), sentry_routes(no_issues(), mixed())).await;
    assert_eq!(p.status(), Status::Healthy, "{}", p.summary());
    assert_eq!(p.summary(), "no unresolved errors in the last hour");
    // At 14:05 the 14:00 bucket (1) is 5 minutes old: the last hour is it
    // plus 55/60 of the 13:00 bucket (8).
    assert_eq!(
        p.metric("events (24 h)"),
        "96 (8 in the last hour, median 4)"
    );
    assert!(
        p.card()
            .metrics
            .iter()
            .all(|m| m.label != "rate limited (24 h)"),
        "{:?}",
        p.card().metrics
    );
    // Later in the same hour less of the previous one is carried.
    let late = datetime!(2026-08-22 14:45 UTC);
    let p = poll_with(
        sentry(),
        |_| {},
        sentry_routes(no_issues(), mixed()),
        &http(),
        late,
    )
    .await;
    assert_eq!(
        p.metric("events (24 h)"),
        "96 (3 in the last hour, median 4)"
    );

    // The invalid outcome: a metric line of its own.
    let p = poll(
        sentry(),
        sentry_routes(
            no_issues(),
            sentry_stats(200, fixture("sentry/stats_v2_invalid_outcome.json")),
        ),
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
    assert_eq!(p.metric("events rejected as invalid (24 h)"), "37");
    assert_eq!(
        p.metric("events (24 h)"),
        "71 (4 in the last hour, median 3)"
    );
    assert_eq!(p.card().metrics.len(), 3);
}

#[tokio::test]
async fn sentry_project_status_shapes() {
    let stats_ok = || sentry_stats(200, fixture("sentry/stats_v2_errors_healthy.json"));
    let no_issues = || sentry_issues(200, fixture("sentry/org_issues_empty.json"));

    // `deleted` (disabled / pending deletion): the settings point at a
    // project that is going away.
    let p = poll(
        sentry(),
        vec![sentry_details(
            200,
            fixture("sentry/project_details_deleted.json"),
        )],
    )
    .await;
    p.assert_unknown(ReasonKind::Config);
    assert_eq!(p.result.requests, 1);
    assert!(
        p.reason().starts_with(
            "project acme-web/shop-api is being deleted or disabled in Sentry (status: deleted) — "
        ),
        "{}",
        p.reason()
    );
    assert!(p.reason().contains("set `project`"), "{}", p.reason());

    // A list-style project object: no `status`, `hasAccess: true`. Readable.
    let p = poll(
        sentry(),
        vec![
            sentry_details(200, fixture("sentry/project_summary_no_status.json")),
            no_issues(),
            stats_ok(),
        ],
    )
    .await;
    assert_eq!(p.status(), Status::Healthy, "{}", p.reason());
    assert_eq!(p.result.requests, 3);
}

#[tokio::test]
async fn sentry_unhandled_error_with_many_users_is_down() {
    let p = poll(
        sentry(),
        sentry_routes(
            sentry_issues(200, fixture("sentry/org_issues_unhandled_many_users.json")),
            sentry_stats(200, fixture("sentry/stats_v2_errors_healthy.json")),
        ),
    )
    .await;
    assert_eq!(p.status(), Status::Down);
    assert_eq!(
        p.summary(),
        "unhandled error hit 412 users in the last hour: KeyError: 'cart_id'"
    );
    // "Open" goes to the issue that is the reason, not the most frequent one.
    assert_eq!(
        p.card().open_url(),
        Some("https://acme-web.sentry.io/issues/6019876543/")
    );
    assert_eq!(p.card().metrics.len(), 3);
    assert_eq!(p.find_detail("users affected (1 h)"), Some("412"));
    assert_eq!(p.find_detail("priority"), Some("high"));
    assert_eq!(p.find_detail("issue"), Some("SHOP-API-4M"));

    // The threshold is configurable: at 500 users it is a degraded card
    // about the most frequent error issue.
    let p = poll_with(
        sentry(),
        |s| s.thresholds.unhandled_users_down = 500,
        sentry_routes(
            sentry_issues(200, fixture("sentry/org_issues_unhandled_many_users.json")),
            sentry_stats(200, fixture("sentry/stats_v2_errors_healthy.json")),
        ),
        &http(),
        NOW,
    )
    .await;
    assert_eq!(p.status(), Status::Degraded);
    assert_eq!(p.summary(), "3 unresolved error issues in the last hour");
    assert_eq!(
        p.card().link.as_deref(),
        Some("https://acme-web.sentry.io/issues/6019870001/")
    );
}

#[tokio::test]
async fn sentry_403_after_the_details_is_a_missing_scope() {
    let p = poll(
        sentry(),
        sentry_routes(
            sentry_issues(200, fixture("sentry/org_issues_empty.json")),
            sentry_stats(403, fixture("sentry/error_403_forbidden.json")),
        ),
    )
    .await;
    p.assert_unknown(ReasonKind::Auth);
    assert!(
        p.reason()
            .contains("lacks the `org:read` scope: Sentry refused the stats_v2 error counts"),
        "{}",
        p.reason()
    );
    assert!(!p.reason().contains("rejected"), "{}", p.reason());
    assert_eq!(p.result.requests, 3);

    let p = poll(
        sentry(),
        sentry_routes(
            sentry_issues(403, fixture("sentry/error_403_forbidden.json")),
            sentry_stats(200, fixture("sentry/stats_v2_errors_healthy.json")),
        ),
    )
    .await;
    p.assert_unknown(ReasonKind::Auth);
    assert!(
        p.reason().contains("lacks the `event:read` scope"),
        "{}",
        p.reason()
    );
}

// ---- every provider: odd bodies, size cap, silence, redirects --------------

/// Each provider's first-round routes, all answering `status` with `body`
/// (Railway: the combined project query; Sentry: the project details).
fn first_round(target: &Target, status: u16, body: &[u8]) -> Vec<Canned> {
    match target {
        Target::Railway(_) => vec![railway_project(status, body)],
        Target::Plausible(_) => vec![
            plausible_aggregate(status, body),
            plausible_realtime(status, body),
        ],
        Target::Netlify(_) => vec![netlify_site(status, body), netlify_deploys(status, body)],
        Target::Sentry(_) => vec![sentry_details(status, body)],
    }
}

#[tokio::test]
async fn html_plain_text_and_empty_bodies_per_provider() {
    let cases: [(&[u8], &str, &str); 3] = [
        (CLOUDFLARE, "text/html; charset=UTF-8", "an HTML page"),
        (b"upstream connect error", "text/plain", "plain text"),
        (b"", "text/plain", "an empty body"),
    ];
    for target in [account(), plausible(), netlify(), sentry()] {
        for (body, content_type, described) in cases {
            let routes = first_round(&target, 200, body)
                .into_iter()
                .map(|c| c.header("content-type", content_type))
                .collect();
            let p = poll(target.clone(), routes).await;
            let railway_cloudflare =
                matches!(target, Target::Railway(_)) && described == "an HTML page";
            if railway_cloudflare {
                // Railway's Cloudflare front blocking heavy callers: rate
                // limiting, deliberately — not a verdict on the key or a parse error.
                p.assert_unknown(ReasonKind::RateLimited);
                assert!(p.reason().contains("Cloudflare"), "{}", p.reason());
            } else {
                p.assert_unknown(ReasonKind::BadResponse);
                assert!(
                    p.reason().contains(described),
                    "{target:?} {described}: {}",
                    p.reason()
                );
            }
            assert_eq!(
                p.metric("response"),
                format!("HTTP 200, {described}"),
                "{target:?}"
            );
            // Not a 429, so no header gave a wait; a rate-limited card still
            // asks the scheduler for the default pause, anything else for none.
            let expected =
                railway_cloudflare.then_some(overwatch::providers::http::DEFAULT_RETRY_AFTER);
            assert_eq!(p.result.retry_after, expected, "{target:?} {described}");
        }
    }
    // The Cloudflare page arrives as a 403 too; still rate limiting for Railway...
    let p = poll(account(), vec![railway_project(403, CLOUDFLARE)]).await;
    p.assert_unknown(ReasonKind::RateLimited);
    // ...while for the others a 403 page is the key's problem.
    for target in [plausible(), netlify(), sentry()] {
        let p = poll(target.clone(), first_round(&target, 403, CLOUDFLARE)).await;
        p.assert_unknown(ReasonKind::Auth);
        assert_eq!(p.metric("response"), "HTTP 403, an HTML page");
    }
}

#[tokio::test]
async fn an_oversized_answer_is_a_bad_response() {
    // A valid deploy list padded past the cap.
    let mut big = vec![b' '; 20 * 1024];
    big.extend_from_slice(&fixture("netlify/deploys_healthy.json"));
    let small = Http::new(HttpOptions {
        max_body: 16 * 1024,
        ..HttpOptions::default()
    })
    .unwrap();
    let p = poll_with(
        netlify(),
        |_| {},
        vec![
            netlify_site(200, fixture("netlify/site_healthy.json")),
            netlify_deploys(200, big.clone()),
        ],
        &small,
        NOW,
    )
    .await;
    p.assert_unknown(ReasonKind::BadResponse);
    assert_eq!(p.reason(), "response larger than 16 KiB");
    // The same answer under the default cap is read normally.
    let p = poll(
        netlify(),
        vec![
            netlify_site(200, fixture("netlify/site_healthy.json")),
            netlify_deploys(200, big),
        ],
    )
    .await;
    assert_eq!(p.status(), Status::Healthy);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_for_every_provider() {
    // Accepts connections and says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let quick = Http::new(HttpOptions {
        total_timeout: Duration::from_millis(250),
        ..HttpOptions::default()
    })
    .unwrap();
    let check = |target: Target| {
        let svc = service(target, &base);
        let quick = quick.clone();
        async move { quick.check(&svc, &store(), NOW).await }
    };
    let started = Instant::now();
    let results = tokio::join!(
        check(account()),
        check(plausible()),
        check(netlify()),
        check(sentry())
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let results = [results.0, results.1, results.2, results.3];
    for r in results {
        assert_eq!(r.card.status, Status::Unknown);
        let reason = r.card.reason.as_ref().unwrap();
        assert_eq!(reason.kind, ReasonKind::Timeout, "{}", reason.message);
        assert_eq!(
            reason.message,
            format!("no answer within 250 ms from 127.0.0.1:{port}")
        );
        assert_eq!(r.retry_after, None);
        assert!(r.requests >= 1);
    }
}

#[tokio::test]
async fn a_redirect_to_another_port_does_not_carry_the_token() {
    let elsewhere = sim::start(SimConfig::default()).await.unwrap();
    for target in [
        account(),
        railway(TokenKind::Project, "production"),
        plausible(),
        netlify(),
        sentry(),
    ] {
        let mut routes = match &target {
            Target::Railway(RailwayTarget {
                token_kind: TokenKind::Project,
                ..
            }) => vec![railway_identity(302, Vec::new())],
            t => first_round(t, 302, b""),
        };
        for c in &mut routes {
            let to = elsewhere.base_url().join(&c.path).unwrap();
            *c = c.clone().header("location", to.as_str());
        }
        let p = poll(target.clone(), routes).await;
        // The 3xx comes back as is, and the adapter cannot read it.
        p.assert_unknown(ReasonKind::BadResponse);
        assert!(
            p.reason().contains("HTTP 302"),
            "{target:?}: {}",
            p.reason()
        );
    }
    let stolen = elsewhere.requests();
    assert!(
        stolen.is_empty(),
        "the other port was contacted: {stolen:?}"
    );
}

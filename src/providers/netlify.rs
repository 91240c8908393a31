//! Netlify adapter: is the production site published, and did its last deploy work?
//!
//! Config: `site` (the site id, or its Netlify or custom domain), `base_url`
//! to replace `https://api.netlify.com`.
//!
//! One round, two concurrent requests, `Authorization: Bearer` and
//! `User-Agent: overwatch` (Netlify asks callers to identify themselves):
//! - `GET /api/v1/sites/{site}` (`published_deploy`)
//! - `GET /api/v1/sites/{site}/deploys?production=true&per_page=5` (newest first;
//!   first page only — five deploys are plenty to judge the latest)
//!
//! Status (production deploys only; deploy previews and branch deploys never
//! colour the card), judged on the newest *finished* production deploy:
//! - `ready`/`current` → healthy;
//! - `error`/`rejected` with a published deploy still live → degraded;
//! - `error`/`rejected` and nothing ever published → down;
//! - an unrecognised state → unknown (bad_response);
//! - no finished deploy: healthy if something is published, else unknown
//!   ("no production deploys yet").
//!
//! A newer deploy in a building state sets `in_progress` without changing
//! the colour. HTTP errors: 401/403 auth, 404 config, 429 rate limited, 5xx
//! unreachable; non-JSON bodies are bad_response.

use serde_json::Value;
use time::OffsetDateTime;

use super::common::{self, card, find, is_success, parse_time, string};
use super::{
    ago, bad_body, clip, describe_body, http_error_reason, Auth, Context, Exchange, Method,
    Request, Step,
};
use crate::model::{Card, Metric, Reason, ReasonKind, Status, Target};

const SITE: &str = "site";
const DEPLOYS: &str = "deploys";

pub fn plan(ctx: &Context<'_>, done: &[Exchange]) -> Step {
    let site = match &ctx.service.target {
        Target::Netlify { site } => site.as_str(),
        other => {
            return common::unknown(
                ctx,
                Reason::new(
                    ReasonKind::Config,
                    format!("not a Netlify target: {}", other.describe()),
                ),
                None,
            )
        }
    };
    match (find(done, SITE), find(done, DEPLOYS)) {
        (Some(s), Some(d)) => evaluate(ctx, s, d),
        _ => match requests(ctx, site) {
            Some(reqs) => Step::Fetch(reqs),
            None => common::unknown(
                ctx,
                Reason::new(
                    ReasonKind::Config,
                    format!(
                        "base_url `{}` cannot be used as an API root",
                        ctx.service.api_base()
                    ),
                ),
                None,
            ),
        },
    }
}

fn requests(ctx: &Context<'_>, site: &str) -> Option<Vec<Request>> {
    let base = ctx.service.api_base();
    let site_url = common::endpoint(&base, &["api", "v1", "sites", site], &[])?;
    let deploys_url = common::endpoint(
        &base,
        &["api", "v1", "sites", site, "deploys"],
        &[("production", "true"), ("per_page", "5")],
    )?;
    let get = |tag, url| Request {
        tag,
        method: Method::Get,
        url,
        auth: Auth::Bearer,
        headers: vec![("User-Agent".into(), "overwatch".into())],
        body: None,
    };
    Some(vec![get(SITE, site_url), get(DEPLOYS, deploys_url)])
}

fn failure(ctx: &Context<'_>, ex: &Exchange) -> Reason {
    // Netlify's envelope is {"code", "message"}, but plain text and empty
    // bodies happen too.
    let detail = serde_json::from_slice::<Value>(&ex.response.body)
        .ok()
        .and_then(|v| string(&v, "message").map(str::to_string))
        .or_else(|| common::text_detail(&ex.response.body));
    http_error_reason(
        ctx.service,
        ex.response.status,
        detail.as_deref(),
        common::retry_after(&ex.response),
    )
}

/// What a deploy's `state` means for the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Live,
    Failed,
    Running,
    Unrecognised,
}

fn phase(state: &str) -> Phase {
    match state {
        "ready" | "current" => Phase::Live,
        "error" | "rejected" => Phase::Failed,
        "new" | "pending_review" | "accepted" | "enqueued" | "building" | "uploading"
        | "uploaded" | "preparing" | "prepared" | "processing" | "processed" | "retrying" => {
            Phase::Running
        }
        _ => Phase::Unrecognised,
    }
}

/// One deploy, read field by field so a wrong-typed field only loses itself.
struct Deploy {
    id: Option<String>,
    state: String,
    context: Option<String>,
    created_at: Option<OffsetDateTime>,
    updated_at: Option<OffsetDateTime>,
    published_at: Option<OffsetDateTime>,
    error_message: Option<String>,
}

impl Deploy {
    fn read(v: &Value) -> Option<Deploy> {
        if !v.is_object() {
            return None;
        }
        Some(Deploy {
            id: string(v, "id").map(str::to_string),
            state: string(v, "state").unwrap_or("(missing)").to_string(),
            context: string(v, "context").map(str::to_string),
            created_at: parse_time(string(v, "created_at")),
            updated_at: parse_time(string(v, "updated_at")),
            published_at: parse_time(string(v, "published_at")),
            error_message: string(v, "error_message")
                .filter(|m| !m.trim().is_empty())
                .map(str::to_string),
        })
    }

    fn phase(&self) -> Phase {
        phase(&self.state)
    }

    fn production(&self) -> bool {
        // We asked for production=true; only an explicit other context opts out.
        self.context.as_deref().is_none_or(|c| c == "production")
    }

    /// When it last changed state (a failure's time is its last update).
    fn when(&self) -> Option<OffsetDateTime> {
        self.updated_at.or(self.created_at)
    }
}

fn evaluate(ctx: &Context<'_>, site_ex: &Exchange, deploys_ex: &Exchange) -> Step {
    for ex in [site_ex, deploys_ex] {
        if !is_success(ex.response.status) {
            return common::unknown(ctx, failure(ctx, ex), Some(ex));
        }
    }
    // A site object carries some of these keys (null values are tolerated:
    // that field is lost). One with none of them is not a site — an error
    // object, a proxy's JSON — and must not let the deploy list alone say
    // "healthy".
    const SITE_KEYS: [&str; 5] = ["id", "site_id", "name", "published_deploy", "state"];
    let site = match serde_json::from_slice::<Value>(&site_ex.response.body) {
        Ok(v) if v.is_object() && !SITE_KEYS.iter().any(|k| v.get(k).is_some()) => {
            return unreadable(
                ctx,
                site_ex,
                "site",
                "not a site: none of `id`, `name`, `published_deploy`".into(),
            )
        }
        Ok(v) if v.is_object() => v,
        Ok(_) => return unreadable(ctx, site_ex, "site", "expected an object".into()),
        Err(e) => return unreadable(ctx, site_ex, "site", e.to_string()),
    };
    let list: Vec<Value> = match serde_json::from_slice::<Value>(&deploys_ex.response.body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return unreadable(ctx, deploys_ex, "deploy list", "expected an array".into()),
        Err(e) => return unreadable(ctx, deploys_ex, "deploy list", e.to_string()),
    };
    let published = site.get("published_deploy").and_then(Deploy::read);
    let name = string(&site, "name").unwrap_or("site").to_string();

    let mut deploys: Vec<Deploy> = list
        .iter()
        .map(|v| {
            Deploy::read(v).unwrap_or(Deploy {
                id: None,
                state: "(unreadable)".into(),
                context: None,
                created_at: None,
                updated_at: None,
                published_at: None,
                error_message: None,
            })
        })
        .filter(Deploy::production)
        .collect();
    // Newest first; the API does so already, but that is observed, not promised.
    deploys.sort_by_key(|d| std::cmp::Reverse(d.created_at));

    let running = deploys.first().filter(|d| d.phase() == Phase::Running);
    let decisive = deploys.iter().find(|d| d.phase() != Phase::Running);

    let mut metrics = Vec::new();
    let published_when = published
        .as_ref()
        .and_then(|p| p.published_at.or(p.created_at));
    metrics.push(Metric::new(
        "published",
        match (&published, published_when) {
            (Some(_), Some(t)) => ago(t, ctx.now),
            (Some(_), None) => "yes".into(),
            (None, _) => "never".into(),
        },
    ));
    if let Some(d) = decisive {
        let mut v = d.state.clone();
        if let Some(t) = d.when() {
            v.push(' ');
            v.push_str(&ago(t, ctx.now));
        }
        if d.phase() == Phase::Failed {
            if let Some(msg) = &d.error_message {
                v.push_str(": ");
                v.push_str(&clip(short_error(msg), 90));
            }
        }
        metrics.push(Metric::new("last deploy", v));
    }
    if let Some(r) = running {
        metrics.push(Metric::new(
            "in progress",
            match r.created_at {
                Some(t) => format!("{} (started {})", r.state, ago(t, ctx.now)),
                None => r.state.clone(),
            },
        ));
    }

    let published_label = published_when
        .map(|t| format!("published {}", ago(t, ctx.now)))
        .unwrap_or_else(|| "published".into());
    let mut out: Card = match decisive {
        None if published.is_some() => card(
            Status::Healthy,
            format!("{name} live, {published_label}"),
            metrics,
        ),
        None => {
            let msg = match running {
                Some(r) => format!(
                    "no production deploy published yet (first deploy {})",
                    r.state
                ),
                None => "no production deploys yet".to_string(),
            };
            let mut c = Card::unknown(Reason::new(ReasonKind::Config, msg));
            c.metrics = metrics;
            c
        }
        Some(d) => match d.phase() {
            Phase::Live => card(
                Status::Healthy,
                format!("{name} live, {published_label}"),
                metrics,
            ),
            Phase::Failed if published.is_some() => card(
                Status::Degraded,
                format!(
                    "production deploy {}, previous deploy still live",
                    failed_word(&d.state)
                ),
                metrics,
            ),
            Phase::Failed => card(
                Status::Down,
                format!(
                    "production deploy {} and nothing is published",
                    failed_word(&d.state)
                ),
                metrics,
            ),
            Phase::Running | Phase::Unrecognised => {
                let mut c = Card::unknown(Reason::new(
                    ReasonKind::BadResponse,
                    format!(
                        "Netlify reported a deploy state Overwatch does not know: `{}`{}",
                        clip(&d.state, 40),
                        d.id.as_deref()
                            .map(|id| format!(" (deploy {})", clip(id, 30)))
                            .unwrap_or_default()
                    ),
                ));
                c.metrics = metrics;
                c
            }
        },
    };
    if let Some(r) = running {
        out.in_progress = true;
        out.activity = Some(activity(&r.state));
    }
    common::finish(ctx, out)
}

fn failed_word(state: &str) -> &'static str {
    if state == "rejected" {
        "rejected"
    } else {
        "failed"
    }
}

/// Netlify prefixes build errors with the stage ("Failed during stage
/// 'building site': …"); the part after it is what people need.
fn short_error(msg: &str) -> &str {
    match msg.split_once("': ") {
        Some((head, tail)) if head.starts_with("Failed during stage") && !tail.is_empty() => tail,
        _ => msg,
    }
}

fn activity(state: &str) -> String {
    match state {
        "new" | "enqueued" | "accepted" => "deploy queued".into(),
        "pending_review" => "deploy awaiting review".into(),
        "retrying" => "retrying deploy".into(),
        other => other.replace('_', " "),
    }
}

fn unreadable(ctx: &Context<'_>, ex: &Exchange, what: &str, err: String) -> Step {
    common::unknown(
        ctx,
        bad_body(
            ctx.service,
            what,
            format!("{}: {err}", describe_body(&ex.response.body)),
        ),
        Some(ex),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;
    use crate::providers::testkit::{self, drive, json, query, with_header, Run};
    use crate::providers::Response;

    const SITE_OK: &[u8] = include_bytes!("../../tests/fixtures/netlify/site_healthy.json");
    const D_HEALTHY: &[u8] = include_bytes!("../../tests/fixtures/netlify/deploys_healthy.json");
    const D_FAILED: &[u8] =
        include_bytes!("../../tests/fixtures/netlify/deploys_failed_production.json");
    const D_BUILDING: &[u8] =
        include_bytes!("../../tests/fixtures/netlify/deploys_in_progress.json");
    const D_EMPTY: &[u8] = include_bytes!("../../tests/fixtures/netlify/deploys_empty.json");

    fn service(site: &str) -> Service {
        Service::example(
            "Acme",
            "Marketing",
            Target::Netlify { site: site.into() },
            Some("acme-netlify".parse().unwrap()),
        )
    }

    fn run(site: Response, deploys: Response) -> Run {
        drive(
            &service("8c3f1d2e-5a6b-4c7d-9e0f-1a2b3c4d5e6f"),
            |r| match r.tag {
                SITE => site.clone(),
                DEPLOYS => deploys.clone(),
                other => panic!("unexpected request {other}"),
            },
        )
    }

    /// The site with no published deploy yet.
    fn unpublished_site() -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(SITE_OK).unwrap();
        v["published_deploy"] = Value::Null;
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn requests_site_and_production_deploys() {
        let run = run(json(200, SITE_OK), json(200, D_HEALTHY));
        assert_eq!(run.rounds.len(), 1);
        let reqs = &run.rounds[0];
        let site = reqs.iter().find(|r| r.tag == SITE).unwrap();
        assert_eq!(site.method, Method::Get);
        assert_eq!(site.auth, Auth::Bearer);
        assert_eq!(site.url.host_str(), Some("api.netlify.com"));
        assert_eq!(
            site.url.path(),
            "/api/v1/sites/8c3f1d2e-5a6b-4c7d-9e0f-1a2b3c4d5e6f"
        );
        assert!(site
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("user-agent") && v == "overwatch"));
        let deploys = reqs.iter().find(|r| r.tag == DEPLOYS).unwrap();
        assert_eq!(
            deploys.url.path(),
            "/api/v1/sites/8c3f1d2e-5a6b-4c7d-9e0f-1a2b3c4d5e6f/deploys"
        );
        assert_eq!(query(deploys, "production").as_deref(), Some("true"));
        assert_eq!(query(deploys, "per_page").as_deref(), Some("5"));
        assert!(deploys.body.is_none());
    }

    #[test]
    fn domains_and_odd_site_ids_stay_one_path_segment() {
        let run = drive(&service("www.acme.example"), |_| json(200, b"{}"));
        assert_eq!(
            run.rounds[0][0].url.path(),
            "/api/v1/sites/www.acme.example"
        );
        let run = drive(&service("a/b?c"), |_| json(200, b"{}"));
        assert_eq!(run.rounds[0][0].url.path(), "/api/v1/sites/a%2Fb%3Fc");
        assert_eq!(run.rounds[0][0].url.query(), None);
    }

    #[test]
    fn healthy_site() {
        let run = run(json(200, SITE_OK), json(200, D_HEALTHY));
        assert_eq!(run.card.status, Status::Healthy);
        assert!(!run.card.in_progress);
        // Published 09:31:06, now 14:05.
        assert_eq!(run.metric("published"), "5 h ago");
        assert_eq!(run.metric("last deploy"), "ready 5 h ago");
        assert_eq!(run.card.summary, "acme-marketing live, published 5 h ago");
    }

    #[test]
    fn failed_production_deploy_with_live_previous_is_degraded() {
        let run = run(json(200, SITE_OK), json(200, D_FAILED));
        assert_eq!(run.card.status, Status::Degraded);
        assert!(run.card.reason.is_none());
        assert_eq!(
            run.metric("last deploy"),
            "error 1 h ago: Build script returned non-zero exit code: 2"
        );
        assert_eq!(
            run.card.summary,
            "production deploy failed, previous deploy still live"
        );
    }

    #[test]
    fn failed_deploy_with_nothing_published_is_down() {
        let run = run(json(200, &unpublished_site()), json(200, D_FAILED));
        // The older `ready` deploy in the list does not count as published:
        // the site object says nothing is.
        assert_eq!(run.card.status, Status::Down);
        assert_eq!(run.metric("published"), "never");
    }

    #[test]
    fn building_keeps_the_colour_and_ignores_previews() {
        let run = run(json(200, SITE_OK), json(200, D_BUILDING));
        assert_eq!(run.card.status, Status::Healthy);
        assert!(run.card.in_progress);
        assert_eq!(run.card.activity.as_deref(), Some("building"));
        assert_eq!(run.metric("in progress"), "building (started 12 min ago)");
        assert_eq!(run.metric("last deploy"), "ready 5 h ago");
    }

    #[test]
    fn failing_previews_never_colour_the_card() {
        let mut list: Vec<Value> = serde_json::from_slice(D_HEALTHY).unwrap();
        let mut preview = list[0].clone();
        preview["context"] = "deploy-preview".into();
        preview["state"] = "error".into();
        preview["created_at"] = "2026-08-22T13:00:00Z".into();
        list.insert(0, preview);
        let out = run(
            json(200, SITE_OK),
            json(200, &serde_json::to_vec(&list).unwrap()),
        );
        assert_eq!(out.card.status, Status::Healthy);
    }

    #[test]
    fn empty_list_and_nothing_published_is_unknown() {
        let run = run(json(200, &unpublished_site()), json(200, D_EMPTY));
        assert_eq!(run.card.status, Status::Unknown);
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert_eq!(run.reason_text(), "no production deploys yet");
        assert_eq!(run.metric("published"), "never");
    }

    #[test]
    fn empty_list_with_a_published_deploy_is_healthy() {
        let run = run(json(200, SITE_OK), json(200, D_EMPTY));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("published"), "5 h ago");
    }

    #[test]
    fn first_deploy_building_is_unknown_and_in_progress() {
        let list: Vec<Value> = serde_json::from_slice(D_BUILDING).unwrap();
        let only_building = serde_json::to_vec(&vec![list[0].clone()]).unwrap();
        let run = run(json(200, &unpublished_site()), json(200, &only_building));
        assert_eq!(run.card.status, Status::Unknown);
        assert!(run.card.in_progress);
        assert!(run.reason_text().contains("first deploy building"));
    }

    #[test]
    fn unknown_state_is_unknown_not_a_parse_failure() {
        let mut list: Vec<Value> = serde_json::from_slice(D_HEALTHY).unwrap();
        list[0]["state"] = "quantum".into();
        let out = run(
            json(200, SITE_OK),
            json(200, &serde_json::to_vec(&list).unwrap()),
        );
        assert_eq!(out.card.status, Status::Unknown);
        assert_eq!(out.reason_kind(), Some(ReasonKind::BadResponse));
        assert!(out.reason_text().contains("quantum"));
        assert_eq!(out.metric("published"), "5 h ago");
    }

    #[test]
    fn wrong_types_and_nulls_lose_only_their_field() {
        // A numeric state and null timestamps: that deploy is unrecognised,
        // but nothing panics and the card still carries what it knows.
        let list = br#"[{"id":1,"state":42,"context":null,"created_at":null,"updated_at":7,"published_at":null,"error_message":null}]"#;
        let run1 = run(json(200, SITE_OK), json(200, list));
        assert_eq!(run1.card.status, Status::Unknown);
        assert_eq!(run1.reason_kind(), Some(ReasonKind::BadResponse));
        assert_eq!(run1.metric("last deploy"), "(missing)");
        // All-null site fields: nothing published, list decides.
        let site = br#"{"id":null,"name":null,"published_deploy":null,"state":null}"#;
        let run2 = run(json(200, site), json(200, D_HEALTHY));
        assert_eq!(run2.card.status, Status::Healthy);
        assert_eq!(run2.metric("published"), "never");
        // Items that are not objects at all.
        let run3 = run(json(200, SITE_OK), json(200, b"[null, 3]"));
        assert_eq!(run3.card.status, Status::Unknown);
    }

    #[test]
    fn http_errors_map_by_status() {
        let e401 = include_bytes!("../../tests/fixtures/netlify/error_401.json");
        let run1 = run(json(401, e401), json(401, e401));
        assert_eq!(run1.reason_kind(), Some(ReasonKind::Auth));
        assert!(run1.reason_text().contains("acme-netlify"));
        assert!(run1.reason_text().contains("Access Denied"));

        let e404 = include_bytes!("../../tests/fixtures/netlify/error_404.json");
        let run2 = run(json(404, e404), json(404, e404));
        assert_eq!(run2.reason_kind(), Some(ReasonKind::Config));

        let e429 = include_bytes!("../../tests/fixtures/netlify/error_429.json");
        let limited = with_header(json(429, e429), "X-RateLimit-Remaining", "0");
        let run3 = run(json(200, SITE_OK), limited);
        assert_eq!(run3.card.status, Status::Unknown);
        assert_eq!(run3.reason_kind(), Some(ReasonKind::RateLimited));
    }

    #[test]
    fn plain_text_and_empty_error_bodies() {
        let run1 = run(json(404, b"Not Found"), json(404, b"Not Found"));
        assert_eq!(run1.reason_kind(), Some(ReasonKind::Config));
        assert!(run1.reason_text().contains("Not Found"));
        let run2 = run(json(500, b""), json(500, b""));
        assert_eq!(run2.reason_kind(), Some(ReasonKind::Unreachable));
        let run3 = run(json(403, testkit::CLOUDFLARE), json(200, D_HEALTHY));
        assert_eq!(run3.reason_kind(), Some(ReasonKind::Auth));
        assert_eq!(run3.metric("response"), "HTTP 403, an HTML page");
    }

    #[test]
    fn unreadable_success_bodies_are_bad_response() {
        let cases: [(&[u8], &str); 5] = [
            (testkit::CLOUDFLARE, "an HTML page"),
            (b"upstream connect error", "plain text"),
            (b"", "an empty body"),
            (br#"[{"id":"66c7","state":"rea"#, "malformed JSON"),
            (br#"{"deploys":[]}"#, "expected an array"),
        ];
        for (body, needle) in cases {
            let out = run(json(200, SITE_OK), json(200, body));
            assert_eq!(out.reason_kind(), Some(ReasonKind::BadResponse), "{needle}");
            assert!(out.reason_text().contains(needle), "{}", out.reason_text());
        }
        let out = run(json(200, b"[]"), json(200, D_HEALTHY));
        assert_eq!(out.reason_kind(), Some(ReasonKind::BadResponse));
    }
}

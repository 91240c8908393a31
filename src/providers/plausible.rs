//! Plausible adapter: today's traffic from the Stats API v1.
//!
//! Config: `site` (the site id, i.e. its domain as configured in Plausible),
//! `base_url` for Community Edition installs, and the thresholds
//! `traffic_drop` (percent fall vs the previous period, `None` = off) and
//! `traffic_min_baseline` (previous-period visitors needed for the rule).
//!
//! Round one, two concurrent requests, `Authorization: Bearer`:
//! - `GET /api/v1/stats/aggregate?site_id=…&period=day&metrics=visitors,pageviews&compare=previous_period`
//! - `GET /api/v1/stats/realtime/visitors?site_id=…` (a bare JSON number)
//!
//! The previous period's visitors are normally derived from today's value and
//! Plausible's percent `change`. That fails exactly when traffic collapsed to
//! nothing (today 0, change −100 %, or no change reported at all), so then —
//! and only when the drop rule is on — a second round asks for one past day:
//! - `GET /api/v1/stats/aggregate?site_id=…&period=day&date=YYYY-MM-DD&metrics=visitors`
//!
//! Plausible reads `date` in the site's timezone, which the adapter does not
//! know, so the day asked for is the latest one that has ended in every
//! timezone (UTC−12 … UTC+14): yesterday or the day before, never today.
//!
//! Status: Plausible measures traffic, not uptime, so a reachable site is
//! `healthy`, `degraded` only when today's visitors fell by at least
//! `traffic_drop` percent against a previous period of at least
//! `traffic_min_baseline` visitors, and never `down`. 401 is auth (or a wrong
//! site id: Plausible has no 404 for sites), 402 is config (plan lacks the
//! Stats API), 429 rate limited, 5xx unreachable, non-JSON bad_response.
//! No pagination is involved.

use serde_json::Value;
use time::{Date, Duration as TimeDelta, OffsetDateTime, UtcOffset};

use super::common::{self, card, find, is_success, number};
use super::{
    bad_body, describe_body, http_error_reason, thousands, Auth, Context, Exchange, Method,
    Request, Step,
};
use crate::model::{Metric, Reason, ReasonKind, Status, Target};

const AGGREGATE: &str = "aggregate";
const REALTIME: &str = "realtime";
const BASELINE: &str = "baseline";

pub fn plan(ctx: &Context<'_>, done: &[Exchange]) -> Step {
    let site = match &ctx.service.target {
        Target::Plausible { site } => site.as_str(),
        other => {
            return common::unknown(
                ctx,
                Reason::new(
                    ReasonKind::Config,
                    format!("not a Plausible target: {}", other.describe()),
                ),
                None,
            )
        }
    };
    let (aggregate, realtime) = (find(done, AGGREGATE), find(done, REALTIME));
    match (aggregate, realtime) {
        (Some(a), Some(r)) => evaluate(ctx, site, a, r, find(done, BASELINE)),
        _ => match requests(ctx, site) {
            Some(reqs) => Step::Fetch(reqs),
            None => common::unknown(ctx, bad_base(ctx), None),
        },
    }
}

fn bad_base(ctx: &Context<'_>) -> Reason {
    Reason::new(
        ReasonKind::Config,
        format!(
            "base_url `{}` cannot be used as an API root",
            ctx.service.api_base()
        ),
    )
}

fn requests(ctx: &Context<'_>, site: &str) -> Option<Vec<Request>> {
    let base = ctx.service.api_base();
    let aggregate = common::endpoint(
        &base,
        &["api", "v1", "stats", "aggregate"],
        &[
            ("site_id", site),
            ("period", "day"),
            ("metrics", "visitors,pageviews"),
            ("compare", "previous_period"),
        ],
    )?;
    let realtime = common::endpoint(
        &base,
        &["api", "v1", "stats", "realtime", "visitors"],
        &[("site_id", site)],
    )?;
    Some(vec![get(AGGREGATE, aggregate), get(REALTIME, realtime)])
}

fn get(tag: &'static str, url: url::Url) -> Request {
    Request {
        tag,
        method: Method::Get,
        url,
        auth: Auth::Bearer,
        headers: Vec::new(),
        body: None,
    }
}

/// The latest day that has ended in every timezone: Plausible interprets
/// `date` in the site's timezone (UTC−12 to UTC+14), so anything later could
/// still be "today" somewhere — and today is the zero we are judging.
fn baseline_date(now: OffsetDateTime) -> Date {
    let earliest_local_today = (now.to_offset(UtcOffset::UTC) - TimeDelta::hours(12)).date();
    earliest_local_today
        .previous_day()
        .unwrap_or(earliest_local_today)
}

/// Round two: one past day's visitors, to stand in for a baseline the change
/// cannot give.
fn baseline_request(ctx: &Context<'_>, site: &str, day: Date) -> Option<Request> {
    let day = day.to_string();
    let url = common::endpoint(
        &ctx.service.api_base(),
        &["api", "v1", "stats", "aggregate"],
        &[
            ("site_id", site),
            ("period", "day"),
            ("date", day.as_str()),
            ("metrics", "visitors"),
        ],
    )?;
    Some(get(BASELINE, url))
}

/// The reason a failed exchange gives, with Plausible's own wording.
fn failure(ctx: &Context<'_>, site: &str, ex: &Exchange) -> Reason {
    let status = ex.response.status;
    let detail = serde_json::from_slice::<Value>(&ex.response.body)
        .ok()
        .and_then(|v| common::string(&v, "error").map(str::to_string))
        .or_else(|| common::text_detail(&ex.response.body));
    let detail = detail.as_deref();
    match status {
        402 => Reason::new(
            ReasonKind::Config,
            format!(
                "the Stats API is not in this Plausible plan (HTTP 402{}) — it needs a plan with Stats API access, or the site is locked",
                detail.map(|d| format!(": {}", super::clip(d, 120))).unwrap_or_default()
            ),
        ),
        401 => {
            let mut r = http_error_reason(ctx.service, status, detail, None);
            r.message.push_str(&format!(
                " (Plausible also answers 401 when site id `{site}` is wrong or the key cannot see it)"
            ));
            r
        }
        _ => http_error_reason(ctx.service, status, detail, common::retry_after(&ex.response)),
    }
}

/// One aggregate metric: its value and Plausible's `change` (integer percent or null).
struct Figure {
    value: f64,
    change: Option<f64>,
}

fn figure(results: &Value, name: &str) -> Option<Figure> {
    let entry = results.get(name)?;
    Some(Figure {
        value: entry.get("value").and_then(number)?,
        change: entry.get("change").and_then(number),
    })
}

/// The metrics of a Stats API v2 aggregate answer (`results[0].metrics`,
/// positional, named by the echoed `query.metrics`), should a CE install or a
/// proxy answer in that shape. A time series (rows with dimensions) is not an
/// aggregate and gives `None`.
fn v2_row(body: &Value) -> Option<std::collections::HashMap<String, f64>> {
    let rows = body.get("results")?.as_array()?;
    let row = rows.first()?;
    let dims_empty = row
        .get("dimensions")
        .and_then(Value::as_array)
        .is_none_or(|d| d.is_empty());
    if rows.len() != 1 || !dims_empty {
        return None;
    }
    let names = body.get("query")?.get("metrics")?.as_array()?;
    let values = row.get("metrics")?.as_array()?;
    Some(
        names
            .iter()
            .zip(values)
            .filter_map(|(n, v)| Some((n.as_str()?.to_string(), number(v)?)))
            .collect(),
    )
}

/// Visitors from an aggregate answer, v1 (`results.visitors`) or v2 shape.
fn visitors_of(body: &Value) -> Option<Figure> {
    match v2_row(body) {
        Some(row) => row.get("visitors").map(|&value| Figure {
            value,
            change: None,
        }),
        None => figure(body.get("results").unwrap_or(&Value::Null), "visitors"),
    }
}

fn evaluate(
    ctx: &Context<'_>,
    site: &str,
    agg: &Exchange,
    rt: &Exchange,
    baseline: Option<&Exchange>,
) -> Step {
    for ex in [agg, rt] {
        if !is_success(ex.response.status) {
            return common::unknown(ctx, failure(ctx, site, ex), Some(ex));
        }
    }
    let agg_body: Value = match serde_json::from_slice(&agg.response.body) {
        Ok(v) => v,
        Err(e) => return unreadable(ctx, agg, "aggregate stats", e),
    };
    let now_visitors = match serde_json::from_slice::<Value>(&rt.response.body) {
        Ok(v) => {
            match number(&v).or_else(|| v2_row(&v).and_then(|row| row.get("visitors").copied())) {
                Some(n) => n,
                None => {
                    return common::unknown(
                        ctx,
                        bad_body(
                            ctx.service,
                            "realtime visitor count",
                            format!("expected a number, got {}", super::clip(&v.to_string(), 40)),
                        ),
                        Some(rt),
                    )
                }
            }
        }
        Err(e) => return unreadable(ctx, rt, "realtime visitor count", e),
    };
    let (visitors, pageviews) = match v2_row(&agg_body) {
        Some(row) => (
            row.get("visitors").map(|&value| Figure {
                value,
                change: None,
            }),
            row.get("pageviews").map(|&value| Figure {
                value,
                change: None,
            }),
        ),
        None => {
            let results = agg_body.get("results").unwrap_or(&Value::Null);
            (figure(results, "visitors"), figure(results, "pageviews"))
        }
    };
    let Some(visitors) = visitors else {
        return common::unknown(
            ctx,
            bad_body(ctx.service, "aggregate", "no visitor count in the answer"),
            Some(agg),
        );
    };

    let mut metrics = vec![
        Metric::new("visitors now", fmt_count(now_visitors)),
        Metric::new("visitors today", with_change(&visitors)),
    ];
    metrics.push(Metric::new(
        "pageviews today",
        pageviews
            .as_ref()
            .map(with_change)
            .unwrap_or_else(|| "—".into()),
    ));

    let th = &ctx.service.thresholds;
    let derived = previous_visitors(&visitors);
    // The change cannot give a baseline when traffic fell to (about) nothing:
    // ask for a past day's visitors instead, but only if the rule could fire.
    let underivable = visitors.value <= 0.0 || visitors.change.is_some_and(|c| c <= -100.0);
    let day = baseline_date(ctx.now);
    let fetched = if th.traffic_drop.is_some() && derived.is_none() && underivable {
        let Some(ex) = baseline else {
            return match baseline_request(ctx, site, day) {
                Some(req) => Step::Fetch(vec![req]),
                None => common::unknown(ctx, bad_base(ctx), None),
            };
        };
        if !is_success(ex.response.status) {
            return common::unknown(ctx, failure(ctx, site, ex), Some(ex));
        }
        let value = match serde_json::from_slice::<Value>(&ex.response.body) {
            Ok(v) => visitors_of(&v).map(|f| f.value),
            Err(e) => return unreadable(ctx, ex, "baseline day's stats", e),
        };
        let Some(value) = value else {
            return common::unknown(
                ctx,
                bad_body(
                    ctx.service,
                    "baseline day's stats",
                    "no visitor count in the answer",
                ),
                Some(ex),
            );
        };
        metrics.push(Metric::new(
            "baseline",
            format!("{} visitors on {day}", fmt_count(value)),
        ));
        Some(value)
    } else {
        None
    };
    let drop = match (visitors.change, fetched) {
        (Some(c), _) if c < 0.0 => Some(-c),
        // No change reported: measure the fall against the fetched day.
        (None, Some(prev)) if prev > 0.0 => {
            Some(((prev - visitors.value) / prev * 100.0).clamp(0.0, 100.0))
        }
        _ => None,
    };
    let previous = derived.or(fetched);
    let collapsed = match (th.traffic_drop, drop, previous) {
        (Some(limit), Some(fall), Some(prev)) => {
            fall >= limit && prev >= th.traffic_min_baseline as f64
        }
        _ => false,
    };
    let today = fmt_count(visitors.value);
    let (status, summary) = if collapsed {
        let before = match fetched {
            Some(prev) => format!("{} on {day}", fmt_count(prev)),
            None => format!("about {} before", fmt_count(previous.unwrap_or(0.0))),
        };
        let versus = if visitors.change.is_some() {
            " vs yesterday"
        } else {
            ""
        };
        (
            Status::Degraded,
            format!(
                "traffic down {} %{versus} ({today} visitors today, {before})",
                fmt_count(drop.unwrap_or(0.0)),
            ),
        )
    } else {
        (
            Status::Healthy,
            format!("{today} visitors today, {} now", fmt_count(now_visitors)),
        )
    };
    common::finish(ctx, card(status, summary, metrics))
}

fn unreadable(ctx: &Context<'_>, ex: &Exchange, what: &str, e: serde_json::Error) -> Step {
    common::unknown(
        ctx,
        bad_body(
            ctx.service,
            what,
            format!("{}: {e}", describe_body(&ex.response.body)),
        ),
        Some(ex),
    )
}

/// The previous period's visitors, derived from today's and the percent change.
/// `None` when it cannot be known: no change reported, or a change of −100 %
/// (today is zero, so any previous value fits; the caller then fetches a
/// baseline day).
fn previous_visitors(f: &Figure) -> Option<f64> {
    let change = f.change?;
    if change <= -100.0 {
        return None;
    }
    let factor = 1.0 + change / 100.0;
    let prev = f.value / factor;
    prev.is_finite().then_some(prev)
}

fn fmt_count(n: f64) -> String {
    if n.is_finite() && n >= 0.0 {
        thousands(n.round() as u64)
    } else {
        "?".into()
    }
}

/// "1,011 (−41 % vs yesterday)"; the previous period of `period=day` is yesterday.
fn with_change(f: &Figure) -> String {
    let value = fmt_count(f.value);
    match f.change {
        Some(c) if c < 0.0 => format!("{value} (−{} % vs yesterday)", fmt_count(-c)),
        Some(c) => format!("{value} (+{} % vs yesterday)", fmt_count(c)),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Service, Target, Thresholds};
    use crate::providers::testkit::{self, drive, json, query, Run};
    use crate::providers::Response;
    use url::Url;

    const HEALTHY: &[u8] =
        include_bytes!("../../tests/fixtures/plausible/v1_aggregate_healthy.json");
    const COMPARE: &[u8] =
        include_bytes!("../../tests/fixtures/plausible/v1_aggregate_compare_with_warning.json");
    const ZERO: &[u8] =
        include_bytes!("../../tests/fixtures/plausible/v1_aggregate_zero_traffic.json");
    const RT: &[u8] = include_bytes!("../../tests/fixtures/plausible/v1_realtime_visitors.json");
    const RT_ZERO: &[u8] =
        include_bytes!("../../tests/fixtures/plausible/v1_realtime_visitors_zero.json");

    fn service() -> Service {
        Service::example(
            "Acme",
            "Site stats",
            Target::Plausible {
                site: "example.com".into(),
            },
            Some("acme-plausible".parse().unwrap()),
        )
    }

    /// Answers the aggregate and realtime requests with the given responses
    /// (a baseline request fails the test).
    fn run(service: &Service, agg: Response, rt: Response) -> Run {
        drive(service, |r| match r.tag {
            AGGREGATE => agg.clone(),
            REALTIME => rt.clone(),
            other => panic!("unexpected request {other}"),
        })
    }

    /// Like [`run`], answering a baseline-day request too.
    fn run_with_baseline(service: &Service, agg: &[u8], rt: &[u8], base: Response) -> Run {
        drive(service, |r| match r.tag {
            AGGREGATE => json(200, agg),
            REALTIME => json(200, rt),
            BASELINE => base.clone(),
            other => panic!("unexpected request {other}"),
        })
    }

    /// A v1 aggregate answer with just visitors (and a change, if given).
    fn visitors(value: u64, change: Option<i64>) -> Vec<u8> {
        let mut entry = serde_json::json!({ "value": value });
        if let Some(c) = change {
            entry["change"] = c.into();
        }
        serde_json::to_vec(&serde_json::json!({ "results": { "visitors": entry } })).unwrap()
    }

    const FELL_TO_ZERO: &[u8] = br#"{"results":{"visitors":{"value":0,"change":-100},"pageviews":{"value":0,"change":-100}}}"#;

    #[test]
    fn first_round_asks_for_aggregate_and_realtime() {
        let run = run(&service(), json(200, HEALTHY), json(200, RT));
        assert_eq!(run.rounds.len(), 1);
        let reqs = &run.rounds[0];
        assert_eq!(reqs.len(), 2);
        let agg = reqs.iter().find(|r| r.tag == AGGREGATE).unwrap();
        assert_eq!(agg.method, Method::Get);
        assert_eq!(agg.auth, Auth::Bearer);
        assert_eq!(agg.url.host_str(), Some("plausible.io"));
        assert_eq!(agg.url.path(), "/api/v1/stats/aggregate");
        assert_eq!(query(agg, "site_id").as_deref(), Some("example.com"));
        assert_eq!(query(agg, "period").as_deref(), Some("day"));
        assert_eq!(query(agg, "metrics").as_deref(), Some("visitors,pageviews"));
        assert_eq!(query(agg, "compare").as_deref(), Some("previous_period"));
        assert!(agg.body.is_none());
        let rt = reqs.iter().find(|r| r.tag == REALTIME).unwrap();
        assert_eq!(rt.url.path(), "/api/v1/stats/realtime/visitors");
        assert_eq!(query(rt, "site_id").as_deref(), Some("example.com"));
        assert_eq!(rt.auth, Auth::Bearer);
    }

    #[test]
    fn self_hosted_base_keeps_its_prefix() {
        let mut s = service();
        s.base_url = Some(Url::parse("https://stats.example.org/plausible/").unwrap());
        let run = run(&s, json(200, HEALTHY), json(200, RT));
        assert_eq!(
            run.rounds[0][0].url.path(),
            "/plausible/api/v1/stats/aggregate"
        );
    }

    #[test]
    fn healthy_traffic() {
        let run = run(&service(), json(200, HEALTHY), json(200, RT));
        assert_eq!(run.card.status, Status::Healthy);
        assert!(!run.card.in_progress);
        assert_eq!(run.metric("visitors now"), "23");
        assert_eq!(run.metric("visitors today"), "1,934");
        assert_eq!(run.metric("pageviews today"), "5,822");
        assert_eq!(run.card.summary, "1,934 visitors today, 23 now");
    }

    #[test]
    fn drop_below_threshold_stays_healthy_and_shows_change() {
        // −41 % with the default 80 % rule: healthy; the null bounce_rate change and
        // the extra `warning` must not disturb parsing.
        let run = run(&service(), json(200, COMPARE), json(200, RT));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("visitors today"), "1,011 (−41 % vs yesterday)");
        assert_eq!(run.metric("pageviews today"), "3,120 (−38 % vs yesterday)");
    }

    #[test]
    fn drop_over_threshold_with_busy_baseline_is_degraded() {
        let mut s = service();
        s.thresholds.traffic_drop = Some(40.0);
        let run = run(&s, json(200, COMPARE), json(200, RT));
        assert_eq!(run.card.status, Status::Degraded);
        assert!(run.card.reason.is_none());
        // 1011 / 0.59 ≈ 1714 visitors yesterday.
        assert!(
            run.card.summary.contains("down 41 %"),
            "{}",
            run.card.summary
        );
        assert!(run.card.summary.contains("1,714"), "{}", run.card.summary);
    }

    #[test]
    fn drop_with_quiet_baseline_or_rule_off_stays_healthy() {
        let mut s = service();
        s.thresholds = Thresholds {
            traffic_drop: Some(40.0),
            traffic_min_baseline: 5000,
            ..Thresholds::default()
        };
        assert_eq!(
            run(&s, json(200, COMPARE), json(200, RT)).card.status,
            Status::Healthy
        );
        s.thresholds.traffic_drop = None;
        s.thresholds.traffic_min_baseline = 0;
        assert_eq!(
            run(&s, json(200, COMPARE), json(200, RT)).card.status,
            Status::Healthy
        );
    }

    #[test]
    fn zero_traffic_is_never_down() {
        // However busy the baseline day was, zero traffic is at most degraded.
        for base in [0, 20_000] {
            let run =
                run_with_baseline(&service(), ZERO, RT_ZERO, json(200, &visitors(base, None)));
            assert_ne!(run.card.status, Status::Down);
            assert_eq!(run.metric("visitors now"), "0");
            assert_eq!(run.metric("visitors today"), "0");
        }
    }

    #[test]
    fn fall_to_zero_with_a_busy_baseline_day_is_degraded() {
        // 500 visitors on the baseline day, 0 today: the change (−100 %) cannot
        // give the baseline, so a second round asks for that day.
        let run = run_with_baseline(
            &service(),
            FELL_TO_ZERO,
            RT_ZERO,
            json(200, &visitors(500, None)),
        );
        assert_eq!(run.rounds.len(), 2);
        let [req] = run.rounds[1].as_slice() else {
            panic!("one baseline request expected: {:?}", run.rounds[1]);
        };
        assert_eq!(req.tag, BASELINE);
        assert_eq!((req.method, req.auth), (Method::Get, Auth::Bearer));
        assert_eq!(
            req.url.as_str(),
            "https://plausible.io/api/v1/stats/aggregate?site_id=example.com&period=day&date=2026-08-21&metrics=visitors"
        );
        assert_eq!(run.card.status, Status::Degraded);
        assert!(run.card.reason.is_none());
        assert_eq!(
            run.card.summary,
            "traffic down 100 % vs yesterday (0 visitors today, 500 on 2026-08-21)"
        );
        assert_eq!(run.metric("visitors today"), "0 (−100 % vs yesterday)");
        assert_eq!(run.metric("baseline"), "500 visitors on 2026-08-21");
    }

    #[test]
    fn fall_to_zero_from_a_quiet_baseline_day_stays_healthy() {
        // 10 visitors is below the default traffic_min_baseline of 50.
        let run = run_with_baseline(
            &service(),
            FELL_TO_ZERO,
            RT_ZERO,
            json(200, &visitors(10, None)),
        );
        assert_eq!(run.rounds.len(), 2);
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.card.summary, "0 visitors today, 0 now");
        assert_eq!(run.metric("baseline"), "10 visitors on 2026-08-21");
        // The threshold is inclusive: exactly 50 is busy enough.
        let run = run_with_baseline(
            &service(),
            FELL_TO_ZERO,
            RT_ZERO,
            json(200, &visitors(50, None)),
        );
        assert_eq!(run.card.status, Status::Degraded);
    }

    #[test]
    fn rule_off_never_degrades_nor_asks_for_a_baseline() {
        let mut s = service();
        s.thresholds.traffic_drop = None;
        s.thresholds.traffic_min_baseline = 0;
        // `run` fails on any baseline request.
        for (agg, rt) in [(FELL_TO_ZERO, RT_ZERO), (ZERO, RT_ZERO), (COMPARE, RT)] {
            let out = run(&s, json(200, agg), json(200, rt));
            assert_eq!(out.rounds.len(), 1);
            assert_eq!(out.card.status, Status::Healthy);
        }
    }

    #[test]
    fn zero_traffic_fixture_without_change_uses_the_baseline_day() {
        // The README: degraded if the baseline says the site is normally busy, else healthy.
        let busy = run_with_baseline(&service(), ZERO, RT_ZERO, json(200, HEALTHY));
        assert_eq!(busy.card.status, Status::Degraded);
        assert_eq!(
            busy.card.summary,
            "traffic down 100 % (0 visitors today, 1,934 on 2026-08-21)"
        );
        let quiet = run_with_baseline(&service(), ZERO, RT_ZERO, json(200, &visitors(3, None)));
        assert_eq!(quiet.card.status, Status::Healthy);
        // A site that was empty on the baseline day too has not fallen at all.
        let mut s = service();
        s.thresholds.traffic_min_baseline = 0;
        let empty = run_with_baseline(&s, ZERO, RT_ZERO, json(200, &visitors(0, None)));
        assert_eq!(empty.card.status, Status::Healthy);
    }

    #[test]
    fn a_rounded_minus_100_with_a_few_visitors_left_fetches_a_baseline() {
        // 3 of 1000 visitors left is −99.7 %, which Plausible rounds to −100.
        let run = run_with_baseline(
            &service(),
            &visitors(3, Some(-100)),
            RT,
            json(200, &visitors(1000, None)),
        );
        assert_eq!(run.rounds.len(), 2);
        assert_eq!(run.card.status, Status::Degraded);
        assert!(
            run.card.summary.contains("1,000 on"),
            "{}",
            run.card.summary
        );
    }

    #[test]
    fn derivable_baselines_need_no_second_round() {
        // Zero today and zero yesterday: change 0, previous derives as 0.
        let out = run(
            &service(),
            json(200, &visitors(0, Some(0))),
            json(200, RT_ZERO),
        );
        assert_eq!(out.rounds.len(), 1);
        assert_eq!(out.card.status, Status::Healthy);
        // Traffic present, no change reported (a v2 answer): nothing to fetch.
        let out = run(&service(), json(200, HEALTHY), json(200, RT));
        assert_eq!(out.rounds.len(), 1);
    }

    #[test]
    fn baseline_failures_make_the_card_unknown() {
        let limited = include_bytes!("../../tests/fixtures/plausible/error_429_hourly_limit.json");
        let cases: [(Response, ReasonKind); 4] = [
            (json(429, limited), ReasonKind::RateLimited),
            (
                json(502, b"<html>Bad gateway</html>"),
                ReasonKind::Unreachable,
            ),
            (json(200, b""), ReasonKind::BadResponse),
            (json(200, br#"{"results":{}}"#), ReasonKind::BadResponse),
        ];
        for (resp, kind) in cases {
            let run = run_with_baseline(&service(), FELL_TO_ZERO, RT_ZERO, resp);
            assert_eq!(run.card.status, Status::Unknown);
            assert_eq!(run.reason_kind(), Some(kind), "{}", run.reason_text());
            assert_eq!(run.metric("request"), "GET /api/v1/stats/aggregate");
        }
    }

    #[test]
    fn baseline_day_has_ended_in_every_timezone() {
        use time::macros::{date, datetime};
        assert_eq!(baseline_date(testkit::NOW), date!(2026 - 08 - 21));
        assert_eq!(
            baseline_date(datetime!(2026-08-22 12:00 UTC)),
            date!(2026 - 08 - 21)
        );
        assert_eq!(
            baseline_date(datetime!(2026-08-22 11:59 UTC)),
            date!(2026 - 08 - 20)
        );
        // Whatever the hour and the site's zone, the day is over there.
        let start = datetime!(2026-08-22 0:00 UTC);
        for minutes in (0..24 * 60).step_by(17) {
            let now = start + TimeDelta::minutes(minutes);
            let day = baseline_date(now);
            for offset_h in -12..=14 {
                let local = now.to_offset(UtcOffset::from_hms(offset_h, 0, 0).unwrap());
                assert!(day < local.date(), "{now} at UTC{offset_h:+}: {day}");
            }
            assert!(now.date() - day <= TimeDelta::days(2));
        }
    }

    #[test]
    fn floats_strings_and_growth_parse() {
        let body = br#"{"results":{"visitors":{"value":120.0,"change":25},"pageviews":{"value":"300","change":null}}}"#;
        let run = run(&service(), json(200, body), json(200, b"4.0"));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("visitors today"), "120 (+25 % vs yesterday)");
        assert_eq!(run.metric("pageviews today"), "300");
        assert_eq!(run.metric("visitors now"), "4");
    }

    #[test]
    fn all_null_values_are_a_bad_response_not_a_panic() {
        let body = br#"{"results":{"visitors":{"value":null,"change":null},"pageviews":null}}"#;
        let run = run(&service(), json(200, body), json(200, RT));
        assert_eq!(run.card.status, Status::Unknown);
        assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse));
    }

    #[test]
    fn wrong_type_for_realtime_is_bad_response() {
        let run = run(
            &service(),
            json(200, HEALTHY),
            json(200, br#"{"visitors":23}"#),
        );
        assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse));
        assert!(
            run.reason_text().contains("realtime"),
            "{}",
            run.reason_text()
        );
    }

    #[test]
    fn unauthorized_mentions_key_and_site() {
        for f in [
            &include_bytes!(
                "../../tests/fixtures/plausible/error_401_invalid_key_or_unknown_site.json"
            )[..],
            &include_bytes!("../../tests/fixtures/plausible/error_401_missing_api_key.json")[..],
        ] {
            let run = run(&service(), json(401, f), json(401, f));
            assert_eq!(run.card.status, Status::Unknown);
            assert_eq!(run.reason_kind(), Some(ReasonKind::Auth));
            let msg = run.reason_text();
            assert!(msg.contains("acme-plausible"), "{msg}");
            assert!(msg.contains("example.com"), "{msg}");
            assert!(msg.contains("API key"), "{msg}");
        }
    }

    #[test]
    fn payment_required_is_config() {
        let body =
            include_bytes!("../../tests/fixtures/plausible/error_402_stats_api_not_in_plan.json");
        let run = run(&service(), json(402, body), json(402, body));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(run
            .reason_text()
            .contains("Stats API is not in this Plausible plan"));
    }

    #[test]
    fn rate_limits_are_rate_limited() {
        for f in [
            &include_bytes!("../../tests/fixtures/plausible/error_429_hourly_limit.json")[..],
            &include_bytes!("../../tests/fixtures/plausible/error_429_burst_limit.json")[..],
        ] {
            // Only the realtime request hit the limit: the card is still unknown.
            let run = run(&service(), json(200, HEALTHY), json(429, f));
            assert_eq!(run.card.status, Status::Unknown);
            assert_eq!(run.reason_kind(), Some(ReasonKind::RateLimited));
        }
    }

    #[test]
    fn client_errors_are_bad_response_with_plausibles_message() {
        for (f, needle) in [
            (
                &include_bytes!("../../tests/fixtures/plausible/error_400_missing_site_id.json")[..],
                "Missing site ID",
            ),
            (
                &include_bytes!("../../tests/fixtures/plausible/error_400_v1_invalid_period.json")
                    [..],
                "invalid period",
            ),
            (
                &include_bytes!("../../tests/fixtures/plausible/error_400_v2_invalid_metric.json")
                    [..],
                "Invalid metric",
            ),
        ] {
            let run = run(&service(), json(400, f), json(200, RT));
            assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse));
            assert!(run.reason_text().contains(needle), "{}", run.reason_text());
            assert_eq!(run.metric("response"), "HTTP 400");
        }
    }

    #[test]
    fn server_errors_with_html_are_unreachable() {
        let run = run(
            &service(),
            json(502, b"<html><body>502 Bad Gateway</body></html>"),
            json(502, b""),
        );
        assert_eq!(run.reason_kind(), Some(ReasonKind::Unreachable));
        assert_eq!(run.metric("response"), "HTTP 502, an HTML page");
    }

    #[test]
    fn unreadable_success_bodies_are_bad_response() {
        let cases: [(&[u8], &str); 4] = [
            (testkit::CLOUDFLARE, "an HTML page"),
            (b"Service temporarily unavailable", "plain text"),
            (b"", "an empty body"),
            (br#"{"results":{"visitors":{"val"#, "malformed JSON"),
        ];
        for (body, described) in cases {
            let run = run(&service(), json(200, body), json(200, RT));
            assert_eq!(
                run.reason_kind(),
                Some(ReasonKind::BadResponse),
                "{described}"
            );
            assert!(
                run.reason_text().contains(described),
                "{}",
                run.reason_text()
            );
        }
    }

    /// The adapter sends v1 requests, but reads a v2 aggregate answer too
    /// (the README marks both v2 aggregate fixtures healthy).
    #[test]
    fn v2_aggregate_shapes_read_as_healthy() {
        let agg = include_bytes!("../../tests/fixtures/plausible/v2_query_aggregate.json");
        let last5 = include_bytes!("../../tests/fixtures/plausible/v2_query_last_5_minutes.json");
        let run = run(&service(), json(200, agg), json(200, last5));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("visitors today"), "1,934");
        assert_eq!(run.metric("pageviews today"), "5,822");
        assert_eq!(run.metric("visitors now"), "19");
    }

    /// An hourly series is not an aggregate: summing hours would count
    /// returning visitors twice, so it must be refused rather than misread.
    /// (The README's "degraded candidate" needs an hourly-gap rule this
    /// adapter does not implement.)
    #[test]
    fn v2_time_series_in_the_aggregate_slot_is_refused() {
        let f = include_bytes!("../../tests/fixtures/plausible/v2_query_timeseries_hourly.json");
        let run = run(&service(), json(200, f), json(200, RT));
        assert_eq!(run.card.status, Status::Unknown);
        assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse));
    }
}

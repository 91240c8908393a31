//! Plausible's Stats API as the sim serves it: v1 `aggregate`, `realtime/visitors`, `timeseries`, and v2 `POST /api/v2/query`.
//!
//! Plausible sends no rate-limit headers and answers an unknown site with the
//! same 401 as a bad key; the sim does the same.

use serde_json::{json, Value};
use time::{Duration as TimeDelta, OffsetDateTime, UtcOffset};

use super::util::{hour_floor, parse_when, truncate_json, ts_offset};
use super::{split_slow, Reply, Scenario, SeenRequest, Shared, TargetKey};

const MISSING_KEY: &str =
    "Missing API key. Please use a valid Plausible API key as a Bearer Token.";
const INVALID_KEY: &str = "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site you've requested.";
const RATE_LIMITED: &str = "Too many API requests. Your API key is limited to 600 requests per hour. Please contact us to request more capacity.";
const PERIODS: [&str; 7] = ["day", "7d", "30d", "month", "6mo", "12mo", "custom"];

fn error(status: u16, msg: &str) -> Reply {
    Reply::json(status, &json!({ "error": msg }))
}

/// One day's figures for a healthy site, and the change against the previous period.
const METRICS: [(&str, f64, i64, bool); 7] = [
    // (name, value per day, change %, is an integer metric)
    ("visitors", 1934.0, 4, true),
    ("visits", 2410.0, 3, true),
    ("pageviews", 5822.0, 6, true),
    ("views_per_visit", 2.42, 2, false),
    ("bounce_rate", 41.0, -1, false),
    ("visit_duration", 97.0, 5, false),
    ("events", 6107.0, 6, true),
];

/// The share of the previous period that is left in a traffic collapse.
const COLLAPSE: f64 = 0.08;

/// A metric's value over `days` days, and its change, under a scenario.
fn metric(name: &str, days: f64, collapsed: bool) -> Option<(Value, Option<i64>)> {
    let &(_, per_day, change, int) = METRICS.iter().find(|m| m.0 == name)?;
    let rate_like = matches!(name, "views_per_visit" | "bounce_rate" | "visit_duration");
    let (value, change) = match (collapsed, rate_like) {
        (false, true) => (per_day, change),
        (false, false) => (per_day * days, change),
        // Rates move but do not collapse; bounce rate goes up.
        (true, true) if name == "bounce_rate" => (88.0, 47),
        (true, true) => (per_day * 0.6, -40),
        (true, false) => ((per_day * days * COLLAPSE).round(), -92),
    };
    // bounce_rate's change is null when the previous value was 0; never here,
    // but visit_duration on a collapsed site mimics the nullable quirk.
    let change = (!(collapsed && name == "visit_duration")).then_some(change);
    let value = if int {
        json!(value.round() as i64)
    } else {
        json!((value * 100.0).round() / 100.0)
    };
    Some((value, change))
}

fn period_days(period: &str) -> f64 {
    match period {
        "7d" => 7.0,
        "30d" | "month" => 30.0,
        "6mo" => 182.0,
        "12mo" => 365.0,
        _ => 1.0,
    }
}

pub(super) fn handle(sim: &Shared, req: &SeenRequest, now: OffsetDateTime) -> Reply {
    let v2 = req.path == "/api/v2/query";
    if v2 && req.method != "POST" {
        // The route is POST-only: a GET is a 404, not a 405.
        return Reply::not_found();
    }
    let known = [
        "/api/v1/stats/aggregate",
        "/api/v1/stats/realtime/visitors",
        "/api/v1/stats/timeseries",
        "/api/v2/query",
    ];
    if !known.contains(&req.path.as_str()) {
        return Reply::not_found();
    }
    let token = req.bearer();
    if token.is_none() {
        return error(401, MISSING_KEY);
    }
    if !sim.token_ok(token) {
        return error(401, INVALID_KEY);
    }
    let body: Value = if v2 {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => return error(400, "Invalid request body: expected a JSON object"),
        }
    } else {
        Value::Null
    };
    let site = if v2 {
        body["site_id"].as_str().map(str::to_string)
    } else {
        req.param("site_id")
    };
    let Some(site) = site.filter(|s| !s.is_empty()) else {
        return error(
            400,
            "Missing site ID. Please provide the required site_id parameter with your request.",
        );
    };
    let Some(scenario) = sim.scenario(&TargetKey::Plausible(site.clone())) else {
        return error(401, INVALID_KEY);
    };
    let (scenario, delay) = split_slow(scenario);
    let collapsed = scenario == Scenario::TrafficCollapse;
    let mut reply = match scenario {
        Scenario::AuthFailure => error(401, INVALID_KEY),
        // No Retry-After, no X-RateLimit-*: Plausible sends neither.
        Scenario::RateLimited { .. } => error(429, RATE_LIMITED),
        Scenario::ServerError => Reply::raw(
            503,
            "text/html",
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
        ),
        Scenario::Garbage => Reply::raw(
            200,
            "application/json; charset=utf-8",
            truncate_json(
                &json!({"results": {"visitors": {"value": 1934}, "pageviews": {"value": 5822}}}),
            ),
        ),
        _ if v2 => query_v2(&site, &body, collapsed, now),
        _ => match req.path.as_str() {
            "/api/v1/stats/realtime/visitors" => {
                // A bare JSON number.
                Reply::json(200, &json!(if collapsed { 0 } else { 23 }))
            }
            "/api/v1/stats/timeseries" => timeseries_v1(req, collapsed, now),
            _ => aggregate_v1(req, collapsed, now),
        },
    };
    reply.delay = delay;
    reply
}

fn aggregate_v1(req: &SeenRequest, collapsed: bool, now: OffsetDateTime) -> Reply {
    let period = req.param("period").unwrap_or_else(|| "30d".into());
    if !PERIODS.contains(&period.as_str()) {
        return error(
            400,
            &format!("Error parsing `period` parameter: invalid period `{period}`. Please find accepted values in our docs: https://plausible.io/docs/stats-api#time-periods"),
        );
    }
    // A collapse is today's: a past `date=` (one day with `period=day`) shows
    // the site as it was, busy.
    let past_day = period == "day"
        && req
            .param("date")
            .and_then(|d| parse_when(&d))
            .is_some_and(|d| d.date() < now.date());
    let collapsed = collapsed && !past_day;
    let compare = req.param("compare").as_deref() == Some("previous_period");
    let metrics = req.param("metrics").unwrap_or_else(|| "visitors".into());
    let mut results = serde_json::Map::new();
    for name in metrics.split(',').map(str::trim) {
        let Some((value, change)) = metric(name, period_days(&period), collapsed) else {
            return error(
                400,
                &format!("The metric `{name}` is not recognized. Find valid metrics from the documentation: https://plausible.io/docs/stats-api#metrics"),
            );
        };
        let mut entry = json!({ "value": value });
        if compare {
            entry["change"] = change.map(Value::from).unwrap_or(Value::Null);
            // Current Plausible sends the previous period's value beside the change.
            entry["comparison_value"] = match (value.as_f64(), change) {
                (Some(v), Some(c)) if c > -100 => json!((v / (1.0 + c as f64 / 100.0)).round()),
                _ => Value::Null,
            };
        }
        results.insert(name.to_string(), entry);
    }
    Reply::json(200, &json!({ "results": results }))
}

/// Visitors in one hour of the day: a simple daily curve.
fn hourly_visitors(hour: u8) -> i64 {
    const CURVE: [i64; 24] = [
        22, 15, 11, 9, 8, 10, 18, 41, 77, 93, 101, 110, 118, 112, 104, 99, 95, 90, 84, 76, 61, 48,
        37, 28,
    ];
    CURVE[usize::from(hour) % 24]
}

/// In a collapse today's hours (on the clock of `t`'s offset) keep the
/// collapsed share of their traffic and the last three are empty (and so
/// omitted, as Plausible does).
fn hour_value(t: OffsetDateTime, now: OffsetDateTime, collapsed: bool) -> i64 {
    let today = t.date() == now.to_offset(t.offset()).date();
    match (collapsed && today, now - t < TimeDelta::hours(3)) {
        (true, true) => 0,
        (true, false) => (hourly_visitors(t.hour()) as f64 * COLLAPSE).round() as i64,
        (false, _) => hourly_visitors(t.hour()),
    }
}

/// The sim's sites keep their clock in mid-afternoon: the offset that makes
/// it 14:xx there now (always within UTC−12 … UTC+14). A collapse is then
/// judged against a busy morning whatever the hour the tests run at, and
/// the adapter's use of the echoed offset is exercised with a real one.
fn site_offset(now: OffsetDateTime) -> UtcOffset {
    let hours = 14 - i8::try_from(now.to_offset(UtcOffset::UTC).hour()).unwrap_or(0);
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn timeseries_v1(req: &SeenRequest, collapsed: bool, now: OffsetDateTime) -> Reply {
    let period = req.param("period").unwrap_or_else(|| "30d".into());
    let results: Vec<Value> = if period == "day" {
        let midnight = now.date().midnight().assume_utc();
        (0..24)
            .map(|h| {
                let t = midnight + TimeDelta::hours(h);
                let v = if t > now { 0 } else { hour_value(t, now, collapsed) };
                json!({ "date": t.format(time::macros::format_description!("[year]-[month]-[day] [hour]:00:00")).expect("formats"), "visitors": v })
            })
            .collect()
    } else {
        let days = period_days(&period) as i64;
        (0..days)
            .rev()
            .map(|d| {
                let day = now.date() - TimeDelta::days(d);
                let v = if collapsed && d == 0 {
                    155
                } else {
                    1934 - (d % 7) * 40
                };
                json!({ "date": day.to_string(), "visitors": v })
            })
            .collect()
    };
    Reply::json(200, &json!({ "results": results }))
}

/// Resolves a v2 `date_range` to absolute bounds on the site's clock (`now`'s offset).
fn date_range(v: &Value, now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let off = now.offset();
    let midnight = now.date().midnight().assume_offset(off);
    let end_of_day = midnight + TimeDelta::days(1) - TimeDelta::seconds(1);
    if let Some(s) = v.as_str() {
        let days = match s {
            "day" => return Some((midnight, end_of_day)),
            "24h" => return Some((now - TimeDelta::hours(24), now)),
            "7d" => 7,
            "28d" => 28,
            "30d" | "month" => 30,
            "91d" => 91,
            "6mo" => 182,
            "12mo" | "year" => 365,
            "all" => 730,
            _ => return None,
        };
        return Some((
            midnight - TimeDelta::days(days),
            end_of_day - TimeDelta::days(1),
        ));
    }
    let [a, b] = v.as_array()?.as_slice() else {
        return None;
    };
    // Bare dates are days on the site's clock.
    let when = |s: &str| {
        parse_when(s).map(|t| match s.len() {
            10 => t.date().midnight().assume_offset(off),
            _ => t.to_offset(off),
        })
    };
    let from = when(a.as_str()?)?;
    let mut to = when(b.as_str()?)?;
    if b.as_str()?.len() == 10 {
        to += TimeDelta::days(1) - TimeDelta::seconds(1); // a date means its whole day
    }
    (from <= to).then_some((from, to))
}

fn query_v2(site: &str, body: &Value, collapsed: bool, now: OffsetDateTime) -> Reply {
    let metrics: Vec<String> = body["metrics"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if metrics.is_empty() {
        return error(400, "#/metrics: Expected a minimum of 1 items");
    }
    for (i, m) in metrics.iter().enumerate() {
        if metric(m, 1.0, false).is_none() {
            return error(400, &format!("#/metrics/{i}: Invalid metric \"{m}\""));
        }
    }
    let now = now.to_offset(site_offset(now));
    let Some((from, to)) = date_range(&body["date_range"], now) else {
        return error(400, "#/date_range: Invalid date range");
    };
    let dimensions: Vec<String> = body["dimensions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let include = body.get("include").cloned().unwrap_or_else(|| json!({}));
    let span = (to - from).max(TimeDelta::ZERO);
    let values = |days: f64, realtime: bool| -> Vec<Value> {
        metrics
            .iter()
            .map(|m| {
                if realtime && (m == "visitors" || m == "pageviews") {
                    // The docs' "last 5 minutes" figure.
                    let v = match (collapsed, m.as_str()) {
                        (true, _) => 0,
                        (false, "visitors") => 19,
                        _ => 31,
                    };
                    return json!(v);
                }
                metric(m, days, collapsed)
                    .map(|(v, _)| v)
                    .unwrap_or(Value::Null)
            })
            .collect()
    };
    let mut meta = json!({});
    let (results, order_by) = if dimensions.iter().any(|d| d == "time:hour") {
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        let mut t = hour_floor(from);
        while t <= to && t <= now {
            let label = t
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:00:00"
                ))
                .expect("formats");
            let v = hour_value(t, now, collapsed);
            if v > 0 {
                let row: Vec<Value> = metrics
                    .iter()
                    .map(|m| match m.as_str() {
                        "visitors" => json!(v),
                        "pageviews" => json!(v * 3),
                        "visits" => json!(v + v / 4),
                        other => metric(other, 1.0, collapsed)
                            .map(|x| x.0)
                            .unwrap_or(Value::Null),
                    })
                    .collect();
                rows.push(json!({ "metrics": row, "dimensions": [label] }));
            }
            labels.push(label);
            t += TimeDelta::hours(1);
        }
        if include["time_labels"] == json!(true) {
            meta["time_labels"] = json!(labels);
        }
        (rows, json!([["time:hour", "asc"]]))
    } else {
        let days = span.as_seconds_f64() / 86400.0;
        let realtime = span <= TimeDelta::minutes(30);
        (
            vec![json!({ "metrics": values(days.max(1.0 / 24.0), realtime), "dimensions": [] })],
            json!([[metrics[0], "desc"]]),
        )
    };
    Reply::json(
        200,
        &json!({
            "results": results,
            "meta": meta,
            "query": {
                "site_id": site,
                "metrics": metrics,
                "date_range": [ts_offset(from), ts_offset(to)],
                "filters": body.get("filters").cloned().unwrap_or_else(|| json!([])),
                "dimensions": dimensions,
                "order_by": body.get("order_by").cloned().unwrap_or(order_by),
                "include": include,
                "pagination": { "offset": 0, "limit": 10000 },
            },
        }),
    )
}

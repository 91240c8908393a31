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
//! What today is compared with is Plausible's `comparison_value` (the
//! previous period's visitors, in every current answer), else it is derived
//! from today's value and the percent `change`. Plausible before its 2026-03
//! change (Community Edition installs lag) compares today *so far* with the
//! *whole* of yesterday, so every morning reads as a collapse; whether a
//! server does is not visible in the answer. So a fall is only ever judged on
//! like-for-like figures: when the v1 figures say the drop rule would fire
//! (or cannot tell, after a fall to zero), a second round asks for visitors
//! per hour on the site's own clock,
//! - `POST /api/v2/query` `{"site_id", "metrics": ["visitors"], "date_range": [d−2, d+1], "dimensions": ["time:hour"]}`
//!
//! and compares today's hours so far with the same hours of yesterday (the
//! unfinished hour in proportion to the minutes gone). Plausible reads the
//! dates in the site's timezone and echoes the range back resolved with its
//! offset, which is how the adapter knows the site's hour. No answer to that
//! (a Community Edition without Stats API v2) means no verdict: the card
//! stays healthy and its details say the drop was not judged.
//!
//! Status: Plausible measures traffic, not uptime, so a reachable site is
//! `healthy`, `degraded` only when visitors so far today fell by at least
//! `traffic_drop` percent against the same hours of yesterday with at least
//! `traffic_min_baseline` visitors, and never `down`. A 402 whose message
//! says the site is locked (the subscription lapsed) is `degraded`: a real
//! site whose data is withheld. 401 is auth (or a wrong site id: Plausible
//! has no 404 for sites), the other 402 is config (the plan lacks the Stats
//! API), 429 rate limited, 5xx unreachable, non-JSON bad_response.
//! No pagination is involved.

use serde_json::Value;
use time::{Date, Duration as TimeDelta, OffsetDateTime, UtcOffset};

use super::common::{self, card, find, is_success, number};
use super::{
    bad_body, http_error_reason, thousands, unreadable_body, Auth, Context, Exchange, Method,
    Request, Step,
};
use super::spec::{self, FieldSpec, Fields, Limit, Spec, TargetSpec};
use crate::model::{BodyKind, Card, Gauge, Metric, Reason, ReasonKind, Status, Target};

/// Plausible in the provider registry.
pub(crate) const SPEC: Spec = Spec {
    id: "plausible",
    title: "Plausible",
    base_url: "https://plausible.io",
    key_help: "a Stats API key (Plausible → Account Settings → API Keys → Stats API)",
    self_hosted: true,
    fields: &[FieldSpec::required(
        "site",
        "Site domain",
        "the site's domain as set in Plausible (e.g. \"example.com\")",
    )],
    settings: &["traffic_drop", "traffic_min_baseline"],
    limit: Limit::per_hour(600.0),
    lowered: Limit::halved,
    requests_per_poll: 2.0,
    plan,
    same_api: spec::only_base,
    example: &[("site", "fleet-{n}.example")],
};

/// The site's domain from what was given: the domain itself, or a URL of the
/// site (`https://example.com/` → `example.com`), which people paste from the
/// address bar. A URL with a path, query or fragment is refused: it names a page.
fn site_domain(given: &str) -> Result<String, String> {
    let bare = given.trim_end_matches('/');
    if !given.contains("://") {
        return Ok(bare.to_string());
    }
    let url = url::Url::parse(given)
        .map_err(|e| format!("`site` = `{given}` is neither a domain nor a URL ({e}); write the domain, e.g. \"example.com\""))?;
    match url.host_str() {
        Some(host) if matches!(url.path(), "" | "/") && url.query().is_none() && url.fragment().is_none() => {
            Ok(host.to_string())
        }
        _ => Err(format!(
            "`site` = `{given}` is the URL of a page; Plausible names a site by its domain (e.g. \"{}\")",
            url.host_str().unwrap_or("example.com")
        )),
    }
}

/// A Plausible site id (its domain as configured in Plausible).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlausibleTarget {
    pub site: String,
}

impl TargetSpec for PlausibleTarget {
    fn parse(f: &mut dyn Fields) -> Option<Self> {
        let given = f.required(&SPEC.fields[0])?;
        match site_domain(&given) {
            Ok(site) if site == given => Some(PlausibleTarget { site }),
            Ok(site) => {
                f.normalised(
                    "site",
                    format!("`{given}` is a URL; Plausible names a site by its domain: `{site}`"),
                    &site,
                );
                Some(PlausibleTarget { site })
            }
            Err(why) => {
                f.problem("site", why);
                None
            }
        }
    }

    fn describe(&self) -> String {
        format!("site {}", self.site)
    }

    fn dashboard(&self, base_url: Option<&url::Url>) -> String {
        let base = base_url
            .map(|u| u.as_str().trim_end_matches('/'))
            .unwrap_or(SPEC.base_url);
        format!("{base}/{}", self.site)
    }

    fn values(&self) -> Vec<(&'static str, String)> {
        vec![("site", self.site.clone())]
    }
}

const AGGREGATE: &str = "aggregate";
const REALTIME: &str = "realtime";
const SAME_HOURS: &str = "same-hours";

pub fn plan(ctx: &Context<'_>, done: &[Exchange]) -> Step {
    let site = match &ctx.service.target {
        Target::Plausible(PlausibleTarget { site }) => site.as_str(),
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
        (Some(a), Some(r)) => evaluate(ctx, site, a, r, find(done, SAME_HOURS)),
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

/// Round two, only when the drop rule would fire: today's and yesterday's
/// visitors per hour (v2, `time:hour`), so "so far today" is set against the
/// same hours of yesterday. The range is given as dates, which Plausible
/// reads in the site's timezone and echoes back resolved with its offset:
/// that offset tells which hour it is now on the site's clock. Two days back
/// to one ahead covers "today" and "yesterday" in every timezone.
fn same_hours_request(ctx: &Context<'_>, site: &str) -> Option<Request> {
    let today = ctx.now.to_offset(UtcOffset::UTC).date();
    let from = today.checked_sub(TimeDelta::days(2))?;
    let to = today.checked_add(TimeDelta::days(1))?;
    let url = common::endpoint(&ctx.service.api_base(), &["api", "v2", "query"], &[])?;
    Some(Request {
        tag: SAME_HOURS,
        method: Method::Post,
        url,
        auth: Auth::Bearer,
        headers: Vec::new(),
        body: Some(serde_json::json!({
            "site_id": site,
            "metrics": ["visitors"],
            "date_range": [from.to_string(), to.to_string()],
            "dimensions": ["time:hour"],
        })),
    })
}

/// Visitors so far today and in the same hours of yesterday, on the site's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SameHours {
    today: f64,
    yesterday: f64,
}

/// Reads a [`same_hours_request`] answer. Hourly visitor counts are summed on
/// both sides alike (a visitor seen in two hours counts twice on both), and
/// the current, unfinished hour of yesterday is taken in proportion to the
/// minutes that have passed in this one.
fn same_hours(body: &Value, now: OffsetDateTime) -> Result<SameHours, String> {
    let offset = body
        .get("query")
        .and_then(|q| q.get("date_range"))
        .and_then(Value::as_array)
        .and_then(|r| r.last())
        .and_then(Value::as_str)
        .and_then(|t| common::parse_time(Some(t)))
        .map(|t| t.offset())
        .ok_or("no resolved date range in the answer")?;
    let rows = body
        .get("results")
        .and_then(Value::as_array)
        .ok_or("no results in the answer")?;
    let local = now.to_offset(offset);
    let today = local.date();
    let yesterday = today.previous_day().ok_or("no day before today")?;
    let hour = local.hour();
    let elapsed = (f64::from(local.minute()) * 60.0 + f64::from(local.second())) / 3600.0;
    let mut out = SameHours {
        today: 0.0,
        yesterday: 0.0,
    };
    for row in rows {
        let label = row
            .get("dimensions")
            .and_then(Value::as_array)
            .and_then(|d| d.first())
            .and_then(Value::as_str)
            .ok_or("a row without an hour")?;
        let (day, h) = hour_label(label)
            .ok_or_else(|| format!("an hour label `{}`", super::clip(label, 30)))?;
        let visitors = row
            .get("metrics")
            .and_then(Value::as_array)
            .and_then(|m| m.first())
            .and_then(number)
            .filter(|n| common::is_count(*n))
            .ok_or("a row without a visitor count")?;
        if day == today && h <= hour {
            out.today += visitors;
        } else if day == yesterday && h < hour {
            out.yesterday += visitors;
        } else if day == yesterday && h == hour {
            out.yesterday += visitors * elapsed;
        }
    }
    Ok(out)
}

/// "2026-08-22 14:00:00" (v2's `time:hour` label, the site's local time).
fn hour_label(s: &str) -> Option<(Date, u8)> {
    let (day, time) = s.trim().split_once(' ')?;
    let day = Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let hour: u8 = time.split(':').next()?.parse().ok()?;
    (hour < 24).then_some((day, hour))
}

/// Whether a 402 says the site is locked (the subscription lapsed) rather than
/// that the plan lacks the Stats API: Plausible words them differently.
fn site_locked(ex: &Exchange) -> bool {
    ex.response.status == 402
        && error_message(&ex.response.body)
            .is_some_and(|m| m.to_ascii_lowercase().contains("locked"))
}

/// Plausible's own words in an error answer: `{"error": "…"}`, else the
/// first line of a plain-text body.
fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| common::string(&v, "error").map(str::to_string))
        .or_else(|| common::text_detail(body))
}

/// The reason a failed exchange gives, with Plausible's own wording.
fn failure(ctx: &Context<'_>, site: &str, ex: &Exchange) -> Reason {
    let status = ex.response.status;
    let detail = error_message(&ex.response.body);
    let detail = detail.as_deref();
    match status {
        402 => Reason::new(
            ReasonKind::Config,
            format!(
                "the Stats API is not in this Plausible plan (HTTP 402{}) — use the API key of an account whose plan includes Stats API access",
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
        _ => http_error_reason(ctx.service, status, detail, ex.response.retry_after),
    }
}

/// One aggregate metric: its value, Plausible's `change` (integer percent or
/// null) and `comparison_value` (the previous period's value, in every
/// current v1 answer with `compare=previous_period`).
struct Figure {
    value: f64,
    change: Option<f64>,
    comparison: Option<f64>,
}

impl Figure {
    fn bare(value: f64) -> Figure {
        Figure {
            value,
            change: None,
            comparison: None,
        }
    }

    /// Why this figure cannot be a real one (a negative or absurd count, an
    /// absurd change), in words; `None` when it reads as real.
    fn absurd(&self, name: &str) -> Option<String> {
        if !common::is_count(self.value) {
            return Some(format!(
                "{name} {} is not a count",
                common::show_number(self.value)
            ));
        }
        if let Some(c) = self.comparison.filter(|c| !common::is_count(*c)) {
            return Some(format!(
                "{name} comparison_value {} is not a count",
                common::show_number(c)
            ));
        }
        if let Some(c) = self.change.filter(|c| c.abs() > common::MAX_COUNT) {
            return Some(format!(
                "{name} change {} % is not a percentage",
                common::show_number(c)
            ));
        }
        None
    }
}

fn figure(results: &Value, name: &str) -> Option<Figure> {
    let entry = results.get(name)?;
    Some(Figure {
        value: entry.get("value").and_then(number)?,
        change: entry.get("change").and_then(number),
        comparison: entry.get("comparison_value").and_then(number),
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

fn evaluate(
    ctx: &Context<'_>,
    site: &str,
    agg: &Exchange,
    rt: &Exchange,
    same_hours_ex: Option<&Exchange>,
) -> Step {
    if let Some(ex) = [agg, rt].into_iter().find(|ex| site_locked(ex)) {
        // A real site whose data Plausible withholds: a problem to act on
        // (apis.md §2.7), not a blind spot.
        let mut c = card(
            Status::Degraded,
            "site locked: the subscription lapsed — renew it in Plausible's billing settings",
            Vec::new(),
        );
        if let Some(d) = error_message(&ex.response.body) {
            c.details
                .push(Metric::new("plausible says", super::clip(&d, 200)));
        }
        return common::finish(ctx, c);
    }
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
                Some(n) if common::is_count(n) => n,
                Some(n) => {
                    return common::unknown(
                        ctx,
                        bad_body(
                            ctx.service,
                            "realtime visitor count",
                            format!("{} is not a count", common::show_number(n)),
                        ),
                        Some(rt),
                    )
                }
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
            row.get("visitors").map(|&value| Figure::bare(value)),
            row.get("pageviews").map(|&value| Figure::bare(value)),
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

    if let Some(why) = [
        ("visitors", Some(&visitors)),
        ("pageviews", pageviews.as_ref()),
    ]
    .into_iter()
    .find_map(|(name, f)| f.and_then(|f| f.absurd(name)))
    {
        return common::unknown(ctx, bad_body(ctx.service, "aggregate", why), Some(agg));
    }

    let mut metrics = vec![
        Metric::new("visitors now", fmt_count(now_visitors)).number(now_visitors),
        figure_metric("visitors today", &visitors),
    ];
    metrics.push(match &pageviews {
        Some(p) => figure_metric("pageviews today", p),
        None => Metric::new("pageviews today", "—"),
    });

    // The dashboard's sparkline: realtime visitors, sampled at every check.
    let gauge = Gauge {
        label: "visitors now".into(),
        value: if now_visitors.is_finite() && now_visitors >= 0.0 {
            now_visitors.round() as u64
        } else {
            0
        },
    };
    let finish = |mut c: Card| {
        c.gauge = Some(gauge.clone());
        common::finish(ctx, c)
    };
    let th = &ctx.service.thresholds;
    let today = fmt_count(visitors.value);
    let healthy_summary = format!("{today} visitors today, {} now", fmt_count(now_visitors));
    // What Plausible compared today with: `comparison_value` when sent, else
    // derived from the percent change (impossible after a −100 % fall).
    let previous = visitors.comparison.or_else(|| previous_visitors(&visitors));
    let suspect = match (th.traffic_drop, previous) {
        (None, _) => false,
        (Some(limit), Some(prev)) => {
            prev >= th.traffic_min_baseline as f64 && fall(prev, visitors.value) >= limit
        }
        (Some(_), None) => visitors.value <= 0.0 || visitors.change.is_some_and(|c| c <= -100.0),
    };
    if !suspect {
        return finish(card(Status::Healthy, healthy_summary, metrics));
    }
    // Plausible before its 2026-03 change (Community Edition installs lag)
    // compares today so far with the whole of yesterday, so every morning
    // looks like a collapse. Judge only on the same hours of both days.
    let Some(ex) = same_hours_ex else {
        return match same_hours_request(ctx, site) {
            Some(req) => Step::Fetch(vec![req]),
            None => common::unknown(ctx, bad_base(ctx), None),
        };
    };
    let window = if is_success(ex.response.status) {
        serde_json::from_slice::<Value>(&ex.response.body)
            .map_err(|e| format!("{}: {e}", BodyKind::of(&ex.response.body).describe()))
            .and_then(|v| same_hours(&v, ctx.now))
    } else {
        Err(format!("HTTP {}", ex.response.status))
    };
    let w = match window {
        Ok(w) => w,
        Err(why) => {
            // Without the hourly check the drop cannot be told from a
            // morning: stay quiet, and say so where a curious user looks.
            let mut c = card(Status::Healthy, healthy_summary, metrics);
            c.details.push(Metric::new(
                "traffic drop",
                format!(
                    "not judged: the hourly comparison (Stats API v2) could not be read ({})",
                    super::clip(&why, 100)
                ),
            ));
            return finish(c);
        }
    };
    let drop = fall(w.yesterday, w.today);
    let by_now = format!("{} by this time yesterday", fmt_count(w.yesterday));
    let collapsed = th
        .traffic_drop
        .is_some_and(|limit| drop >= limit && w.yesterday >= th.traffic_min_baseline as f64);
    let mut c = if collapsed {
        card(
            Status::Degraded,
            format!(
                "traffic down {} % on the same hours yesterday ({} visitors so far, {by_now})",
                fmt_count(drop),
                fmt_count(w.today),
            ),
            metrics,
        )
    } else {
        card(Status::Healthy, healthy_summary, metrics)
    };
    c.details.push(Metric::new(
        "same hours yesterday",
        format!("{} visitors so far today, {by_now}", fmt_count(w.today)),
    ));
    finish(c)
}

/// The fall from `before` to `after` in percent, 0 when traffic grew or there was none.
fn fall(before: f64, after: f64) -> f64 {
    if before > 0.0 {
        ((before - after) / before * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    }
}

fn unreadable(ctx: &Context<'_>, ex: &Exchange, what: &str, e: serde_json::Error) -> Step {
    common::unknown(
        ctx,
        unreadable_body(ctx.service, what, &ex.response.body, e),
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
/// A metric line for a figure: the text with its change, and the raw numbers
/// for `--json`.
fn figure_metric(label: &str, f: &Figure) -> Metric {
    Metric::new(label, with_change(f))
        .number(f.value)
        .change_pct(f.change)
}

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

    #[test]
    fn a_site_given_as_a_url_is_its_domain_and_a_page_url_is_refused() {
        for (given, site) in [
            ("example.com", "example.com"),
            ("example.com/", "example.com"),
            ("https://example.com/", "example.com"),
            ("https://Stats.Example.com", "stats.example.com"),
            ("http://example.com", "example.com"),
        ] {
            assert_eq!(site_domain(given).as_deref(), Ok(site), "{given}");
        }
        for page in ["https://example.com/blog", "https://example.com/?ref=x", "https://example.com/#top", "https://"] {
            let e = site_domain(page).unwrap_err();
            assert!(e.contains("domain"), "{page}: {e}");
        }
        // Through the spec, as the CLI reads flags: the domain, and a note saying so.
        let values = [("site".to_string(), "https://example.com/".to_string())].into();
        let mut fields = crate::providers::MapFields::new(&values);
        let t = PlausibleTarget::parse(&mut fields).unwrap();
        assert_eq!(t.site, "example.com");
        assert!(fields.problems.is_empty());
        assert_eq!(fields.notes.len(), 1);
        assert!(fields.notes[0].1.contains("`example.com`"), "{:?}", fields.notes);
    }
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
            Target::Plausible(PlausibleTarget {
                site: "example.com".into(),
            }),
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

    /// 1e308 visitors showed as 18,446,744,073,709,551,615 and a negative
    /// count as "?" on a healthy card: numbers no real site has are an
    /// answer not understood.
    #[test]
    fn absurd_or_negative_counts_are_a_bad_response() {
        use crate::model::ReasonKind;
        let cases: [(&[u8], &[u8], &str); 7] = [
            (
                br#"{"results":{"visitors":{"value":1e308}}}"#,
                RT,
                "visitors 1e308 is not a count",
            ),
            (
                br#"{"results":{"visitors":{"value":-5}}}"#,
                RT,
                "visitors -5 is not a count",
            ),
            (
                br#"{"results":{"visitors":{"value":"-5"}}}"#,
                RT,
                "visitors -5 is not a count",
            ),
            (
                br#"{"results":{"visitors":{"value":10},"pageviews":{"value":2e16}}}"#,
                RT,
                "pageviews 2e16 is not a count",
            ),
            (
                br#"{"results":{"visitors":{"value":10,"comparison_value":-1}}}"#,
                RT,
                "visitors comparison_value -1 is not a count",
            ),
            (
                br#"{"results":{"visitors":{"value":10,"change":1e300}}}"#,
                RT,
                "visitors change 1e300 % is not a percentage",
            ),
            (HEALTHY, b"-3", "-3 is not a count"),
        ];
        for (agg, rt, why) in cases {
            let run = run(&service(), json(200, agg), json(200, rt));
            assert_eq!(run.card.status, Status::Unknown, "{why}");
            assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse), "{why}");
            assert!(run.reason_text().contains(why), "{}", run.reason_text());
        }
        // The largest believable count still reads.
        let run = run(
            &service(),
            json(200, &visitors(1_000_000_000_000_000, None)),
            json(200, RT),
        );
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("visitors today"), "1,000,000,000,000,000");
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
        // 1011 / 0.59 ≈ 1714 visitors yesterday: suspect; the same hours confirm it.
        let hours = hourly(
            "+00:00",
            &rows(&[day("2026-08-21", 23, 100), day("2026-08-22", 14, 50)]),
        );
        let run = run_checked(&s, COMPARE, RT, json(200, &hours));
        assert_eq!(run.card.status, Status::Degraded);
        assert!(run.card.reason.is_none());
        assert_eq!(
            run.card.summary,
            "traffic down 47 % on the same hours yesterday (750 visitors so far, 1,408 by this time yesterday)"
        );
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

    /// A v2 `time:hour` answer: rows of (local hour label, visitors), the
    /// resolved range ending with `offset` (the site's timezone).
    fn hourly(offset: &str, rows: &[(&str, u64)]) -> Vec<u8> {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(h, v)| serde_json::json!({ "metrics": [v], "dimensions": [h] }))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "results": rows,
            "meta": {},
            "query": {
                "site_id": "example.com",
                "metrics": ["visitors"],
                "date_range": [format!("2026-08-20T00:00:00{offset}"), format!("2026-08-23T23:59:59{offset}")],
                "dimensions": ["time:hour"],
            }
        }))
        .unwrap()
    }

    /// A day of `per_hour` visitors every hour from 00:00 to `until` (inclusive).
    fn day(date: &str, until: u8, per_hour: u64) -> Vec<(String, u64)> {
        (0..=until)
            .map(|h| (format!("{date} {h:02}:00:00"), per_hour))
            .collect()
    }

    fn rows(parts: &[Vec<(String, u64)>]) -> Vec<(&str, u64)> {
        parts
            .iter()
            .flatten()
            .map(|(h, v)| (h.as_str(), *v))
            .collect()
    }

    /// Answers the first round with `agg`/`rt` and the same-hours check with `hours`.
    fn run_checked(service: &Service, agg: &[u8], rt: &[u8], hours: Response) -> Run {
        drive(service, |r| match r.tag {
            AGGREGATE => json(200, agg),
            REALTIME => json(200, rt),
            SAME_HOURS => hours.clone(),
            other => panic!("unexpected request {other}"),
        })
    }

    /// Plausible's old "today so far vs all of yesterday": at 14:05 a site
    /// with a steady 100 visitors an hour has 1,500 today against 2,400
    /// yesterday, which an older server reports with comparison 2,400.
    const MORNING_V1: &[u8] = br#"{"results":{"visitors":{"value":300,"change":-88,"comparison_value":2400},"pageviews":{"value":900,"change":-88,"comparison_value":7200}}}"#;

    #[test]
    fn a_drop_against_all_of_yesterday_is_checked_on_the_same_hours() {
        // Site clock UTC: 14:05. Today 00–14 at 20/h (300 so far), yesterday at 20/h all day.
        let hours = hourly(
            "+00:00",
            &rows(&[day("2026-08-21", 23, 20), day("2026-08-22", 14, 20)]),
        );
        let run = run_checked(&service(), MORNING_V1, RT, json(200, &hours));
        assert_eq!(run.rounds.len(), 2);
        let [req] = run.rounds[1].as_slice() else {
            panic!("one same-hours request expected: {:?}", run.rounds[1]);
        };
        assert_eq!(
            (req.tag, req.method, req.auth),
            (SAME_HOURS, Method::Post, Auth::Bearer)
        );
        assert_eq!(req.url.as_str(), "https://plausible.io/api/v2/query");
        assert_eq!(
            req.body.as_ref().unwrap(),
            &serde_json::json!({
                "site_id": "example.com",
                "metrics": ["visitors"],
                "date_range": ["2026-08-20", "2026-08-23"],
                "dimensions": ["time:hour"],
            })
        );
        // Same hours: 15 × 20 today against 14 × 20 + 20 × 5/60 yesterday.
        assert_eq!(run.card.status, Status::Healthy, "{}", run.card.summary);
        assert_eq!(run.card.summary, "300 visitors today, 23 now");
        assert_eq!(run.metric("visitors today"), "300 (−88 % vs yesterday)");
        assert_eq!(
            run.detail("same hours yesterday"),
            "300 visitors so far today, 282 by this time yesterday"
        );
    }

    #[test]
    fn a_real_collapse_on_the_same_hours_is_degraded() {
        // Today's hours after 01:00 are empty (omitted, as Plausible does).
        let hours = hourly(
            "+00:00",
            &rows(&[day("2026-08-21", 23, 100), day("2026-08-22", 1, 100)]),
        );
        let run = run_checked(&service(), MORNING_V1, RT, json(200, &hours));
        assert_eq!(run.card.status, Status::Degraded);
        assert!(run.card.reason.is_none());
        assert_eq!(
            run.card.summary,
            "traffic down 86 % on the same hours yesterday (200 visitors so far, 1,408 by this time yesterday)"
        );
    }

    #[test]
    fn the_site_clock_comes_from_the_resolved_range() {
        // 14:05 UTC is 16:05 at +02:00: hours up to 16 count, yesterday's 16:00 by 5/60.
        let hours = hourly(
            "+02:00",
            &rows(&[
                day("2026-08-21", 23, 60),
                vec![("2026-08-22 16:00:00".into(), 6)],
            ]),
        );
        let mut s = service();
        s.thresholds.traffic_min_baseline = 0;
        let run = run_checked(&s, MORNING_V1, RT, json(200, &hours));
        assert_eq!(
            run.detail("same hours yesterday"),
            "6 visitors so far today, 965 by this time yesterday"
        );
        assert_eq!(run.card.status, Status::Degraded);
        let w = same_hours(
            &serde_json::from_slice(&hourly(
                "-05:00",
                &[("2026-08-22 09:00:00", 7), ("2026-08-22 10:00:00", 9)],
            ))
            .unwrap(),
            testkit::NOW,
        )
        .unwrap();
        // 09:05 at −05:00: the 10:00 row is not yet "so far".
        assert_eq!(
            w,
            SameHours {
                today: 7.0,
                yesterday: 0.0
            }
        );
    }

    #[test]
    fn without_the_hourly_check_a_drop_is_not_judged() {
        for resp in [
            json(404, b"Not Found"),
            json(400, br##"{"error":"#/date_range: Invalid date range"}"##),
            json(200, br#"{"results":[{"metrics":[3],"dimensions":["yesterday"]}],"query":{"date_range":["2026-08-20T00:00:00Z","2026-08-23T23:59:59Z"]}}"#),
            json(200, br#"{"results":[]}"#),
        ] {
            let run = run_checked(&service(), MORNING_V1, RT, resp);
            assert_eq!(run.card.status, Status::Healthy);
            assert!(
                run.detail("traffic drop").starts_with("not judged"),
                "{:?}",
                run.card.details
            );
        }
    }

    #[test]
    fn comparison_value_is_the_baseline_and_needs_no_extra_request() {
        // change −50 would derive 200; Plausible says 120: a fall of 17 %, no check needed.
        let body = br#"{"results":{"visitors":{"value":100,"change":-50,"comparison_value":120}}}"#;
        let mut s = service();
        s.thresholds.traffic_drop = Some(40.0);
        let out = run(&s, json(200, body), json(200, RT));
        assert_eq!(out.rounds.len(), 1);
        assert_eq!(out.card.status, Status::Healthy);
        // Without it, the change alone (−50 %) makes the drop suspect.
        let body = br#"{"results":{"visitors":{"value":100,"change":-50}}}"#;
        let hours = hourly("+00:00", &rows(&[day("2026-08-21", 23, 20)]));
        let out = run_checked(&s, body, RT, json(200, &hours));
        assert_eq!(out.rounds.len(), 2);
        assert_eq!(out.card.status, Status::Degraded);
    }

    #[test]
    fn zero_traffic_is_never_down() {
        let hours = hourly("+00:00", &rows(&[day("2026-08-21", 23, 5000)]));
        let run = run_checked(&service(), ZERO, RT_ZERO, json(200, &hours));
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.metric("visitors now"), "0");
        assert_eq!(run.metric("visitors today"), "0");
    }

    #[test]
    fn fall_to_zero_from_a_quiet_day_stays_healthy() {
        // 14 visitors by this time yesterday is below the default baseline of 50.
        let hours = hourly("+00:00", &rows(&[day("2026-08-21", 23, 1)]));
        let run = run_checked(&service(), FELL_TO_ZERO, RT_ZERO, json(200, &hours));
        assert_eq!(run.rounds.len(), 2);
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.card.summary, "0 visitors today, 0 now");
        // The threshold is inclusive: 50 by this time yesterday is busy enough.
        let mut quiet = day("2026-08-21", 13, 0);
        quiet[0].1 = 50;
        let run = run_checked(
            &service(),
            FELL_TO_ZERO,
            RT_ZERO,
            json(200, &hourly("+00:00", &rows(&[quiet]))),
        );
        assert_eq!(run.card.status, Status::Degraded);
    }

    #[test]
    fn rule_off_never_degrades_nor_checks() {
        let mut s = service();
        s.thresholds.traffic_drop = None;
        s.thresholds.traffic_min_baseline = 0;
        // `run` fails on any second-round request.
        for (agg, rt) in [
            (FELL_TO_ZERO, RT_ZERO),
            (ZERO, RT_ZERO),
            (COMPARE, RT),
            (MORNING_V1, RT),
        ] {
            let out = run(&s, json(200, agg), json(200, rt));
            assert_eq!(out.rounds.len(), 1);
            assert_eq!(out.card.status, Status::Healthy);
        }
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
        // Traffic present, no change reported (a v2 answer): nothing to check.
        let out = run(&service(), json(200, HEALTHY), json(200, RT));
        assert_eq!(out.rounds.len(), 1);
    }

    #[test]
    fn hour_labels_parse_strictly() {
        use time::macros::date;
        assert_eq!(
            hour_label("2026-08-22 14:00:00"),
            Some((date!(2026 - 08 - 22), 14))
        );
        assert_eq!(hour_label("2026-08-22 24:00:00"), None);
        assert_eq!(hour_label("2026-08-22"), None);
        assert_eq!(hour_label("yesterday 10:00"), None);
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
        let msg = run.reason_text();
        assert!(
            msg.contains("Stats API is not in this Plausible plan"),
            "{msg}"
        );
        assert!(!msg.contains("locked"), "{msg}");
    }

    #[test]
    fn a_locked_site_is_degraded_not_unknown() {
        let body = include_bytes!("../../tests/fixtures/plausible/error_402_site_locked.json");
        for (agg, rt) in [
            (json(402, body), json(402, body)),
            (json(200, HEALTHY), json(402, body)),
        ] {
            let run = run(&service(), agg, rt);
            assert_eq!(run.card.status, Status::Degraded);
            assert!(run.card.reason.is_none());
            assert!(
                run.card
                    .summary
                    .starts_with("site locked: the subscription lapsed"),
                "{}",
                run.card.summary
            );
            assert!(run
                .detail("plausible says")
                .contains("locked due to missing active subscription"));
        }
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

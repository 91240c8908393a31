//! Sentry adapter: unresolved issues in the last hour and the hourly error rate.
//!
//! Config: `org` and `project` (slugs), `base_url` for a region host
//! (`https://de.sentry.io`) or a self-hosted install (path prefixes are kept),
//! thresholds `spike_degraded` / `spike_down` (multiples of the trailing
//! median hourly error count). Token: `Authorization: Bearer` (user or
//! internal-integration token with `org:read project:read event:read`).
//!
//! Rounds (the issues endpoint's `project` filter wants the numeric id, the
//! config holds a slug, so the details call goes first):
//! 1. `GET /api/0/projects/{org}/{project}/` — gate: `status == "active"` and
//!    `hasAccess != false`, else unknown; yields the numeric `id`.
//! 2. concurrently
//!    `GET /api/0/organizations/{org}/issues/?project=<id>&query=is:unresolved&statsPeriod=1h&sort=freq&limit=25`
//!    and `GET /api/0/organizations/{org}/stats_v2/?field=sum(quantity)&category=error&groupBy=outcome&interval=1h&statsPeriod=24h&project=<id>`.
//!    First page only: 25 issues sorted by frequency are enough to judge.
//!
//! When round 1 answers 404 on sentry.io, one more call
//! (`GET /api/0/organizations/`) looks for the org's `links.regionUrl` to say
//! which `base_url` to set.
//!
//! Status (the server's `statsPeriod=1h` filter is trusted; no local-clock re-filtering):
//! - down: an unresolved `fatal` issue, or last hour's accepted errors
//!   ≥ `spike_down` × max(median of the earlier hours, 1);
//! - degraded: an unresolved `error` issue, any issue with substatus
//!   new/regressed/escalating, a spike ≥ `spike_degraded` ×, or `rate_limited`
//!   outcomes > 0 (Sentry is dropping events);
//! - healthy otherwise; unknown on HTTP errors (404 → config with the
//!   regional-host hint), a non-active project, or unreadable bodies.

use serde_json::Value;

use super::common::{self, card, count, find, is_success, string};
use super::{
    bad_body, clip, describe_body, http_error_reason, thousands, Auth, Context, Exchange, Method,
    Request, Step,
};
use crate::model::{Metric, Reason, ReasonKind, Status, Target};

const PROJECT: &str = "project";
const ISSUES: &str = "issues";
const STATS: &str = "stats";
const ORGS: &str = "organizations";

pub fn plan(ctx: &Context<'_>, done: &[Exchange]) -> Step {
    let (org, project) = match &ctx.service.target {
        Target::Sentry { org, project } => (org.as_str(), project.as_str()),
        other => {
            return common::unknown(
                ctx,
                Reason::new(
                    ReasonKind::Config,
                    format!("not a Sentry target: {}", other.describe()),
                ),
                None,
            )
        }
    };
    let base = ctx.service.api_base();
    let get = |tag, segments: &[&str], query: &[(&str, &str)]| {
        common::endpoint(&base, segments, query).map(|url| Request {
            tag,
            method: Method::Get,
            url,
            auth: Auth::Bearer,
            headers: Vec::new(),
            body: None,
        })
    };
    let bad_base = || {
        common::unknown(
            ctx,
            Reason::new(
                ReasonKind::Config,
                format!("base_url `{base}` cannot be used as an API root"),
            ),
            None,
        )
    };

    let Some(details) = find(done, PROJECT) else {
        return match get(PROJECT, &["api", "0", "projects", org, project, ""], &[]) {
            Some(r) => Step::Fetch(vec![r]),
            None => bad_base(),
        };
    };
    if details.response.status == 404 && is_saas(&base) {
        return match find(done, ORGS) {
            Some(orgs) => {
                common::unknown(ctx, not_found(ctx, org, details, Some(orgs)), Some(details))
            }
            None => match get(ORGS, &["api", "0", "organizations", ""], &[]) {
                Some(r) => Step::Fetch(vec![r]),
                None => bad_base(),
            },
        };
    }
    let id = match gate(ctx, org, details) {
        Ok(id) => id,
        Err(reason) => return common::unknown(ctx, reason, Some(details)),
    };
    match (find(done, ISSUES), find(done, STATS)) {
        (Some(issues), Some(stats)) => evaluate(ctx, issues, stats),
        _ => {
            let issues = get(
                ISSUES,
                &["api", "0", "organizations", org, "issues", ""],
                &[
                    ("project", &id),
                    ("query", "is:unresolved"),
                    ("statsPeriod", "1h"),
                    ("sort", "freq"),
                    ("limit", "25"),
                ],
            );
            let stats = get(
                STATS,
                &["api", "0", "organizations", org, "stats_v2", ""],
                &[
                    ("field", "sum(quantity)"),
                    ("category", "error"),
                    ("groupBy", "outcome"),
                    ("interval", "1h"),
                    ("statsPeriod", "24h"),
                    ("project", &id),
                ],
            );
            match (issues, stats) {
                (Some(i), Some(s)) => Step::Fetch(vec![i, s]),
                _ => bad_base(),
            }
        }
    }
}

/// sentry.io and its region hosts, where a wrong region answers 404.
fn is_saas(base: &url::Url) -> bool {
    base.host_str()
        .is_some_and(|h| h == "sentry.io" || h.ends_with(".sentry.io"))
}

/// Sentry's `detail`: a string, or `{code, message, extra}` for SSO/2FA/moves.
fn detail(body: &[u8]) -> Option<String> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return common::text_detail(body);
    };
    match v.get("detail")? {
        Value::String(s) => Some(s.clone()),
        obj @ Value::Object(_) => string(obj, "message")
            .or_else(|| string(obj, "code"))
            .map(str::to_string),
        _ => None,
    }
}

fn failure(ctx: &Context<'_>, ex: &Exchange) -> Reason {
    http_error_reason(
        ctx.service,
        ex.response.status,
        detail(&ex.response.body).as_deref(),
        common::retry_after(&ex.response),
    )
}

/// A 404 on the project: wrong slugs, or an org living in another region.
fn not_found(ctx: &Context<'_>, org: &str, ex: &Exchange, orgs: Option<&Exchange>) -> Reason {
    let mut reason = failure(ctx, ex);
    let region = orgs
        .filter(|o| is_success(o.response.status))
        .and_then(|o| serde_json::from_slice::<Value>(&o.response.body).ok())
        .and_then(|list| {
            list.as_array()?
                .iter()
                .find(|o| string(o, "slug") == Some(org))
                .and_then(|o| o.get("links"))
                .and_then(|l| string(l, "regionUrl"))
                .map(|u| u.trim_end_matches('/').to_string())
        });
    let current = ctx
        .service
        .api_base()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    match region {
        Some(r) if r != current => reason.message.push_str(&format!(
            " — organization {org} lives on {r}: set base_url = \"{r}\""
        )),
        _ => reason.message.push_str(
            " — if the slugs are right, the org may live in another region: for an EU org set base_url = \"https://de.sentry.io\"",
        ),
    }
    reason
}

/// Checks the project details and returns the numeric project id.
fn gate(ctx: &Context<'_>, org: &str, ex: &Exchange) -> Result<String, Reason> {
    let status = ex.response.status;
    if status == 404 {
        return Err(not_found(ctx, org, ex, None));
    }
    if !is_success(status) {
        return Err(failure(ctx, ex));
    }
    let v: Value = serde_json::from_slice(&ex.response.body).map_err(|e| {
        bad_body(
            ctx.service,
            "project",
            format!("{}: {e}", describe_body(&ex.response.body)),
        )
    })?;
    if v.get("hasAccess") == Some(&Value::Bool(false)) {
        return Err(Reason::new(
            ReasonKind::Auth,
            format!(
                "the token's user has no access to {} (hasAccess is false) — join the project's team or use another token",
                ctx.service.target.describe()
            ),
        ));
    }
    match string(&v, "status") {
        Some("active") => {}
        // The states Sentry documents for a project that is not in use: the
        // settings point at it, so it is the user's to fix.
        Some(s @ ("disabled" | "pending_deletion" | "deletion_in_progress")) => {
            return Err(Reason::new(
                ReasonKind::Config,
                format!(
                    "{} is not active (status: {s})",
                    ctx.service.target.describe()
                ),
            ))
        }
        // No status, or one Sentry does not document: an answer we cannot
        // read, not a verdict on the settings.
        Some(other) => {
            return Err(bad_body(
                ctx.service,
                "project",
                format!("unknown project status `{}`", clip(other, 40)),
            ))
        }
        None => {
            return Err(bad_body(
                ctx.service,
                "project",
                format!("{} without a `status`", describe_json_shape(&v)),
            ))
        }
    }
    // The id is a string in the API; accept a bare number too.
    match v.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(bad_body(ctx.service, "project", "no project `id`")),
    }
}

struct Issue {
    title: String,
    level: String,
    substatus: Option<String>,
    events: Option<u64>,
}

fn read_issue(v: &Value) -> Option<Issue> {
    if !v.is_object() {
        return None;
    }
    // The query asked for unresolved ones; a stray other status is skipped.
    if string(v, "status").is_some_and(|s| s != "unresolved") {
        return None;
    }
    Some(Issue {
        title: string(v, "title")
            .or_else(|| string(v, "shortId"))
            .unwrap_or("(untitled issue)")
            .to_string(),
        level: string(v, "level").unwrap_or("unknown").to_string(),
        substatus: string(v, "substatus").map(str::to_string),
        events: v.get("count").and_then(count),
    })
}

/// Hourly accepted errors (oldest first) and the rate-limited total.
struct Rates {
    accepted: Vec<u64>,
    rate_limited: u64,
}

fn read_stats(v: &Value) -> Option<Rates> {
    // The legacy project stats shape, [[ts, count], ...], reads the same way;
    // anything else in an array is not a series we can trust.
    if let Some(points) = v.as_array() {
        let accepted = points
            .iter()
            .map(|p| match p.as_array().map(Vec::as_slice) {
                Some([_, n]) => count(n),
                _ => None,
            })
            .collect::<Option<Vec<u64>>>()?;
        return Some(Rates {
            accepted,
            rate_limited: 0,
        });
    }
    // A stats_v2 answer is an object with its time buckets; without them
    // (an error object, `null`, an unrelated shape) "no groups" would read
    // as "no errors" — healthy from an answer we did not understand.
    if !v.get("intervals").is_some_and(Value::is_array) && v.get("groups").is_none() {
        return None;
    }
    let groups = match v.get("groups") {
        Some(Value::Array(g)) => g.as_slice(),
        // Absent groups with intervals mean no events.
        None | Some(Value::Null) => &[],
        Some(_) => return None,
    };
    let series = |g: &Value| -> Vec<u64> {
        g.get("series")
            .and_then(|s| s.get("sum(quantity)"))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|n| count(n).unwrap_or(0)).collect())
            .unwrap_or_default()
    };
    let outcome = |g: &Value| {
        g.get("by")
            .and_then(|b| string(b, "outcome"))
            .map(str::to_string)
    };
    let mut rates = Rates {
        accepted: Vec::new(),
        rate_limited: 0,
    };
    for g in groups {
        match outcome(g).as_deref() {
            Some("accepted") => rates.accepted = series(g),
            Some("rate_limited") => {
                let total = g
                    .get("totals")
                    .and_then(|t| t.get("sum(quantity)"))
                    .and_then(count)
                    .unwrap_or_else(|| series(g).iter().fold(0u64, |a, b| a.saturating_add(*b)));
                rates.rate_limited = rates.rate_limited.saturating_add(total);
            }
            _ => {}
        }
    }
    Some(rates)
}

/// "an object with keys a, b", "an array", "null": what a JSON answer
/// looked like, for a reason that says why it could not be read.
fn describe_json_shape(v: &Value) -> String {
    match v {
        Value::Object(o) if o.is_empty() => "an empty object".into(),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(4).map(String::as_str).collect();
            format!("an object with {}", clip(&keys.join(", "), 60))
        }
        Value::Array(_) => "an array".into(),
        Value::String(_) => "a string".into(),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Null => "null".into(),
    }
}

/// Median of the hours before the last one.
fn median(values: &[u64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2] as f64,
        _ => (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0,
    }
}

fn fmt_ratio(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{}", x.round() as u64)
    } else {
        format!("{x:.1}")
    }
}

fn evaluate(ctx: &Context<'_>, issues_ex: &Exchange, stats_ex: &Exchange) -> Step {
    for ex in [issues_ex, stats_ex] {
        if !is_success(ex.response.status) {
            return common::unknown(ctx, failure(ctx, ex), Some(ex));
        }
    }
    let unreadable = |ex: &Exchange, what: &str, err: String| {
        common::unknown(
            ctx,
            bad_body(
                ctx.service,
                what,
                format!("{}: {err}", describe_body(&ex.response.body)),
            ),
            Some(ex),
        )
    };
    let issues: Vec<Issue> = match serde_json::from_slice::<Value>(&issues_ex.response.body) {
        // A list with items of which none is an object is not an issue list
        // at all; skipping them would report "no errors" from an unreadable
        // answer. (One odd item among issues only loses that item.)
        Ok(Value::Array(items)) if !items.is_empty() && !items.iter().any(Value::is_object) => {
            return unreadable(issues_ex, "issue list", "expected issue objects".into())
        }
        Ok(Value::Array(items)) => items.iter().filter_map(read_issue).collect(),
        Ok(_) => return unreadable(issues_ex, "issue list", "expected an array".into()),
        Err(e) => return unreadable(issues_ex, "issue list", e.to_string()),
    };
    let rates = match serde_json::from_slice::<Value>(&stats_ex.response.body) {
        Ok(v) => match read_stats(&v) {
            Some(r) => r,
            None => {
                return unreadable(
                    stats_ex,
                    "event stats",
                    format!("unexpected shape: {}", describe_json_shape(&v)),
                )
            }
        },
        Err(e) => return unreadable(stats_ex, "event stats", e.to_string()),
    };

    let (last, earlier) = match rates.accepted.split_last() {
        Some((last, earlier)) => (*last, earlier),
        None => (0, &[][..]),
    };
    let med = median(earlier);
    let ratio = last as f64 / med.max(1.0);
    let total = rates
        .accepted
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b));
    let th = &ctx.service.thresholds;

    let fatal = issues.iter().find(|i| i.level == "fatal");
    let flagged = issues.iter().find(|i| {
        matches!(
            i.substatus.as_deref(),
            Some("new" | "regressed" | "escalating")
        )
    });
    let errors = issues.iter().filter(|i| i.level == "error").count();

    let spike = format!(
        "error spike: {last} in the last hour, {}× the median",
        fmt_ratio(ratio)
    );
    let (status, summary) = if let Some(f) = fatal {
        (Status::Down, format!("fatal: {}", clip(&f.title, 80)))
    } else if last > 0 && ratio >= th.spike_down {
        (Status::Down, spike)
    } else if let Some(f) = flagged {
        (
            Status::Degraded,
            format!(
                "{} issue: {}",
                f.substatus.as_deref().unwrap_or("new"),
                clip(&f.title, 80)
            ),
        )
    } else if errors > 0 {
        (
            Status::Degraded,
            format!(
                "{errors} unresolved error issue{} in the last hour",
                if errors == 1 { "" } else { "s" }
            ),
        )
    } else if last > 0 && ratio >= th.spike_degraded {
        (Status::Degraded, spike)
    } else if rates.rate_limited > 0 {
        (
            Status::Degraded,
            format!(
                "Sentry dropped {} events (rate limited) — some errors are not visible",
                thousands(rates.rate_limited)
            ),
        )
    } else {
        (
            Status::Healthy,
            "no unresolved errors in the last hour".to_string(),
        )
    };

    let mut metrics = vec![
        Metric::new(
            "unresolved issues (1 h)",
            if issues.len() >= 25 {
                "25+".to_string()
            } else {
                issues.len().to_string()
            },
        ),
        Metric::new(
            "events (24 h)",
            format!(
                "{} ({} in the last hour, median {})",
                thousands(total),
                thousands(last),
                fmt_ratio(med)
            ),
        ),
        Metric::new(
            "top issue",
            issues
                .first()
                .map(|i| match i.events {
                    Some(n) => format!("{} ({} events)", clip(&i.title, 80), thousands(n)),
                    None => clip(&i.title, 80),
                })
                .unwrap_or_else(|| "none".into()),
        ),
    ];
    if rates.rate_limited > 0 {
        metrics.push(Metric::new(
            "rate limited (24 h)",
            thousands(rates.rate_limited),
        ));
    }
    common::finish(ctx, card(status, summary, metrics))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;
    use crate::providers::testkit::{self, drive, json, query, with_header, Run};
    use crate::providers::Response;
    use url::Url;

    const DETAILS: &[u8] = include_bytes!("../../tests/fixtures/sentry/project_details.json");
    const NO_ISSUES: &[u8] = include_bytes!("../../tests/fixtures/sentry/org_issues_empty.json");
    const ISSUES_BAD: &[u8] =
        include_bytes!("../../tests/fixtures/sentry/org_issues_unresolved.json");
    const STATS_OK: &[u8] =
        include_bytes!("../../tests/fixtures/sentry/stats_v2_errors_healthy.json");
    const STATS_EMPTY: &[u8] =
        include_bytes!("../../tests/fixtures/sentry/stats_v2_empty_groups.json");
    const ORGS_LIST: &[u8] = include_bytes!("../../tests/fixtures/sentry/organizations_list.json");

    fn service() -> Service {
        Service::example(
            "Acme",
            "Shop API",
            Target::Sentry {
                org: "acme-web".into(),
                project: "shop-api".into(),
            },
            Some("acme-sentry".parse().unwrap()),
        )
    }

    fn check_with(s: &Service, details: Response, issues: Response, stats: Response) -> Run {
        drive(s, |r| match r.tag {
            PROJECT => details.clone(),
            ISSUES => issues.clone(),
            STATS => stats.clone(),
            ORGS => json(200, ORGS_LIST),
            other => panic!("unexpected request {other}"),
        })
    }

    fn check(details: Response, issues: Response, stats: Response) -> Run {
        check_with(&service(), details, issues, stats)
    }

    /// A stats_v2 answer with this accepted series (and optional rate_limited total).
    fn stats(accepted: &[u64], rate_limited: u64) -> Vec<u8> {
        let mut groups = vec![serde_json::json!({
            "by": {"outcome": "accepted"},
            "totals": {"sum(quantity)": accepted.iter().sum::<u64>()},
            "series": {"sum(quantity)": accepted},
        })];
        if rate_limited > 0 {
            groups.push(serde_json::json!({
                "by": {"outcome": "rate_limited"},
                "totals": {"sum(quantity)": rate_limited},
                "series": {"sum(quantity)": [rate_limited]},
            }));
        }
        serde_json::to_vec(&serde_json::json!({"intervals": [], "groups": groups})).unwrap()
    }

    fn issue(level: &str, substatus: Option<&str>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!([{
            "id": "1", "title": "Boom", "level": level, "status": "unresolved",
            "substatus": substatus, "count": "7"
        }]))
        .unwrap()
    }

    #[test]
    fn details_first_then_issues_and_stats_by_numeric_id() {
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run.rounds.len(), 2);
        let d = &run.rounds[0];
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].tag, PROJECT);
        assert_eq!(d[0].method, Method::Get);
        assert_eq!(d[0].auth, Auth::Bearer);
        assert_eq!(
            d[0].url.as_str(),
            "https://sentry.io/api/0/projects/acme-web/shop-api/"
        );
        let r2 = &run.rounds[1];
        let issues = r2.iter().find(|r| r.tag == ISSUES).unwrap();
        assert_eq!(issues.url.path(), "/api/0/organizations/acme-web/issues/");
        assert_eq!(
            query(issues, "project").as_deref(),
            Some("4507281934056448")
        );
        assert_eq!(query(issues, "query").as_deref(), Some("is:unresolved"));
        assert_eq!(query(issues, "statsPeriod").as_deref(), Some("1h"));
        assert_eq!(query(issues, "sort").as_deref(), Some("freq"));
        assert_eq!(query(issues, "limit").as_deref(), Some("25"));
        let st = r2.iter().find(|r| r.tag == STATS).unwrap();
        assert_eq!(st.url.path(), "/api/0/organizations/acme-web/stats_v2/");
        assert_eq!(query(st, "field").as_deref(), Some("sum(quantity)"));
        assert_eq!(query(st, "category").as_deref(), Some("error"));
        assert_eq!(query(st, "groupBy").as_deref(), Some("outcome"));
        assert_eq!(query(st, "interval").as_deref(), Some("1h"));
        assert_eq!(query(st, "statsPeriod").as_deref(), Some("24h"));
        assert_eq!(query(st, "project").as_deref(), Some("4507281934056448"));
        assert!(r2
            .iter()
            .all(|r| r.auth == Auth::Bearer && r.body.is_none()));
    }

    #[test]
    fn self_hosted_prefix_is_kept() {
        let mut s = service();
        s.base_url = Some(Url::parse("https://errors.example.org/sentry").unwrap());
        let run = check_with(
            &s,
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(
            run.rounds[0][0].url.as_str(),
            "https://errors.example.org/sentry/api/0/projects/acme-web/shop-api/"
        );
        assert!(run.rounds[1][0]
            .url
            .path()
            .starts_with("/sentry/api/0/organizations/"));
    }

    #[test]
    fn quiet_project_is_healthy() {
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("unresolved issues (1 h)"), "0");
        assert_eq!(
            run.metric("events (24 h)"),
            "121 (9 in the last hour, median 4)"
        );
        assert_eq!(run.metric("top issue"), "none");
        assert_eq!(run.card.summary, "no unresolved errors in the last hour");
    }

    #[test]
    fn empty_groups_mean_zero() {
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, STATS_EMPTY),
        );
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(
            run.metric("events (24 h)"),
            "0 (0 in the last hour, median 0)"
        );
    }

    #[test]
    fn new_error_issue_is_degraded_with_string_count() {
        let run = check(
            json(200, DETAILS),
            json(200, ISSUES_BAD),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.metric("unresolved issues (1 h)"), "2");
        assert_eq!(
            run.metric("top issue"),
            "IntegrityError: duplicate key value violates unique constraint \"orders_pkey\" (418 events)"
        );
        assert!(
            run.card.summary.starts_with("new issue: IntegrityError"),
            "{}",
            run.card.summary
        );
    }

    #[test]
    fn legacy_shapes_read_the_same() {
        let legacy_issues =
            include_bytes!("../../tests/fixtures/sentry/project_issues_legacy.json");
        let legacy_stats = include_bytes!("../../tests/fixtures/sentry/project_stats_legacy.json");
        // Legacy issues (no substatus): an unresolved error issue → degraded.
        let run1 = check(
            json(200, DETAILS),
            json(200, legacy_issues),
            json(200, STATS_OK),
        );
        assert_eq!(run1.card.status, Status::Degraded);
        assert_eq!(
            run1.card.summary,
            "1 unresolved error issue in the last hour"
        );
        // Legacy [[ts, n]] stats: same series as the healthy stats_v2 fixture.
        let run2 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, legacy_stats),
        );
        assert_eq!(run2.card.status, Status::Healthy);
        assert_eq!(
            run2.metric("events (24 h)"),
            "121 (9 in the last hour, median 4)"
        );
    }

    #[test]
    fn fatal_issue_is_down() {
        let run = check(
            json(200, DETAILS),
            json(200, &issue("fatal", Some("ongoing"))),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Down);
        assert_eq!(run.card.summary, "fatal: Boom");
        assert_eq!(run.metric("top issue"), "Boom (7 events)");
    }

    #[test]
    fn warnings_that_are_not_new_stay_healthy_and_regressed_degrades() {
        let run1 = check(
            json(200, DETAILS),
            json(200, &issue("warning", Some("ongoing"))),
            json(200, STATS_OK),
        );
        assert_eq!(run1.card.status, Status::Healthy);
        let run2 = check(
            json(200, DETAILS),
            json(200, &issue("info", Some("regressed"))),
            json(200, STATS_OK),
        );
        assert_eq!(run2.card.status, Status::Degraded);
        assert_eq!(run2.card.summary, "regressed issue: Boom");
    }

    #[test]
    fn spikes_against_the_trailing_median() {
        let mut series = vec![4u64; 23];
        series.push(12); // 3× median 4
        let run1 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats(&series, 0)),
        );
        assert_eq!(run1.card.status, Status::Degraded);
        assert_eq!(
            run1.card.summary,
            "error spike: 12 in the last hour, 3× the median"
        );
        *series.last_mut().unwrap() = 40; // 10×
        let run2 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats(&series, 0)),
        );
        assert_eq!(run2.card.status, Status::Down);
        *series.last_mut().unwrap() = 11; // below 3×
        let run3 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats(&series, 0)),
        );
        assert_eq!(run3.card.status, Status::Healthy);
    }

    #[test]
    fn zero_median_does_not_make_one_error_a_spike() {
        let mut series = vec![0u64; 23];
        series.push(1);
        let run1 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats(&series, 0)),
        );
        assert_eq!(run1.card.status, Status::Healthy);
        // A single bucket (no history) and no buckets at all: no division by zero.
        let run2 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats(&[5], 0)),
        );
        assert_eq!(run2.card.status, Status::Degraded);
        let run3 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats(&[], 0)),
        );
        assert_eq!(run3.card.status, Status::Healthy);
    }

    #[test]
    fn custom_thresholds_apply() {
        let mut s = service();
        s.thresholds.spike_degraded = 2.0;
        s.thresholds.spike_down = 2.2;
        // 9 vs median 4 = 2.25×
        let run = check_with(
            &s,
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Down);
    }

    #[test]
    fn rate_limited_outcomes_degrade() {
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats(&[1, 1, 1], 250)),
        );
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.metric("rate limited (24 h)"), "250");
    }

    #[test]
    fn inactive_or_inaccessible_projects_are_unknown() {
        let mut d: Value = serde_json::from_slice(DETAILS).unwrap();
        d["status"] = "pending_deletion".into();
        let run1 = check(
            json(200, &serde_json::to_vec(&d).unwrap()),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run1.rounds.len(), 1);
        assert_eq!(run1.reason_kind(), Some(ReasonKind::Config));
        assert!(run1.reason_text().contains("pending_deletion"));
        d["status"] = "active".into();
        d["hasAccess"] = false.into();
        let run2 = check(
            json(200, &serde_json::to_vec(&d).unwrap()),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run2.reason_kind(), Some(ReasonKind::Auth));
    }

    #[test]
    fn http_errors_on_details() {
        for (status, f, kind) in [
            (
                401,
                &include_bytes!("../../tests/fixtures/sentry/error_401_invalid_token.json")[..],
                ReasonKind::Auth,
            ),
            (
                401,
                &include_bytes!("../../tests/fixtures/sentry/error_401_no_credentials.json")[..],
                ReasonKind::Auth,
            ),
            (
                403,
                &include_bytes!("../../tests/fixtures/sentry/error_403_forbidden.json")[..],
                ReasonKind::Auth,
            ),
            (
                429,
                &include_bytes!("../../tests/fixtures/sentry/error_429_rate_limited.json")[..],
                ReasonKind::RateLimited,
            ),
            (
                500,
                &br#"{"detail":"Internal Error"}"#[..],
                ReasonKind::Unreachable,
            ),
        ] {
            let run = check(json(status, f), json(200, NO_ISSUES), json(200, STATS_OK));
            assert_eq!(run.rounds.len(), 1, "{status}");
            assert_eq!(run.reason_kind(), Some(kind), "{status}");
        }
        let run = check(
            json(401, br#"{"detail":"Invalid token"}"#),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert!(run.reason_text().contains("Invalid token"));
        assert!(run.reason_text().contains("acme-sentry"));
    }

    #[test]
    fn detail_objects_are_read() {
        let body = br#"{"detail":{"code":"sso-required","message":"Must login via SSO","extra":{"loginUrl":"https://sentry.io/auth/login/acme-web/"}}}"#;
        let run = check(json(401, body), json(200, NO_ISSUES), json(200, STATS_OK));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Auth));
        assert!(run.reason_text().contains("Must login via SSO"));
    }

    #[test]
    fn not_found_on_saas_points_at_the_region() {
        let e404 = include_bytes!("../../tests/fixtures/sentry/error_404_not_found.json");
        let run = check(json(404, e404), json(200, NO_ISSUES), json(200, STATS_OK));
        assert_eq!(run.rounds.len(), 2);
        assert_eq!(run.rounds[1][0].url.path(), "/api/0/organizations/");
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(
            run.reason_text()
                .contains("set base_url = \"https://de.sentry.io\""),
            "{}",
            run.reason_text()
        );
        // Self-hosted: no region lookup, the generic hint only.
        let mut s = service();
        s.base_url = Some(Url::parse("https://errors.example.org").unwrap());
        let run2 = check_with(
            &s,
            json(404, e404),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run2.rounds.len(), 1);
        assert_eq!(run2.reason_kind(), Some(ReasonKind::Config));
        assert!(run2.reason_text().contains("de.sentry.io"));
    }

    #[test]
    fn errors_in_round_two() {
        let e400 = include_bytes!("../../tests/fixtures/sentry/error_400_stats_v2_invalid.json");
        let run1 = check(json(200, DETAILS), json(200, NO_ISSUES), json(400, e400));
        assert_eq!(run1.reason_kind(), Some(ReasonKind::BadResponse));
        assert!(run1.reason_text().contains("too granular"));
        let limited = with_header(
            json(
                429,
                include_bytes!("../../tests/fixtures/sentry/error_429_rate_limited.json"),
            ),
            "X-Sentry-Rate-Limit-Remaining",
            "0",
        );
        let run2 = check(json(200, DETAILS), limited, json(200, STATS_OK));
        assert_eq!(run2.reason_kind(), Some(ReasonKind::RateLimited));
        // A 429 whose body is not JSON (the middleware's bare response).
        let run3 = check(
            json(200, DETAILS),
            json(429, b"Too Many Requests"),
            json(200, STATS_OK),
        );
        assert_eq!(run3.reason_kind(), Some(ReasonKind::RateLimited));
    }

    #[test]
    fn unreadable_bodies_are_bad_response() {
        let cases: [(&[u8], &str); 4] = [
            (testkit::CLOUDFLARE, "an HTML page"),
            (b"OK", "plain text"),
            (b"", "an empty body"),
            (br#"[{"id":"60123","count":"41"#, "malformed JSON"),
        ];
        for (body, needle) in cases {
            let r1 = check(json(200, body), json(200, NO_ISSUES), json(200, STATS_OK));
            assert_eq!(
                r1.reason_kind(),
                Some(ReasonKind::BadResponse),
                "details {needle}"
            );
            let r2 = check(json(200, DETAILS), json(200, body), json(200, STATS_OK));
            assert_eq!(
                r2.reason_kind(),
                Some(ReasonKind::BadResponse),
                "issues {needle}"
            );
            assert!(r2.reason_text().contains(needle), "{}", r2.reason_text());
            let r3 = check(json(200, DETAILS), json(200, NO_ISSUES), json(200, body));
            assert_eq!(
                r3.reason_kind(),
                Some(ReasonKind::BadResponse),
                "stats {needle}"
            );
        }
    }

    #[test]
    fn unknown_enums_nulls_and_wrong_types_only_affect_their_item() {
        let issues = br#"[
            {"title":"Odd","level":"catastrophic","status":"unresolved","substatus":"sideways","count":"x"},
            {"title":null,"level":null,"status":null,"substatus":null,"count":null},
            {"title":5,"level":["error"],"count":{"n":1}},
            "not an issue",
            {"title":"Counted","level":"warning","count":12}
        ]"#;
        let run = check(json(200, DETAILS), json(200, issues), json(200, STATS_OK));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("unresolved issues (1 h)"), "4");
        assert_eq!(run.metric("top issue"), "Odd");
        // Stats with a wrong-typed groups field is unreadable, not zero.
        let run2 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, br#"{"groups":"none"}"#),
        );
        assert_eq!(run2.reason_kind(), Some(ReasonKind::BadResponse));
        // Null series values count as zero.
        let run3 = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, br#"{"groups":[{"by":{"outcome":"accepted"},"totals":null,"series":{"sum(quantity)":[1,null,"2",3]}}]}"#),
        );
        assert_eq!(
            run3.metric("events (24 h)"),
            "6 (3 in the last hour, median 1)"
        );
        // Project id as a number still works; a missing id does not.
        let run4 = check(
            json(200, br#"{"id":42,"status":"active"}"#),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(query(&run4.rounds[1][0], "project").as_deref(), Some("42"));
        let run5 = check(
            json(200, br#"{"id":null,"status":"active"}"#),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run5.reason_kind(), Some(ReasonKind::BadResponse));
    }
}

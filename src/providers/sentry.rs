//! Sentry adapter: unresolved issues in the last hour and the hourly error rate.
//!
//! Config: `org` and `project` (slugs), `base_url` for a region host
//! (`https://de.sentry.io`) or a self-hosted install (path prefixes are kept),
//! thresholds `spike_degraded` / `spike_down` (multiples of the trailing
//! median hourly error count) and `unhandled_users_down` (users of one
//! unhandled error in the last hour; 0 = off). Token: `Authorization: Bearer`
//! (user or internal-integration token with `org:read project:read event:read`).
//!
//! Rounds (the issues endpoint's `project` filter wants the numeric id, the
//! config holds a slug, so the details call goes first):
//! 1. `GET /api/0/projects/{org}/{project}/` — gate, yields the numeric `id`.
//!    Sentry sends `status` `active`, `deleted` (disabled / pending deletion /
//!    deletion in progress) or `unknown`; list-style project objects have none.
//!    `deleted` stops with a config reason; `hasAccess == false` with an auth
//!    reason; no status, `unknown` or an undocumented value is read as active
//!    (an undocumented one is shown in the details); a `status` that is not
//!    a string is an unreadable answer.
//! 2. concurrently
//!    `GET /api/0/organizations/{org}/issues/?project=<id>&query=is:unresolved&statsPeriod=1h&sort=freq&limit=25`
//!    and `GET /api/0/organizations/{org}/stats_v2/?field=sum(quantity)&category=error&groupBy=outcome&interval=1h&statsPeriod=24h&project=<id>`.
//!    First page only: 25 issues sorted by frequency are enough to judge.
//!    On the org endpoint `statsPeriod=1h` is the query's range, so only
//!    issues seen in the last hour come back and their `count` / `userCount`
//!    are counted within that hour (`lifetime` holds the totals).
//!
//! When round 1 answers 404 on sentry.io, one more call
//! (`GET /api/0/organizations/`) looks for the org's `links.regionUrl` to say
//! which `base_url` to set.
//!
//! Reading `stats_v2`: only groups whose `by.category` is absent, `error` or
//! `default` count (an answer grouped by category also carries transactions,
//! profiles...); groups of the same outcome are summed bucket by bucket.
//! `accepted` is the error rate, `rate_limited` and `invalid` (events
//! rejected as invalid) are 24 h totals of errors only.
//!
//! The last hour: the last bucket is the current, unfinished hour when its
//! start (`intervals`) is less than an hour before `now`. Then "the last
//! hour" is a sliding hour: that bucket plus the share of the previous
//! bucket not yet replaced (at :15, ¾ of it), compared with the median of
//! the full hours before both. Nothing is extrapolated from a few minutes,
//! so early in an hour a spike is neither invented nor missed. A last bucket
//! that has ended (or an answer without usable timestamps) is taken whole.
//!
//! Status (the server's `statsPeriod=1h` filter is trusted; no local-clock re-filtering):
//! - down: an unresolved `fatal` issue; an unhandled (`isUnhandled`) error
//!   issue seen by ≥ `unhandled_users_down` users in the last hour; or the
//!   last hour's accepted errors ≥ `spike_down` × max(median of the earlier
//!   hours, 1);
//! - degraded: an unresolved `error` issue, any issue with substatus
//!   new/regressed/escalating, a spike ≥ `spike_degraded` ×, or `rate_limited`
//!   error outcomes > 0 (Sentry is dropping events);
//! - healthy otherwise; unknown on HTTP errors (404 → config with the
//!   regional-host hint; a 403 on issues or stats after the details answered
//!   → auth naming the missing scope, `event:read` / `org:read`), a deleted
//!   project, no access, or unreadable bodies.
//!
//! Card: at most three metric lines — unresolved issues, events (24 h), then
//! the top issue, rate-limited and invalid counts in that order; the rest go
//! to `details`, with the issue behind the card (else the top issue): short
//! id, users affected, priority, unhandled, permalink. When an issue is the
//! reason, `link` is its permalink, so "Open" goes to the issue.

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::common::{self, card, count, find, is_success, string};
use super::{
    bad_body, clip, http_error_reason, thousands, unreadable_body, Auth, Context, Exchange, Method,
    Request, Step,
};
use super::spec::{FieldSpec, Fields, Limit, Spec, TargetSpec};
use crate::model::{Gauge, Metric, Reason, ReasonKind, Status, Target};

/// Sentry in the provider registry.
pub(crate) const SPEC: Spec = Spec {
    id: "sentry",
    title: "Sentry",
    base_url: "https://sentry.io",
    key_help: "a user auth token with org:read, project:read and event:read (Sentry → User settings → Personal Tokens)",
    self_hosted: true,
    fields: &[
        FieldSpec::required("org", "Organization slug", "the Sentry organization slug"),
        FieldSpec::required("project", "Project slug", "the Sentry project slug"),
    ],
    settings: &["spike_degraded", "spike_down", "unhandled_users_down"],
    // Sentry publishes no number: a conservative guess; its reset headers are obeyed.
    limit: Limit::per_hour(1200.0),
    lowered: Limit::halved,
    // The third request (issues) is hourly.
    requests_per_poll: 2.5,
    plan,
    same_api: both_saas,
    example: &[("org", "fleet"), ("project", "p{n}")],
};

/// Sentry SaaS hands out regional API hosts (`de.sentry.io`) that are still Sentry's.
fn both_saas(base: &url::Url, url: &url::Url) -> bool {
    [base, url]
        .iter()
        .all(|u| u.scheme() == "https" && is_saas(u))
}

/// A Sentry project inside an organization (slugs or ids).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SentryTarget {
    pub org: String,
    pub project: String,
}

impl TargetSpec for SentryTarget {
    fn parse(f: &mut dyn Fields) -> Option<Self> {
        let org = f.required(&SPEC.fields[0]);
        let project = f.required(&SPEC.fields[1]);
        Some(SentryTarget {
            org: org?,
            project: project?,
        })
    }

    fn describe(&self) -> String {
        format!("{}/{}", self.org, self.project)
    }

    fn dashboard(&self, base_url: Option<&url::Url>) -> String {
        let (org, project) = (&self.org, &self.project);
        match base_url {
            // Self-hosted: the web UI lives on the same host as the API.
            Some(u) if !is_saas(u) => format!(
                "{}/organizations/{org}/issues/?project={project}",
                u.as_str().trim_end_matches('/')
            ),
            _ => format!("https://{org}.sentry.io/issues/?project={project}"),
        }
    }

    fn values(&self) -> Vec<(&'static str, String)> {
        vec![("org", self.org.clone()), ("project", self.project.clone())]
    }
}

const PROJECT: &str = "project";
const ISSUES: &str = "issues";
const STATS: &str = "stats";
const ORGS: &str = "organizations";

pub fn plan(ctx: &Context<'_>, done: &[Exchange]) -> Step {
    let (org, project) = match &ctx.service.target {
        Target::Sentry(SentryTarget { org, project }) => (org.as_str(), project.as_str()),
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
    let (id, project_status) = match gate(ctx, org, details) {
        Ok(ok) => ok,
        Err(reason) => return common::unknown(ctx, reason, Some(details)),
    };
    match (find(done, ISSUES), find(done, STATS)) {
        (Some(issues), Some(stats)) => evaluate(ctx, issues, stats, project_status),
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
        ex.response.retry_after,
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

/// Checks the project details; returns the numeric project id and a
/// status worth showing (one Sentry did not document), if any.
fn gate(ctx: &Context<'_>, org: &str, ex: &Exchange) -> Result<(String, Option<String>), Reason> {
    let status = ex.response.status;
    if status == 404 {
        return Err(not_found(ctx, org, ex, None));
    }
    if !is_success(status) {
        return Err(failure(ctx, ex));
    }
    let v: Value = serde_json::from_slice(&ex.response.body)
        .map_err(|e| unreadable_body(ctx.service, "project", &ex.response.body, e))?;
    if v.get("hasAccess") == Some(&Value::Bool(false)) {
        return Err(Reason::new(
            ReasonKind::Auth,
            format!(
                "the token's user has no access to {} (hasAccess is false) — join the project's team or use another token",
                ctx.service.target.describe()
            ),
        ));
    }
    // Sentry's project serializer sends `active`, `deleted` (which covers
    // disabled, pending deletion and deletion in progress) or `unknown`;
    // list-style project objects have no `status` at all. Only `deleted` is a
    // verdict, and it is on the settings; the older internal names are read
    // the same way in case a proxy or an old install passes them through.
    let mut odd = None;
    let status = match v.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        // A status that is not even a string: not a project object we know.
        Some(other) => {
            return Err(bad_body(
                ctx.service,
                "project",
                format!("`status` is {}", describe_json_shape(other)),
            ))
        }
    };
    match status {
        Some("active") | None => {}
        Some(s @ ("deleted" | "disabled" | "pending_deletion" | "deletion_in_progress")) => {
            return Err(Reason::new(
                ReasonKind::Config,
                format!(
                    "project {} is being deleted or disabled in Sentry (status: {s}) — if it should still be watched, have a Sentry admin restore it; otherwise set `project` to the slug of a project in use",
                    ctx.service.target.describe()
                ),
            ))
        }
        // `unknown` or a value Sentry does not document: not a reason to
        // stop reading; the card shows it.
        Some(other) => odd = Some(clip(other, 40)),
    }
    // The id is a string in the API; accept a bare number too.
    match v.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok((s.trim().to_string(), odd)),
        Some(Value::Number(n)) => Ok((n.to_string(), odd)),
        _ => Err(bad_body(
            ctx.service,
            "project",
            format!("no project `id` in {}", describe_json_shape(&v)),
        )),
    }
}

struct Issue {
    title: String,
    short_id: Option<String>,
    level: String,
    substatus: Option<String>,
    events: Option<u64>,
    /// Users who met it in the query's range (the last hour): the org
    /// endpoint counts `userCount` within `statsPeriod`, `lifetime` holds the rest.
    users: Option<u64>,
    unhandled: bool,
    priority: Option<String>,
    permalink: Option<String>,
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
        short_id: string(v, "shortId").map(|s| clip(s, 40)),
        level: string(v, "level").unwrap_or("unknown").to_string(),
        substatus: string(v, "substatus").map(str::to_string),
        events: v.get("count").and_then(count),
        users: v.get("userCount").and_then(count),
        unhandled: v.get("isUnhandled") == Some(&Value::Bool(true)),
        priority: string(v, "priority").map(|s| clip(s, 20)),
        permalink: string(v, "permalink")
            .filter(|l| common::web_link(l).is_some())
            .map(|l| l.trim().to_string()),
    })
}

/// Why an issue's event or user count cannot be real (negative, absurd,
/// not a number), in words. Dropping just that count would let a crowd of
/// affected users read as none — a calmer card from an answer not understood.
/// (A count of the wrong type only loses that fact, like any odd field.)
fn absurd_count(v: &Value) -> Option<String> {
    ["count", "userCount"].into_iter().find_map(|key| {
        let n = v.get(key).and_then(common::number)?;
        (!common::is_count(n))
            .then(|| format!("an issue's {key} {} is not a count", common::show_number(n)))
    })
}

/// Hourly accepted errors (oldest first), when each bucket starts, and the
/// error events Sentry dropped or refused.
struct Rates {
    accepted: Vec<u64>,
    /// The buckets' start times, when the answer gives one per bucket.
    starts: Option<Vec<OffsetDateTime>>,
    rate_limited: u64,
    invalid: u64,
}

/// `stats_v2` groups that are about errors: a group without a category (the
/// answer to `category=error&groupBy=outcome`), or the `error` / `default`
/// categories of an answer grouped by category too. Transactions, profiles,
/// attachments... are other products' volumes, not errors.
fn is_error_group(g: &Value) -> bool {
    match g.get("by").and_then(|b| b.get("category")) {
        None | Some(Value::Null) => true,
        Some(Value::String(c)) => c == "error" || c == "default",
        Some(_) => false,
    }
}

fn read_stats(v: &Value) -> Option<Rates> {
    // The legacy project stats shape, [[ts, count], ...], reads the same way;
    // anything else in an array is not a series we can trust.
    if let Some(points) = v.as_array() {
        let (starts, accepted): (Vec<Option<OffsetDateTime>>, Vec<u64>) = points
            .iter()
            .map(|p| match p.as_array().map(Vec::as_slice) {
                Some([ts, n]) => Some((unix_time(ts), count(n)?)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .unzip();
        return Some(Rates {
            accepted,
            starts: starts.into_iter().collect(),
            rate_limited: 0,
            invalid: 0,
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
    // A bucket without a value (null) counted nothing; a value that is not a
    // count (negative, absurd, text) makes the whole answer unreadable rather
    // than a zero that reads as "no errors".
    let series = |g: &Value| -> Option<Vec<u64>> {
        match g.get("series").and_then(|s| s.get("sum(quantity)")) {
            Some(Value::Array(a)) => a
                .iter()
                .map(|n| if n.is_null() { Some(0) } else { count(n) })
                .collect(),
            _ => Some(Vec::new()),
        }
    };
    let total = |g: &Value| -> Option<u64> {
        match g.get("totals").and_then(|t| t.get("sum(quantity)")) {
            None | Some(Value::Null) => {
                Some(series(g)?.iter().fold(0u64, |a, b| a.saturating_add(*b)))
            }
            Some(n) => count(n),
        }
    };
    let mut rates = Rates {
        accepted: Vec::new(),
        starts: None,
        rate_limited: 0,
        invalid: 0,
    };
    // One group per (category, outcome) when grouped by category: groups of
    // the same outcome add up, bucket by bucket.
    for g in groups.iter().filter(|g| is_error_group(g)) {
        match g.get("by").and_then(|b| string(b, "outcome")) {
            Some("accepted") => {
                let s = series(g)?;
                if rates.accepted.len() < s.len() {
                    rates.accepted.resize(s.len(), 0);
                }
                for (acc, n) in rates.accepted.iter_mut().zip(s) {
                    *acc = acc.saturating_add(n);
                }
            }
            Some("rate_limited") => {
                rates.rate_limited = rates.rate_limited.saturating_add(total(g)?)
            }
            Some("invalid") => rates.invalid = rates.invalid.saturating_add(total(g)?),
            _ => {}
        }
    }
    // Bucket times line up with the series only when there is one per bucket.
    rates.starts = v
        .get("intervals")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .map(|t| common::parse_time(t.as_str()))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|t| !t.is_empty() && t.len() == rates.accepted.len());
    Some(rates)
}

/// A legacy bucket's `unix_ts`.
fn unix_time(v: &Value) -> Option<OffsetDateTime> {
    let n = v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))?;
    OffsetDateTime::from_unix_timestamp(n).ok()
}

/// How much of the last bucket has elapsed (0–1) when it is the current,
/// unfinished hour; `None` when it is a finished one, or when its start is
/// so far from our clock that the timestamps say nothing about now.
fn partial_fraction(starts: &[OffsetDateTime], now: OffsetDateTime) -> Option<f64> {
    let last = *starts.last()?;
    let len = match starts {
        [.., a, b] if b > a => *b - *a,
        _ => Duration::HOUR,
    };
    let elapsed = now - last;
    if elapsed >= len || elapsed < -len {
        return None;
    }
    Some((elapsed / len).clamp(0.0, 1.0))
}

/// The last hour's accepted errors and the earlier full hours to compare
/// them with. When the last bucket is the unfinished current hour, the last
/// hour is that bucket plus the not-yet-replaced share of the hour before
/// it (at :15, three quarters of it): a sliding hour, so a spike is judged
/// on an hour's worth of data at any minute, neither diluted late nor
/// extrapolated from a few minutes early.
fn last_hour(rates: &Rates, now: OffsetDateTime) -> (u64, &[u64]) {
    let acc = rates.accepted.as_slice();
    let Some((&last, earlier)) = acc.split_last() else {
        return (0, &[]);
    };
    let fraction = rates
        .starts
        .as_deref()
        .and_then(|s| partial_fraction(s, now));
    match (fraction, earlier.split_last()) {
        (Some(f), Some((&previous, before))) => {
            let carried = (previous as f64 * (1.0 - f)).round() as u64;
            (last.saturating_add(carried), before)
        }
        _ => (last, earlier),
    }
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

/// A 403 on a round-two endpoint after the project details answered with
/// the same key: the token works but lacks that endpoint's scope.
fn missing_scope(ctx: &Context<'_>, refused: &[(&Exchange, &str, &str)]) -> Reason {
    let key = ctx
        .service
        .key
        .as_ref()
        .map(|k| k.to_string())
        .unwrap_or_else(|| "(none)".into());
    let scopes: Vec<String> = refused.iter().map(|(_, s, _)| format!("`{s}`")).collect();
    let what: Vec<&str> = refused.iter().map(|(_, _, w)| *w).collect();
    let said = refused
        .iter()
        .find_map(|(ex, _, _)| detail(&ex.response.body))
        .map(|d| format!(": {}", clip(&d, 120)))
        .unwrap_or_default();
    Reason::new(
        ReasonKind::Auth,
        format!(
            "API key `{key}` lacks the {} scope{}: Sentry refused {} (HTTP 403{said}) while the same key read the project — create a token with org:read project:read event:read, then {}",
            scopes.join(" and "),
            if scopes.len() == 1 { "" } else { "s" },
            what.join(" and "),
            ctx.service
                .key
                .as_ref()
                .map(|k| k.how_to_set())
                .unwrap_or_else(|| "set it as this service's key".into())
        ),
    )
}

fn evaluate(
    ctx: &Context<'_>,
    issues_ex: &Exchange,
    stats_ex: &Exchange,
    project_status: Option<String>,
) -> Step {
    // Scopes per endpoint (apis.md §4.2): issues need `event:read`,
    // stats_v2 `org:read`; the details call that succeeded needed `project:read`.
    let refused: Vec<(&Exchange, &str, &str)> = [
        (issues_ex, "event:read", "the issue list"),
        (stats_ex, "org:read", "the stats_v2 error counts"),
    ]
    .into_iter()
    .filter(|(ex, _, _)| ex.response.status == 403)
    .collect();
    if let Some((first, _, _)) = refused.first() {
        return common::unknown(ctx, missing_scope(ctx, &refused), Some(first));
    }
    for ex in [issues_ex, stats_ex] {
        if !is_success(ex.response.status) {
            return common::unknown(ctx, failure(ctx, ex), Some(ex));
        }
    }
    let unreadable = |ex: &Exchange, what: &str, err: String| {
        common::unknown(
            ctx,
            unreadable_body(ctx.service, what, &ex.response.body, err),
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
        Ok(Value::Array(items)) => match items.iter().find_map(absurd_count) {
            Some(why) => return unreadable(issues_ex, "issue list", why),
            None => items.iter().filter_map(read_issue).collect(),
        },
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

    let (last, earlier) = last_hour(&rates, ctx.now);
    let med = median(earlier);
    let ratio = last as f64 / med.max(1.0);
    let total = rates
        .accepted
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b));
    let th = &ctx.service.thresholds;

    let fatal = issues.iter().find(|i| i.level == "fatal");
    // Unhandled errors many users ran into: the users are counted over the
    // request's range, the last hour. The most widespread one is the reason.
    let widespread = issues
        .iter()
        .filter(|i| {
            th.unhandled_users_down > 0
                && i.unhandled
                && matches!(i.level.as_str(), "error" | "fatal")
                && i.users.is_some_and(|u| u >= th.unhandled_users_down)
        })
        .max_by_key(|i| i.users);
    let flagged = issues.iter().find(|i| {
        matches!(
            i.substatus.as_deref(),
            Some("new" | "regressed" | "escalating")
        )
    });
    let error_issues: Vec<&Issue> = issues.iter().filter(|i| i.level == "error").collect();
    let errors = error_issues.len();

    let spike = format!(
        "error spike: {last} in the last hour, {}× the median",
        fmt_ratio(ratio)
    );
    // The issue the card is about, when one is the reason: "Open" goes there.
    let (status, summary, cause) = if let Some(f) = fatal {
        (
            Status::Down,
            format!("fatal: {}", clip(&f.title, 80)),
            Some(f),
        )
    } else if let Some(w) = widespread {
        (
            Status::Down,
            format!(
                "unhandled error hit {} users in the last hour: {}",
                thousands(w.users.unwrap_or(0)),
                clip(&w.title, 80)
            ),
            Some(w),
        )
    } else if last > 0 && ratio >= th.spike_down {
        (Status::Down, spike, None)
    } else if let Some(f) = flagged {
        (
            Status::Degraded,
            format!(
                "{} issue: {}",
                f.substatus.as_deref().unwrap_or("new"),
                clip(&f.title, 80)
            ),
            Some(f),
        )
    } else if errors > 0 {
        (
            Status::Degraded,
            format!(
                "{errors} unresolved error issue{} in the last hour",
                if errors == 1 { "" } else { "s" }
            ),
            error_issues.first().copied(),
        )
    } else if last > 0 && ratio >= th.spike_degraded {
        (Status::Degraded, spike, None)
    } else if rates.rate_limited > 0 {
        (
            Status::Degraded,
            format!(
                "Sentry dropped {} events (rate limited) — some errors are not visible",
                thousands(rates.rate_limited)
            ),
            None,
        )
    } else {
        (
            Status::Healthy,
            "no unresolved errors in the last hour".to_string(),
            None,
        )
    };

    // At most three lines; in order of importance, the rest go to details.
    let mut lines = vec![
        if issues.len() >= 25 {
            // One page of 25: there may be more, so no exact number.
            Metric::new("unresolved issues (1 h)", "25+")
        } else {
            Metric::new("unresolved issues (1 h)", issues.len().to_string())
                .number(issues.len() as f64)
        },
        Metric::new(
            "events (24 h)",
            format!(
                "{} ({} in the last hour, median {})",
                thousands(total),
                thousands(last),
                fmt_ratio(med)
            ),
        )
        .number(total as f64),
    ];
    if let Some(top) = issues.first() {
        lines.push(Metric::new(
            "top issue",
            match top.events {
                Some(n) => format!("{} ({} events)", clip(&top.title, 80), thousands(n)),
                None => clip(&top.title, 80),
            },
        ));
    }
    if rates.rate_limited > 0 {
        lines.push(
            Metric::new("rate limited (24 h)", thousands(rates.rate_limited))
                .number(rates.rate_limited as f64),
        );
    }
    if rates.invalid > 0 {
        lines.push(
            Metric::new(
                "events rejected as invalid (24 h)",
                thousands(rates.invalid),
            )
            .number(rates.invalid as f64),
        );
    }
    if issues.is_empty() && lines.len() < 3 {
        lines.push(Metric::new("top issue", "none"));
    }
    let overflow = lines.split_off(lines.len().min(3));

    // Details of the issue behind the card, else of the top one.
    let mut details = Vec::new();
    if let Some(i) = cause.or(issues.first()) {
        details.push(Metric::new(
            "issue",
            i.short_id.clone().unwrap_or_else(|| clip(&i.title, 80)),
        ));
        if let Some(u) = i.users {
            details.push(Metric::new("users affected (1 h)", thousands(u)).number(u as f64));
        }
        if let Some(p) = &i.priority {
            details.push(Metric::new("priority", p.clone()));
        }
        if i.unhandled {
            details.push(Metric::new("unhandled", "yes"));
        }
        if let Some(l) = &i.permalink {
            details.push(Metric::new("issue link", clip(l, 300)));
        }
    }
    details.extend(overflow);
    if let Some(s) = project_status {
        details.push(Metric::new("project status", s));
    }

    let mut card = card(status, summary, lines);
    card.details = details;
    card.link = cause.and_then(|i| i.permalink.clone());
    card.gauge = Some(Gauge {
        label: "events in the last hour".into(),
        value: last,
    });
    common::finish(ctx, card)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Service, Thresholds};
    use crate::providers::testkit::{self, drive, json, query, with_header, Run};
    use crate::providers::Response;
    use time::format_description::well_known::Rfc3339;
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
    const STATS_MIXED: &[u8] =
        include_bytes!("../../tests/fixtures/sentry/stats_v2_mixed_categories.json");
    const STATS_INVALID: &[u8] =
        include_bytes!("../../tests/fixtures/sentry/stats_v2_invalid_outcome.json");
    const ISSUES_UNHANDLED: &[u8] =
        include_bytes!("../../tests/fixtures/sentry/org_issues_unhandled_many_users.json");
    const DETAILS_DELETED: &[u8] =
        include_bytes!("../../tests/fixtures/sentry/project_details_deleted.json");
    const PROJECT_NO_STATUS: &[u8] =
        include_bytes!("../../tests/fixtures/sentry/project_summary_no_status.json");
    const E403: &[u8] = include_bytes!("../../tests/fixtures/sentry/error_403_forbidden.json");

    fn service() -> Service {
        Service::example(
            "Acme",
            "Shop API",
            Target::Sentry(SentryTarget {
                org: "acme-web".into(),
                project: "shop-api".into(),
            }),
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

    /// A stats_v2 answer whose hourly buckets end with one starting at
    /// `last` (hh:mm on the test day), as Sentry dates them.
    fn stats_at(accepted: &[u64], last: &str) -> Vec<u8> {
        let last = OffsetDateTime::parse(&format!("2026-08-22T{last}:00Z"), &Rfc3339).unwrap();
        let n = accepted.len() as i64;
        let intervals: Vec<String> = (0..n)
            .map(|k| {
                (last - Duration::hours(n - 1 - k))
                    .format(&Rfc3339)
                    .unwrap()
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "intervals": intervals,
            "groups": [{
                "by": {"outcome": "accepted"},
                "totals": {"sum(quantity)": accepted.iter().sum::<u64>()},
                "series": {"sum(quantity)": accepted},
            }],
        }))
        .unwrap()
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

    /// Negative or absurd counts (an issue's events or users, a stats
    /// bucket, a total) are an answer not understood, never a zero or a
    /// saturated 18,446,744,073,709,551,615.
    #[test]
    fn absurd_or_negative_counts_are_a_bad_response() {
        use crate::model::ReasonKind;
        let issue = |count: &str, users: &str| {
            format!(
                r#"[{{"id":"1","shortId":"API-1","title":"Boom","level":"error","status":"unresolved","substatus":"new","count":{count},"userCount":{users},"isUnhandled":true}}]"#
            )
        };
        let stats = |series: &str, total: &str| {
            format!(
                r#"{{"intervals":["2026-08-22T13:00:00Z","2026-08-22T14:00:00Z"],"groups":[{{"by":{{"category":"error","outcome":"accepted"}},"series":{{"sum(quantity)":{series}}}}},{{"by":{{"category":"error","outcome":"rate_limited"}},"totals":{{"sum(quantity)":{total}}}}}]}}"#
            )
        };
        let ok_stats = stats("[1,2]", "0");
        let cases = [
            (
                issue("\"-4\"", "1"),
                ok_stats.clone(),
                "issue's count -4 is not a count",
            ),
            (
                issue("1e308", "1"),
                ok_stats.clone(),
                "issue's count 1e308 is not a count",
            ),
            (
                issue("\"3\"", "-2"),
                ok_stats.clone(),
                "issue's userCount -2 is not a count",
            ),
            ("[]".to_string(), stats("[1,-2]", "0"), "event stats"),
            ("[]".to_string(), stats("[1,1e300]", "0"), "event stats"),
            ("[]".to_string(), stats("[1,2]", "-7"), "event stats"),
            (
                "[]".to_string(),
                "[[1755867600,-1]]".to_string(),
                "event stats",
            ),
        ];
        for (issues, stats, why) in cases {
            let run = check(
                json(200, DETAILS),
                json(200, issues.as_bytes()),
                json(200, stats.as_bytes()),
            );
            assert_eq!(run.card.status, Status::Unknown, "{why}");
            assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse), "{why}");
            assert!(run.reason_text().contains(why), "{}", run.reason_text());
        }
        // Nulls in a series still count nothing; the same answer reads.
        let run = check(
            json(200, DETAILS),
            json(200, b"[]"),
            json(200, stats("[null,2]", "null").as_bytes()),
        );
        assert_eq!(run.card.status, Status::Healthy, "{}", run.reason_text());
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
        assert!(run1.reason_text().contains("being deleted or disabled"));
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

    #[test]
    fn only_error_categories_count_and_same_outcomes_add_up() {
        // error + default accepted, summed per hour; the profile_duration
        // group's 3,000 in the current hour and the transactions' rate limits
        // and the attachments' invalid events are other products.
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, STATS_MIXED),
        );
        assert_eq!(run.card.status, Status::Healthy, "{}", run.card.summary);
        // 14:05: 1 so far this hour + 55/60 of the 13:00 hour's 8 (7 + 1).
        assert_eq!(
            run.metric("events (24 h)"),
            "96 (8 in the last hour, median 4)"
        );
        assert!(run
            .card
            .metrics
            .iter()
            .all(|m| m.label != "rate limited (24 h)"));
        assert!(run
            .card
            .details
            .iter()
            .all(|m| !m.label.contains("invalid")));
        let v: Value = serde_json::from_slice(STATS_MIXED).unwrap();
        let r = read_stats(&v).unwrap();
        assert_eq!((r.rate_limited, r.invalid), (0, 0));
        assert_eq!(r.accepted[22], 8);
        assert_eq!(r.starts.as_ref().map(Vec::len), Some(24));
    }

    #[test]
    fn categories_and_outcomes_by_hand() {
        let body = serde_json::json!({
            "intervals": [],
            "groups": [
                {"by": {"category": "error", "outcome": "accepted"}, "series": {"sum(quantity)": [1, 2, 3]}},
                {"by": {"category": "default", "outcome": "accepted"}, "series": {"sum(quantity)": [10, 20, 30]}},
                {"by": {"category": "profile_duration", "outcome": "accepted"}, "series": {"sum(quantity)": [0, 0, 3000]}},
                {"by": {"category": "security", "outcome": "accepted"}, "series": {"sum(quantity)": [5, 5, 5]}},
                {"by": {"category": 7, "outcome": "accepted"}, "series": {"sum(quantity)": [9, 9, 9]}},
                {"by": {"category": "error", "outcome": "rate_limited"}, "totals": {"sum(quantity)": 4}},
                {"by": {"category": "default", "outcome": "rate_limited"}, "series": {"sum(quantity)": [1, 1, 0]}},
                {"by": {"category": "transaction", "outcome": "rate_limited"}, "totals": {"sum(quantity)": 900}},
                {"by": {"outcome": "invalid"}, "totals": {"sum(quantity)": 3}},
                {"by": {"category": "replay", "outcome": "invalid"}, "totals": {"sum(quantity)": 50}},
            ]
        });
        let r = read_stats(&body).unwrap();
        assert_eq!(r.accepted, vec![11, 22, 33]);
        assert_eq!(r.rate_limited, 6);
        assert_eq!(r.invalid, 3);
        // Empty intervals are no timestamps at all.
        assert!(r.starts.is_none());
    }

    #[test]
    fn invalid_events_are_a_metric_line() {
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, STATS_INVALID),
        );
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("events rejected as invalid (24 h)"), "37");
        assert_eq!(
            run.metric("events (24 h)"),
            "71 (4 in the last hour, median 3)"
        );
        assert_eq!(run.card.metrics.len(), 3);
        // Zero invalid events: no line.
        let ok = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert!(ok.card.metrics.iter().all(|m| !m.label.contains("invalid")));
    }

    #[test]
    fn the_current_hour_is_partial() {
        // 23 hours of 4, the 13:00 hour and then the 14:00 hour at 14:05.
        let day = |prev: u64, now: u64| {
            let mut v = vec![4u64; 22];
            v.push(prev);
            v.push(now);
            v
        };
        // Two errors five minutes into the hour: extrapolated, 24 an hour (6×);
        // as a sliding hour, 2 + 55/60 of 4 = 6 (1.5×). Not a spike.
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats_at(&day(4, 2), "14:00")),
        );
        assert_eq!(run.card.status, Status::Healthy, "{}", run.card.summary);
        assert_eq!(
            run.metric("events (24 h)"),
            "94 (6 in the last hour, median 4)"
        );
        // The hour that just ended spiked (60) and the new one has barely
        // begun (3): judging the partial bucket alone would miss it.
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats_at(&day(60, 3), "14:00")),
        );
        assert_eq!(run.card.status, Status::Down, "{}", run.card.summary);
        assert_eq!(
            run.card.summary,
            "error spike: 58 in the last hour, 14.5× the median"
        );
        // A burst inside the current hour counts in full at once.
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats_at(&day(4, 14), "14:00")),
        );
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(
            run.card.summary,
            "error spike: 18 in the last hour, 4.5× the median"
        );
        // Buckets that end with a finished hour (13:00 at 14:05): the last
        // one is taken whole, as before.
        let run = check(
            json(200, DETAILS),
            json(200, NO_ISSUES),
            json(200, &stats_at(&day(4, 12), "13:00")),
        );
        assert_eq!(
            run.card.summary,
            "error spike: 12 in the last hour, 3× the median"
        );
    }

    #[test]
    fn partial_fractions_follow_the_clock() {
        let at =
            |hm: &str| OffsetDateTime::parse(&format!("2026-08-22T{hm}:00Z"), &Rfc3339).unwrap();
        let starts = [at("13:00"), at("14:00")];
        let f = |now: &str| partial_fraction(&starts, at(now));
        assert_eq!(f("14:00"), Some(0.0));
        assert_eq!(f("14:15"), Some(0.25));
        assert_eq!(f("14:59"), Some(59.0 / 60.0));
        assert_eq!(f("15:00"), None, "finished");
        // Our clock a little behind the server's: the hour just began.
        assert_eq!(f("13:58"), Some(0.0));
        // Far off: the timestamps say nothing about now.
        assert_eq!(f("12:30"), None);
        assert_eq!(partial_fraction(&[], at("14:00")), None);
        // One bucket alone is an hour long.
        assert_eq!(partial_fraction(&[at("14:00")], at("14:30")), Some(0.5));
        // The legacy [[ts, n]] shape carries times too.
        let legacy = serde_json::json!([[1787403600, 4], [1787407200, 2]]);
        let r = read_stats(&legacy).unwrap();
        assert_eq!(r.starts, Some(vec![at("13:00"), at("14:00")]));
    }

    #[test]
    fn deleted_project_is_a_config_reason() {
        let run = check(
            json(200, DETAILS_DELETED),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run.rounds.len(), 1);
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert_eq!(
            run.reason_text(),
            "project acme-web/shop-api is being deleted or disabled in Sentry (status: deleted) — if it should still be watched, have a Sentry admin restore it; otherwise set `project` to the slug of a project in use"
        );
    }

    #[test]
    fn project_status_absent_or_unknown_is_read_as_active() {
        let run = check(
            json(200, PROJECT_NO_STATUS),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Healthy, "{:?}", run.card.reason);
        assert_eq!(
            query(&run.rounds[1][0], "project").as_deref(),
            Some("4507281934056448")
        );
        assert_eq!(run.find_detail("project status"), None);
        for status in ["unknown", "archived"] {
            let mut d: Value = serde_json::from_slice(DETAILS).unwrap();
            d["status"] = status.into();
            let run = check(
                json(200, &serde_json::to_vec(&d).unwrap()),
                json(200, NO_ISSUES),
                json(200, STATS_OK),
            );
            assert_eq!(run.card.status, Status::Healthy, "{status}");
            assert_eq!(run.find_detail("project status"), Some(status));
        }
        // A status that is not a string is not a shape we know.
        let run = check(
            json(200, br#"{"id":"7","status":7}"#),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse));
        assert!(
            run.reason_text().contains("`status` is a number"),
            "{}",
            run.reason_text()
        );
        // Neither a status nor an id: not a project.
        let run = check(
            json(200, br#"{"detail":"ok"}"#),
            json(200, NO_ISSUES),
            json(200, STATS_OK),
        );
        assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse));
        assert!(
            run.reason_text()
                .contains("no project `id` in an object with detail"),
            "{}",
            run.reason_text()
        );
    }

    #[test]
    fn a_403_after_the_details_names_the_missing_scope() {
        let run = check(json(200, DETAILS), json(200, NO_ISSUES), json(403, E403));
        assert_eq!(run.card.status, Status::Unknown);
        assert_eq!(run.reason_kind(), Some(ReasonKind::Auth));
        assert_eq!(
            run.reason_text(),
            "API key `acme-sentry` lacks the `org:read` scope: Sentry refused the stats_v2 error counts (HTTP 403: You do not have permission to perform this action.) while the same key read the project — create a token with org:read project:read event:read, then run `overwatch secret set acme-sentry`"
        );
        assert!(!run.reason_text().contains("rejected"));
        let run = check(json(200, DETAILS), json(403, E403), json(200, STATS_OK));
        assert!(
            run.reason_text()
                .contains("lacks the `event:read` scope: Sentry refused the issue list"),
            "{}",
            run.reason_text()
        );
        let run = check(json(200, DETAILS), json(403, E403), json(403, b""));
        assert!(
            run.reason_text()
                .contains("lacks the `event:read` and `org:read` scopes"),
            "{}",
            run.reason_text()
        );
        // A 403 on the first call is still a rejected key.
        let run = check(json(403, E403), json(200, NO_ISSUES), json(200, STATS_OK));
        assert!(
            run.reason_text().contains("was rejected"),
            "{}",
            run.reason_text()
        );
    }

    #[test]
    fn unhandled_error_with_many_users_is_down_and_opens_the_issue() {
        let run = check(
            json(200, DETAILS),
            json(200, ISSUES_UNHANDLED),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Down);
        assert_eq!(
            run.card.summary,
            "unhandled error hit 412 users in the last hour: KeyError: 'cart_id'"
        );
        // The reason is the second issue, not the most frequent one.
        assert_eq!(
            run.card.link.as_deref(),
            Some("https://acme-web.sentry.io/issues/6019876543/")
        );
        assert_eq!(
            run.card.open_url(),
            Some("https://acme-web.sentry.io/issues/6019876543/")
        );
        assert_eq!(
            run.metric("top issue"),
            "OperationalError: could not connect to server: Connection refused (2,105 events)"
        );
        assert_eq!(run.find_detail("issue"), Some("SHOP-API-4M"));
        assert_eq!(run.find_detail("users affected (1 h)"), Some("412"));
        assert_eq!(run.find_detail("priority"), Some("high"));
        assert_eq!(run.find_detail("unhandled"), Some("yes"));
        assert_eq!(run.card.metrics.len(), 3);

        // The threshold is the user's: above 412 the issues are just errors.
        let mut s = service();
        s.thresholds.unhandled_users_down = 413;
        let run = check_with(
            &s,
            json(200, DETAILS),
            json(200, ISSUES_UNHANDLED),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(
            run.card.summary,
            "3 unresolved error issues in the last hour"
        );
        assert_eq!(
            run.card.link.as_deref(),
            Some("https://acme-web.sentry.io/issues/6019870001/")
        );
        // 27 users of the ValueError are enough at 20; the widest one wins.
        s.thresholds.unhandled_users_down = 20;
        let run = check_with(
            &s,
            json(200, DETAILS),
            json(200, ISSUES_UNHANDLED),
            json(200, STATS_OK),
        );
        assert!(
            run.card.summary.contains("412 users"),
            "{}",
            run.card.summary
        );
        // 0 turns the rule off.
        s.thresholds.unhandled_users_down = 0;
        let run = check_with(
            &s,
            json(200, DETAILS),
            json(200, ISSUES_UNHANDLED),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Degraded);
        // A handled error with many users is not this rule's business.
        let handled = br#"[{"id":"1","title":"Slow","level":"error","status":"unresolved","isUnhandled":false,"userCount":5000,"count":"9"}]"#;
        let run = check(json(200, DETAILS), json(200, handled), json(200, STATS_OK));
        assert_eq!(run.card.status, Status::Degraded);
    }

    #[test]
    fn the_default_threshold_keeps_96_users_degraded() {
        // The shared fixture's new unhandled error: 96 users, below 100.
        assert_eq!(Thresholds::default().unhandled_users_down, 100);
        let run = check(
            json(200, DETAILS),
            json(200, ISSUES_BAD),
            json(200, STATS_OK),
        );
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.find_detail("users affected (1 h)"), Some("96"));
        assert_eq!(run.find_detail("priority"), Some("high"));
        assert_eq!(
            run.find_detail("issue link"),
            Some("https://acme-web.sentry.io/issues/6012345678/")
        );
        assert_eq!(
            run.card.link.as_deref(),
            Some("https://acme-web.sentry.io/issues/6012345678/")
        );
    }

    #[test]
    fn no_issue_link_when_no_issue_is_the_reason() {
        // A warning only: healthy, "Open" stays on the dashboard, the issue's
        // page is in the details.
        let warning = br#"[{"id":"1","title":"Slow","level":"warning","status":"unresolved","substatus":"ongoing","count":"3","userCount":2,"priority":"low","permalink":"https://acme-web.sentry.io/issues/1/"}]"#;
        let run = check(json(200, DETAILS), json(200, warning), json(200, STATS_OK));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.card.link, None);
        assert_eq!(
            run.find_detail("issue link"),
            Some("https://acme-web.sentry.io/issues/1/")
        );
        // A spike is about the rate, not an issue.
        let mut series = vec![4u64; 23];
        series.push(40);
        let run = check(
            json(200, DETAILS),
            json(200, warning),
            json(200, &stats(&series, 0)),
        );
        assert_eq!(run.card.status, Status::Down);
        assert_eq!(run.card.link, None);
        // A permalink that is not a web page is never kept.
        let odd = br#"[{"id":"1","title":"Boom","level":"fatal","status":"unresolved","permalink":"javascript:alert(1)"}]"#;
        let run = check(json(200, DETAILS), json(200, odd), json(200, STATS_OK));
        assert_eq!(run.card.status, Status::Down);
        assert_eq!(run.card.link, None);
        assert_eq!(run.find_detail("issue link"), None);
    }

    #[test]
    fn at_most_three_metric_lines_the_rest_in_details() {
        let mut body: Value = serde_json::from_slice(&stats(&[1, 1, 1], 250)).unwrap();
        body["groups"].as_array_mut().unwrap().push(
            serde_json::json!({"by": {"outcome": "invalid"}, "totals": {"sum(quantity)": 7}}),
        );
        let body = serde_json::to_vec(&body).unwrap();
        let run = check(json(200, DETAILS), json(200, ISSUES_BAD), json(200, &body));
        let labels: Vec<&str> = run.card.metrics.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(
            labels,
            ["unresolved issues (1 h)", "events (24 h)", "top issue"]
        );
        assert_eq!(run.find_detail("rate limited (24 h)"), Some("250"));
        assert_eq!(
            run.find_detail("events rejected as invalid (24 h)"),
            Some("7")
        );
        // Without issues the counts take the third line.
        let run = check(json(200, DETAILS), json(200, NO_ISSUES), json(200, &body));
        let labels: Vec<&str> = run.card.metrics.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "unresolved issues (1 h)",
                "events (24 h)",
                "rate limited (24 h)"
            ]
        );
        assert_eq!(
            run.find_detail("events rejected as invalid (24 h)"),
            Some("7")
        );
        assert_eq!(run.find_detail("top issue"), None);
    }
}

//! Sentry's Web API as the sim serves it: organizations, project details, issues (org and legacy project), `stats_v2` and legacy project stats.
//!
//! Like sentry.io, every answer carries `X-Sentry-Rate-Limit-*`; the
//! organization list points `links.regionUrl` back at the sim, so region
//! discovery stays on loopback.

use std::time::Duration;

use serde_json::{json, Value};
use time::{Duration as TimeDelta, OffsetDateTime};

use super::util::{hour_floor, sentry_org_id, sentry_project_id, ts_micros, ts_secs};
use super::{split_slow, Reply, Scenario, SeenRequest, Shared, TargetKey};

const NOT_FOUND: &str = "The requested resource does not exist";

fn detail(status: u16, msg: &str) -> Reply {
    Reply::json(status, &json!({ "detail": msg }))
}

fn with_limits(r: Reply, remaining: u32, reset: i64) -> Reply {
    r.header("x-sentry-rate-limit-limit", 40)
        .header("x-sentry-rate-limit-remaining", remaining)
        .header("x-sentry-rate-limit-reset", reset)
        .header("x-sentry-rate-limit-concurrentlimit", 25)
        .header("x-sentry-rate-limit-concurrentremaining", 24)
}

/// Trailing hourly error counts of a healthy project (median about 4).
const BASELINE: [i64; 23] = [
    4, 6, 5, 7, 3, 5, 4, 2, 3, 1, 2, 1, 0, 1, 2, 3, 5, 7, 9, 4, 5, 4, 3,
];

/// Accepted errors in the hour that ends `hours_ago` hours before the current one.
fn errors_at(hours_ago: i64, scenario: &Scenario) -> i64 {
    if hours_ago == 0 {
        return match scenario {
            Scenario::ErrorSpike => 28,
            Scenario::Fatal => 12,
            _ => 5,
        };
    }
    BASELINE[(hours_ago as usize - 1) % BASELINE.len()]
}

/// "24h", "14d", "30m" → duration; Sentry's statsPeriod syntax.
fn period(s: &str) -> Option<TimeDelta> {
    // Split at a char boundary: the text comes from a request and may be anything.
    let (cut, _) = s.char_indices().last()?;
    let (n, unit) = s.split_at(cut);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    Some(match unit {
        "m" => TimeDelta::minutes(n),
        "h" => TimeDelta::hours(n),
        "d" => TimeDelta::days(n),
        "w" => TimeDelta::weeks(n),
        _ => return None,
    })
}

pub(super) fn handle(sim: &Shared, req: &SeenRequest, now: OffsetDateTime) -> Reply {
    let reset = now.unix_timestamp() + 1;
    let limits = |r: Reply| with_limits(r, 39, reset);
    if req.method != "GET" {
        return limits(detail(405, "Method \"POST\" not allowed."));
    }
    match req.bearer() {
        None => return limits(detail(401, "Authentication credentials were not provided.")),
        Some(t) if !sim.token_ok(Some(t)) => return limits(detail(401, "Invalid token")),
        Some(_) => {}
    }
    let path = req.path.trim_start_matches("/api/0/").trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').collect();
    enum Route<'a> {
        Orgs,
        Details(&'a str, &'a str),
        LegacyIssues(&'a str, &'a str),
        LegacyStats(&'a str, &'a str),
        Issues(&'a str),
        Stats(&'a str),
    }
    let route = match parts.as_slice() {
        ["organizations"] => Route::Orgs,
        ["projects", org, project] => Route::Details(org, project),
        ["projects", org, project, "issues"] => Route::LegacyIssues(org, project),
        ["projects", org, project, "stats"] => Route::LegacyStats(org, project),
        ["organizations", org, "issues"] => Route::Issues(org),
        ["organizations", org, "stats_v2"] => Route::Stats(org),
        _ => return limits(detail(404, NOT_FOUND)),
    };
    if let Route::Orgs = route {
        return limits(Reply::json(200, &orgs(sim)));
    }
    let (org, project) = match route {
        Route::Details(o, p) | Route::LegacyIssues(o, p) | Route::LegacyStats(o, p) => {
            (o, Some(p.to_string()))
        }
        Route::Issues(o) | Route::Stats(o) => (o, req.param("project")),
        Route::Orgs => unreachable!("answered above"),
    };
    // Which registered project the request names, by slug or numeric id.
    let mut known = sim.sentry_projects(org);
    if known.is_empty() && !sim.config.accept_any_target {
        return limits(detail(404, NOT_FOUND));
    }
    let slug = match project.as_deref() {
        None | Some("-1") => known.first().cloned(),
        Some(p) => known
            .iter()
            .find(|s| s.as_str() == p || sentry_project_id(org, s) == p)
            .cloned()
            .or_else(|| {
                sim.config.accept_any_target.then(|| {
                    known.push(p.to_string());
                    p.to_string()
                })
            }),
    };
    let Some(slug) = slug else {
        return limits(detail(404, NOT_FOUND));
    };
    let scenario = sim
        .scenario(&TargetKey::sentry(org, slug.as_str()))
        .unwrap_or(Scenario::Healthy);
    let (scenario, delay) = split_slow(scenario);
    let p = Proj {
        org: org.to_string(),
        slug,
        base: sim.base_url.as_str().trim_end_matches('/').to_string(),
    };
    let mut reply = match scenario {
        Scenario::AuthFailure => limits(detail(401, "Invalid token")),
        Scenario::RateLimited { reset_in } => {
            let reset = now.unix_timestamp() + reset_in.as_secs().max(1) as i64;
            // Written by a bare HttpResponse upstream: not labelled as JSON.
            let body = json!({ "detail": "You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds" });
            let mut r = Reply::raw(
                429,
                "text/html; charset=utf-8",
                serde_json::to_vec(&body).expect("serializes"),
            );
            r = with_limits(r, 0, reset);
            r
        }
        Scenario::ServerError => Reply::raw(
            503,
            "text/html",
            "<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>",
        ),
        Scenario::Garbage => Reply::raw(
            200,
            "text/html; charset=UTF-8",
            super::util::cloudflare_denied("sentry.io"),
        ),
        scenario => {
            let r = match route {
                Route::Details(..) => Reply::json(200, &p.details()),
                Route::LegacyIssues(..) => issues(req, &p, &scenario, now, true),
                Route::Issues(..) => issues(req, &p, &scenario, now, false),
                Route::Stats(..) => stats_v2(req, &scenario, now),
                Route::LegacyStats(..) => legacy_stats(req, &scenario, now),
                Route::Orgs => unreachable!("answered above"),
            };
            limits(r)
        }
    };
    reply.delay = delay;
    reply
}

fn orgs(sim: &Shared) -> Value {
    let base = sim.base_url.as_str().trim_end_matches('/');
    let list: Vec<Value> = sim
        .sentry_orgs()
        .iter()
        .map(|org| {
            json!({
                "avatar": { "avatarType": "letter_avatar", "avatarUuid": null },
                "dateCreated": "2023-04-18T08:12:33.101Z",
                "features": ["session-replay", "issue-platform", "performance-view"],
                "hasAuthProvider": false,
                "id": sentry_org_id(org),
                "isEarlyAdopter": false,
                "allowMemberInvite": true,
                "links": { "organizationUrl": base, "regionUrl": base },
                "name": org,
                "require2FA": false,
                "slug": org,
                "status": { "id": "active", "name": "active" },
            })
        })
        .collect();
    json!(list)
}

struct Proj {
    org: String,
    slug: String,
    base: String,
}

impl Proj {
    fn id(&self) -> String {
        sentry_project_id(&self.org, &self.slug)
    }

    fn details(&self) -> Value {
        json!({
            "id": self.id(),
            "slug": self.slug,
            "name": self.slug,
            "platform": "python-django",
            "dateCreated": "2024-02-09T14:20:11.533210Z",
            "isBookmarked": false,
            "isMember": true,
            "features": ["alert-filters", "minidump", "servicehooks"],
            "firstEvent": "2024-02-09T14:41:02.104000Z",
            "firstTransactionEvent": true,
            "access": ["project:read", "event:read", "org:read"],
            "hasAccess": true,
            "hasMonitors": false,
            "hasSessions": true,
            "isInternal": false,
            "isPublic": false,
            "color": "#3f70bf",
            "status": "active",
            "team": { "id": "4506177000001", "name": "Backend", "slug": "backend" },
            "teams": [{ "id": "4506177000001", "name": "Backend", "slug": "backend" }],
            "latestRelease": { "version": format!("{}@2026.08.22+4e1d2c3", self.slug) },
            "options": { "sentry:resolve_age": 0 },
            "organization": {
                "id": sentry_org_id(&self.org),
                "slug": self.org,
                "status": { "id": "active", "name": "active" },
                "name": self.org,
                "links": { "organizationUrl": self.base, "regionUrl": self.base },
            },
            "platforms": ["python"],
            "processingIssues": 0,
            "defaultEnvironment": null,
            "relayPiiConfig": null,
        })
    }
}

/// One invented issue.
struct Issue {
    seed: &'static str,
    level: &'static str,
    title: &'static str,
    culprit: Option<&'static str>,
    substatus: &'static str,
    priority: &'static str,
    unhandled: bool,
    count: u64,
    users: u64,
    first_seen: Duration,
    last_seen: Duration,
    /// Events in the last two hourly buckets.
    recent: [i64; 2],
}

fn invented(scenario: &Scenario) -> Vec<Issue> {
    let stale = Issue {
        seed: "slow-payments",
        level: "warning",
        title: "Payment provider responded slowly",
        culprit: None,
        substatus: "ongoing",
        priority: "low",
        unhandled: false,
        count: 12,
        users: 4,
        first_seen: Duration::from_secs(23 * 86400),
        last_seen: Duration::from_secs(7 * 3600),
        recent: [0, 0],
    };
    let mut out = Vec::new();
    match scenario {
        Scenario::ErrorSpike => out.push(Issue {
            seed: "integrity",
            level: "error",
            title: "IntegrityError: duplicate key value violates unique constraint \"orders_pkey\"",
            culprit: Some("shop.views.checkout in submit_order"),
            substatus: "new",
            priority: "high",
            unhandled: true,
            count: 418,
            users: 96,
            first_seen: Duration::from_secs(50 * 60),
            last_seen: Duration::from_secs(40),
            recent: [171, 247],
        }),
        Scenario::Fatal => out.push(Issue {
            seed: "fatal",
            level: "fatal",
            title: "SystemExit: worker pool exhausted, shutting down",
            culprit: Some("shop.server in serve_forever"),
            substatus: "new",
            priority: "high",
            unhandled: true,
            count: 57,
            users: 41,
            first_seen: Duration::from_secs(9 * 60),
            last_seen: Duration::from_secs(90),
            recent: [0, 57],
        }),
        _ => {}
    }
    out.push(stale);
    out
}

fn issue_json(p: &Proj, i: &Issue, now: OffsetDateTime, legacy: bool) -> Value {
    let id = (6_000_000_000 + super::util::fnv(&format!("{}/{}", p.id(), i.seed)) % 99_999_999)
        .to_string();
    let short = format!(
        "{}-{}",
        p.slug.to_ascii_uppercase(),
        &super::util::oid(i.seed)[..2].to_ascii_uppercase()
    );
    let hour = hour_floor(now).unix_timestamp();
    let stats: Vec<Value> = (0..24)
        .rev()
        .map(|k| {
            let n = match k {
                0 => i.recent[1],
                1 => i.recent[0],
                _ => 0,
            };
            json!([hour - k * 3600, n])
        })
        .collect();
    let first = ts_micros(now - i.first_seen);
    let last = ts_micros(now - i.last_seen);
    let mut v = json!({
        "annotations": [],
        "assignedTo": null,
        "count": i.count.to_string(),
        "culprit": i.culprit,
        "firstSeen": first,
        "hasSeen": false,
        "id": id,
        "isBookmarked": false,
        "isPublic": false,
        "isSubscribed": false,
        "lastSeen": last,
        "level": i.level,
        "logger": null,
        "metadata": { "type": i.title.split(':').next().unwrap_or(""), "value": i.title },
        "numComments": 0,
        "permalink": format!("{}/organizations/{}/issues/{id}/", p.base, p.org),
        "project": { "id": p.id(), "name": p.slug, "slug": p.slug },
        "shareId": null,
        "shortId": short,
        "stats": { "24h": stats },
        "status": "unresolved",
        "statusDetails": {},
        "subscriptionDetails": null,
        "title": i.title,
        "type": if i.level == "warning" { "default" } else { "error" },
        "userCount": i.users,
    });
    if !legacy {
        v["project"]["platform"] = json!("python-django");
        v["filtered"] = Value::Null;
        v["inbox"] = if i.substatus == "new" {
            json!({ "reason": 0, "reason_details": null, "date_added": first })
        } else {
            Value::Null
        };
        v["isUnhandled"] = json!(i.unhandled);
        v["issueCategory"] = json!("error");
        v["issueType"] = json!("error");
        v["platform"] = json!("python");
        v["priority"] = json!(i.priority);
        v["priorityLockedAt"] = Value::Null;
        v["substatus"] = json!(i.substatus);
        v["lifetime"] = json!({
            "count": i.count.to_string(),
            "userCount": i.users,
            "firstSeen": first,
            "lastSeen": last,
        });
    }
    v
}

fn issues(
    req: &SeenRequest,
    p: &Proj,
    scenario: &Scenario,
    now: OffsetDateTime,
    legacy: bool,
) -> Reply {
    // On the org endpoint statsPeriod is the query's time range; the legacy
    // one only picks the timeline, so it filters nothing.
    let range = if legacy {
        None
    } else {
        match req.param("statsPeriod").filter(|s| !s.is_empty()) {
            Some(s) => match period(&s) {
                Some(d) => Some(d),
                None => return detail(400, &format!("Invalid stats_period: {s}")),
            },
            None => Some(TimeDelta::days(14)),
        }
    };
    let query = req.param("query").unwrap_or_else(|| "is:unresolved".into());
    let limit: usize = req
        .param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let _ = query; // every invented issue is unresolved, so the filter keeps them all
    let list: Vec<Value> = invented(scenario)
        .iter()
        .filter(|i| range.is_none_or(|r| TimeDelta::try_from(i.last_seen).is_ok_and(|s| s <= r)))
        .take(limit)
        .map(|i| issue_json(p, i, now, legacy))
        .collect();
    let url = format!("{}{}", p.base, req.path);
    let link = format!(
        "<{url}?cursor=0:0:1>; rel=\"previous\"; results=\"false\"; cursor=\"0:0:1\", <{url}?cursor=0:{limit}:0>; rel=\"next\"; results=\"false\"; cursor=\"0:{limit}:0\""
    );
    Reply::json(200, &json!(list)).header("link", link)
}

fn stats_v2(req: &SeenRequest, scenario: &Scenario, now: OffsetDateTime) -> Reply {
    let Some(field) = req.param("field") else {
        return detail(400, "At least one field is required.");
    };
    let group_by = req.params("groupBy");
    if group_by.is_empty() {
        return detail(400, "At least one groupBy is required.");
    }
    let interval = req
        .param("interval")
        .and_then(|i| period(&i))
        .unwrap_or(TimeDelta::hours(1));
    let range = req
        .param("statsPeriod")
        .and_then(|s| period(&s))
        .unwrap_or(TimeDelta::hours(24));
    if interval < TimeDelta::hours(1) && range / interval > 1000.0 {
        return detail(400, &format!(
            "Requested interval of {} with statsPeriod of {} is too granular. Increase your interval or decrease your statsPeriod",
            req.param("interval").unwrap_or_default(),
            req.param("statsPeriod").unwrap_or_default()
        ));
    }
    // Whole-hour buckets ending with the current hour, as Sentry returns them.
    let step = interval.max(TimeDelta::hours(1));
    let buckets = ((range / step).ceil() as i64).max(1);
    let end = hour_floor(now) + TimeDelta::hours(1);
    let start = end - step * buckets as i32;
    let hours_per = step.whole_hours();
    let intervals: Vec<String> = (0..buckets)
        .map(|b| ts_secs(start + step * b as i32))
        .collect();
    let series: Vec<i64> = (0..buckets)
        .map(|b| {
            let last_hour = (buckets - 1 - b) * hours_per;
            (0..hours_per)
                .map(|h| errors_at(last_hour + h, scenario))
                .sum()
        })
        .collect();
    let categories = req.params("category");
    let errors_asked = categories.is_empty() || categories.iter().any(|c| c == "error");
    let mut groups = Vec::new();
    if errors_asked {
        let filtered: Vec<i64> = series.iter().map(|n| n / 5).collect();
        for (outcome, s) in [("accepted", series), ("filtered", filtered)] {
            let total: i64 = s.iter().sum();
            if total == 0 {
                continue; // zero-event outcomes are simply absent
            }
            let mut by = json!({});
            for g in &group_by {
                match g.as_str() {
                    "outcome" => by["outcome"] = json!(outcome),
                    "category" => by["category"] = json!("error"),
                    _ => {}
                }
            }
            groups.push(json!({
                "by": by,
                "totals": { field.as_str(): total },
                "series": { field.as_str(): s },
            }));
        }
    }
    Reply::json(
        200,
        &json!({
            "start": ts_secs(start),
            "end": ts_secs(end),
            "intervals": intervals,
            "groups": groups,
        }),
    )
}

fn legacy_stats(req: &SeenRequest, scenario: &Scenario, now: OffsetDateTime) -> Reply {
    let hour = hour_floor(now).unix_timestamp();
    let until = req
        .param("until")
        .and_then(|u| u.parse::<i64>().ok())
        .unwrap_or(hour + 3600)
        .min(hour + 3600);
    let since = req
        .param("since")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(until - 24 * 3600)
        .max(until - 30 * 86400);
    let mut t = since - since.rem_euclid(3600);
    let mut out = Vec::new();
    while t < until {
        let hours_ago = (hour - t) / 3600;
        let n = if hours_ago < 0 {
            0
        } else {
            errors_at(hours_ago, scenario)
        };
        out.push(json!([t, n]));
        t += 3600;
    }
    Reply::json(200, &json!(out))
}

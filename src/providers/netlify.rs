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
//! Skipped builds are not deploys: Netlify records a build it never ran as
//! `state: "error"` — the `[build] ignore` command's "Failed during stage
//! 'checking build content for changes': Canceled build due to no content
//! change", or a build superseded by a newer commit (`error_message:
//! "Skipped"`, `skipped: true`). A deploy counts as skipped when `skipped` is
//! true, its state is `skipped`/`canceled`, or a failure's message names that
//! stage, "no content change" or is just "skipped" (case-insensitive). A
//! skipped build never colours the card; the newest one, when nothing
//! finished after it, shows as "last build: skipped (no content change)" or
//! "skipped (superseded by a newer commit)".
//!
//! Status (production deploys only; deploy previews and branch deploys never
//! colour the card), judged on the newest *finished, not skipped* production
//! deploy:
//! - `ready`/`current` → healthy;
//! - `error`/`rejected` with a published deploy still live → degraded;
//! - `error`/`rejected` and nothing ever published → down;
//! - an unrecognised state → unknown (bad_response);
//! - no such deploy (none yet, or every recent one skipped): healthy if
//!   something is published, else unknown ("no production deploys yet").
//!
//! When a failed deploy is the reason, a "commit" line names it ("c0ffee1 on
//! main: Refactor header"), `details` carry its commit, commit message,
//! branch, build time, full error and id, and `link` is its page in the
//! Netlify app (`{admin_url}/deploys/{id}`, where the build log is) — not
//! `links.permalink`, which is the deploy's own copy of the site and holds
//! nothing for a failed build. At most three metric lines; the rest go to
//! `details`.
//!
//! A newer deploy in a building state sets `in_progress` without changing
//! the colour. HTTP errors: 401/403 auth, 404 config, 429 rate limited, 5xx
//! unreachable; non-JSON bodies are bad_response. A published deploy whose
//! times cannot be read (no zone, an impossible date) shows "published:
//! unknown time", never "never".

use serde_json::Value;
use time::OffsetDateTime;

use super::common::{self, card, find, is_success, parse_time, string};
use super::{
    ago, clip, http_error_reason, unreadable_body, Auth, Context, Exchange, Method, Request, Step,
};
use super::spec::{self, FieldSpec, Fields, Limit, Spec, TargetSpec};
use crate::model::{Card, Metric, Reason, ReasonKind, Status, Target};

/// Netlify in the provider registry.
pub(crate) const SPEC: Spec = Spec {
    id: "netlify",
    title: "Netlify",
    base_url: "https://api.netlify.com",
    key_help: "a personal access token (Netlify → User settings → Applications → Personal access tokens)",
    self_hosted: false,
    fields: &[FieldSpec::required(
        "site",
        "Site id or domain",
        "the Netlify site id or its domain (e.g. \"acme.netlify.app\")",
    )],
    settings: &[],
    limit: Limit {
        requests: 500.0,
        per: std::time::Duration::from_secs(60),
    },
    lowered: Limit::halved,
    requests_per_poll: 2.0,
    plan,
    same_api: spec::only_base,
    example: &[("site", "fleet-{n}")],
};

/// A Netlify site: its id, or its Netlify/custom domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetlifyTarget {
    pub site: String,
}

impl TargetSpec for NetlifyTarget {
    fn parse(f: &mut dyn Fields) -> Option<Self> {
        let site = f.required(&SPEC.fields[0])?;
        Some(NetlifyTarget { site })
    }

    fn describe(&self) -> String {
        format!("site {}", self.site)
    }

    fn dashboard(&self, _base_url: Option<&url::Url>) -> String {
        format!("https://app.netlify.com/sites/{}/overview", self.site)
    }

    fn values(&self) -> Vec<(&'static str, String)> {
        vec![("site", self.site.clone())]
    }
}

const SITE: &str = "site";
const DEPLOYS: &str = "deploys";

pub fn plan(ctx: &Context<'_>, done: &[Exchange]) -> Step {
    let site = match &ctx.service.target {
        Target::Netlify(NetlifyTarget { site }) => site.as_str(),
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
        ex.response.retry_after,
    )
}

/// What a deploy's `state` means for the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Live,
    Failed,
    Running,
    /// Recorded (often as `error`) but never built: not a verdict on the site.
    Skipped(Skip),
    Unrecognised,
}

/// Why Netlify did not build a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// The site's `[build] ignore` command said nothing changed.
    NoChange,
    /// A newer commit arrived before this one was built (`skipped: true`).
    Superseded,
    /// An explicit `canceled` state.
    Canceled,
    /// A `skipped` state with nothing saying why.
    Unspecified,
}

impl Skip {
    /// "skipped (no content change)": the value of the "last build" line.
    fn describe(self) -> &'static str {
        match self {
            Skip::NoChange => "skipped (no content change)",
            Skip::Superseded => "skipped (superseded by a newer commit)",
            Skip::Canceled => "canceled",
            Skip::Unspecified => "skipped",
        }
    }
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
    /// `skipped: true` (null and absent read as false).
    skipped: bool,
    /// The commit message (or a manual deploy's message).
    title: Option<String>,
    commit_ref: Option<String>,
    branch: Option<String>,
    /// Build time in seconds; Netlify sends it only for deploys that finished building.
    deploy_time: Option<u64>,
    name: Option<String>,
    admin_url: Option<String>,
}

/// A non-empty, trimmed string field.
fn text(v: &Value, key: &str) -> Option<String> {
    string(v, key)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
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
            error_message: text(v, "error_message"),
            skipped: v.get("skipped").and_then(Value::as_bool) == Some(true),
            title: text(v, "title"),
            commit_ref: text(v, "commit_ref"),
            branch: text(v, "branch"),
            deploy_time: v.get("deploy_time").and_then(common::count),
            name: text(v, "name"),
            admin_url: text(v, "admin_url"),
        })
    }

    fn unreadable() -> Deploy {
        Deploy {
            id: None,
            state: "(unreadable)".into(),
            context: None,
            created_at: None,
            updated_at: None,
            published_at: None,
            error_message: None,
            skipped: false,
            title: None,
            commit_ref: None,
            branch: None,
            deploy_time: None,
            name: None,
            admin_url: None,
        }
    }

    /// The state's meaning, with skipped builds told apart from failures.
    /// Netlify records a build it never ran as `state: "error"`: the `[build]
    /// ignore` command's "Failed during stage 'checking build content for
    /// changes': Canceled build due to no content change", or a superseded
    /// build's `error_message: "Skipped"` with `skipped: true`. The wording
    /// is matched loosely (case, spelling, the stage or the cause alone), as
    /// Netlify has reworded its messages before.
    fn phase(&self) -> Phase {
        let base = phase(&self.state);
        if base == Phase::Live {
            // A deploy that is live was not skipped, whatever its flags say.
            return base;
        }
        let state = self.state.trim().to_ascii_lowercase();
        let msg = self
            .error_message
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_lowercase();
        let no_change =
            msg.contains("checking build content for changes") || msg.contains("no content change");
        let canceled_state = matches!(state.as_str(), "canceled" | "cancelled");
        let flagged = self.skipped || state == "skipped" || canceled_state;
        // Only a failure-like state may be re-read from its message: a
        // running build whose message says "skipped" is still running.
        let worded =
            matches!(base, Phase::Failed | Phase::Unrecognised) && (no_change || msg == "skipped");
        if !(flagged || worded) {
            return base;
        }
        Phase::Skipped(if no_change {
            Skip::NoChange
        } else if self.skipped || msg == "skipped" {
            Skip::Superseded
        } else if canceled_state {
            Skip::Canceled
        } else {
            Skip::Unspecified
        })
    }

    fn production(&self) -> bool {
        // We asked for production=true; only an explicit other context opts out.
        self.context.as_deref().is_none_or(|c| c == "production")
    }

    /// When it last changed state (a failure's time is its last update).
    fn when(&self) -> Option<OffsetDateTime> {
        self.updated_at.or(self.created_at)
    }

    /// The commit as people quote it: 7 characters of a hash, else as sent.
    fn short_commit(&self) -> Option<String> {
        let c = self.commit_ref.as_deref()?;
        Some(
            if c.len() > 7 && c.chars().all(|ch| ch.is_ascii_hexdigit()) {
                c[..7].to_string()
            } else {
                clip(c, 40)
            },
        )
    }

    /// Netlify's page about this deploy (its build log): the admin URL of
    /// the site plus `/deploys/{id}`. Not `links.permalink`: that is the
    /// deploy's own copy of the site, which a failed build never produced.
    fn admin_page(&self, site: &Value) -> Option<String> {
        let id = self.id.as_deref().filter(|id| !id.trim().is_empty())?;
        let admin = self
            .admin_url
            .clone()
            .or_else(|| text(site, "admin_url"))
            .or_else(|| {
                self.name
                    .clone()
                    .or_else(|| text(site, "name"))
                    .map(|n| format!("https://app.netlify.com/sites/{n}"))
            })?;
        let mut page = common::web_link(&admin)?;
        page.set_query(None);
        page.set_fragment(None);
        page.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .extend(["deploys", id]);
        Some(page.to_string())
    }

    /// The facts someone fixing this deploy needs, for `card.details`.
    fn details(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        if let Some(c) = self.short_commit() {
            out.push(Metric::new("commit", c));
        }
        if let Some(t) = &self.title {
            out.push(Metric::new("commit message", clip(t, 200)));
        }
        if let Some(b) = &self.branch {
            out.push(Metric::new("branch", clip(b, 80)));
        }
        if let Some(secs) = self.deploy_time {
            out.push(Metric::new("build time", build_time(secs)).number_in(secs as f64, "s"));
        }
        if let Some(e) = &self.error_message {
            out.push(Metric::new("error", clip(e, 300)));
        }
        if let Some(id) = &self.id {
            out.push(Metric::new("deploy id", clip(id, 40)));
        }
        out
    }

    /// "c0ffee1 on main: Refactor header component" — the failing commit
    /// in one metric line.
    fn commit_line(&self) -> Option<String> {
        let commit = self.short_commit();
        if commit.is_none() && self.title.is_none() {
            return None;
        }
        let mut v = commit.unwrap_or_else(|| "(no commit)".into());
        if let Some(b) = &self.branch {
            v.push_str(" on ");
            v.push_str(&clip(b, 30));
        }
        if let Some(t) = &self.title {
            v.push_str(": ");
            v.push_str(&clip(t.lines().next().unwrap_or(""), 70));
        }
        Some(v)
    }
}

/// 92 → "1m 32s".
fn build_time(secs: u64) -> String {
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}

/// At most this many metric lines per card; the rest go to `details`.
const MAX_METRICS: usize = 3;

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
        .map(|v| Deploy::read(v).unwrap_or_else(Deploy::unreadable))
        .filter(Deploy::production)
        .collect();
    // Newest first; the API does so already, but that is observed, not promised.
    deploys.sort_by_key(|d| std::cmp::Reverse(d.created_at));

    let running = deploys.first().filter(|d| d.phase() == Phase::Running);
    // Judged on the newest finished build that was not skipped; a skipped
    // one newer than it is shown, never judged.
    let finished = || deploys.iter().filter(|d| d.phase() != Phase::Running);
    let decisive = finished().find(|d| !matches!(d.phase(), Phase::Skipped(_)));
    let skipped = finished().next().and_then(|d| match d.phase() {
        Phase::Skipped(why) => Some((d, why)),
        _ => None,
    });
    let all_skipped = decisive.is_none() && skipped.is_some();

    let mut metrics = Vec::new();
    let mut details = Vec::new();
    let published_when = published
        .as_ref()
        .and_then(|p| p.published_at.or(p.created_at));
    metrics.push(Metric::new(
        "published",
        match (&published, published_when) {
            (Some(_), Some(t)) => ago(t, ctx.now),
            // Published, at a time that could not be read (no zone, an
            // impossible date): not "never".
            (Some(_), None) => "unknown time".into(),
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
    if let Some((d, why)) = skipped {
        let mut v = why.describe().to_string();
        if let Some(t) = d.when() {
            v.push(' ');
            v.push_str(&ago(t, ctx.now));
        }
        metrics.push(Metric::new("last build", v));
    }
    let failed = decisive.filter(|d| d.phase() == Phase::Failed);
    if let Some(line) = failed.and_then(Deploy::commit_line) {
        metrics.push(Metric::new("commit", line));
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
            Vec::new(),
        ),
        None => {
            let msg = match (running, skipped) {
                (Some(r), _) => format!(
                    "no production deploy published yet (first deploy {})",
                    r.state
                ),
                (None, Some((_, why))) if all_skipped => format!(
                    "no production deploy published yet (recent builds {})",
                    why.describe()
                ),
                _ => "no production deploys yet".to_string(),
            };
            Card::unknown(Reason::new(ReasonKind::Config, msg))
        }
        Some(d) => match d.phase() {
            Phase::Live => card(
                Status::Healthy,
                format!("{name} live, {published_label}"),
                Vec::new(),
            ),
            Phase::Failed if published.is_some() => card(
                Status::Degraded,
                format!(
                    "production deploy {}, previous deploy still live",
                    failed_word(&d.state)
                ),
                Vec::new(),
            ),
            Phase::Failed => card(
                Status::Down,
                format!(
                    "production deploy {} and nothing is published",
                    failed_word(&d.state)
                ),
                Vec::new(),
            ),
            Phase::Running | Phase::Unrecognised | Phase::Skipped(_) => Card::unknown(Reason::new(
                ReasonKind::BadResponse,
                format!(
                    "Netlify reported a deploy state Overwatch does not know: `{}`{}",
                    clip(&d.state, 40),
                    d.id.as_deref()
                        .map(|id| format!(" (deploy {})", clip(id, 30)))
                        .unwrap_or_default()
                ),
            )),
        },
    };
    if let Some(d) = failed {
        // The failed deploy is the reason: "Open" goes to its build log.
        details.extend(d.details());
        out.link = d.admin_page(&site);
    }
    if metrics.len() > MAX_METRICS {
        let rest = metrics.split_off(MAX_METRICS);
        details.splice(0..0, rest);
    }
    out.metrics = metrics;
    out.details = details;
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
        unreadable_body(ctx.service, what, &ex.response.body, err),
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
    const D_NO_CHANGE: &[u8] =
        include_bytes!("../../tests/fixtures/netlify/deploys_skipped_no_change.json");
    const D_SUPERSEDED: &[u8] =
        include_bytes!("../../tests/fixtures/netlify/deploys_superseded_skipped.json");
    const D_ALL_SKIPPED: &[u8] =
        include_bytes!("../../tests/fixtures/netlify/deploys_all_skipped.json");
    const D_FAILED_DETAILS: &[u8] =
        include_bytes!("../../tests/fixtures/netlify/deploys_failed_with_details.json");

    fn service(site: &str) -> Service {
        Service::example(
            "Acme",
            "Marketing",
            Target::Netlify(NetlifyTarget { site: site.into() }),
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

    /// A published deploy whose times cannot be read (no zone, an
    /// impossible date) was published at an unknown time, not "never".
    #[test]
    fn unreadable_publish_times_are_an_unknown_time() {
        for bad in ["2026-08-22T09:00:00", "2026-02-30T09:00:00Z"] {
            let mut site: Value = serde_json::from_slice(SITE_OK).unwrap();
            let p = &mut site["published_deploy"];
            for key in ["published_at", "created_at", "updated_at"] {
                if p.get(key).is_some() {
                    p[key] = Value::String(bad.into());
                }
            }
            let run = run(
                json(200, &serde_json::to_vec(&site).unwrap()),
                json(200, D_EMPTY),
            );
            assert_eq!(run.card.status, Status::Healthy, "{bad}");
            assert_eq!(run.metric("published"), "unknown time", "{bad}");
        }
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

    #[test]
    fn a_build_skipped_by_the_ignore_command_is_not_a_failure() {
        let run = run(json(200, SITE_OK), json(200, D_NO_CHANGE));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.card.summary, "acme-marketing live, published 5 h ago");
        // Judged on the ready deploy behind the two skipped builds.
        assert_eq!(run.metric("last deploy"), "ready 5 h ago");
        // The newest skipped build, updated 13:40:31, now 14:05.
        assert_eq!(
            run.metric("last build"),
            "skipped (no content change) 24 min ago"
        );
        assert!(!run.card.in_progress);
        // Nothing failed: no link away from the dashboard, no failure details.
        assert_eq!(run.card.link, None);
        assert!(run.card.details.is_empty(), "{:?}", run.card.details);
    }

    #[test]
    fn a_superseded_build_is_skipped_and_the_newer_one_builds() {
        let run = run(json(200, SITE_OK), json(200, D_SUPERSEDED));
        assert_eq!(run.card.status, Status::Healthy);
        assert!(run.card.in_progress);
        assert_eq!(run.card.activity.as_deref(), Some("building"));
        assert_eq!(run.metric("last deploy"), "ready 5 h ago");
        assert_eq!(
            run.metric("last build"),
            "skipped (superseded by a newer commit) 6 min ago"
        );
        // Four facts, three lines: the build in progress (also shown as the
        // card's activity) moves to the details.
        assert_eq!(run.card.metrics.len(), 3);
        assert_eq!(run.detail("in progress"), "building (started 6 min ago)");
    }

    #[test]
    fn all_recent_builds_skipped_falls_back_to_the_published_deploy() {
        let run1 = run(json(200, SITE_OK), json(200, D_ALL_SKIPPED));
        assert_eq!(run1.card.status, Status::Healthy);
        assert_eq!(run1.card.summary, "acme-marketing live, published 5 h ago");
        assert_eq!(
            run1.metric("last build"),
            "skipped (no content change) 24 min ago"
        );
        assert!(run1.card.metrics.iter().all(|m| m.label != "last deploy"));
        // Nothing published and nothing but skipped builds: nothing to judge.
        let run2 = run(json(200, &unpublished_site()), json(200, D_ALL_SKIPPED));
        assert_eq!(run2.card.status, Status::Unknown);
        assert_eq!(run2.reason_kind(), Some(ReasonKind::Config));
        assert_eq!(
            run2.reason_text(),
            "no production deploy published yet (recent builds skipped (no content change))"
        );
    }

    /// One production deploy with these fields over a ready base.
    fn deploy_with(fields: Value) -> Value {
        let list: Vec<Value> = serde_json::from_slice(D_HEALTHY).unwrap();
        let mut d = list[0].clone();
        d["id"] = "66c7e0000000000000000001".into();
        d["created_at"] = "2026-08-22T13:30:00Z".into();
        d["updated_at"] = "2026-08-22T13:31:00Z".into();
        d["published_at"] = Value::Null;
        for (k, v) in fields.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    }

    /// That deploy in front of the healthy list.
    fn newest(fields: Value) -> Run {
        let mut list: Vec<Value> = serde_json::from_slice(D_HEALTHY).unwrap();
        list.insert(0, deploy_with(fields));
        run(
            json(200, SITE_OK),
            json(200, &serde_json::to_vec(&list).unwrap()),
        )
    }

    #[test]
    fn skips_are_recognised_by_flag_state_or_wording() {
        use serde_json::json as j;
        let skipped = [
            (
                j!({"state": "error", "error_message": "Canceled build due to no content change"}),
                "skipped (no content change)",
            ),
            (
                j!({"state": "error", "error_message": "CANCELLED BUILD DUE TO NO CONTENT CHANGE"}),
                "skipped (no content change)",
            ),
            (
                j!({"state": "error", "error_message": "Failed during stage 'Checking build content for changes': build skipped"}),
                "skipped (no content change)",
            ),
            (
                j!({"state": "error", "error_message": " skipped ", "skipped": null}),
                "skipped (superseded by a newer commit)",
            ),
            (
                j!({"state": "error", "error_message": null, "skipped": true}),
                "skipped (superseded by a newer commit)",
            ),
            // A flagged skip that never left `new` is not "in progress" forever.
            (
                j!({"state": "new", "error_message": null, "skipped": true}),
                "skipped (superseded by a newer commit)",
            ),
            (j!({"state": "skipped", "error_message": null}), "skipped"),
            (j!({"state": "canceled", "error_message": null}), "canceled"),
            (
                j!({"state": "cancelled", "error_message": null}),
                "canceled",
            ),
        ];
        for (fields, why) in skipped {
            let out = newest(fields.clone());
            assert_eq!(out.card.status, Status::Healthy, "{fields}");
            assert!(!out.card.in_progress, "{fields}");
            assert_eq!(out.metric("last deploy"), "ready 5 h ago", "{fields}");
            assert_eq!(
                out.metric("last build"),
                format!("{why} 34 min ago"),
                "{fields}"
            );
        }
        // Real failures stay failures, whatever else they mention.
        for msg in [
            "Failed during stage 'building site': Build script returned non-zero exit code: 2",
            "Canceled build: the team is out of build minutes",
            "Skipped 3 functions; failed to bundle the rest",
        ] {
            let out = newest(j!({"state": "error", "error_message": msg}));
            assert_eq!(out.card.status, Status::Degraded, "{msg}");
        }
        // A live deploy is live even if flagged; a building one keeps building.
        let out = newest(j!({"state": "ready", "skipped": true}));
        assert_eq!(out.metric("last deploy"), "ready 34 min ago");
        let out = newest(j!({"state": "building", "error_message": "Skipped"}));
        assert!(out.card.in_progress);
        assert_eq!(out.card.status, Status::Healthy);
    }

    #[test]
    fn a_skip_older_than_a_failure_does_not_hide_it() {
        let mut list: Vec<Value> = serde_json::from_slice(D_FAILED).unwrap();
        let mut skip = deploy_with(serde_json::json!({
            "state": "error",
            "error_message": "Skipped",
            "skipped": true,
            "created_at": "2026-08-22T12:00:00Z",
        }));
        skip["id"] = "66c7e0000000000000000002".into();
        list.insert(1, skip);
        let out = run(
            json(200, SITE_OK),
            json(200, &serde_json::to_vec(&list).unwrap()),
        );
        assert_eq!(out.card.status, Status::Degraded);
        assert!(out.card.metrics.iter().all(|m| m.label != "last build"));
    }

    #[test]
    fn a_failed_deploy_brings_its_commit_details_and_build_log_link() {
        let run = run(json(200, SITE_OK), json(200, D_FAILED_DETAILS));
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(
            run.metric("last deploy"),
            "error 1 h ago: Build script returned non-zero exit code: 1"
        );
        assert_eq!(
            run.metric("commit"),
            "9a8b7c6 on main: Switch image pipeline to sharp"
        );
        assert_eq!(run.card.metrics.len(), 3);
        assert_eq!(run.detail("commit"), "9a8b7c6");
        assert_eq!(
            run.detail("commit message"),
            "Switch image pipeline to sharp"
        );
        assert_eq!(run.detail("branch"), "main");
        assert_eq!(run.detail("build time"), "1m 31s");
        assert_eq!(
            run.detail("error"),
            "Failed during stage 'building site': Build script returned non-zero exit code: 1"
        );
        assert_eq!(run.detail("deploy id"), "66c7c8aa4d5e6f0008b1c2d3");
        // The build log in the Netlify app, not the deploy's (empty) permalink.
        assert_eq!(
            run.card.link.as_deref(),
            Some("https://app.netlify.com/sites/acme-marketing/deploys/66c7c8aa4d5e6f0008b1c2d3")
        );
        assert_eq!(run.card.open_url(), run.card.link.as_deref());
    }

    #[test]
    fn the_link_falls_back_to_the_site_and_never_leaves_the_web() {
        // No admin_url on the deploy: the site's is used.
        let mut list: Vec<Value> = serde_json::from_slice(D_FAILED).unwrap();
        list[0]["admin_url"] = Value::Null;
        let out = run(
            json(200, SITE_OK),
            json(200, &serde_json::to_vec(&list).unwrap()),
        );
        assert_eq!(
            out.card.link.as_deref(),
            Some("https://app.netlify.com/sites/acme-marketing/deploys/66c7b3f2c1d0e90008f00d01")
        );
        // A hostile admin URL is not opened; "Open" goes to the dashboard.
        list[0]["admin_url"] = "javascript:alert(1)".into();
        let out = run(
            json(200, SITE_OK),
            json(200, &serde_json::to_vec(&list).unwrap()),
        );
        assert_eq!(out.card.link, None);
        assert_eq!(out.card.open_url(), out.card.dashboard_url.as_deref());
        // A failure without commit facts still says what it can.
        list[0]["commit_ref"] = Value::Null;
        list[0]["title"] = Value::Null;
        let out = run(
            json(200, SITE_OK),
            json(200, &serde_json::to_vec(&list).unwrap()),
        );
        assert!(out.card.metrics.iter().all(|m| m.label != "commit"));
        assert_eq!(out.card.status, Status::Degraded);
    }

    #[test]
    fn failed_with_nothing_published_keeps_the_details() {
        let run = run(json(200, &unpublished_site()), json(200, D_FAILED_DETAILS));
        assert_eq!(run.card.status, Status::Down);
        assert_eq!(run.detail("commit"), "9a8b7c6");
        assert!(run
            .card
            .link
            .as_deref()
            .unwrap()
            .ends_with("/deploys/66c7c8aa4d5e6f0008b1c2d3"));
    }

    mod skipped_builds_never_hurt {
        use super::*;
        use proptest::prelude::*;

        const STATES: [&str; 8] = [
            "ready",
            "error",
            "rejected",
            "building",
            "enqueued",
            "new",
            "processing",
            "quantum",
        ];

        /// A skip in one of the shapes Netlify sends (and the lenient ones).
        fn skip_fields(kind: usize) -> Value {
            use serde_json::json as j;
            match kind % 6 {
                0 => {
                    j!({"state": "error", "error_message": "Failed during stage 'checking build content for changes': Canceled build due to no content change", "skipped": null})
                }
                1 => j!({"state": "error", "error_message": "Skipped", "skipped": true}),
                2 => {
                    j!({"state": "error", "error_message": "cancelled build due to no content change"})
                }
                3 => j!({"state": "skipped", "error_message": null}),
                4 => j!({"state": "canceled", "error_message": null}),
                _ => j!({"state": "new", "error_message": null, "skipped": true}),
            }
        }

        fn list_of(deploys: &[(usize, u32, bool)]) -> Vec<Value> {
            deploys
                .iter()
                .enumerate()
                .map(|(i, (state, age, preview))| {
                    let t = minutes_ago(*age);
                    deploy_with(serde_json::json!({
                        "id": format!("66c7f{i:019}"),
                        "state": STATES[*state % STATES.len()],
                        "context": if *preview { "deploy-preview" } else { "production" },
                        "error_message": "Build script returned non-zero exit code: 2",
                        "created_at": t,
                        "updated_at": t,
                    }))
                })
                .collect()
        }

        fn minutes_ago(minutes: u32) -> String {
            let t = testkit::NOW - time::Duration::minutes(i64::from(minutes));
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 256,
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            /// Adding a skipped or cancelled build anywhere in the list never
            /// makes the card worse than the list without it — and, as
            /// skips are never decisive, leaves its colour as it was.
            #[test]
            fn a_skip_never_makes_the_card_worse(
                deploys in prop::collection::vec((0usize..8, 0u32..3000, any::<bool>()), 0..5),
                published in any::<bool>(),
                kind in 0usize..6,
                at in 0u32..3000,
            ) {
                let site = if published { SITE_OK.to_vec() } else { unpublished_site() };
                let without = list_of(&deploys);
                let mut with = without.clone();
                let mut skip = deploy_with(skip_fields(kind));
                skip["id"] = "66c7e00000000000000000ff".into();
                skip["created_at"] = minutes_ago(at).into();
                skip["updated_at"] = minutes_ago(at).into();
                with.push(skip);
                let before = run(json(200, &site), json(200, &serde_json::to_vec(&without).unwrap()));
                let after = run(json(200, &site), json(200, &serde_json::to_vec(&with).unwrap()));
                prop_assert!(
                    after.card.status.severity() <= before.card.status.severity(),
                    "{:?} -> {:?}", before.card.status, after.card.status
                );
                prop_assert_eq!(after.card.status, before.card.status);
                prop_assert_eq!(after.reason_kind(), before.reason_kind());
            }
        }
    }
}

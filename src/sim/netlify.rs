//! Netlify's REST API as the sim serves it: `GET /api/v1/sites/{id}` and `/api/v1/sites/{id}/deploys`.
//!
//! Sites are found by the key they were registered under, its invented UUID,
//! or `<name>.netlify.app`. Every answer carries `X-RateLimit-*` (reset as
//! epoch seconds), as Netlify's do.

use std::time::Duration;

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::util::{oid, truncate_json, ts_millis, uuid};
use super::{split_slow, Reply, Scenario, SeenRequest, Shared, TargetKey};

const LIMIT: u32 = 500;

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({ "code": status, "message": message }))
}

fn with_limits(r: Reply, remaining: u32, reset: i64) -> Reply {
    r.header("x-ratelimit-limit", LIMIT)
        .header("x-ratelimit-remaining", remaining)
        .header("x-ratelimit-reset", reset)
}

/// The site a key stands for.
struct Site {
    key: String,
    id: String,
    name: String,
}

impl Site {
    fn new(key: &str) -> Site {
        let looks_like_id = key.len() == 36 && key.chars().filter(|c| *c == '-').count() == 4;
        let id = if looks_like_id {
            key.to_string()
        } else {
            uuid(&format!("netlify/{key}"))
        };
        let name = if looks_like_id {
            "sim-site".to_string()
        } else {
            key.trim_end_matches(".netlify.app")
                .split('.')
                .next()
                .unwrap_or("sim-site")
                .to_string()
        };
        Site {
            key: key.into(),
            id,
            name,
        }
    }

    fn matches(&self, asked: &str) -> bool {
        asked == self.key || asked == self.id || asked == format!("{}.netlify.app", self.name)
    }
}

/// One invented deploy.
struct Deploy {
    seed: &'static str,
    state: &'static str,
    context: &'static str,
    age: Duration,
    published: bool,
    error: Option<&'static str>,
}

fn m(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

const BUILD_FAILED: &str =
    "Failed during stage 'building site': Build script returned non-zero exit code: 2";

/// The deploys of a site under a scenario, newest first, and which one is published.
fn deploys(scenario: &Scenario) -> Vec<Deploy> {
    let ready = |seed, age| Deploy {
        seed,
        state: "ready",
        context: "production",
        age,
        published: false,
        error: None,
    };
    let current = |seed, age| Deploy {
        published: true,
        ..ready(seed, age)
    };
    let failed = |seed, age| Deploy {
        seed,
        state: "error",
        context: "production",
        age,
        published: false,
        error: Some(BUILD_FAILED),
    };
    match scenario {
        Scenario::DeployFailing => vec![failed("new", m(15)), current("old", m(190))],
        Scenario::Crash => vec![failed("new", m(10)), failed("older", m(70))],
        Scenario::Deploying => vec![
            Deploy {
                seed: "preview",
                state: "enqueued",
                context: "deploy-preview",
                age: m(1),
                published: false,
                error: None,
            },
            Deploy {
                seed: "new",
                state: "building",
                context: "production",
                age: m(2),
                published: false,
                error: None,
            },
            current("old", m(190)),
        ],
        _ => vec![current("old", m(190)), ready("older", m(2900))],
    }
}

fn deploy_json(site: &Site, d: &Deploy, now: OffsetDateTime) -> Value {
    let id = oid(&format!("{}/{}", site.id, d.seed));
    let created = now - d.age;
    let done = !matches!(d.state, "building" | "enqueued" | "new");
    let updated = if done {
        created + m(2)
    } else {
        created + Duration::from_secs(16)
    };
    let preview = d.context == "deploy-preview";
    let branch = if preview { "feature/new-hero" } else { "main" };
    let alias = if preview {
        "deploy-preview-217".to_string()
    } else {
        branch.to_string()
    };
    json!({
        "id": id,
        "site_id": site.id,
        "build_id": oid(&format!("{}/{}/build", site.id, d.seed)),
        "state": d.state,
        "name": site.name,
        "url": format!("https://{}.netlify.app", site.name),
        "ssl_url": format!("https://{}.netlify.app", site.name),
        "admin_url": format!("https://app.netlify.com/sites/{}", site.name),
        "deploy_url": format!("http://{alias}--{}.netlify.app", site.name),
        "deploy_ssl_url": format!("https://{alias}--{}.netlify.app", site.name),
        "created_at": ts_millis(created),
        "updated_at": ts_millis(updated),
        "user_id": if preview { Value::Null } else { json!("5f1e2d3c4b5a69788796a5b4") },
        "error_message": d.error,
        "required": if done { json!([]) } else { Value::Null },
        "required_functions": Value::Null,
        "commit_ref": oid(&format!("{}/{}/commit", site.id, d.seed)) + "0123456789abcdef",
        "review_id": if preview { json!(217) } else { Value::Null },
        "branch": branch,
        "commit_url": format!("https://github.com/acme/{}/commit/{}", site.name, oid(d.seed)),
        "skipped": Value::Null,
        "locked": Value::Null,
        "title": if d.error.is_some() { "Refactor header component" } else { "Update pricing page copy" },
        "review_url": if preview { json!("https://github.com/acme/site/pull/217") } else { Value::Null },
        "published_at": if d.state == "ready" { json!(ts_millis(updated)) } else { Value::Null },
        "context": d.context,
        "deploy_time": if d.state == "ready" { json!(92) } else { Value::Null },
        "framework": if done { json!("astro") } else { Value::Null },
        "screenshot_url": Value::Null,
        "manual_deploy": false,
    })
}

fn site_json(site: &Site, scenario: &Scenario, now: OffsetDateTime) -> Value {
    let list = deploys(scenario);
    let published = list.iter().find(|d| d.published).map(|d| {
        let mut p = deploy_json(site, d, now);
        p["links"] = json!({
            "permalink": format!("https://{}--{}.netlify.app", p["id"].as_str().unwrap_or(""), site.name),
            "alias": format!("https://{}.netlify.app", site.name),
        });
        p
    });
    let url = format!("https://{}.netlify.app", site.name);
    let mut v = json!({
        "id": site.id,
        "site_id": site.id,
        "plan": "nf_team_dev",
        "ssl_plan": Value::Null,
        "premium": false,
        "claimed": true,
        "name": site.name,
        "custom_domain": Value::Null,
        "domain_aliases": [],
        "password": Value::Null,
        "notification_email": Value::Null,
        "url": url,
        "ssl_url": url,
        "admin_url": format!("https://app.netlify.com/sites/{}", site.name),
        "screenshot_url": Value::Null,
        "deploy_id": published.as_ref().map(|p| p["id"].clone()).unwrap_or(Value::Null),
        "build_id": published.as_ref().map(|p| p["build_id"].clone()).unwrap_or(Value::Null),
        "deploy_url": format!("http://main--{}.netlify.app", site.name),
        "state": "current",
    });
    // Split in two: one json! this long exceeds the macro recursion limit.
    let more = json!({
        "created_at": "2024-03-11T10:22:41.118Z",
        "updated_at": ts_millis(now - m(180)),
        "user_id": "5f1e2d3c4b5a69788796a5b4",
        "error_message": Value::Null,
        "ssl": true,
        "force_ssl": true,
        "ssl_status": Value::Null,
        "managed_dns": true,
        "max_domain_aliases": 100,
        "account_id": "5f1e2d3c4b5a69788796a5c0",
        "account_name": "Acme Web Team",
        "account_slug": "acme-web",
        "git_provider": "github",
        "deploy_hook": "https://api.netlify.com/hooks/github",
        "capabilities": { "title": "Netlify Team Free", "asset_acceleration": true, "form_processing": true },
        "build_settings": { "provider": "github", "repo_branch": "main", "dir": "dist", "cmd": "npm run build", "env": {} },
        "id_domain": format!("{}.netlify.app", site.id),
        "default_domain": format!("{}.netlify.app", site.name),
        "build_image": "noble",
        "prerender": Value::Null,
        "functions_region": "us-east-2",
        "lifecycle_state": "active",
        "published_deploy": published.unwrap_or(Value::Null),
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut v, more) {
        a.extend(b);
    }
    v
}

pub(super) fn handle(sim: &Shared, req: &SeenRequest, now: OffsetDateTime) -> Reply {
    let rest = req.path.trim_start_matches("/api/v1/sites/");
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let (asked, deploys_route) = match parts.as_slice() {
        [site] if !site.is_empty() => (*site, false),
        [site, "deploys"] => (*site, true),
        _ => return Reply::not_found(),
    };
    if req.method != "GET" {
        return Reply::not_found();
    }
    let reset_minute = now.unix_timestamp() + 60 - now.unix_timestamp() % 60;
    if !sim.token_ok(req.bearer()) {
        return error(401, "Access Denied");
    }
    let site = sim
        .netlify_sites()
        .into_iter()
        .map(|k| Site::new(&k))
        .find(|s| s.matches(asked))
        .or_else(|| sim.config.accept_any_target.then(|| Site::new(asked)));
    let Some(site) = site else {
        return with_limits(error(404, "Not Found"), LIMIT - 3, reset_minute);
    };
    let scenario = sim
        .scenario(&TargetKey::Netlify(site.key.clone()))
        .unwrap_or(Scenario::Healthy);
    let (scenario, delay) = split_slow(scenario);
    let mut reply = match scenario {
        Scenario::AuthFailure => error(401, "Access Denied"),
        Scenario::RateLimited { reset_in } => {
            let reset = now.unix_timestamp() + reset_in.as_secs().max(1) as i64;
            with_limits(error(429, "Too Many Requests"), 0, reset)
        }
        // Netlify's edge sometimes answers with an empty body.
        Scenario::ServerError => Reply::raw(502, "text/plain", ""),
        Scenario::Garbage => Reply::raw(
            200,
            "application/json",
            truncate_json(&site_json(&site, &Scenario::Healthy, now)),
        ),
        scenario => {
            let body = if deploys_route {
                deploys_json(req, &site, &scenario, now)
            } else {
                site_json(&site, &scenario, now)
            };
            with_limits(Reply::json(200, &body), LIMIT - 3, reset_minute)
                .header("x-request-id", uuid(&format!("{}{}", req.path, now)))
        }
    };
    reply.delay = delay;
    reply
}

/// The deploy list with Netlify's filters and paging applied.
fn deploys_json(req: &SeenRequest, site: &Site, scenario: &Scenario, now: OffsetDateTime) -> Value {
    let production = req.param("production").as_deref() == Some("true");
    let state = req.param("state");
    let per_page: usize = req
        .param("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let page: usize = req
        .param("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let list: Vec<Value> = deploys(scenario)
        .iter()
        .filter(|d| !production || d.context == "production")
        .filter(|d| state.as_deref().is_none_or(|s| s == d.state))
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|d| deploy_json(site, d, now))
        .collect();
    json!(list)
}

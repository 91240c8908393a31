//! Railway adapter: one card per project, coloured by the deployments that serve.
//!
//! Config: `project` (project id), `environment` (a name, default
//! `production`; `*` watches every environment), `token_kind` (`account` for
//! account/workspace tokens → `Authorization: Bearer`; `project` for project
//! tokens → `Project-Access-Token`), `base_url` to replace
//! `https://backboard.railway.com`.
//!
//! Requests (`POST {base}/graphql/v2`, JSON `{query, variables, operationName}`):
//! - account/workspace token: one round, the combined `TrayProject` query
//!   (project → environments → serviceInstances → latest and active deployments);
//! - project token: `projectToken { projectId environmentId project environment }`,
//!   then `environment(id, projectId) { serviceInstances { … } }` (two rounds).
//!
//! Only the first page of service instances is read (Railway projects rarely
//! exceed it; a note says so when `hasNextPage`).
//!
//! Status per service, from the *serving* deployment (first active one that
//! is SUCCESS/CRASHED/SLEEPING, else the latest), as in Railway's CLI:
//! - healthy: SUCCESS with no crashed instance, SLEEPING, or a stopped
//!   SUCCESS (finished job);
//! - degraded: SUCCESS with some (not all) instances CRASHED, CRASHED with an
//!   instance still RUNNING, or a newer deploy FAILED while an older one serves;
//! - down: CRASHED with nothing running, or nothing serves and the latest FAILED;
//! - inactive (listed, never colours): never deployed, removed or skipped;
//! - first deploy in progress (listed, never colours);
//! - unknown: a status this code does not know.
//!
//! The card is the worst of its services (down > degraded > unknown >
//! healthy); a project with nothing that colours is unknown (config). A newer
//! deploy that is building/deploying/queued/awaiting approval sets
//! `in_progress` without changing the colour. Railway reports auth failures
//! as HTTP 200 with `errors` ("Not Authorized", "Project Token not found") —
//! these are auth; "Project not found" is config; a Cloudflare HTML page is
//! treated as rate limiting.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::common::{self, card, find, is_success, parse_time, string};
use super::{
    ago, bad_body, clip, describe_body, http_error_reason, Auth, Context, Exchange, Method,
    Request, Step,
};
use crate::model::{Card, Metric, Reason, ReasonKind, Status, Target, TokenKind};

const PROJECT: &str = "project";
const IDENTITY: &str = "identity";
const ENVIRONMENT: &str = "environment";

/// The service-instance selection shared by both query shapes.
macro_rules! instance_fields {
    () => {
        "id serviceId serviceName environmentId \
         latestDeployment { id status createdAt statusUpdatedAt deploymentStopped instances { id status } } \
         activeDeployments { id status createdAt deploymentStopped instances { id status } }"
    };
}

const TRAY_PROJECT: &str = concat!(
    "query TrayProject($projectId: String!) { project(id: $projectId) { id name ",
    "environments { edges { node { id name canAccess ",
    "serviceInstances { edges { node { ",
    instance_fields!(),
    " } } pageInfo { hasNextPage endCursor } } } } } } }"
);

const PROJECT_TOKEN: &str = "query TrayProjectToken { projectToken { projectId environmentId \
     project { id name } environment { id name } } }";

const TRAY_ENVIRONMENT: &str = concat!(
    "query TrayEnvironment($environmentId: String!, $projectId: String!) { ",
    "environment(id: $environmentId, projectId: $projectId) { id name ",
    "serviceInstances { edges { node { ",
    instance_fields!(),
    " } } pageInfo { hasNextPage endCursor } } } }"
);

struct Config<'a> {
    project: &'a str,
    environment: &'a str,
    kind: TokenKind,
}

pub fn plan(ctx: &Context<'_>, done: &[Exchange]) -> Step {
    let cfg = match &ctx.service.target {
        Target::Railway {
            project,
            environment,
            token_kind,
        } => Config {
            project: project.as_str(),
            environment: match environment.trim() {
                "" => "production",
                e => e,
            },
            kind: *token_kind,
        },
        other => {
            return common::unknown(
                ctx,
                Reason::new(
                    ReasonKind::Config,
                    format!("not a Railway target: {}", other.describe()),
                ),
                None,
            )
        }
    };
    match cfg.kind {
        TokenKind::Account => match find(done, PROJECT) {
            None => fetch(
                ctx,
                PROJECT,
                "TrayProject",
                TRAY_PROJECT,
                json!({"projectId": cfg.project}),
                &cfg,
            ),
            Some(ex) => from_project(ctx, &cfg, ex),
        },
        TokenKind::Project => match (find(done, IDENTITY), find(done, ENVIRONMENT)) {
            (None, _) => fetch(
                ctx,
                IDENTITY,
                "TrayProjectToken",
                PROJECT_TOKEN,
                json!({}),
                &cfg,
            ),
            (Some(id), None) => match identity(ctx, &cfg, id) {
                Ok((project_id, env_id)) => fetch(
                    ctx,
                    ENVIRONMENT,
                    "TrayEnvironment",
                    TRAY_ENVIRONMENT,
                    json!({"environmentId": env_id, "projectId": project_id}),
                    &cfg,
                ),
                Err(reason) => common::unknown(ctx, reason, Some(id)),
            },
            (Some(id), Some(env)) => {
                let project_name = answer(ctx, id)
                    .ok()
                    .and_then(|a| {
                        a.data
                            .get("projectToken")
                            .and_then(|t| t.get("project"))
                            .and_then(|p| string(p, "name"))
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| cfg.project.to_string());
                from_environment(ctx, &cfg, &project_name, env)
            }
        },
    }
}

fn fetch(
    ctx: &Context<'_>,
    tag: &'static str,
    operation: &str,
    query: &str,
    variables: Value,
    cfg: &Config<'_>,
) -> Step {
    let Some(url) = common::endpoint(&ctx.service.api_base(), &["graphql", "v2"], &[]) else {
        return common::unknown(
            ctx,
            Reason::new(
                ReasonKind::Config,
                format!(
                    "base_url `{}` cannot be used as an API root",
                    ctx.service.api_base()
                ),
            ),
            None,
        );
    };
    Step::Fetch(vec![Request {
        tag,
        method: Method::Post,
        url,
        auth: match cfg.kind {
            TokenKind::Account => Auth::Bearer,
            TokenKind::Project => Auth::Header("Project-Access-Token"),
        },
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(json!({
            "query": query,
            "variables": variables,
            "operationName": operation,
        })),
    }])
}

/// A GraphQL answer: `data` (Null when absent) and the error messages.
struct Answer {
    data: Value,
    errors: Vec<String>,
}

fn error_messages(v: &Value) -> Vec<String> {
    v.get("errors")
        .and_then(Value::as_array)
        .map(|errs| {
            errs.iter()
                .map(|e| string(e, "message").unwrap_or("(no message)").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads one exchange: transport-level problems become a reason.
fn answer(ctx: &Context<'_>, ex: &Exchange) -> Result<Answer, Reason> {
    let body = &ex.response.body;
    let status = ex.response.status;
    if describe_body(body) == "an HTML page"
        && String::from_utf8_lossy(body)
            .to_ascii_lowercase()
            .contains("cloudflare")
    {
        // Railway's Cloudflare front answers heavy callers with this page
        // (on 200 or 403); it is a "slow down", not a verdict on the key.
        return Err(Reason::new(
            ReasonKind::RateLimited,
            format!(
                "Railway's Cloudflare front blocked the request (HTTP {status}, an \"Access denied\" page) — usually too many requests; backing off"
            ),
        ));
    }
    let parsed = serde_json::from_slice::<Value>(body);
    if !is_success(status) {
        let detail = parsed
            .as_ref()
            .ok()
            .and_then(|v| {
                error_messages(v)
                    .into_iter()
                    .next()
                    .or_else(|| string(v, "message").map(str::to_string))
            })
            .or_else(|| common::text_detail(body));
        return Err(http_error_reason(
            ctx.service,
            status,
            detail.as_deref(),
            common::retry_after(&ex.response),
        ));
    }
    let v = match parsed {
        Ok(v) if v.is_object() => v,
        Ok(_) => return Err(bad_body(ctx.service, "response", "expected a JSON object")),
        Err(e) => {
            return Err(bad_body(
                ctx.service,
                "response",
                format!("{}: {e}", describe_body(body)),
            ))
        }
    };
    let errors = error_messages(&v);
    // Neither data nor errors: not a GraphQL answer at all (a proxy's JSON,
    // another API) — unreadable, not "no such project".
    if errors.is_empty() && !v.get("data").is_some_and(Value::is_object) {
        return Err(bad_body(
            ctx.service,
            "response",
            "a JSON object without GraphQL `data` or `errors`",
        ));
    }
    Ok(Answer {
        errors,
        data: v.get("data").cloned().unwrap_or(Value::Null),
    })
}

fn key_label(ctx: &Context<'_>) -> (String, String) {
    match &ctx.service.key {
        Some(k) => (k.to_string(), k.how_to_set()),
        None => ("(none)".into(), "set a key for this service".into()),
    }
}

/// Why GraphQL errors left us without the object we asked for.
fn classify(ctx: &Context<'_>, cfg: &Config<'_>, errors: &[String], missing: &str) -> Reason {
    let Some(first) = errors.first() else {
        return Reason::new(
            ReasonKind::Config,
            format!(
                "Railway returned no {missing} for {}",
                ctx.service.target.describe()
            ),
        );
    };
    let lower = first.to_ascii_lowercase();
    let (key, how) = key_label(ctx);
    if lower.contains("project token not found") {
        Reason::new(
            ReasonKind::Auth,
            format!("Railway does not know project token `{key}` (\"{}\") — it may have been revoked; {how}", clip(first, 80)),
        )
    } else if lower.contains("not authorized") {
        let hint = match cfg.kind {
            TokenKind::Account => format!(
                "it must be an account or workspace token that can see project {} (a project token needs token_kind = \"project\")",
                cfg.project
            ),
            TokenKind::Project => "the project token may be revoked or for another project".into(),
        };
        Reason::new(
            ReasonKind::Auth,
            format!("Railway rejected API key `{key}` (Not Authorized, HTTP 200) — {hint}; {how}"),
        )
    } else if lower.contains("two factor") {
        Reason::new(
            ReasonKind::Auth,
            format!("Railway requires two-factor authentication for this workspace before key `{key}` may read it"),
        )
    } else if lower.contains("project not found") {
        Reason::new(
            ReasonKind::Config,
            format!(
                "Railway project {} not found — check the project id (Project Settings → General) and that the token's workspace owns it",
                cfg.project
            ),
        )
    } else {
        Reason::new(
            ReasonKind::BadResponse,
            format!("Railway answered with an error: {}", clip(first, 160)),
        )
    }
}

/// Project-token step 1: which project and environment the token is for.
fn identity(
    ctx: &Context<'_>,
    cfg: &Config<'_>,
    ex: &Exchange,
) -> Result<(String, String), Reason> {
    let a = answer(ctx, ex)?;
    let token = a.data.get("projectToken").filter(|t| t.is_object());
    let Some(token) = token else {
        return Err(classify(ctx, cfg, &a.errors, "project token"));
    };
    let (Some(project_id), Some(env_id)) =
        (string(token, "projectId"), string(token, "environmentId"))
    else {
        return Err(bad_body(
            ctx.service,
            "project token",
            "no projectId/environmentId",
        ));
    };
    let project_name = token.get("project").and_then(|p| string(p, "name"));
    let env_name = token.get("environment").and_then(|e| string(e, "name"));
    let wanted = cfg.project.trim();
    if wanted != project_id && !project_name.is_some_and(|n| n.eq_ignore_ascii_case(wanted)) {
        return Err(Reason::new(
            ReasonKind::Config,
            format!(
                "this project token belongs to project {} ({project_id}), not `{wanted}` — set project = \"{project_id}\" or use that project's token",
                project_name.unwrap_or("?")
            ),
        ));
    }
    if cfg.environment != "*" {
        if let Some(name) = env_name {
            if !name.eq_ignore_ascii_case(cfg.environment) {
                return Err(Reason::new(
                    ReasonKind::Config,
                    format!(
                        "this project token is for environment `{name}`, not `{}` — set environment = \"{name}\" or use a token for {}",
                        cfg.environment, cfg.environment
                    ),
                ));
            }
        }
    }
    Ok((project_id.to_string(), env_id.to_string()))
}

/// One environment to judge.
struct Env<'a> {
    name: String,
    instances: Vec<&'a Value>,
    more: bool,
}

fn read_instances(v: &Value) -> (Vec<&Value>, bool) {
    let conn = v.get("serviceInstances");
    let nodes = conn
        .and_then(|c| c.get("edges"))
        .and_then(Value::as_array)
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| e.get("node"))
                .filter(|n| n.is_object())
                .collect()
        })
        .unwrap_or_default();
    let more = conn
        .and_then(|c| c.get("pageInfo"))
        .and_then(|p| p.get("hasNextPage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (nodes, more)
}

fn from_project(ctx: &Context<'_>, cfg: &Config<'_>, ex: &Exchange) -> Step {
    let a = match answer(ctx, ex) {
        Ok(a) => a,
        Err(r) => return common::unknown(ctx, r, Some(ex)),
    };
    let Some(project) = a.data.get("project").filter(|p| p.is_object()) else {
        return common::unknown(ctx, classify(ctx, cfg, &a.errors, "project"), Some(ex));
    };
    let project_name = string(project, "name").unwrap_or(cfg.project).to_string();
    let all: Vec<&Value> = project
        .get("environments")
        .and_then(|e| e.get("edges"))
        .and_then(Value::as_array)
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| e.get("node"))
                .filter(|n| n.is_object())
                .collect()
        })
        .unwrap_or_default();
    let name_of = |e: &Value| string(e, "name").unwrap_or("(unnamed)").to_string();
    let accessible = |e: &Value| e.get("canAccess").and_then(Value::as_bool) != Some(false);

    let chosen: Vec<&Value> = if cfg.environment == "*" {
        all.clone()
    } else {
        let exact = all
            .iter()
            .find(|e| string(e, "name") == Some(cfg.environment));
        let loose = || {
            all.iter().find(|e| {
                string(e, "name").is_some_and(|n| n.eq_ignore_ascii_case(cfg.environment))
            })
        };
        match exact.or_else(loose) {
            Some(e) => vec![*e],
            // Nameless environments are a malformed answer, not a wrong
            // setting: "not found" would send the user after the config.
            None if all.iter().any(|e| string(e, "name").is_none()) => {
                return common::unknown(
                    ctx,
                    bad_body(ctx.service, "project", "environments without a `name`"),
                    Some(ex),
                );
            }
            None => {
                let names: Vec<String> = all.iter().map(|e| name_of(e)).collect();
                let msg = if names.is_empty() {
                    format!(
                        "project {project_name} has no environments Railway lets this token see"
                    )
                } else {
                    format!(
                        "environment `{}` not found in project {project_name}; it has: {} — set environment to one of them, or \"*\" for all",
                        cfg.environment,
                        names.join(", ")
                    )
                };
                return common::unknown(ctx, Reason::new(ReasonKind::Config, msg), Some(ex));
            }
        }
    };
    let skipped: Vec<String> = chosen
        .iter()
        .filter(|e| !accessible(e))
        .map(|e| name_of(e))
        .collect();
    let envs: Vec<Env> = chosen
        .iter()
        .filter(|e| accessible(e))
        .map(|e| {
            let (instances, more) = read_instances(e);
            Env {
                name: name_of(e),
                instances,
                more,
            }
        })
        .collect();
    if envs.is_empty() {
        let (key, how) = key_label(ctx);
        let msg = if skipped.is_empty() {
            format!("project {project_name} has no environments")
        } else {
            format!(
                "key `{key}` cannot access environment {} of project {project_name} (canAccess is false) — use a token with access; {how}",
                skipped.join(", ")
            )
        };
        let kind = if skipped.is_empty() {
            ReasonKind::Config
        } else {
            ReasonKind::Auth
        };
        return common::unknown(ctx, Reason::new(kind, msg), Some(ex));
    }
    judge(ctx, cfg, &project_name, &envs, &skipped, &a.errors)
}

fn from_environment(
    ctx: &Context<'_>,
    cfg: &Config<'_>,
    project_name: &str,
    ex: &Exchange,
) -> Step {
    let a = match answer(ctx, ex) {
        Ok(a) => a,
        Err(r) => return common::unknown(ctx, r, Some(ex)),
    };
    let Some(env) = a.data.get("environment").filter(|e| e.is_object()) else {
        return common::unknown(ctx, classify(ctx, cfg, &a.errors, "environment"), Some(ex));
    };
    let (instances, more) = read_instances(env);
    let envs = [Env {
        name: string(env, "name").unwrap_or(cfg.environment).to_string(),
        instances,
        more,
    }];
    judge(ctx, cfg, project_name, &envs, &[], &a.errors)
}

/// A deployment as far as it could be read.
struct Deployment {
    id: Option<String>,
    status: String,
    created_at: Option<OffsetDateTime>,
    stopped: bool,
    instances: Vec<String>,
}

fn read_deployment(v: &Value) -> Option<Deployment> {
    if !v.is_object() {
        return None;
    }
    Some(Deployment {
        id: string(v, "id").map(str::to_string),
        status: string(v, "status").unwrap_or("(missing)").to_string(),
        created_at: parse_time(string(v, "createdAt")),
        stopped: v
            .get("deploymentStopped")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        instances: v
            .get("instances")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| string(i, "status").unwrap_or("(missing)").to_string())
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn is_stable(status: &str) -> bool {
    matches!(status, "SUCCESS" | "CRASHED" | "SLEEPING")
}

fn is_rollout(status: &str) -> bool {
    matches!(
        status,
        "BUILDING" | "DEPLOYING" | "INITIALIZING" | "QUEUED" | "WAITING" | "NEEDS_APPROVAL"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Colour {
    Healthy,
    Degraded,
    Down,
    Unknown,
    /// Never deployed, removed or skipped: listed, never colours.
    Inactive,
    /// First deploy still rolling out: listed, never colours.
    Pending,
}

impl Colour {
    fn status(self) -> Option<Status> {
        match self {
            Colour::Healthy => Some(Status::Healthy),
            Colour::Degraded => Some(Status::Degraded),
            Colour::Down => Some(Status::Down),
            Colour::Unknown => Some(Status::Unknown),
            Colour::Inactive | Colour::Pending => None,
        }
    }
}

struct Verdict {
    name: String,
    colour: Colour,
    /// Word for the "services" line: running, sleeping, completed, crashed, …
    bucket: &'static str,
    detail: String,
    /// Status of a newer deployment rolling out.
    rollout: Option<String>,
    last_deploy: Option<OffsetDateTime>,
}

impl Verdict {
    fn headline(&self) -> String {
        if self.detail == "crashed" {
            format!("{} crashed", self.name)
        } else {
            format!("{}: {}", self.name, self.detail)
        }
    }
}

fn judge_instance(v: &Value, name: String) -> Verdict {
    let latest = v.get("latestDeployment").and_then(read_deployment);
    let active: Vec<Deployment> = v
        .get("activeDeployments")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(read_deployment).collect())
        .unwrap_or_default();
    let last_deploy = latest
        .as_ref()
        .and_then(|d| d.created_at)
        .into_iter()
        .chain(active.iter().filter_map(|d| d.created_at))
        .max();
    let verdict = |colour, bucket, detail: &str| Verdict {
        name: name.clone(),
        colour,
        bucket,
        detail: detail.to_string(),
        rollout: None,
        last_deploy,
    };

    let from_active = active.iter().find(|d| is_stable(&d.status));
    let Some(serving) = from_active.or(latest.as_ref()) else {
        return verdict(Colour::Inactive, "inactive", "never deployed");
    };
    let counted: Vec<&str> = serving
        .instances
        .iter()
        .map(String::as_str)
        .filter(|s| !matches!(*s, "REMOVED" | "REMOVING"))
        .collect();
    let running = counted.iter().filter(|s| **s == "RUNNING").count();
    let crashed = counted.iter().filter(|s| **s == "CRASHED").count();

    let mut out = match serving.status.as_str() {
        "SUCCESS" if serving.stopped => verdict(Colour::Healthy, "completed", "completed"),
        "SUCCESS" if crashed > 0 && running == 0 => verdict(Colour::Down, "crashed", "crashed"),
        "SUCCESS" if crashed > 0 => verdict(
            Colour::Degraded,
            "running",
            &format!("{crashed}/{} instances crashed", counted.len()),
        ),
        "SUCCESS" => verdict(Colour::Healthy, "running", "running"),
        "SLEEPING" => verdict(Colour::Healthy, "sleeping", "sleeping"),
        "CRASHED" if running > 0 => verdict(
            Colour::Degraded,
            "running",
            &format!("crashed, {running} instance(s) still running"),
        ),
        "CRASHED" => verdict(Colour::Down, "crashed", "crashed"),
        "FAILED" => verdict(Colour::Down, "failed", "deploy failed, nothing serving"),
        s if is_rollout(s) => {
            let mut p = verdict(
                Colour::Pending,
                "first deploy",
                &format!("first deploy {}", rollout_word(s)),
            );
            p.rollout = Some(s.to_string());
            p
        }
        "REMOVED" | "REMOVING" => verdict(Colour::Inactive, "inactive", "deployment removed"),
        "SKIPPED" => verdict(Colour::Inactive, "inactive", "deployment skipped"),
        other => verdict(
            Colour::Unknown,
            "unknown",
            &format!("unrecognised status `{}`", clip(other, 30)),
        ),
    };

    // A newer deployment than the serving one: failed, or still rolling out.
    if let (Some(l), Some(s)) = (latest.as_ref(), from_active) {
        let newer = match (&l.id, &s.id) {
            (Some(a), Some(b)) => a != b,
            _ => l.created_at != s.created_at,
        };
        if newer {
            match l.status.as_str() {
                "FAILED" | "CRASHED" => match out.colour {
                    Colour::Healthy => {
                        out.colour = Colour::Degraded;
                        out.detail = "deploy failed, previous deploy serving".into();
                    }
                    Colour::Degraded => out.detail.push_str("; latest deploy failed"),
                    _ => {}
                },
                st if is_rollout(st) => out.rollout = Some(st.to_string()),
                _ => {}
            }
        }
    }
    out
}

fn rollout_word(status: &str) -> &'static str {
    match status {
        "BUILDING" => "building",
        "DEPLOYING" => "deploying",
        "INITIALIZING" => "initializing",
        "QUEUED" => "queued",
        "WAITING" => "waiting for CI",
        "NEEDS_APPROVAL" => "awaiting approval",
        _ => "in progress",
    }
}

/// "building api, mailer; billing awaiting approval".
fn activity(verdicts: &[Verdict]) -> Option<String> {
    let order = [
        "BUILDING",
        "DEPLOYING",
        "INITIALIZING",
        "QUEUED",
        "WAITING",
        "NEEDS_APPROVAL",
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|st| {
            let names: Vec<&str> = verdicts
                .iter()
                .filter(|v| v.rollout.as_deref() == Some(st))
                .map(|v| v.name.as_str())
                .collect();
            if names.is_empty() {
                return None;
            }
            let word = rollout_word(st);
            Some(match *st {
                "BUILDING" | "DEPLOYING" | "INITIALIZING" => format!("{word} {}", names.join(", ")),
                _ => format!("{} {word}", names.join(", ")),
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn judge(
    ctx: &Context<'_>,
    cfg: &Config<'_>,
    project_name: &str,
    envs: &[Env],
    skipped: &[String],
    errors: &[String],
) -> Step {
    let multi = envs.len() > 1 || cfg.environment == "*";
    let verdicts: Vec<Verdict> = envs
        .iter()
        .flat_map(|env| {
            env.instances.iter().map(move |v| {
                let service = string(v, "serviceName")
                    .or_else(|| string(v, "serviceId"))
                    .unwrap_or("(unnamed service)");
                let name = if multi {
                    format!("{}/{service}", env.name)
                } else {
                    service.to_string()
                };
                judge_instance(v, name)
            })
        })
        .collect();
    let env_label = envs
        .iter()
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");

    // Metrics.
    let total = verdicts.len();
    let mut services = format!(
        "{}/{total} running",
        verdicts.iter().filter(|v| v.bucket == "running").count()
    );
    for bucket in [
        "crashed",
        "failed",
        "sleeping",
        "completed",
        "first deploy",
        "inactive",
        "unknown",
    ] {
        let n = verdicts.iter().filter(|v| v.bucket == bucket).count();
        if n > 0 {
            services.push_str(&format!(", {n} {bucket}"));
        }
    }
    let mut metrics = vec![Metric::new("services", services)];
    let last = verdicts
        .iter()
        .filter_map(|v| v.last_deploy.map(|t| (t, v.name.as_str())))
        .max_by_key(|(t, _)| *t);
    metrics.push(Metric::new(
        "last deploy",
        match last {
            Some((t, name)) => format!("{} ({name})", ago(t, ctx.now)),
            None => "never".into(),
        },
    ));
    for v in verdicts.iter().filter(|v| v.colour != Colour::Healthy) {
        metrics.push(Metric::new(v.name.clone(), v.detail.clone()));
    }
    if !skipped.is_empty() {
        metrics.push(Metric::new(
            "skipped",
            format!("{} (no access)", skipped.join(", ")),
        ));
    }
    if envs.iter().any(|e| e.more) {
        metrics.push(Metric::new(
            "note",
            "more services than one page; only the first page is shown",
        ));
    }
    if let Some(e) = errors.first() {
        // Partial data: the answer is still usable, but say what Railway complained about.
        metrics.push(Metric::new("errors", clip(e, 100)));
    }

    let worst = Status::worst(verdicts.iter().filter_map(|v| v.colour.status()));
    let activity = activity(&verdicts);
    let mut out: Card = match worst {
        None => {
            let list: Vec<String> = verdicts.iter().map(Verdict::headline).collect();
            let msg = if total == 0 {
                format!("project {project_name} has no services in {env_label}")
            } else if verdicts.iter().any(|v| v.colour == Colour::Pending) {
                format!("nothing serves yet in {env_label}: {}", list.join("; "))
            } else {
                format!("no service in {env_label} is deployed: {}", list.join("; "))
            };
            let mut c = Card::unknown(Reason::new(ReasonKind::Config, msg));
            c.metrics = metrics;
            c
        }
        Some(Status::Unknown) => {
            let odd: Vec<String> = verdicts
                .iter()
                .filter(|v| v.colour == Colour::Unknown)
                .map(Verdict::headline)
                .collect();
            let mut c = Card::unknown(Reason::new(
                ReasonKind::BadResponse,
                format!(
                    "Railway reported a status Overwatch does not know — {}",
                    odd.join("; ")
                ),
            ));
            c.metrics = metrics;
            c
        }
        Some(Status::Healthy) => {
            let healthy: Vec<&Verdict> = verdicts
                .iter()
                .filter(|v| v.colour == Colour::Healthy)
                .collect();
            let summary = match healthy.as_slice() {
                [one] => format!("{} {}", one.name, one.detail),
                many if many.iter().all(|v| v.bucket == "running") => {
                    format!("all {} services running", many.len())
                }
                many => format!("all {} services up", many.len()),
            };
            card(Status::Healthy, summary, metrics)
        }
        Some(status) => {
            let mut bad: Vec<&Verdict> = verdicts
                .iter()
                .filter(|v| matches!(v.colour, Colour::Down | Colour::Degraded))
                .collect();
            bad.sort_by_key(|v| if v.colour == Colour::Down { 0 } else { 1 });
            let mut summary = bad
                .iter()
                .take(2)
                .map(|v| v.headline())
                .collect::<Vec<_>>()
                .join("; ");
            if bad.len() > 2 {
                summary.push_str(&format!(" (+{} more)", bad.len() - 2));
            }
            card(status, summary, metrics)
        }
    };
    if let Some(a) = activity {
        out.in_progress = true;
        out.activity = Some(a);
    }
    common::finish(ctx, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;
    use crate::providers::testkit::{self, drive, json, with_header, Run};
    use crate::providers::Response;
    use url::Url;

    const PROJECT_ID: &str = "3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41";
    const HEALTHY: &[u8] =
        include_bytes!("../../tests/fixtures/railway/project_overview_healthy.json");
    const DEGRADED: &[u8] =
        include_bytes!("../../tests/fixtures/railway/project_overview_degraded.json");
    const DOWN: &[u8] = include_bytes!("../../tests/fixtures/railway/project_overview_down.json");
    const ROLLING: &[u8] =
        include_bytes!("../../tests/fixtures/railway/project_overview_in_progress.json");
    const IDENTITY_OK: &[u8] =
        include_bytes!("../../tests/fixtures/railway/project_token_identity.json");
    const ENV_OK: &[u8] =
        include_bytes!("../../tests/fixtures/railway/environment_instances_project_token.json");

    fn service(environment: &str, kind: TokenKind) -> Service {
        Service::example(
            "Acme",
            "Shop",
            Target::Railway {
                project: PROJECT_ID.into(),
                environment: environment.into(),
                token_kind: kind,
            },
            Some("acme-railway".parse().unwrap()),
        )
    }

    fn account(body: Response) -> Run {
        account_in("production", body)
    }

    fn account_in(env: &str, body: Response) -> Run {
        drive(&service(env, TokenKind::Account), |r| {
            assert_eq!(r.tag, PROJECT);
            body.clone()
        })
    }

    fn edit(fixture: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(fixture).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    /// The production environment's first service instance node.
    fn first_instance(v: &mut Value) -> &mut Value {
        &mut v["data"]["project"]["environments"]["edges"][0]["node"]["serviceInstances"]["edges"]
            [0]["node"]
    }

    #[test]
    fn account_token_sends_one_combined_query() {
        let run = account(json(200, HEALTHY));
        assert_eq!(run.rounds.len(), 1);
        let r = &run.rounds[0][0];
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.auth, Auth::Bearer);
        assert_eq!(r.url.as_str(), "https://backboard.railway.com/graphql/v2");
        let body = r.body.as_ref().unwrap();
        assert_eq!(body["variables"]["projectId"], PROJECT_ID);
        assert_eq!(body["operationName"], "TrayProject");
        let q = body["query"].as_str().unwrap();
        assert!(q.starts_with("query TrayProject($projectId: String!)"));
        for field in [
            "canAccess",
            "latestDeployment",
            "activeDeployments",
            "deploymentStopped",
            "hasNextPage",
        ] {
            assert!(q.contains(field), "{field}");
        }
        assert_eq!(q.matches('{').count(), q.matches('}').count());
        assert!(!q.contains("Team-Access-Token"));
    }

    #[test]
    fn base_url_prefix_is_kept() {
        let mut s = service("production", TokenKind::Account);
        s.base_url = Some(Url::parse("http://127.0.0.1:8080/railway/").unwrap());
        let run = drive(&s, |_| json(200, HEALTHY));
        assert_eq!(
            run.rounds[0][0].url.as_str(),
            "http://127.0.0.1:8080/railway/graphql/v2"
        );
    }

    #[test]
    fn healthy_project() {
        let run = account(json(200, HEALTHY));
        assert_eq!(run.card.status, Status::Healthy);
        assert!(!run.card.in_progress);
        assert_eq!(run.metric("services"), "2/2 running");
        // api deployed 2026-08-20 09:14, now 2026-08-22 14:05.
        assert_eq!(run.metric("last deploy"), "2 d ago (api)");
        assert_eq!(run.card.summary, "all 2 services running");
        assert_eq!(run.card.metrics.len(), 2);
    }

    #[test]
    fn all_environments_prefix_service_names() {
        let run = account_in("*", json(200, HEALTHY));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("services"), "3/3 running");
        assert_eq!(run.metric("last deploy"), "23 h ago (staging/api)");
    }

    #[test]
    fn degraded_project_reads_the_serving_deployment() {
        let run = account(json(200, DEGRADED));
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.metric("services"), "2/2 running");
        assert_eq!(run.metric("api"), "deploy failed, previous deploy serving");
        assert_eq!(run.metric("worker"), "1/2 instances crashed");
        assert_eq!(
            run.card.summary,
            "api: deploy failed, previous deploy serving; worker: 1/2 instances crashed"
        );
    }

    #[test]
    fn down_project() {
        let run = account(json(200, DOWN));
        assert_eq!(run.card.status, Status::Down);
        assert_eq!(run.metric("services"), "0/2 running, 1 crashed, 1 failed");
        assert_eq!(run.metric("api"), "crashed");
        assert_eq!(run.metric("frontend"), "deploy failed, nothing serving");
        assert_eq!(
            run.card.summary,
            "api crashed; frontend: deploy failed, nothing serving"
        );
    }

    #[test]
    fn rollouts_keep_the_colour_and_name_the_activity() {
        let run = account(json(200, ROLLING));
        // search's first deploy is queued: listed, but it does not colour the card.
        assert_eq!(run.card.status, Status::Healthy);
        assert!(run.card.in_progress);
        assert_eq!(
            run.card.activity.as_deref(),
            Some("building api; deploying mailer; search queued; billing awaiting approval")
        );
        assert_eq!(run.metric("services"), "3/4 running, 1 first deploy");
        assert_eq!(run.metric("search"), "first deploy queued");
        assert_eq!(run.card.summary, "all 3 services running");
    }

    #[test]
    fn project_token_takes_two_rounds() {
        let s = service("production", TokenKind::Project);
        let run = drive(&s, |r| match r.tag {
            IDENTITY => json(200, IDENTITY_OK),
            ENVIRONMENT => json(200, ENV_OK),
            other => panic!("unexpected {other}"),
        });
        assert_eq!(run.rounds.len(), 2);
        let first = &run.rounds[0][0];
        assert_eq!(first.auth, Auth::Header("Project-Access-Token"));
        assert!(first.body.as_ref().unwrap()["query"]
            .as_str()
            .unwrap()
            .contains("projectToken"));
        let second = &run.rounds[1][0];
        assert_eq!(second.auth, Auth::Header("Project-Access-Token"));
        assert_eq!(second.method, Method::Post);
        let body = second.body.as_ref().unwrap();
        assert_eq!(
            body["variables"]["environmentId"],
            "b7e41d0a-2c5f-4f6e-8a93-11c0d2e3f4a5"
        );
        assert_eq!(body["variables"]["projectId"], PROJECT_ID);
        assert!(body["query"]
            .as_str()
            .unwrap()
            .contains("environment(id: $environmentId, projectId: $projectId)"));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("services"), "1/1 running");
        assert_eq!(run.card.summary, "api running");
    }

    #[test]
    fn project_token_for_another_environment_or_project_is_config() {
        let run = drive(&service("staging", TokenKind::Project), |_| {
            json(200, IDENTITY_OK)
        });
        assert_eq!(run.rounds.len(), 1);
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(run.reason_text().contains("environment = \"production\""));
        let mut s = service("production", TokenKind::Project);
        s.target = Target::Railway {
            project: "other".into(),
            environment: "production".into(),
            token_kind: TokenKind::Project,
        };
        let run = drive(&s, |_| json(200, IDENTITY_OK));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(run.reason_text().contains(PROJECT_ID));
    }

    #[test]
    fn graphql_errors_on_http_200() {
        let not_auth = include_bytes!("../../tests/fixtures/railway/error_not_authorized_200.json");
        let run = account(json(200, not_auth));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Auth));
        assert!(
            run.reason_text().contains("acme-railway"),
            "{}",
            run.reason_text()
        );

        let missing =
            include_bytes!("../../tests/fixtures/railway/error_project_not_found_200.json");
        let run = account(json(200, missing));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(run.reason_text().contains(PROJECT_ID));

        let revoked =
            include_bytes!("../../tests/fixtures/railway/error_project_token_not_found_200.json");
        let run = drive(&service("production", TokenKind::Project), |_| {
            json(200, revoked)
        });
        assert_eq!(run.rounds.len(), 1);
        assert_eq!(run.reason_kind(), Some(ReasonKind::Auth));
    }

    #[test]
    fn validation_400_is_bad_response() {
        let body = include_bytes!("../../tests/fixtures/railway/error_validation_400.json");
        let run = account(json(400, body));
        assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse));
        assert!(run.reason_text().contains("Cannot query field"));
    }

    #[test]
    fn rate_limited_429() {
        let body = include_bytes!("../../tests/fixtures/railway/error_rate_limited_429.json");
        let r = with_header(json(429, body), "Retry-After", "37");
        let run = account(r);
        assert_eq!(run.reason_kind(), Some(ReasonKind::RateLimited));
        assert!(run.reason_text().contains("37s"), "{}", run.reason_text());
    }

    #[test]
    fn cloudflare_page_is_rate_limiting_on_200_and_403() {
        for status in [200, 403] {
            let run = account(json(status, testkit::CLOUDFLARE));
            assert_eq!(run.card.status, Status::Unknown);
            assert_eq!(run.reason_kind(), Some(ReasonKind::RateLimited), "{status}");
            assert!(run.reason_text().contains("Cloudflare"));
        }
        // Any other 403 is still the key's fault.
        let run = account(json(403, br#"{"message":"Forbidden"}"#));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Auth));
    }

    #[test]
    fn unreadable_bodies_are_bad_response() {
        let cases: [(&[u8], &str); 5] = [
            (b"<html><body>Bad gateway</body></html>", "an HTML page"),
            (b"upstream request timeout", "plain text"),
            (b"", "an empty body"),
            (br#"{"data":{"project":{"id":"3f2a","na"#, "malformed JSON"),
            (b"[1,2]", "expected a JSON object"),
        ];
        for (body, needle) in cases {
            let run = account(json(200, body));
            assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse), "{needle}");
            assert!(run.reason_text().contains(needle), "{}", run.reason_text());
        }
        let run = account(json(404, br#"{"message":"Not Found","requestId":"0b7c"}"#));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
    }

    #[test]
    fn partial_data_with_errors_still_works() {
        let body = edit(HEALTHY, |v| {
            v["errors"] = serde_json::json!([{"message": "Not Authorized", "path": ["project", "environments", 1]}]);
        });
        let run = account(json(200, &body));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("errors"), "Not Authorized");
    }

    #[test]
    fn missing_environment_names_the_ones_that_exist() {
        let run = account_in("prod", json(200, HEALTHY));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(
            run.reason_text().contains("production, staging"),
            "{}",
            run.reason_text()
        );
        // Case does not matter.
        assert_eq!(
            account_in("Production", json(200, HEALTHY)).card.status,
            Status::Healthy
        );
    }

    #[test]
    fn inaccessible_environments_are_skipped_and_mentioned() {
        let body = edit(HEALTHY, |v| {
            v["data"]["project"]["environments"]["edges"][1]["node"]["canAccess"] = false.into();
        });
        let run = account_in("*", json(200, &body));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.metric("skipped"), "staging (no access)");
        assert_eq!(run.metric("services"), "2/2 running");
        let run = account_in("staging", json(200, &body));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Auth));
    }

    #[test]
    fn never_deployed_services_do_not_colour() {
        let body = edit(DEGRADED, |v| {
            let api = first_instance(v);
            api["latestDeployment"] = Value::Null;
            api["activeDeployments"] = serde_json::json!([]);
        });
        let run = account(json(200, &body));
        // Only worker colours now.
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.metric("api"), "never deployed");
        assert_eq!(run.metric("services"), "1/2 running, 1 inactive");
        // A project whose only services are inactive is unknown.
        let only = edit(HEALTHY, |v| {
            let edges = &mut v["data"]["project"]["environments"]["edges"][0]["node"]
                ["serviceInstances"]["edges"];
            for e in edges.as_array_mut().unwrap() {
                e["node"]["latestDeployment"]["status"] = "REMOVED".into();
                e["node"]["activeDeployments"] = serde_json::json!([]);
            }
        });
        let run = account(json(200, &only));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(
            run.reason_text().contains("deployment removed"),
            "{}",
            run.reason_text()
        );
    }

    #[test]
    fn sleeping_and_finished_jobs_are_healthy() {
        let body = edit(HEALTHY, |v| {
            let api = first_instance(v);
            api["activeDeployments"][0]["status"] = "SLEEPING".into();
            let pg = &mut v["data"]["project"]["environments"]["edges"][0]["node"]
                ["serviceInstances"]["edges"][1]["node"];
            pg["activeDeployments"][0]["deploymentStopped"] = true.into();
        });
        let run = account(json(200, &body));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(
            run.metric("services"),
            "0/2 running, 1 sleeping, 1 completed"
        );
        assert_eq!(run.card.summary, "all 2 services up");
    }

    #[test]
    fn crashed_with_a_running_instance_is_degraded() {
        let body = edit(HEALTHY, |v| {
            let api = first_instance(v);
            api["activeDeployments"][0]["status"] = "CRASHED".into();
        });
        let run = account(json(200, &body));
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.metric("api"), "crashed, 2 instance(s) still running");
    }

    #[test]
    fn unknown_enum_makes_one_service_unknown() {
        let body = edit(HEALTHY, |v| {
            let api = first_instance(v);
            api["activeDeployments"][0]["status"] = "HIBERNATING".into();
            api["latestDeployment"]["status"] = "HIBERNATING".into();
        });
        let run = account(json(200, &body));
        assert_eq!(run.card.status, Status::Unknown);
        assert_eq!(run.reason_kind(), Some(ReasonKind::BadResponse));
        assert!(run.reason_text().contains("HIBERNATING"));
        assert_eq!(run.metric("services"), "1/2 running, 1 unknown");
        // ...but a down service elsewhere still shows as down.
        let body = edit(DOWN, |v| {
            let api = first_instance(v);
            api["activeDeployments"][0]["instances"][0]["status"] = "ZOMBIE".into();
        });
        assert_eq!(account(json(200, &body)).card.status, Status::Down);
    }

    #[test]
    fn nulls_and_wrong_types_do_not_panic() {
        let body = edit(HEALTHY, |v| {
            let api = first_instance(v);
            api["serviceName"] = Value::Null;
            api["latestDeployment"] = serde_json::json!({"id": 7, "status": null, "createdAt": 12, "deploymentStopped": "no", "instances": null});
            api["activeDeployments"] = serde_json::json!("none");
        });
        let run = account(json(200, &body));
        assert_eq!(run.card.status, Status::Unknown);
        assert!(
            run.reason_text().contains("(missing)"),
            "{}",
            run.reason_text()
        );
        // The service id stands in for the missing name.
        assert!(run
            .card
            .metrics
            .iter()
            .any(|m| m.label == "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"));
        // A project of the wrong type and an all-null project.
        let run = account(json(200, br#"{"data":{"project":"acme"}}"#));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        let run = account(json(
            200,
            br#"{"data":{"project":{"id":null,"name":null,"environments":null}}}"#,
        ));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(
            run.reason_text().contains("no environments"),
            "{}",
            run.reason_text()
        );
    }

    #[test]
    fn deployments_list_is_history_only() {
        // The per-service history query is not sent by this adapter; its
        // answer in the project slot has no `project` and reads as such.
        let body = include_bytes!("../../tests/fixtures/railway/deployments_list.json");
        let run = account(json(200, body));
        assert_eq!(run.card.status, Status::Unknown);
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        // Its newest-FAILED-while-SUCCESS-serves shape, as a service instance, is degraded.
        let list: Value = serde_json::from_slice(body).unwrap();
        let nodes: Vec<Value> = list["data"]["deployments"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        let instance = serde_json::json!({
            "serviceName": "api",
            "latestDeployment": nodes[0],
            "activeDeployments": [nodes[1]],
        });
        let v = judge_instance(&instance, "api".into());
        assert_eq!(v.colour, Colour::Degraded);
    }
}

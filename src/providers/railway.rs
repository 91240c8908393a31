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
//!   (project → environments → serviceInstances (with `cronSchedule`) → latest
//!   and active deployments, each with `url` and `meta`);
//! - project token: `projectToken { projectId environmentId project environment }`,
//!   then `environment(id, projectId) { serviceInstances { … } }` (two rounds).
//!
//! Only the first page of service instances is read (Railway projects rarely
//! exceed it; a note says so when `hasNextPage`).
//!
//! Status per service, from the *serving* deployment (first active one that
//! is SUCCESS/CRASHED/SLEEPING, else the latest), as in Railway's CLI:
//! - healthy: SUCCESS with no crashed instance, SLEEPING, or a stopped
//!   SUCCESS of a cron service (`cronSchedule` set: a job that completed);
//! - degraded: a stopped SUCCESS of a service without `cronSchedule` ("api
//!   stopped (stopped by hand?)": a web service that no longer runs — Railway's
//!   `railway service status` calls it STOPPED), SUCCESS with some (not all)
//!   instances CRASHED, CRASHED with an instance still RUNNING, or a newer
//!   deploy FAILED while an older one serves;
//! - down: CRASHED with nothing running, or nothing serves and the latest FAILED;
//! - inactive (listed, never colours): never deployed, removed or skipped;
//! - first deploy in progress (listed, never colours);
//! - unknown: a status this code does not know.
//!
//! The card is the worst of its services (down > degraded > unknown >
//! healthy); a project with nothing that colours is unknown (config). A newer
//! deploy that is building/deploying/queued/awaiting approval sets
//! `in_progress` without changing the colour. At most three metric lines
//! (services, last deploy, then the worst services first); the rest go to
//! `details`.
//!
//! When a deployment is the reason (failed, crashed, stopped), `details`
//! carry its `meta.commitHash` (7 characters), `meta.commitMessage`,
//! `meta.branch` and `url`, labelled by service ("api commit"), and `link`
//! is that deployment's page on the Railway dashboard
//! (`https://railway.com/project/{project}/service/{service}?environmentId=…&id={deployment}`,
//! where its build and deploy logs are). The deployment's `url` is *not* the
//! link: it is the app's public host (`….up.railway.app` or a custom
//! domain), which says nothing about why the deployment failed.
//!
//! Errors: Railway reports auth failures as HTTP 200 with `errors` ("Not
//! Authorized", "Project Token not found") — these are auth; "Project not
//! found" (also HTTP 200) is config. Any other `INTERNAL_SERVER_ERROR` error
//! — even beside `data` — is a fault on Railway's side: unknown
//! (unreachable), not a settings problem. HTTP 404 is never a missing
//! project: Railway answers 404 only for paths it does not route, so the
//! reason points at `base_url` (config). A Cloudflare HTML page is treated
//! as rate limiting. Deployments whose times cannot be read (no zone, an
//! impossible date) show "last deploy: unknown time"; "never" is only for a
//! project with no deployment at all.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::common::{self, card, find, is_success, parse_time, string};
use super::{
    ago, bad_body, clip, http_error_reason, unreadable_body, Auth, Context, Exchange, Method,
    Request, Step,
};
use super::spec::{self, FieldSpec, Fields, Limit, Spec, TargetSpec};
use crate::model::{BodyKind, Card, Metric, Reason, ReasonKind, Status, Target};

/// Railway in the provider registry.
pub(crate) const SPEC: Spec = Spec {
    id: "railway",
    title: "Railway",
    base_url: "https://backboard.railway.com",
    key_help: "an account or workspace token (railway.com → Account Settings → Tokens), or a project token with token_kind = \"project\"",
    self_hosted: false,
    fields: &FIELDS,
    settings: &[],
    // The limit depends on the plan (100/h Free, 1,000/h Hobby, 10,000/h
    // Pro) and no answer says which: assume Hobby; a 429 drops it to Free.
    limit: Limit::per_hour(1000.0),
    lowered: |current| Limit {
        requests: (current.requests / 10.0).max(100.0).min(current.requests),
        per: current.per,
    },
    requests_per_poll: 1.0,
    plan,
    same_api: spec::only_base,
    example: &[("project", "fleet-{n}")],
};

const FIELDS: [FieldSpec; 3] = [
    FieldSpec::required(
        "project",
        "Project id",
        "the Railway project id (Project Settings → General)",
    ),
    FieldSpec {
        key: "environment",
        label: "Environment",
        help: "the environment to watch (default production; \"*\" for every environment)",
        required: false,
        default: Some("production"),
        choices: &[],
    },
    FieldSpec {
        key: "token_kind",
        label: "Token kind",
        help: "account (an account or workspace token) or project (a project token)",
        required: false,
        default: Some("account"),
        choices: &["account", "project"],
    },
];

/// Which kind of Railway token the key holds; it decides the auth header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Account or workspace token: `Authorization: Bearer`.
    #[default]
    Account,
    /// Project token: `Project-Access-Token`.
    Project,
}

impl std::str::FromStr for TokenKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "account" | "workspace" | "team" => Ok(TokenKind::Account),
            "project" => Ok(TokenKind::Project),
            _ => Err(format!(
                "unknown token_kind `{s}`: use `account` (account or workspace token) or `project`"
            )),
        }
    }
}

/// One Railway project; `environment` is a name, or `*` for every environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RailwayTarget {
    pub project: String,
    pub environment: String,
    pub token_kind: TokenKind,
}

impl TargetSpec for RailwayTarget {
    fn parse(f: &mut dyn Fields) -> Option<Self> {
        let project = f.required(&FIELDS[0]);
        let environment = f.optional(&FIELDS[1]);
        let token_kind = spec::choice(f, &FIELDS[2]);
        Some(RailwayTarget {
            project: project?,
            environment,
            token_kind,
        })
    }

    fn describe(&self) -> String {
        format!("project {} ({})", self.project, self.environment)
    }

    fn dashboard(&self, _base_url: Option<&url::Url>) -> String {
        format!("https://railway.com/project/{}", self.project)
    }

    fn values(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("project", self.project.clone())];
        if self.environment != "production" {
            v.push(("environment", self.environment.clone()));
        }
        if self.token_kind == TokenKind::Project {
            v.push(("token_kind", "project".into()));
        }
        v
    }
}

const PROJECT: &str = "project";
const IDENTITY: &str = "identity";
const ENVIRONMENT: &str = "environment";

/// The service-instance selection shared by both query shapes.
macro_rules! instance_fields {
    () => {
        "id serviceId serviceName environmentId cronSchedule \
         latestDeployment { id status createdAt statusUpdatedAt deploymentStopped url meta instances { id status } } \
         activeDeployments { id status createdAt deploymentStopped url meta instances { id status } }"
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
        Target::Railway(RailwayTarget {
            project,
            environment,
            token_kind,
        }) => Config {
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
                let token = answer(ctx, id)
                    .ok()
                    .and_then(|a| a.data.get("projectToken").cloned())
                    .unwrap_or(Value::Null);
                let project_name = token
                    .get("project")
                    .and_then(|p| string(p, "name"))
                    .unwrap_or(cfg.project)
                    .to_string();
                let project_id = string(&token, "projectId")
                    .unwrap_or(cfg.project)
                    .to_string();
                from_environment(ctx, &cfg, &project_id, &project_name, env)
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
    let parsed = serde_json::from_slice::<Value>(body);
    if parsed.is_err()
        && BodyKind::of(body) == BodyKind::Html
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
        )
        .with_status(status)
        .with_body(BodyKind::Html));
    }
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
        if status == 404 {
            return Err(not_routed(ctx, ex));
        }
        return Err(http_error_reason(
            ctx.service,
            status,
            detail.as_deref(),
            ex.response.retry_after,
        ));
    }
    let v = match parsed {
        Ok(v) if v.is_object() => v,
        Ok(_) => return Err(bad_body(ctx.service, "response", "expected a JSON object")),
        Err(e) => return Err(unreadable_body(ctx.service, "response", body, e)),
    };
    if let Some(fault) = server_fault(&v) {
        return Err(fault);
    }
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

/// HTTP 404 from Railway is never "no such project": Railway reports a
/// missing project as a GraphQL error on HTTP 200, and answers 404 only for
/// a path it does not route — the `base_url` (or a proxy) is wrong.
fn not_routed(ctx: &Context<'_>, ex: &Exchange) -> Reason {
    let base = match &ctx.service.base_url {
        Some(b) => format!("`{b}`; Railway's API root is https://backboard.railway.com"),
        None => "not set, so the default https://backboard.railway.com: a proxy in the way, or Railway moved its API".into(),
    };
    Reason::new(
        ReasonKind::Config,
        format!(
            "Railway's API answered 404 for POST {} — check the service's base_url ({base}). Railway reports a missing project in a 200 answer, so a 404 means the address is wrong, not the project",
            clip(ex.request.url.path(), 80)
        ),
    )
}

/// A GraphQL error Railway raises for a fault on its side: code
/// `INTERNAL_SERVER_ERROR` with a message that is not one of the client
/// errors Railway also files under that code ("Not Authorized", "… not
/// found", two-factor). Such an answer may still carry `data`, but it is
/// incomplete, so the card says "can't see" rather than judging part of it.
fn server_fault(v: &Value) -> Option<Reason> {
    let errors = v.get("errors").and_then(Value::as_array)?;
    let fault = errors.iter().find(|e| {
        let code = e
            .get("extensions")
            .and_then(|x| string(x, "code"))
            .unwrap_or("");
        let msg = string(e, "message").unwrap_or("").to_ascii_lowercase();
        code.eq_ignore_ascii_case("INTERNAL_SERVER_ERROR")
            && !(msg.contains("not authorized")
                || msg.contains("not found")
                || msg.contains("two factor"))
    })?;
    let msg = string(fault, "message").unwrap_or("(no message)");
    // traceId: at the error's top level or in `extensions`, a number or a string.
    let trace = fault
        .get("traceId")
        .or_else(|| fault.get("extensions").and_then(|x| x.get("traceId")))
        .and_then(|t| match t {
            Value::String(s) => Some(clip(s, 30)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .map(|t| format!(", trace {t}"))
        .unwrap_or_default();
    let partial = if v.get("data").is_some_and(Value::is_object) {
        " with partial data"
    } else {
        ""
    };
    Some(Reason::new(
        ReasonKind::Unreachable,
        format!(
            "Railway's API had an internal error (HTTP 200{partial}, INTERNAL_SERVER_ERROR: \"{}\"{trace}) — a fault on Railway's side, not your settings; the next check retries",
            clip(msg, 80)
        ),
    ))
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
    id: Option<String>,
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
                id: string(e, "id").map(str::to_string),
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
    let project_id = string(project, "id").unwrap_or(cfg.project).to_string();
    judge(
        ctx,
        cfg,
        &project_id,
        &project_name,
        &envs,
        &skipped,
        &a.errors,
    )
}

fn from_environment(
    ctx: &Context<'_>,
    cfg: &Config<'_>,
    project_id: &str,
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
        id: string(env, "id").map(str::to_string),
        name: string(env, "name").unwrap_or(cfg.environment).to_string(),
        instances,
        more,
    }];
    judge(ctx, cfg, project_id, project_name, &envs, &[], &a.errors)
}

/// A deployment as far as it could be read.
#[derive(Clone)]
struct Deployment {
    id: Option<String>,
    status: String,
    created_at: Option<OffsetDateTime>,
    stopped: bool,
    instances: Vec<String>,
    /// The app's public host (`url`): where users reach it, not a Railway page.
    url: Option<String>,
    /// From the free-form `meta`: what was deployed.
    commit_hash: Option<String>,
    commit_message: Option<String>,
    branch: Option<String>,
}

impl Deployment {
    /// The facts someone fixing `name`'s deployment needs, for `card.details`.
    fn details(&self, name: &str) -> Vec<Metric> {
        let mut out = Vec::new();
        if let Some(h) = &self.commit_hash {
            // Quoted the way git does: 7 characters of a hash.
            let short = if h.len() > 7 && h.chars().all(|c| c.is_ascii_hexdigit()) {
                h[..7].to_string()
            } else {
                clip(h, 40)
            };
            out.push(Metric::new(format!("{name} commit"), short));
        }
        if let Some(m) = &self.commit_message {
            out.push(Metric::new(format!("{name} commit message"), clip(m, 200)));
        }
        if let Some(b) = &self.branch {
            out.push(Metric::new(format!("{name} branch"), clip(b, 80)));
        }
        if let Some(u) = &self.url {
            // A bare host in every answer seen; the scheme is added for a clickable value.
            let u = if u.contains("://") {
                clip(u, 200)
            } else {
                format!("https://{}", clip(u, 200))
            };
            out.push(Metric::new(format!("{name} url"), u));
        }
        out
    }
}

/// A non-empty, trimmed string field.
fn text(v: &Value, key: &str) -> Option<String> {
    string(v, key)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
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
        url: text(v, "url"),
        commit_hash: v.get("meta").and_then(|m| text(m, "commitHash")),
        commit_message: v.get("meta").and_then(|m| text(m, "commitMessage")),
        branch: v.get("meta").and_then(|m| text(m, "branch")),
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
    /// Word for the "services" line: running, sleeping, completed, stopped, crashed, …
    bucket: &'static str,
    detail: String,
    /// Status of a newer deployment rolling out.
    rollout: Option<String>,
    last_deploy: Option<OffsetDateTime>,
    /// Whether the service has any deployment at all: without a readable
    /// time (no zone, an impossible date) it was still deployed — "unknown
    /// time", not "never".
    deployed: bool,
    /// The deployment this verdict is about when it is bad: the failed
    /// newer one, or the serving one that crashed or stopped.
    culprit: Option<Deployment>,
    /// Where the service lives, for a link to its deployment's page.
    service_id: Option<String>,
    environment_id: Option<String>,
}

impl Verdict {
    fn headline(&self) -> String {
        if self.detail == "crashed" || self.detail.starts_with("stopped") {
            format!("{} {}", self.name, self.detail)
        } else {
            format!("{}: {}", self.name, self.detail)
        }
    }

    /// Where a bad verdict sorts in the metric lines: worst first.
    fn rank(&self) -> u8 {
        match self.colour {
            Colour::Down => 0,
            Colour::Degraded => 1,
            Colour::Unknown => 2,
            Colour::Pending => 3,
            Colour::Inactive => 4,
            Colour::Healthy => 5,
        }
    }
}

/// A service instance runs on a schedule (`cronSchedule` set): a stopped
/// deployment is then a job that finished. A missing field counts as no
/// schedule — the query always asks for it, and a web service that stopped
/// must never pass for a finished job.
fn is_cron(v: &Value) -> bool {
    text(v, "cronSchedule").is_some()
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
        deployed: latest.is_some() || !active.is_empty(),
        culprit: None,
        service_id: text(v, "serviceId"),
        environment_id: text(v, "environmentId"),
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
        // Railway's CLI calls this "Completed" in `railway status` but
        // "STOPPED" in `railway service status`: only a cron job is done.
        "SUCCESS" if serving.stopped && is_cron(v) => {
            verdict(Colour::Healthy, "completed", "completed")
        }
        "SUCCESS" if serving.stopped => {
            verdict(Colour::Degraded, "stopped", "stopped (stopped by hand?)")
        }
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
    if matches!(out.colour, Colour::Down | Colour::Degraded) {
        out.culprit = Some(serving.clone());
    }

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
                        out.culprit = Some(l.clone());
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

/// At most this many metric lines per card; the rest go to `details`.
const MAX_METRICS: usize = 3;

/// Railway's dashboard page about one deployment (its build and deploy
/// logs). The deployment's own `url` is the app's public host, not this.
fn deployment_page(project_id: &str, v: &Verdict) -> Option<String> {
    let deployment = v.culprit.as_ref()?.id.as_deref()?;
    let service = v.service_id.as_deref()?;
    let mut url = url::Url::parse("https://railway.com").ok()?;
    url.path_segments_mut()
        .ok()?
        .extend(["project", project_id, "service", service]);
    {
        let mut q = url.query_pairs_mut();
        if let Some(env) = &v.environment_id {
            q.append_pair("environmentId", env);
        }
        q.append_pair("id", deployment);
    }
    Some(url.to_string())
}

fn judge(
    ctx: &Context<'_>,
    cfg: &Config<'_>,
    project_id: &str,
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
                let mut verdict = judge_instance(v, name);
                if verdict.environment_id.is_none() {
                    verdict.environment_id = env.id.clone();
                }
                verdict
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
        "stopped",
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
            None if verdicts.iter().any(|v| v.deployed) => "unknown time".into(),
            None => "never".into(),
        },
    ));
    let mut listed: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.colour != Colour::Healthy)
        .collect();
    // Worst first, so the lines that fit are the ones that matter.
    listed.sort_by_key(|v| v.rank());
    for v in listed {
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
    let mut details = Vec::new();
    if matches!(out.status, Status::Down | Status::Degraded) {
        let mut bad: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| matches!(v.colour, Colour::Down | Colour::Degraded))
            .collect();
        bad.sort_by_key(|v| v.rank());
        // "Open" goes to the worst service's failing deployment.
        out.link = bad.iter().find_map(|v| deployment_page(project_id, v));
        for v in &bad {
            if let Some(d) = &v.culprit {
                details.extend(d.details(&v.name));
            }
        }
    }
    if out.metrics.len() > MAX_METRICS {
        let rest = out.metrics.split_off(MAX_METRICS);
        details.splice(0..0, rest);
    }
    out.details = details;
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
            Target::Railway(RailwayTarget {
                project: PROJECT_ID.into(),
                environment: environment.into(),
                token_kind: kind,
            }),
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
            "cronSchedule",
            "latestDeployment { id status createdAt statusUpdatedAt deploymentStopped url meta ",
            "activeDeployments { id status createdAt deploymentStopped url meta ",
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

    /// Times without a zone or impossible dates showed "last deploy: never"
    /// while every service was serving: the deploys exist, their time is
    /// what is unknown.
    #[test]
    fn unreadable_deploy_times_are_an_unknown_time_not_never() {
        fn set_times(v: &mut Value, to: &str) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m.iter_mut() {
                        if k == "createdAt" {
                            *x = Value::String(to.into());
                        } else {
                            set_times(x, to);
                        }
                    }
                }
                Value::Array(a) => a.iter_mut().for_each(|x| set_times(x, to)),
                _ => {}
            }
        }
        for bad in ["2026-08-20T09:14:03", "2026-02-30T09:14:03Z", "yesterday"] {
            let body = edit(HEALTHY, |v| set_times(v, bad));
            let run = account(json(200, &body));
            assert_eq!(run.card.status, Status::Healthy, "{bad}");
            assert_eq!(run.metric("services"), "2/2 running", "{bad}");
            assert_eq!(run.metric("last deploy"), "unknown time", "{bad}");
        }
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
        // Three lines at most: the second bad service moves to the details.
        assert_eq!(run.card.metrics.len(), 3);
        assert_eq!(run.detail("worker"), "1/2 instances crashed");
        assert_eq!(
            run.card.summary,
            "api: deploy failed, previous deploy serving; worker: 1/2 instances crashed"
        );
        // "Open" goes to api's failed deployment on the Railway dashboard.
        assert_eq!(
            run.card.link.as_deref(),
            Some("https://railway.com/project/3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41/service/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b?environmentId=b7e41d0a-2c5f-4f6e-8a93-11c0d2e3f4a5&id=0e9d8c7b-6a5f-4e3d-2c1b-a09f8e7d6c5b")
        );
    }

    #[test]
    fn down_project() {
        let run = account(json(200, DOWN));
        assert_eq!(run.card.status, Status::Down);
        assert_eq!(run.metric("services"), "0/2 running, 1 crashed, 1 failed");
        assert_eq!(run.metric("api"), "crashed");
        assert_eq!(run.detail("frontend"), "deploy failed, nothing serving");
        assert_eq!(
            run.card.summary,
            "api crashed; frontend: deploy failed, nothing serving"
        );
        assert!(run.card.link.as_deref().unwrap().starts_with(
            "https://railway.com/project/3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41/service/"
        ));
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
        s.target = Target::Railway(RailwayTarget {
            project: "other".into(),
            environment: "production".into(),
            token_kind: TokenKind::Project,
        });
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
        // The degraded worker comes first; the inactive api moves to the details.
        assert_eq!(run.metric("worker"), "1/2 instances crashed");
        assert_eq!(run.detail("api"), "never deployed");
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
            pg["cronSchedule"] = "*/15 * * * *".into();
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

    const STOPPED_WEB: &[u8] =
        include_bytes!("../../tests/fixtures/railway/project_overview_stopped_web.json");
    const CRON_DONE: &[u8] =
        include_bytes!("../../tests/fixtures/railway/project_overview_cron_completed.json");
    const INTERNAL: &[u8] =
        include_bytes!("../../tests/fixtures/railway/error_internal_with_data_200.json");
    const NOT_ROUTED: &[u8] =
        include_bytes!("../../tests/fixtures/railway/error_not_found_404.json");

    #[test]
    fn a_stopped_web_service_is_degraded_not_completed() {
        let run = account(json(200, STOPPED_WEB));
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.card.summary, "api stopped (stopped by hand?)");
        assert_eq!(run.metric("services"), "1/2 running, 1 stopped");
        assert_eq!(run.metric("api"), "stopped (stopped by hand?)");
        // What was deployed, from `meta`, and where users reach it.
        assert_eq!(run.detail("api commit"), "5e6f7a8");
        assert_eq!(
            run.detail("api commit message"),
            "Add order export endpoint"
        );
        assert_eq!(run.detail("api branch"), "main");
        assert_eq!(
            run.detail("api url"),
            "https://api-production-5d2c.up.railway.app"
        );
        // The link is the deployment's dashboard page, not the app's url.
        assert_eq!(
            run.card.link.as_deref(),
            Some("https://railway.com/project/3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41/service/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b?environmentId=b7e41d0a-2c5f-4f6e-8a93-11c0d2e3f4a5&id=7b3e9f12-4c6a-4d8e-b1f0-2a9c8d7e6f50")
        );
    }

    #[test]
    fn a_stopped_cron_service_completed() {
        let run = account(json(200, CRON_DONE));
        assert_eq!(run.card.status, Status::Healthy);
        assert_eq!(run.card.summary, "all 3 services up");
        assert_eq!(run.metric("services"), "2/3 running, 1 completed");
        assert_eq!(run.card.link, None);
        assert!(run.card.details.is_empty(), "{:?}", run.card.details);
    }

    #[test]
    fn without_a_schedule_a_stopped_service_is_never_green() {
        for cron in [Some(Value::Null), Some("".into()), Some("  ".into()), None] {
            let body = edit(CRON_DONE, |v| {
                let job = &mut v["data"]["project"]["environments"]["edges"][0]["node"]
                    ["serviceInstances"]["edges"][2]["node"];
                match &cron {
                    Some(c) => job["cronSchedule"] = c.clone(),
                    None => {
                        job.as_object_mut().unwrap().remove("cronSchedule");
                    }
                }
            });
            let run = account(json(200, &body));
            assert_eq!(run.card.status, Status::Degraded, "{cron:?}");
            assert_eq!(
                run.card.summary, "nightly-report stopped (stopped by hand?)",
                "{cron:?}"
            );
        }
    }

    #[test]
    fn a_failed_deploy_names_its_commit() {
        let body = edit(DEGRADED, |v| {
            let api = first_instance(v);
            api["latestDeployment"]["meta"] = serde_json::json!({
                "branch": "release/2026-08",
                "commitHash": "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c",
                "commitMessage": "Upgrade the payment SDK",
                "reason": "deploy",
            });
            api["latestDeployment"]["url"] = Value::Null;
        });
        let run = account(json(200, &body));
        assert_eq!(run.card.status, Status::Degraded);
        assert_eq!(run.detail("api commit"), "9f8e7d6");
        assert_eq!(run.detail("api commit message"), "Upgrade the payment SDK");
        assert_eq!(run.detail("api branch"), "release/2026-08");
        assert!(run.card.details.iter().all(|m| m.label != "api url"));
        assert!(run
            .card
            .link
            .as_deref()
            .unwrap()
            .ends_with("&id=0e9d8c7b-6a5f-4e3d-2c1b-a09f8e7d6c5b"));
    }

    #[test]
    fn the_project_token_path_links_with_the_tokens_project() {
        let env = edit(ENV_OK, |v| {
            let api = &mut v["data"]["environment"]["serviceInstances"]["edges"][0]["node"];
            api["activeDeployments"][0]["deploymentStopped"] = true.into();
            api["latestDeployment"]["deploymentStopped"] = true.into();
        });
        let run = drive(&service("production", TokenKind::Project), |r| {
            match r.tag {
                IDENTITY => json(200, IDENTITY_OK),
                _ => json(200, &env),
            }
        });
        assert_eq!(run.card.status, Status::Degraded);
        let link = run.card.link.as_deref().unwrap();
        assert!(
            link.starts_with(&format!(
                "https://railway.com/project/{PROJECT_ID}/service/"
            )),
            "{link}"
        );
        assert!(
            link.contains("environmentId=b7e41d0a-2c5f-4f6e-8a93-11c0d2e3f4a5"),
            "{link}"
        );
    }

    #[test]
    fn internal_server_errors_are_railways_fault() {
        // Data beside the error: incomplete, so "can't see", not a colour.
        let run = account(json(200, INTERNAL));
        assert_eq!(run.card.status, Status::Unknown);
        assert_eq!(run.reason_kind(), Some(ReasonKind::Unreachable));
        assert!(
            run.reason_text().contains("fault on Railway's side"),
            "{}",
            run.reason_text()
        );
        assert!(run.reason_text().contains("Problem processing request"));
        assert!(run.reason_text().contains("partial data"));
        assert!(run.reason_text().contains("3395127708164523981"));
        // The same error without data.
        let body = edit(INTERNAL, |v| v["data"] = Value::Null);
        let run = account(json(200, &body));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Unreachable));
        assert!(!run.reason_text().contains("partial data"));
        // Client errors Railway files under the same code keep their meaning.
        let body = edit(HEALTHY, |v| {
            v["errors"] = serde_json::json!([{
                "message": "Not Authorized",
                "path": ["project", "environments", "edges", 1],
                "extensions": {"code": "INTERNAL_SERVER_ERROR"},
            }]);
        });
        assert_eq!(account(json(200, &body)).card.status, Status::Healthy);
        let missing =
            include_bytes!("../../tests/fixtures/railway/error_project_not_found_200.json");
        assert_eq!(
            account(json(200, missing)).reason_kind(),
            Some(ReasonKind::Config)
        );
    }

    #[test]
    fn http_404_points_at_base_url_not_the_project() {
        let run = account(json(404, NOT_ROUTED));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        let text = run.reason_text();
        assert!(text.starts_with("Railway's API answered 404"), "{text}");
        assert!(text.contains("check the service's base_url"), "{text}");
        assert!(
            text.contains("default https://backboard.railway.com"),
            "{text}"
        );
        assert!(
            !text.contains("project 3f2a") && !text.contains("not found —"),
            "{text}"
        );
        let mut s = service("production", TokenKind::Account);
        s.base_url = Some(Url::parse("https://proxy.example/railway/").unwrap());
        let run = drive(&s, |_| json(404, b"Not Found"));
        assert_eq!(run.reason_kind(), Some(ReasonKind::Config));
        assert!(
            run.reason_text()
                .contains("base_url (`https://proxy.example/railway/`"),
            "{}",
            run.reason_text()
        );
        assert!(run.reason_text().contains("/railway/graphql/v2"));
    }
}

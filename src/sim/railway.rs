//! Railway's GraphQL API as the sim serves it: `POST /graphql/v2`.
//!
//! Operations are recognised by the root field the query names
//! (`projectToken`, `environment(`, `deployments(`, `project(`); fields that
//! are optional in a selection (`statusUpdatedAt`, `url`, `staticUrl`, `meta`,
//! `canAccess`, `cronSchedule`) are only sent when the query text asks for
//! them, as GraphQL would. Every sim service is a web service (`cronSchedule:
//! null`); `meta` carries an invented commit.

use std::time::Duration;

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::util::{cloudflare_denied, fnv, ts_millis, uuid};
use super::{split_slow, Reply, Scenario, SeenRequest, Shared, TargetKey};

const LIMIT: u32 = 1000;

/// GraphQL errors: HTTP 200, `data: null`, Railway's usual code.
fn gql_error(message: &str, path: &str) -> Reply {
    let trace = super::util::fnv(message) % 10_000_000_000_000_000_000;
    Reply::json(
        200,
        &json!({
            "errors": [{
                "message": message,
                "locations": [{ "line": 2, "column": 3 }],
                "path": [path],
                "extensions": { "code": "INTERNAL_SERVER_ERROR" },
                "traceId": trace.to_string(),
            }],
            "data": null,
        }),
    )
}

fn not_authorized() -> Reply {
    gql_error("Not Authorized", "project")
}

fn with_limits(r: Reply, now: OffsetDateTime) -> Reply {
    // The reset format is unconfirmed for Railway; the sim sends epoch seconds.
    let reset = now.unix_timestamp() + 3600 - now.unix_timestamp() % 3600;
    r.header("x-ratelimit-limit", LIMIT)
        .header("x-ratelimit-remaining", LIMIT - 13)
        .header("x-ratelimit-reset", reset)
}

/// Who the caller is.
enum Caller {
    Account,
    /// A project token, scoped to one project.
    Project(String),
}

pub(super) fn handle(sim: &Shared, req: &SeenRequest, now: OffsetDateTime) -> Reply {
    if req.method != "POST" {
        return Reply::json(
            404,
            &json!({"message": "Not Found", "requestId": uuid(&req.path)}),
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return Reply::json(
            400,
            &json!({"errors": [{"message": "Must provide query string.", "extensions": {"code": "BAD_REQUEST"}}]}),
        );
    };
    let query = body["query"].as_str().unwrap_or("").to_string();
    let vars = body.get("variables").cloned().unwrap_or(Value::Null);
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| vars.get(*n).and_then(Value::as_str).map(str::to_string))
    };

    let caller = if let Some(pat) = req.header("project-access-token") {
        match sim
            .config
            .project_tokens
            .iter()
            .find(|(t, _)| t == pat.trim())
        {
            Some((_, project)) => Caller::Project(project.clone()),
            None if query.contains("projectToken") => {
                return gql_error("Project Token not found", "projectToken")
            }
            None => return not_authorized(),
        }
    } else if sim.token_ok(req.bearer()) {
        Caller::Account
    } else {
        return not_authorized();
    };

    let project = match (&caller, var(&["projectId"])) {
        (Caller::Project(p), Some(asked)) if *p != asked => return not_authorized(),
        (Caller::Project(p), _) => Some(p.clone()),
        (Caller::Account, asked) => asked.or_else(|| var(&["id"])),
    };
    let Some(project) = project else {
        return gql_error("Project not found", "project");
    };
    let Some(scenario) = sim.scenario(&TargetKey::Railway(project.clone())) else {
        return gql_error("Project not found", "project");
    };
    let (scenario, delay) = split_slow(scenario);
    let mut reply = match scenario {
        Scenario::AuthFailure => not_authorized(),
        Scenario::RateLimited { reset_in } => rate_limited(reset_in, now),
        Scenario::Garbage => Reply::raw(
            200,
            "text/html; charset=UTF-8",
            cloudflare_denied("backboard.railway.com"),
        ),
        Scenario::ServerError => Reply::raw(502, "text/plain; charset=UTF-8", "error code: 502"),
        scenario => {
            let p = Project::new(&project, &sim.config.railway_environments);
            let data = if query.contains("projectToken") {
                match &caller {
                    Caller::Project(_) => p.token_identity(req.header("project-access-token")),
                    Caller::Account => return not_authorized(),
                }
            } else if query.contains("environment(") {
                let wanted = var(&["environmentId", "envId", "id", "environment"]);
                match p.envs.iter().find(|e| Some(&e.id) == wanted.as_ref()) {
                    Some(env) => {
                        json!({ "environment": p.environment(env, &scenario, &query, now, false) })
                    }
                    None => return gql_error("Environment not found", "environment"),
                }
            } else if query.contains("deployments(") {
                json!({ "deployments": p.history(&scenario, now) })
            } else if query.contains("project(") {
                json!({ "project": p.overview(&scenario, &query, now) })
            } else {
                return Reply::json(
                    400,
                    &json!({"errors": [{
                        "message": "Cannot query field on type \"Query\".",
                        "locations": [{ "line": 1, "column": 3 }],
                        "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
                    }]}),
                );
            };
            with_limits(Reply::json(200, &json!({ "data": data })), now)
        }
    };
    reply.delay = delay;
    reply
}

fn rate_limited(reset_in: Duration, now: OffsetDateTime) -> Reply {
    let secs = reset_in.as_secs().max(1);
    // Body unconfirmed (the CLI ignores it); this mirrors the fixture.
    Reply::json(
        429,
        &json!({
            "errors": [{
                "message": "Rate limit exceeded. Please try again later.",
                "extensions": { "code": "RATE_LIMITED" },
            }],
            "data": null,
        }),
    )
    .header("retry-after", secs)
    .header("x-ratelimit-limit", LIMIT)
    .header("x-ratelimit-remaining", 0)
    .header("x-ratelimit-reset", now.unix_timestamp() + secs as i64)
}

/// The selection set under `field` in a query (`{ … }` with nested braces),
/// or the whole query when the field is not there.
fn selection<'a>(query: &'a str, field: &str) -> &'a str {
    let Some(at) = query.find(field) else {
        return query;
    };
    let rest = &query[at..];
    let Some(open) = rest.find('{') else {
        return query;
    };
    let mut depth = 0;
    for (i, c) in rest[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[open..open + i + 1];
                }
            }
            _ => {}
        }
    }
    query
}

struct Env {
    id: String,
    name: String,
}

struct Project {
    id: String,
    name: String,
    envs: Vec<Env>,
}

/// One deployment as the sim invents it.
struct Deploy {
    seed: String,
    status: &'static str,
    age: Duration,
    /// `None` where Railway sends `statusUpdatedAt: null`.
    updated_age: Option<Duration>,
    stopped: bool,
    instances: Vec<&'static str>,
}

fn h(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

fn m(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

impl Deploy {
    fn json(&self, query: &str, now: OffsetDateTime) -> Value {
        let id = uuid(&self.seed);
        let mut d = json!({
            "id": id,
            "status": self.status,
            "createdAt": ts_millis(now - self.age),
            "deploymentStopped": self.stopped,
            "instances": self.instances.iter().enumerate().map(|(i, s)| json!({
                "id": uuid(&format!("{}/instance/{i}", self.seed)),
                "status": s,
            })).collect::<Vec<_>>(),
        });
        if query.contains("statusUpdatedAt") {
            d["statusUpdatedAt"] = self
                .updated_age
                .map(|a| json!(ts_millis(now - a)))
                .unwrap_or(Value::Null);
        }
        let serving = self.status == "SUCCESS";
        let host = format!("{}.up.railway.app", &id[..8]);
        if query.contains("staticUrl") {
            d["staticUrl"] = if serving { json!(host) } else { Value::Null };
        }
        if query.contains("url") {
            d["url"] = if serving { json!(host) } else { Value::Null };
        }
        if query.contains("meta") {
            let hash = format!(
                "{:016x}{:016x}{:08x}",
                fnv(&self.seed),
                fnv(&format!("{}#commit", self.seed)),
                fnv(&format!("{}#commit2", self.seed)) >> 32
            );
            let message = match self.status {
                "FAILED" => "Upgrade the payment SDK",
                "CRASHED" => "Raise the connection pool size",
                "BUILDING" => "Add order export endpoint",
                _ => "Cache product listings",
            };
            d["meta"] = json!({
                "branch": "main",
                "commitAuthor": "mkowalski",
                "commitHash": hash,
                "commitMessage": message,
                "logsV2": true,
                "reason": "deploy",
                "repo": "acme/shop",
            });
        }
        d
    }
}

/// A service instance: its latest deployment and the active ones.
struct Instance {
    name: &'static str,
    latest: Deploy,
    active: Vec<Deploy>,
}

impl Project {
    fn new(project: &str, env_names: &[String]) -> Project {
        let name = if project.len() > 12 && project.contains('-') {
            "sim-project".to_string()
        } else {
            project.to_string()
        };
        Project {
            id: project.into(),
            name,
            envs: env_names
                .iter()
                .map(|n| Env {
                    id: uuid(&format!("{project}/env/{n}")),
                    name: n.clone(),
                })
                .collect(),
        }
    }

    /// The services of one environment under a scenario; `api` carries the story.
    fn instances(&self, env: &Env, scenario: &Scenario) -> Vec<Instance> {
        let seed = |what: &str| format!("{}/{}/{what}", self.id, env.name);
        let ok = |what: &str, age, instances| Deploy {
            seed: seed(what),
            status: "SUCCESS",
            age,
            updated_age: Some(age - m(2)),
            stopped: false,
            instances,
        };
        let api = match scenario {
            Scenario::DeployFailing => Instance {
                name: "api",
                latest: Deploy {
                    seed: seed("api/new"),
                    status: "FAILED",
                    age: m(20),
                    updated_age: Some(m(18)),
                    stopped: true,
                    instances: vec![],
                },
                active: vec![ok("api/old", h(50), vec!["RUNNING", "RUNNING"])],
            },
            Scenario::Crash => {
                let crashed = || Deploy {
                    seed: seed("api/old"),
                    status: "CRASHED",
                    age: h(50),
                    updated_age: Some(m(7)),
                    stopped: false,
                    instances: vec!["CRASHED", "CRASHED"],
                };
                Instance {
                    name: "api",
                    latest: crashed(),
                    active: vec![crashed()],
                }
            }
            Scenario::Deploying => Instance {
                name: "api",
                latest: Deploy {
                    seed: seed("api/new"),
                    status: "BUILDING",
                    age: m(2),
                    updated_age: Some(m(1)),
                    stopped: false,
                    instances: vec![],
                },
                active: vec![ok("api/old", h(50), vec!["RUNNING", "RUNNING"])],
            },
            _ => Instance {
                name: "api",
                latest: ok("api/old", h(2), vec!["RUNNING", "RUNNING"]),
                active: vec![ok("api/old", h(2), vec!["RUNNING", "RUNNING"])],
            },
        };
        // The worker never changes; its null statusUpdatedAt is a real quirk.
        let worker = || Deploy {
            seed: seed("worker"),
            status: "SUCCESS",
            age: h(74),
            updated_age: None,
            stopped: false,
            instances: vec!["RUNNING"],
        };
        vec![
            api,
            Instance {
                name: "worker",
                latest: worker(),
                active: vec![worker()],
            },
        ]
    }

    fn environment(
        &self,
        env: &Env,
        scenario: &Scenario,
        query: &str,
        now: OffsetDateTime,
        can_access: bool,
    ) -> Value {
        let edges: Vec<Value> = self
            .instances(env, scenario)
            .iter()
            .map(|i| {
                let mut node = json!({
                    "id": uuid(&format!("{}/{}/{}/si", self.id, env.name, i.name)),
                    "serviceId": uuid(&format!("{}/{}/service", self.id, i.name)),
                    "serviceName": i.name,
                    "environmentId": env.id,
                    "latestDeployment": i.latest.json(selection(query, "latestDeployment"), now),
                    "activeDeployments": i.active.iter().map(|d| d.json(selection(query, "activeDeployments"), now)).collect::<Vec<_>>(),
                });
                if query.contains("cronSchedule") {
                    node["cronSchedule"] = Value::Null;
                }
                json!({ "node": node })
            })
            .collect();
        let mut e = json!({
            "id": env.id,
            "name": env.name,
            "serviceInstances": {
                "edges": edges,
                "pageInfo": { "hasNextPage": false, "endCursor": "YXJyYXljb25uZWN0aW9uOjE=" },
            },
        });
        if can_access || query.contains("canAccess") {
            e["canAccess"] = json!(true);
        }
        e
    }

    fn overview(&self, scenario: &Scenario, query: &str, now: OffsetDateTime) -> Value {
        let envs: Vec<Value> = self
            .envs
            .iter()
            .map(|e| json!({ "node": self.environment(e, scenario, query, now, true) }))
            .collect();
        json!({
            "id": self.id,
            "name": self.name,
            "environments": { "edges": envs },
        })
    }

    fn token_identity(&self, token: Option<&str>) -> Value {
        let env = &self.envs[0];
        json!({ "projectToken": {
            "id": uuid(token.unwrap_or("")),
            "projectId": self.id,
            "environmentId": env.id,
            "project": { "id": self.id, "name": self.name },
            "environment": { "id": env.id, "name": env.name },
        }})
    }

    /// Deployment history of the `api` service, newest first.
    fn history(&self, scenario: &Scenario, now: OffsetDateTime) -> Value {
        let env = &self.envs[0];
        let api = self.instances(env, scenario).remove(0);
        let latest_seed = api.latest.seed.clone();
        let mut list = vec![api.latest];
        list.extend(api.active.into_iter().filter(|d| d.seed != latest_seed));
        list.push(Deploy {
            seed: format!("{}/api/skipped", self.id),
            status: "SKIPPED",
            age: h(80),
            updated_age: None,
            stopped: true,
            instances: vec![],
        });
        list.push(Deploy {
            seed: format!("{}/api/removed", self.id),
            status: "REMOVED",
            age: h(120),
            updated_age: None,
            stopped: true,
            instances: vec![],
        });
        let edges: Vec<Value> = list
            .iter()
            .map(|d| {
                let full = d.json("url staticUrl", now);
                json!({ "node": {
                    "id": full["id"],
                    "status": full["status"],
                    "createdAt": full["createdAt"],
                    "url": full["url"],
                    "staticUrl": full["staticUrl"],
                }})
            })
            .collect();
        json!({ "edges": edges })
    }
}

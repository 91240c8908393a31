//! Unit tests for the simulator: each provider's shapes per scenario, auth, canned routes, timelines.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

const TOK: &str = "Bearer sim-token";
const PROJECT: &str = "3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41";
const TRAY_QUERY: &str = "query TrayProject($projectId: String!) { project(id: $projectId) { id name environments { edges { node { id name canAccess serviceInstances { edges { node { id serviceName latestDeployment { id status createdAt statusUpdatedAt deploymentStopped instances { id status } } activeDeployments { id status createdAt deploymentStopped instances { id status } } } } } } } } } }";

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn call(
    sim: &SimHandle,
    method: &str,
    path: &str,
    auth: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    crate::providers::http::install_crypto();
    let client = reqwest::Client::new();
    let url = sim.base_url().join(path).unwrap();
    let mut req = client.request(method.parse().unwrap(), url);
    for (k, v) in auth {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.bytes().await.unwrap().to_vec(),
    }
}

async fn get(sim: &SimHandle, path: &str) -> Answer {
    call(sim, "GET", path, &[("authorization", TOK)], None).await
}

async fn railway(sim: &SimHandle, auth: &[(&str, &str)], query: &str, vars: Value) -> Answer {
    call(
        sim,
        "POST",
        "/graphql/v2",
        auth,
        Some(json!({ "query": query, "variables": vars })),
    )
    .await
}

async fn tray(sim: &SimHandle) -> Answer {
    railway(
        sim,
        &[("authorization", TOK)],
        TRAY_QUERY,
        json!({ "projectId": PROJECT }),
    )
    .await
}

/// The `api` service node of a TrayProject answer.
fn api_node(v: &Value) -> &Value {
    let edges =
        &v["data"]["project"]["environments"]["edges"][0]["node"]["serviceInstances"]["edges"];
    edges
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["serviceName"] == "api")
        .unwrap()
}

fn all_targets(s: Scenario) -> SimConfig {
    SimConfig::default()
        .with_target(TargetKey::railway(PROJECT), s.clone())
        .with_target(TargetKey::plausible("example.com"), s.clone())
        .with_target(TargetKey::netlify("acme-marketing"), s.clone())
        .with_target(TargetKey::sentry("acme-web", "shop-api"), s)
}

#[tokio::test]
async fn binds_an_ephemeral_loopback_port_and_counts_requests() {
    let a = start(SimConfig::default()).await.unwrap();
    let b = start(SimConfig::default()).await.unwrap();
    assert_ne!(a.addr().port(), 0);
    assert_ne!(a.addr().port(), b.addr().port());
    assert!(a.addr().ip().is_loopback());
    assert_eq!(a.base_url().as_str(), format!("http://{}/", a.addr()));
    assert_eq!(a.request_count(), 0);
    let r = get(&a, "/nowhere").await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (404, b"Not Found".as_slice())
    );
    assert_eq!(a.request_count(), 1);
    assert_eq!(a.requests()[0].path, "/nowhere");
    // The token never shows in a request's Debug.
    assert!(!format!("{:?}", a.requests()).contains("sim-token"));
    let url = a.base_url();
    a.shutdown().await;
    drop(b);
    assert!(reqwest::get(url.join("/x").unwrap()).await.is_err());
}

#[tokio::test]
async fn refuses_non_loopback_addresses() {
    let err = start_on("0.0.0.0:0".parse().unwrap(), SimConfig::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn bad_tokens_get_each_providers_auth_failure() {
    let sim = start(all_targets(Scenario::Healthy)).await.unwrap();
    let bad = [("authorization", "Bearer nope")];
    let r = railway(&sim, &bad, TRAY_QUERY, json!({ "projectId": PROJECT })).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["errors"][0]["message"], "Not Authorized");
    assert_eq!(
        v["errors"][0]["extensions"]["code"],
        "INTERNAL_SERVER_ERROR"
    );
    assert!(v["data"].is_null());

    let r = call(
        &sim,
        "GET",
        "/api/v1/stats/aggregate?site_id=example.com",
        &bad,
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("Invalid API key or site ID."));
    let r = call(
        &sim,
        "GET",
        "/api/v1/stats/aggregate?site_id=example.com",
        &[],
        None,
    )
    .await;
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("Missing API key."));

    let r = call(&sim, "GET", "/api/v1/sites/acme-marketing", &bad, None).await;
    assert_eq!(
        (r.status, r.json()),
        (401, json!({"code": 401, "message": "Access Denied"}))
    );

    let r = call(
        &sim,
        "GET",
        "/api/0/projects/acme-web/shop-api/",
        &bad,
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.json()),
        (401, json!({"detail": "Invalid token"}))
    );

    // A token that works, per config.
    let sim = start(all_targets(Scenario::Healthy).with_token("other"))
        .await
        .unwrap();
    let r = call(
        &sim,
        "GET",
        "/api/v1/sites/acme-marketing",
        &[("authorization", "Bearer other")],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn unknown_targets_answer_like_the_real_apis() {
    let sim = start(SimConfig::default()).await.unwrap();
    let v = tray(&sim).await.json();
    assert_eq!(v["errors"][0]["message"], "Project not found");
    let r = get(&sim, "/api/v1/stats/aggregate?site_id=nope.example").await;
    assert_eq!(r.status, 401);
    let r = get(&sim, "/api/v1/sites/does-not-exist").await;
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"code": 404, "message": "Not Found"}))
    );
    let r = get(&sim, "/api/0/projects/acme/nope/").await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"detail": "The requested resource does not exist"})
        )
    );
}

#[tokio::test]
async fn railway_scenarios() {
    let sim = start(all_targets(Scenario::Healthy)).await.unwrap();
    let v = tray(&sim).await.json();
    assert_eq!(v["data"]["project"]["id"], PROJECT);
    let env = &v["data"]["project"]["environments"]["edges"][0]["node"];
    assert_eq!(
        (env["name"].as_str(), env["canAccess"].as_bool()),
        (Some("production"), Some(true))
    );
    let api = api_node(&v);
    assert_eq!(api["latestDeployment"]["status"], "SUCCESS");
    assert_eq!(
        api["activeDeployments"][0]["instances"][1]["status"],
        "RUNNING"
    );
    assert!(api["latestDeployment"]["statusUpdatedAt"].is_string());
    // Not selected for active deployments, so not sent.
    assert!(api["activeDeployments"][0].get("statusUpdatedAt").is_none());
    let worker = &env["serviceInstances"]["edges"][1]["node"];
    assert!(worker["latestDeployment"]["statusUpdatedAt"].is_null());

    sim.set_scenario(TargetKey::railway(PROJECT), Scenario::DeployFailing);
    let v = tray(&sim).await.json();
    let api = api_node(&v);
    assert_eq!(api["latestDeployment"]["status"], "FAILED");
    assert_eq!(api["activeDeployments"][0]["status"], "SUCCESS");
    assert_ne!(
        api["latestDeployment"]["id"],
        api["activeDeployments"][0]["id"]
    );

    sim.set_scenario(TargetKey::railway(PROJECT), Scenario::Crash);
    let v = tray(&sim).await.json();
    let active = &api_node(&v)["activeDeployments"][0];
    assert_eq!(active["status"], "CRASHED");
    assert!(active["instances"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] != "RUNNING"));

    sim.set_scenario(TargetKey::railway(PROJECT), Scenario::Deploying);
    let v = tray(&sim).await.json();
    assert_eq!(api_node(&v)["latestDeployment"]["status"], "BUILDING");

    sim.set_scenario(
        TargetKey::railway(PROJECT),
        Scenario::RateLimited {
            reset_in: Duration::from_secs(37),
        },
    );
    let r = tray(&sim).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("37"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));

    sim.set_scenario(TargetKey::railway(PROJECT), Scenario::Garbage);
    let r = tray(&sim).await;
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("used Cloudflare to restrict access"));

    sim.set_scenario(TargetKey::railway(PROJECT), Scenario::ServerError);
    assert_eq!(tray(&sim).await.status, 502);

    sim.set_scenario(TargetKey::railway(PROJECT), Scenario::AuthFailure);
    assert_eq!(
        tray(&sim).await.json()["errors"][0]["message"],
        "Not Authorized"
    );
}

#[tokio::test]
async fn railway_project_tokens_identify_and_read_their_environment() {
    let config = all_targets(Scenario::DeployFailing).with_project_token("pt-1", PROJECT);
    let sim = start(config).await.unwrap();
    let pat = [("project-access-token", "pt-1")];
    let v = railway(&sim, &pat, "query { projectToken { projectId environmentId project { id name } environment { id name } } }", json!({})).await.json();
    let ident = &v["data"]["projectToken"];
    assert_eq!(ident["projectId"], PROJECT);
    let env_id = ident["environmentId"].as_str().unwrap().to_string();
    let q = "query Env($id: String!, $projectId: String!) { environment(id: $id, projectId: $projectId) { id name serviceInstances { edges { node { serviceName latestDeployment { status } activeDeployments { status } } } } } }";
    let v = railway(&sim, &pat, q, json!({ "id": env_id, "projectId": PROJECT }))
        .await
        .json();
    let env = &v["data"]["environment"];
    assert_eq!(env["name"], "production");
    assert_eq!(
        env["serviceInstances"]["edges"][0]["node"]["latestDeployment"]["status"],
        "FAILED"
    );

    let bad = [("project-access-token", "revoked")];
    let v = railway(
        &sim,
        &bad,
        "query { projectToken { projectId } }",
        json!({}),
    )
    .await
    .json();
    assert_eq!(v["errors"][0]["message"], "Project Token not found");
}

#[tokio::test]
async fn plausible_scenarios() {
    let sim = start(all_targets(Scenario::Healthy)).await.unwrap();
    let agg = "/api/v1/stats/aggregate?site_id=example.com&period=day&metrics=visitors,pageviews,bounce_rate,visit_duration&compare=previous_period";
    let v = get(&sim, agg).await.json();
    assert_eq!(v["results"]["visitors"]["value"], 1934);
    assert!(v["results"]["bounce_rate"]["value"].is_f64());
    assert!(v["results"]["visitors"]["change"].as_i64().unwrap() > 0);
    let r = get(&sim, "/api/v1/stats/realtime/visitors?site_id=example.com").await;
    assert_eq!(r.json(), json!(23));
    let r = get(
        &sim,
        "/api/v1/stats/aggregate?site_id=example.com&period=24h",
    )
    .await;
    assert_eq!(r.status, 400);

    let v2 = json!({"site_id": "example.com", "metrics": ["visitors", "pageviews", "bounce_rate"], "date_range": "day"});
    let r = call(
        &sim,
        "POST",
        "/api/v2/query",
        &[("authorization", TOK)],
        Some(v2),
    )
    .await
    .json();
    assert_eq!(r["results"][0]["metrics"][0], 1934);
    assert_eq!(r["results"][0]["dimensions"], json!([]));
    assert_eq!(r["query"]["site_id"], "example.com");

    sim.set_scenario(
        TargetKey::plausible("example.com"),
        Scenario::TrafficCollapse,
    );
    let v = get(&sim, agg).await.json();
    assert_eq!(v["results"]["visitors"]["change"], -92);
    assert!(v["results"]["visitors"]["value"].as_i64().unwrap() < 200);
    // A past day (`date=`) is from before the collapse.
    let yesterday = (time::OffsetDateTime::now_utc() - time::Duration::days(1)).date();
    let past = format!(
        "/api/v1/stats/aggregate?site_id=example.com&period=day&date={yesterday}&metrics=visitors"
    );
    assert_eq!(
        get(&sim, &past).await.json(),
        json!({"results": {"visitors": {"value": 1934}}})
    );
    assert_eq!(
        get(&sim, "/api/v1/stats/realtime/visitors?site_id=example.com")
            .await
            .json(),
        json!(0)
    );
    let hourly = json!({"site_id": "example.com", "metrics": ["visitors"], "date_range": "day",
        "dimensions": ["time:hour"], "include": {"time_labels": true}});
    let r = call(
        &sim,
        "POST",
        "/api/v2/query",
        &[("authorization", TOK)],
        Some(hourly),
    )
    .await
    .json();
    let labels = r["meta"]["time_labels"].as_array().unwrap().len();
    assert!(labels >= 1);
    // Empty hours are omitted from results, as Plausible does.
    assert!(r["results"].as_array().unwrap().len() < labels || labels <= 3);

    sim.set_scenario(
        TargetKey::plausible("example.com"),
        Scenario::RateLimited {
            reset_in: Duration::from_secs(60),
        },
    );
    let r = get(&sim, agg).await;
    assert_eq!(r.status, 429);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("Too many API requests"));
    assert!(r.header("retry-after").is_none() && r.header("x-ratelimit-reset").is_none());

    sim.set_scenario(TargetKey::plausible("example.com"), Scenario::Garbage);
    let r = get(&sim, agg).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
}

#[tokio::test]
async fn netlify_scenarios() {
    let sim = start(all_targets(Scenario::Healthy)).await.unwrap();
    let r = get(&sim, "/api/v1/sites/acme-marketing").await;
    assert!(
        r.header("x-ratelimit-reset")
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 1_700_000_000
    );
    let site = r.json();
    assert_eq!(site["published_deploy"]["state"], "ready");
    assert_eq!(site["published_deploy"]["deploy_time"], 92);
    // The site is also found by its id.
    let id = site["id"].as_str().unwrap().to_string();
    assert_eq!(get(&sim, &format!("/api/v1/sites/{id}")).await.status, 200);

    sim.set_scenario(
        TargetKey::netlify("acme-marketing"),
        Scenario::DeployFailing,
    );
    let d = get(
        &sim,
        "/api/v1/sites/acme-marketing/deploys?production=true&per_page=5",
    )
    .await
    .json();
    assert_eq!(d[0]["state"], "error");
    assert!(
        d[0]["error_message"].is_string()
            && d[0]["deploy_time"].is_null()
            && d[0]["published_at"].is_null()
    );
    assert_eq!(d[1]["state"], "ready");
    let site = get(&sim, "/api/v1/sites/acme-marketing").await.json();
    assert_eq!(site["published_deploy"]["id"], d[1]["id"]);

    sim.set_scenario(TargetKey::netlify("acme-marketing"), Scenario::Crash);
    let site = get(&sim, "/api/v1/sites/acme-marketing").await.json();
    assert!(site["published_deploy"].is_null());

    sim.set_scenario(TargetKey::netlify("acme-marketing"), Scenario::Deploying);
    let all = get(&sim, "/api/v1/sites/acme-marketing/deploys")
        .await
        .json();
    assert_eq!(all[0]["context"], "deploy-preview");
    let prod = get(&sim, "/api/v1/sites/acme-marketing/deploys?production=true")
        .await
        .json();
    assert_eq!(
        (prod[0]["state"].as_str(), prod[0]["context"].as_str()),
        (Some("building"), Some("production"))
    );

    sim.set_scenario(
        TargetKey::netlify("acme-marketing"),
        Scenario::RateLimited {
            reset_in: Duration::from_secs(30),
        },
    );
    let r = get(&sim, "/api/v1/sites/acme-marketing").await;
    assert_eq!(r.status, 429);
    let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!((now + 28..=now + 31).contains(&reset));

    sim.set_scenario(TargetKey::netlify("acme-marketing"), Scenario::ServerError);
    let r = get(&sim, "/api/v1/sites/acme-marketing").await;
    assert_eq!((r.status, r.body.len()), (502, 0));
}

#[tokio::test]
async fn sentry_scenarios() {
    let sim = start(all_targets(Scenario::Healthy)).await.unwrap();
    let orgs = get(&sim, "/api/0/organizations/").await.json();
    let base = sim.base_url().as_str().trim_end_matches('/').to_string();
    assert_eq!(orgs[0]["links"]["regionUrl"], base.as_str());
    let r = get(&sim, "/api/0/projects/acme-web/shop-api/").await;
    assert_eq!(r.header("x-sentry-rate-limit-limit"), Some("40"));
    let d = r.json();
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!(id, sentry_project_id("acme-web", "shop-api"));
    assert_eq!(
        (d["status"].as_str(), d["hasAccess"].as_bool()),
        (Some("active"), Some(true))
    );

    let issues = |sim: &SimHandle, id: &str| {
        let path = format!("/api/0/organizations/acme-web/issues/?project={id}&query=is:unresolved&statsPeriod=1h&limit=25");
        let sim_url = sim.base_url();
        async move {
            let client = reqwest::Client::new();
            let r = client
                .get(sim_url.join(&path).unwrap())
                .header("authorization", TOK)
                .send()
                .await
                .unwrap();
            assert!(r
                .headers()
                .get("link")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("rel=\"next\"; results=\"false\""));
            r.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(issues(&sim, &id).await, json!([]));
    let stats = "/api/0/organizations/acme-web/stats_v2/?field=sum(quantity)&category=error&groupBy=outcome&interval=1h&statsPeriod=24h&project=shop-api";
    let v = get(&sim, stats).await.json();
    assert_eq!(v["intervals"].as_array().unwrap().len(), 24);
    let accepted = &v["groups"][0];
    assert_eq!(accepted["by"]["outcome"], "accepted");
    let series: Vec<i64> = accepted["series"]["sum(quantity)"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_i64().unwrap())
        .collect();
    assert_eq!(series.len(), 24);
    assert_eq!(
        accepted["totals"]["sum(quantity)"],
        series.iter().sum::<i64>()
    );
    let median = |s: &[i64]| {
        let mut s = s[..s.len() - 1].to_vec();
        s.sort();
        s[s.len() / 2]
    };
    assert!(series[23] <= 3 * median(&series));

    sim.set_scenario(
        TargetKey::sentry("acme-web", "shop-api"),
        Scenario::ErrorSpike,
    );
    let list = issues(&sim, &id).await;
    assert_eq!(list[0]["level"], "error");
    assert_eq!(list[0]["status"], "unresolved");
    assert!(list[0]["count"].is_string() && list[0]["userCount"].is_u64());
    let v = get(&sim, stats).await.json();
    let series: Vec<i64> = v["groups"][0]["series"]["sum(quantity)"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_i64().unwrap())
        .collect();
    assert!(series[23] > 5 * median(&series));

    sim.set_scenario(TargetKey::sentry("acme-web", "shop-api"), Scenario::Fatal);
    let list = issues(&sim, "shop-api").await;
    assert_eq!(
        (list[0]["level"].as_str(), list[0]["isUnhandled"].as_bool()),
        (Some("fatal"), Some(true))
    );

    sim.set_scenario(
        TargetKey::sentry("acme-web", "shop-api"),
        Scenario::RateLimited {
            reset_in: Duration::from_secs(5),
        },
    );
    let r = get(&sim, "/api/0/projects/acme-web/shop-api/").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-sentry-rate-limit-remaining"), Some("0"));
    let reset: i64 = r
        .header("x-sentry-rate-limit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > OffsetDateTime::now_utc().unix_timestamp());
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("too frequently"));

    sim.set_scenario(
        TargetKey::sentry("acme-web", "shop-api"),
        Scenario::ServerError,
    );
    assert_eq!(
        get(&sim, "/api/0/projects/acme-web/shop-api/").await.status,
        503
    );
    sim.set_scenario(TargetKey::sentry("acme-web", "shop-api"), Scenario::Garbage);
    let r = get(&sim, "/api/0/projects/acme-web/shop-api/").await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(b"<!DOCTYPE html>"));
}

#[tokio::test]
async fn slow_answers_after_its_delay() {
    let sim = start(all_targets(Scenario::Slow(Duration::from_millis(200))))
        .await
        .unwrap();
    let started = Instant::now();
    let r = get(&sim, "/api/v1/sites/acme-marketing").await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn timelines_switch_on_their_own() {
    let sim = start(SimConfig::default()).await.unwrap();
    sim.set_scenario(
        TargetKey::netlify("acme-marketing"),
        Scenario::Timeline(vec![
            (Duration::ZERO, Scenario::Healthy),
            // Wide enough that a loaded 2-core CI machine answers the first
            // request before the switch (150 ms was not).
            (Duration::from_millis(1500), Scenario::Crash),
        ]),
    );
    let site = get(&sim, "/api/v1/sites/acme-marketing").await.json();
    assert_eq!(site["published_deploy"]["state"], "ready");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let site = get(&sim, "/api/v1/sites/acme-marketing").await.json();
    assert!(site["published_deploy"].is_null());
    assert_eq!(
        sim.scenario(TargetKey::netlify("acme-marketing")),
        Some(Scenario::Crash)
    );
}

/// The demo stopped changing after its last step (2 min 20 s) and its
/// Netlify build never finished: the story starts over, and every target
/// that deploys is seen healthy again within each round.
#[test]
fn the_demo_story_loops_and_every_deploy_finishes() {
    let demo = SimConfig::demo();
    let at = |key: &TargetKey, secs: u64| {
        demo.targets
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, s)| s.at(Duration::from_secs(secs)).clone())
            .unwrap()
    };
    let round = DEMO_STORY.as_secs();
    for (key, _) in &demo.targets {
        let seen: Vec<Scenario> = (0..round).map(|t| at(key, t)).collect();
        // Each round ends as it started, and the next round repeats it.
        assert_eq!(
            seen.last(),
            Some(&Scenario::Healthy),
            "{key:?} ends healthy"
        );
        for t in (0..round).step_by(7) {
            assert_eq!(
                at(key, t),
                at(key, t + round * 3),
                "{key:?} at {t} s repeats"
            );
        }
        // A deploy in progress never lasts to the end of a round.
        let last_deploying = seen.iter().rposition(|s| *s == Scenario::Deploying);
        if let Some(i) = last_deploying {
            assert!(
                seen[i..].contains(&Scenario::Healthy),
                "{key:?}: the deploy finishes"
            );
        }
    }
    // Something still changes long after the first round.
    let shop = TargetKey::railway("acme-shop");
    let later = 10 * round;
    assert_eq!(at(&shop, later + 30), Scenario::DeployFailing);
    assert_eq!(at(&shop, later + 70), Scenario::Healthy);
}

#[test]
fn timelines_resolve_by_elapsed_time() {
    let s = Scenario::Timeline(vec![
        (Duration::from_secs(10), Scenario::Deploying),
        (
            Duration::from_secs(20),
            Scenario::Timeline(vec![(Duration::from_secs(25), Scenario::Crash)]),
        ),
    ]);
    assert_eq!(s.at(Duration::from_secs(5)), &Scenario::Healthy);
    assert_eq!(s.at(Duration::from_secs(10)), &Scenario::Deploying);
    assert_eq!(s.at(Duration::from_secs(21)), &Scenario::Healthy);
    assert_eq!(s.at(Duration::from_secs(30)), &Scenario::Crash);
    let story = Scenario::deploy_fails_and_recovers(Duration::from_secs(1));
    assert_eq!(
        story.at(Duration::from_millis(2500)),
        &Scenario::DeployFailing
    );
    assert_eq!(story.at(Duration::from_secs(9)), &Scenario::Healthy);
    assert_eq!(
        "deploy_failing".parse::<Scenario>(),
        Ok(Scenario::DeployFailing)
    );
    assert!("meltdown"
        .parse::<Scenario>()
        .unwrap_err()
        .contains("healthy"));
}

#[tokio::test]
async fn canned_routes_take_precedence_and_serve_bytes_verbatim() {
    let fixture = br#"{ "code": 429, "message": "Too Many Requests" }"#.to_vec();
    let config = all_targets(Scenario::Healthy).with_canned(
        Canned::new("GET", "/api/v1/sites/acme-marketing", 429, fixture.clone())
            .header("X-RateLimit-Reset", "1787407260"),
    );
    let sim = start(config).await.unwrap();
    // Canned routes answer whatever the token.
    let r = call(&sim, "GET", "/api/v1/sites/acme-marketing", &[], None).await;
    assert_eq!((r.status, r.body.clone()), (429, fixture));
    assert_eq!(r.header("x-ratelimit-reset"), Some("1787407260"));
    // Other routes still run the scenario.
    assert_eq!(
        get(&sim, "/api/v1/sites/acme-marketing/deploys")
            .await
            .status,
        200
    );

    sim.add_canned(
        Canned::new(
            "POST",
            "/graphql/v2",
            200,
            b"{\"data\":{\"projectToken\":{}}}".to_vec(),
        )
        .when_body_contains("projectToken"),
    );
    let r = railway(&sim, &[], "query { projectToken { projectId } }", json!({})).await;
    assert_eq!(r.json(), json!({"data": {"projectToken": {}}}));
    assert_eq!(tray(&sim).await.json()["data"]["project"]["id"], PROJECT);
    sim.add_canned(Canned::new(
        "GET",
        "/api/v1/stats/realtime/visitors?site_id=example.com",
        200,
        b"7".to_vec(),
    ));
    assert_eq!(
        get(&sim, "/api/v1/stats/realtime/visitors?site_id=example.com")
            .await
            .json(),
        json!(7)
    );
    sim.clear_canned();
    assert_eq!(
        get(&sim, "/api/v1/stats/realtime/visitors?site_id=example.com")
            .await
            .json(),
        json!(23)
    );
}

#[tokio::test]
async fn accept_any_target_serves_unregistered_targets_healthy() {
    let sim = start(SimConfig {
        accept_any_target: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(tray(&sim).await.json()["data"]["project"]["id"], PROJECT);
    assert_eq!(get(&sim, "/api/v1/sites/anything").await.status, 200);
    assert_eq!(
        get(&sim, "/api/v1/stats/realtime/visitors?site_id=x.example")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_remote_control_switches_scenarios_and_counts_requests() {
    let sim = start(SimConfig::default().with_target(TargetKey::netlify("s1"), Scenario::Healthy))
        .await
        .unwrap();
    assert_eq!(get(&sim, "/api/v1/sites/s1").await.status, 200);
    let set = call(
        &sim,
        "POST",
        "/_sim/scenario?target=netlify:s1&scenario=auth-failure",
        &[],
        None,
    )
    .await;
    assert_eq!(set.status, 200);
    assert_eq!(get(&sim, "/api/v1/sites/s1").await.status, 401);
    let stats = call(&sim, "GET", "/_sim/stats", &[], None).await.json();
    assert_eq!(stats["requests"], 2, "control calls are not counted");
    let bad = call(
        &sim,
        "POST",
        "/_sim/scenario?target=netlify:s1&scenario=nope",
        &[],
        None,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("unknown scenario"));
    let sentry = call(
        &sim,
        "POST",
        "/_sim/scenario?target=sentry:o/p&scenario=fatal",
        &[],
        None,
    )
    .await;
    assert_eq!(sentry.status, 200);
    assert_eq!(
        sim.scenario(TargetKey::sentry("o", "p")),
        Some(Scenario::Fatal)
    );
}

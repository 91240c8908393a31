//! `overwatch status` end to end: the real binary against the loopback simulator, one workspace per scenario, checking cards and exit codes.

use std::time::Duration;

use assert_cmd::Command;
use overwatch::sim::{self, Scenario, SimConfig, SimHandle, TargetKey};
use serde_json::Value;

struct World {
    _rt: tokio::runtime::Runtime,
    sim: SimHandle,
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

/// Each workspace holds services whose simulated targets play one scenario.
/// (service name, provider, target fields as TOML)
type Svc = (&'static str, &'static str, &'static str);

const WORKSPACES: &[(&str, &[Svc])] = &[
    // (workspace, [(name, provider, target fields)])
    (
        "Healthy",
        &[
            ("Rail", "railway", "project = \"h-rail\""),
            ("Traffic", "plausible", "site = \"h.example\""),
            ("Site", "netlify", "site = \"h-site\""),
            ("Errors", "sentry", "org = \"h-org\"\nproject = \"h-proj\""),
        ],
    ),
    (
        "DeployFailing",
        &[
            ("Rail", "railway", "project = \"f-rail\""),
            ("Site", "netlify", "site = \"f-site\""),
        ],
    ),
    (
        "Crash",
        &[
            ("Rail", "railway", "project = \"c-rail\""),
            ("Site", "netlify", "site = \"c-site\""),
        ],
    ),
    (
        "Deploying",
        &[
            ("Rail", "railway", "project = \"d-rail\""),
            ("Site", "netlify", "site = \"d-site\""),
        ],
    ),
    (
        "ErrorSpike",
        &[("Errors", "sentry", "org = \"s-org\"\nproject = \"s-proj\"")],
    ),
    (
        "Fatal",
        &[("Errors", "sentry", "org = \"x-org\"\nproject = \"x-proj\"")],
    ),
    (
        "TrafficCollapse",
        &[("Traffic", "plausible", "site = \"t.example\"")],
    ),
    (
        "AuthFailure",
        &[
            ("Rail", "railway", "project = \"a-rail\""),
            ("Traffic", "plausible", "site = \"a.example\""),
            ("Site", "netlify", "site = \"a-site\""),
            ("Errors", "sentry", "org = \"a-org\"\nproject = \"a-proj\""),
        ],
    ),
    (
        "RateLimited",
        &[
            ("Rail", "railway", "project = \"r-rail\""),
            ("Site", "netlify", "site = \"r-site\""),
            ("Errors", "sentry", "org = \"r-org\"\nproject = \"r-proj\""),
        ],
    ),
    (
        "Garbage",
        &[
            ("Site", "netlify", "site = \"g-site\""),
            ("Traffic", "plausible", "site = \"g.example\""),
        ],
    ),
    ("ServerError", &[("Site", "netlify", "site = \"e-site\"")]),
    ("Slow", &[("Site", "netlify", "site = \"w-site\"")]),
];

fn world() -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let rl = Scenario::RateLimited {
        reset_in: Duration::from_secs(37),
    };
    let cfg = SimConfig::default()
        .with_target(TargetKey::railway("h-rail"), Scenario::Healthy)
        .with_target(TargetKey::plausible("h.example"), Scenario::Healthy)
        .with_target(TargetKey::netlify("h-site"), Scenario::Healthy)
        .with_target(TargetKey::sentry("h-org", "h-proj"), Scenario::Healthy)
        .with_target(TargetKey::railway("f-rail"), Scenario::DeployFailing)
        .with_target(TargetKey::netlify("f-site"), Scenario::DeployFailing)
        .with_target(TargetKey::railway("c-rail"), Scenario::Crash)
        .with_target(TargetKey::netlify("c-site"), Scenario::Crash)
        .with_target(TargetKey::railway("d-rail"), Scenario::Deploying)
        .with_target(TargetKey::netlify("d-site"), Scenario::Deploying)
        .with_target(TargetKey::sentry("s-org", "s-proj"), Scenario::ErrorSpike)
        .with_target(TargetKey::sentry("x-org", "x-proj"), Scenario::Fatal)
        .with_target(TargetKey::plausible("t.example"), Scenario::TrafficCollapse)
        .with_target(TargetKey::railway("a-rail"), Scenario::AuthFailure)
        .with_target(TargetKey::plausible("a.example"), Scenario::AuthFailure)
        .with_target(TargetKey::netlify("a-site"), Scenario::AuthFailure)
        .with_target(TargetKey::sentry("a-org", "a-proj"), Scenario::AuthFailure)
        .with_target(TargetKey::railway("r-rail"), rl.clone())
        .with_target(TargetKey::netlify("r-site"), rl.clone())
        .with_target(TargetKey::sentry("r-org", "r-proj"), rl)
        .with_target(TargetKey::netlify("g-site"), Scenario::Garbage)
        .with_target(TargetKey::plausible("g.example"), Scenario::Garbage)
        .with_target(TargetKey::netlify("e-site"), Scenario::ServerError)
        .with_target(
            TargetKey::netlify("w-site"),
            Scenario::Slow(Duration::from_secs(4)),
        );
    let sim = rt.block_on(sim::start(cfg)).unwrap();
    let base = sim.base_url();
    let mut text = String::from("refresh = \"60s\"\ntimeout = \"1s\"\n");
    for (ws, services) in WORKSPACES {
        text.push_str(&format!("\n[[workspaces]]\nname = \"{ws}\"\n"));
        for (name, provider, target) in *services {
            text.push_str(&format!(
                "\n[[workspaces.services]]\nname = \"{name}\"\nprovider = \"{provider}\"\n{target}\nkey = \"env:OW_SIM_TOKEN\"\nbase_url = \"{base}\"\n"
            ));
        }
        if *ws == "Healthy" {
            // A link-only service: listed, never polled, colours nothing.
            text.push_str("\n[[workspaces.services]]\nname = \"Docs\"\nprovider = \"netlify\"\nsite = \"docs\"\nmode = \"link\"\n");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, text).unwrap();
    World {
        _rt: rt,
        sim,
        _dir: dir,
        config,
    }
}

impl World {
    fn status(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::cargo_bin("overwatch")
            .unwrap()
            .env("OVERWATCH_CONFIG", &self.config)
            .env("OW_SIM_TOKEN", sim::DEFAULT_TOKEN)
            .arg("status")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn json(&self, ws: &str) -> (i32, Value) {
        let (code, out, err) = self.status(&["--json", "--workspace", ws]);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, v)
    }
}

fn services(v: &Value) -> Vec<Value> {
    v["workspaces"][0]["services"].as_array().unwrap().clone()
}

/// A metric as JSON, with its optional `number`, `unit` and `change_pct`.
fn raw(svc: &Value, label: &str) -> Value {
    svc["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .chain(svc["details"].as_array().into_iter().flatten())
        .find(|m| m["label"] == label)
        .cloned()
        .unwrap_or_else(|| panic!("no metric {label} in {svc}"))
}

/// Every `number` in the report is the figure its display text starts with
/// ("1,934 (+4 % vs yesterday)" → 1934; "2 min" → 120 with unit "s" is not checked).
fn every_number_matches_its_text(v: &Value) {
    for ws in v["workspaces"].as_array().unwrap() {
        for svc in ws["services"].as_array().unwrap() {
            let all = svc["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .chain(svc["details"].as_array().into_iter().flatten());
            for m in all.filter(|m| m["number"].is_number() && m.get("unit").is_none()) {
                let text = m["value"].as_str().unwrap();
                let lead: String = text
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == ',')
                    .filter(|c| *c != ',')
                    .collect();
                assert_eq!(lead, m["number"].to_string(), "{m}");
            }
        }
    }
}

fn metric(svc: &Value, label: &str) -> String {
    svc["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["label"] == label)
        .map(|m| m["value"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no metric {label} in {svc}"))
}

#[test]
fn every_scenario_gives_the_right_cards_and_exit_codes() {
    let w = world();

    let (code, v) = w.json("Healthy");
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["status"], "healthy");
    let s = services(&v);
    let api: Vec<_> = s.iter().filter(|x| x["mode"] == "api").collect();
    assert_eq!(api.len(), 4);
    assert!(
        api.iter()
            .all(|x| x["status"] == "healthy" && x["reason"].is_null()),
        "{v}"
    );
    assert!(
        api.iter()
            .all(|x| x["metrics"].as_array().unwrap().len() >= 2),
        "{v}"
    );
    assert_eq!(metric(&s[0], "services"), "2/2 running");
    assert_eq!(metric(&s[1], "visitors now"), "23");
    assert!(metric(&s[1], "visitors today").starts_with("1,934"));
    assert_eq!(metric(&s[3], "unresolved issues (1 h)"), "0");
    // Beside the display text, --json has the raw number (and the change).
    let today = raw(&s[1], "visitors today");
    assert_eq!(today["number"], 1934, "{today}");
    assert!(today["change_pct"].is_number(), "{today}");
    assert!(
        today["value"].as_str().unwrap().contains(&format!(
            "{} %",
            today["change_pct"].as_f64().unwrap().abs().round()
        )),
        "the change shown is the change given: {today}"
    );
    assert_eq!(raw(&s[1], "visitors now")["number"], 23);
    assert_eq!(raw(&s[3], "unresolved issues (1 h)")["number"], 0);
    assert!(
        raw(&s[0], "services").get("number").is_none(),
        "text has no number"
    );
    every_number_matches_its_text(&v);
    // The link-only service is listed with no status.
    assert_eq!(s[4]["mode"], "link");
    assert!(s[4]["status"].is_null());
    assert_eq!(
        s[4]["dashboard_url"],
        "https://app.netlify.com/sites/docs/overview"
    );
    // Auth headers as the real APIs want them.
    let seen = w.sim.requests();
    assert!(
        seen.iter()
            .all(|r| r.header("authorization") == Some("Bearer sim-token")),
        "every request authenticated"
    );

    let (code, v) = w.json("DeployFailing");
    assert_eq!(code, 1, "{v}");
    assert!(
        services(&v).iter().all(|x| x["status"] == "degraded"),
        "{v}"
    );

    let (code, v) = w.json("Crash");
    assert_eq!(code, 2, "{v}");
    let s = services(&v);
    assert!(s.iter().all(|x| x["status"] == "down"), "{v}");
    assert_eq!(s[0]["summary"], "api crashed");

    let (code, v) = w.json("Deploying");
    assert_eq!(code, 0, "a running deploy never changes the colour: {v}");
    assert!(
        services(&v)
            .iter()
            .all(|x| x["status"] == "healthy" && x["in_progress"] == true),
        "{v}"
    );

    let (code, v) = w.json("ErrorSpike");
    assert_eq!(code, 1, "{v}");
    every_number_matches_its_text(&v);
    assert!(
        raw(&services(&v)[0], "events (24 h)")["number"]
            .as_u64()
            .unwrap()
            > 0
    );
    let (code, v) = w.json("Fatal");
    assert_eq!(code, 2, "{v}");
    let (code, v) = w.json("TrafficCollapse");
    assert_eq!(code, 1, "traffic collapse is degraded, never down: {v}");

    let (code, v) = w.json("AuthFailure");
    assert_eq!(code, 3, "{v}");
    for x in services(&v) {
        assert_eq!(x["status"], "unknown", "{x}");
        assert_eq!(x["reason"]["kind"], "auth", "{x}");
        let msg = x["reason"]["message"].as_str().unwrap();
        assert!(msg.contains("env:OW_SIM_TOKEN"), "the key is named: {msg}");
    }

    let (code, v) = w.json("RateLimited");
    assert_eq!(code, 3, "{v}");
    for x in services(&v) {
        assert_eq!(x["reason"]["kind"], "rate_limited", "{x}");
    }

    let (code, v) = w.json("Garbage");
    assert_eq!(code, 3, "{v}");
    for x in services(&v) {
        assert_eq!(x["reason"]["kind"], "bad_response", "{x}");
    }

    let (code, v) = w.json("ServerError");
    assert_eq!(code, 3, "{v}");
    assert_eq!(services(&v)[0]["reason"]["kind"], "unreachable", "{v}");

    let (code, v) = w.json("Slow");
    assert_eq!(code, 3, "{v}");
    assert_eq!(services(&v)[0]["reason"]["kind"], "timeout", "{v}");

    // Everything at once: the worst wins, and every workspace is there.
    let (code, out, _) = w.status(&["--json"]);
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "down");
    assert_eq!(v["workspaces"].as_array().unwrap().len(), WORKSPACES.len());
}

#[test]
fn the_text_output_shows_the_cards() {
    let w = world();
    let (code, out, _) = w.status(&["--workspace", "Crash"]);
    assert_eq!(code, 2);
    assert!(out.starts_with("Overwatch: 2 down\n"), "{out}");
    assert!(out.contains("× Crash — 2 down"), "{out}");
    assert!(out.contains("  × Rail · Railway — api crashed"), "{out}");
    assert!(
        out.contains("      services: 1/2 running, 1 crashed"),
        "{out}"
    );
    assert!(out.contains("      updated just now"), "{out}");
}

/// Colours by status with `--color always`; none with `--color never`, none by
/// default into a pipe, and none under NO_COLOR unless `--color always` says so.
#[test]
fn status_lines_are_coloured_by_status_when_asked() {
    let w = world();
    const RED: &str = "\x1b[31m";
    const GREEN: &str = "\x1b[32m";
    const YELLOW: &str = "\x1b[33m";
    const MAGENTA: &str = "\x1b[35m";
    let (_, crash, _) = w.status(&["--workspace", "Crash", "--color", "always"]);
    assert!(
        crash.contains(&format!("  {RED}× Rail · Railway\x1b[0m — api crashed")),
        "{crash:?}"
    );
    let (_, healthy, _) = w.status(&["--workspace", "Healthy", "--color=always"]);
    assert!(
        healthy.contains(&format!("{GREEN}✓ Rail · Railway")),
        "{healthy:?}"
    );
    let (_, failing, _) = w.status(&["--workspace", "DeployFailing", "--color", "always"]);
    assert!(failing.contains(YELLOW), "{failing:?}");
    let (_, auth, _) = w.status(&["--workspace", "AuthFailure", "--color", "always"]);
    assert!(
        auth.contains(&format!("{MAGENTA}? Rail · Railway")),
        "{auth:?}"
    );
    // The link-only service has no status and no colour.
    assert!(healthy.contains("  ↗ Docs · Netlify"), "{healthy:?}");

    for args in [&["--color", "never"][..], &[][..]] {
        let mut a = vec!["--workspace", "Crash"];
        a.extend_from_slice(args);
        let (code, out, _) = w.status(&a);
        assert_eq!(code, 2);
        assert!(!out.contains('\x1b'), "no colour with {args:?}: {out:?}");
    }
    let no_color = |args: &[&str]| {
        Command::cargo_bin("overwatch")
            .unwrap()
            .env("OVERWATCH_CONFIG", &w.config)
            .env("OW_SIM_TOKEN", sim::DEFAULT_TOKEN)
            .env("NO_COLOR", "1")
            .args(["status", "--workspace", "Crash"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = String::from_utf8(no_color(&["--color", "auto"]).stdout).unwrap();
    assert!(!out.contains('\x1b'), "{out:?}");
    let out = String::from_utf8(no_color(&["--color", "always"]).stdout).unwrap();
    assert!(out.contains(RED), "--color always beats NO_COLOR: {out:?}");
}

#[test]
fn config_errors_and_unknown_workspaces_exit_3_with_the_error_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "refresh = \"soon\"\n").unwrap();
    let out = Command::cargo_bin("overwatch")
        .unwrap()
        .env("OVERWATCH_CONFIG", &path)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("c.toml:1:11:"));

    let out = Command::cargo_bin("overwatch")
        .unwrap()
        .env("OVERWATCH_CONFIG", dir.path().join("missing.toml"))
        .args(["status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("overwatch config init"));

    let w = world();
    let (code, _, err) = w.status(&["--workspace", "Nope"]);
    assert_eq!(code, 3);
    assert!(err.contains("no workspace named `Nope`"), "{err}");
}

#[test]
fn a_missing_env_key_is_named_and_nothing_is_sent() {
    let w = world();
    let before = w.sim.request_count();
    let out = Command::cargo_bin("overwatch")
        .unwrap()
        .env("OVERWATCH_CONFIG", &w.config)
        .env_remove("OW_SIM_TOKEN")
        .args(["status", "--json", "--workspace", "Healthy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for x in services(&v).iter().filter(|x| x["mode"] == "api") {
        assert_eq!(x["reason"]["kind"], "config", "{x}");
        assert!(x["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("OW_SIM_TOKEN"));
    }
    assert_eq!(w.sim.request_count(), before, "no request without a key");
}

/// A provider's text with terminal escapes, a forged line and a bidi override
/// (a Netlify error message, the commit title) reaches `status` neutralised,
/// and `--json` keeps it raw, JSON-escaped.
#[test]
fn provider_text_cannot_drive_the_terminal() {
    use overwatch::sim::Canned;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let hostile = "Build failed\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n✓ all healthy \u{202e}gnp.exe";
    let dir_fixture = format!("{}/tests/fixtures/netlify", env!("CARGO_MANIFEST_DIR"));
    let site = std::fs::read(format!("{dir_fixture}/site_healthy.json")).unwrap();
    let mut deploys: Value = serde_json::from_slice(
        &std::fs::read(format!("{dir_fixture}/deploys_failed_production.json")).unwrap(),
    )
    .unwrap();
    deploys[0]["error_message"] = hostile.into();
    deploys[0]["title"] = hostile.into();
    let cfg = SimConfig::default()
        .with_canned(Canned::new("GET", "/api/v1/sites/evil", 200, site))
        .with_canned(Canned::new(
            "GET",
            "/api/v1/sites/evil/deploys?production=true&per_page=5",
            200,
            serde_json::to_vec(&deploys).unwrap(),
        ));
    let sim = rt.block_on(sim::start(cfg)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[workspaces]]\nname = \"Acme\"\n\n[[workspaces.services]]\nname = \"Web\"\nprovider = \"netlify\"\nsite = \"evil\"\nkey = \"env:OW_STATUS_TOKEN\"\nbase_url = \"{}\"\n",
            sim.base_url()
        ),
    )
    .unwrap();
    let run = |json: bool| {
        let mut c = Command::cargo_bin("overwatch").unwrap();
        c.arg("--config").arg(&config).arg("status");
        if json {
            c.arg("--json");
        }
        c.env("OW_STATUS_TOKEN", sim::DEFAULT_TOKEN)
            .output()
            .unwrap()
    };
    let text = run(false);
    assert_eq!(text.status.code(), Some(1), "degraded");
    let out = String::from_utf8(text.stdout).unwrap();
    assert!(
        !out.chars()
            .any(|c| c != '\n' && overwatch::text::is_unsafe(c)),
        "{out:?}"
    );
    assert!(
        !out.lines()
            .any(|l| l.trim_start().starts_with("✓ all healthy")),
        "a forged line: {out}"
    );
    assert!(
        out.contains("Build failed\u{fffd}]0;pwned\u{fffd}\u{fffd}[2J  ✓ all healthy"),
        "{out}"
    );
    let json: Value = serde_json::from_slice(&run(true).stdout).unwrap();
    let raw = json.to_string();
    assert!(raw.contains(r"\u001b]0;pwned\u0007"), "{raw}");
}

/// `status` checks a large config at once, but never more than the per-host
/// limit reaches one API host at a time — counted at the simulator, with
/// every answer 200 ms late so they pile up. Two host names for the one
/// simulator are two hosts: each gets its own limit, at the same time.
#[test]
fn status_keeps_each_host_within_the_per_host_limit() {
    use overwatch::providers::http::PER_HOST_IN_FLIGHT;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cfg = SimConfig {
        accept_any_target: true,
        latency: Duration::from_millis(200),
        ..SimConfig::default()
    };
    let sim = rt.block_on(sim::start(cfg)).unwrap();
    let port = sim.addr().port();
    let n = 3 * PER_HOST_IN_FLIGHT;
    let mut text = String::from("timeout = \"10s\"\n\n[[workspaces]]\nname = \"Fleet\"\n");
    for i in 0..n {
        // Half under each name; Plausible's check sends two requests at once.
        let host = if i % 2 == 0 { "127.0.0.1" } else { "localhost" };
        let target = if i % 3 == 0 {
            format!("provider = \"plausible\"\nsite = \"s{i}.example\"")
        } else {
            format!("provider = \"railway\"\nproject = \"p{i}\"")
        };
        text.push_str(&format!(
            "\n[[workspaces.services]]\nname = \"S{i}\"\n{target}\nkey = \"env:OW_SIM_TOKEN\"\nbase_url = \"http://{host}:{port}/\"\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, text).unwrap();
    let out = Command::cargo_bin("overwatch")
        .unwrap()
        .env("OVERWATCH_CONFIG", &config)
        .env("OW_SIM_TOKEN", sim::DEFAULT_TOKEN)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let cards = services(&v);
    assert_eq!(cards.len(), n);
    assert!(cards.iter().all(|c| c["status"] == "healthy"), "{v:#}");
    let limit = PER_HOST_IN_FLIGHT as u64;
    assert_eq!(
        sim.peak_in_flight_by_host(),
        [
            (format!("127.0.0.1:{port}"), limit),
            (format!("localhost:{port}"), limit)
        ],
        "each host up to its limit, never over it"
    );
    assert_eq!(
        sim.peak_in_flight(),
        2 * limit,
        "the hosts did not wait for each other"
    );
}

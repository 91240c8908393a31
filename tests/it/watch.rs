//! `overwatch watch` as a user runs it: the real binary against the simulator, printing events as lines or JSON, saving state on SIGTERM, and carrying on when no notification daemon answers.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use overwatch::sim::{self, Scenario, SimConfig, SimHandle, TargetKey};
use serde_json::Value;

fn write_config(dir: &Path, sim: &SimHandle) -> std::path::PathBuf {
    let base = sim.base_url();
    let text = format!(
        r#"refresh = "1s"

[[workspaces]]
name = "Acme"

[[workspaces.services]]
name = "API"
provider = "railway"
project = "watch-api"
key = "env:OW_WATCH_TOKEN"
base_url = "{base}"

[[workspaces.services]]
name = "Web"
provider = "netlify"
site = "watch-web"
key = "env:OW_WATCH_TOKEN"
base_url = "{base}"
"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn spawn(dir: &Path, config: &Path, args: &[&str], bus: &str) -> Watch {
    spawn_with(dir, config, args, bus, &[])
}

fn spawn_with(dir: &Path, config: &Path, args: &[&str], bus: &str, env: &[(&str, &str)]) -> Watch {
    let mut child = Command::new(env!("CARGO_BIN_EXE_overwatch"))
        .arg("--config")
        .arg(config)
        .arg("watch")
        .args(args)
        .env("OW_WATCH_TOKEN", sim::DEFAULT_TOKEN)
        .env("OVERWATCH_DATA_DIR", dir.join("data"))
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            s.push_str(&line);
            s.push('\n');
        }
        s
    });
    Watch {
        child,
        lines,
        stderr,
    }
}

impl Watch {
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a line from `overwatch watch` within 30 s")
    }

    /// Stops it the way a service manager would, and returns its stderr.
    fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit status {status:?}");
        self.stderr.join().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_as_events_happen_and_no_notification_daemon_is_not_fatal() {
    let sim = sim::start(
        SimConfig::default()
            .with_target(TargetKey::railway("watch-api"), Scenario::Crash)
            .with_target(TargetKey::netlify("watch-web"), Scenario::Healthy),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);
    // Desktop notifications on, but nothing answers on this bus.
    let bus = format!("unix:path={}", dir.path().join("no-such-bus").display());
    let w = spawn(dir.path(), &config, &["--json"], &bus);

    let first: Value = serde_json::from_str(&w.next_line()).unwrap();
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "at",
            "body",
            "from",
            "kind",
            "provider",
            "service",
            "title",
            "to",
            "workspace"
        ]
    );
    assert_eq!(first["kind"], "summary");
    assert_eq!(first["title"], "1 service needs attention");
    assert!(first["body"]
        .as_str()
        .unwrap()
        .starts_with("Acme · API (Railway): down — "));
    assert!(first["workspace"].is_null() && first["service"].is_null());

    // The fix ships: one recovery line, with who, what and when.
    sim.set_scenario(TargetKey::railway("watch-api"), Scenario::Healthy);
    let second: Value = serde_json::from_str(&w.next_line()).unwrap();
    assert_eq!(second["kind"], "recovered");
    assert_eq!(second["workspace"], "Acme");
    assert_eq!(second["service"], "API");
    assert_eq!(second["provider"], "railway");
    assert_eq!(second["from"], "down");
    assert_eq!(second["to"], "healthy");
    assert_eq!(second["title"], "Acme · API (Railway) recovered");
    assert!(time::OffsetDateTime::parse(
        second["at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());

    let stderr = w.terminate();
    // Both notifications failed to show: logged, and the watch went on.
    assert_eq!(
        stderr.matches("could not show the notification").count(),
        2,
        "{stderr}"
    );
    assert!(!stderr.contains(sim::DEFAULT_TOKEN));
    // SIGTERM saved the state: a restart will not announce the summary again.
    let state = std::fs::read_to_string(dir.path().join("data").join("state.json")).unwrap();
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(
        state["services"]["acme/api"]["tracker"]["announced"],
        "healthy"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_lines_with_no_notify_and_a_restart_stays_quiet() {
    let sim = sim::start(
        SimConfig::default()
            .with_target(TargetKey::railway("watch-api"), Scenario::Healthy)
            .with_target(TargetKey::netlify("watch-web"), Scenario::DeployFailing),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);
    let bus = format!("unix:path={}", dir.path().join("no-such-bus").display());
    let w = spawn(dir.path(), &config, &["--no-notify"], &bus);
    let line = w.next_line();
    assert!(
        line.contains(" summary ")
            && line.contains("1 service needs attention — Acme · Web (Netlify): degraded — "),
        "{line}"
    );
    let stderr = w.terminate();
    assert!(
        !stderr.contains("could not show the notification"),
        "{stderr}"
    );

    // Same state, same world: nothing to say.
    let w = spawn(dir.path(), &config, &["--no-notify"], &bus);
    assert!(
        w.lines.recv_timeout(Duration::from_secs(3)).is_err(),
        "a restart repeated an announced problem"
    );
    w.terminate();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_panic_ends_watch_with_the_message_and_a_non_zero_exit() {
    // Before: the engine task died silently and `watch` printed nothing, forever.
    let sim = sim::start(
        SimConfig::default()
            .with_target(TargetKey::railway("watch-api"), Scenario::Healthy)
            .with_target(TargetKey::netlify("watch-web"), Scenario::Healthy),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);
    let bus = format!("unix:path={}", dir.path().join("no-such-bus").display());
    let mut w = spawn_with(
        dir.path(),
        &config,
        &["--no-notify"],
        &bus,
        &[(overwatch::engine::INJECT_PANIC_ENV, "engine")],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = w.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "watch kept running after the engine panicked"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = w.stderr.join().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: the engine stopped on an internal error (injected by OVERWATCH_INJECT_PANIC=engine)"),
        "{stderr}"
    );
}

//! Faults around the process: kill -9 while the config or the state is being written, a corrupt state file, no keychain (absent, locked), no display, no tray host, no libayatana, no notification daemon — each a clear message or carrying on, never a torn file or a panic trace — and a soak of thousands of checks against random faults with no panic, stuck task or leak.
//!
//! The keychain-locked and tray-host cases start a private D-Bus daemon of
//! their own (so locking a keyring or removing the watcher never disturbs the
//! session the other tests share); like `tests/it/keychain.rs` they need the
//! session from `make test` (Xvfb, D-Bus, gnome-keyring, status-notifier-watcher)
//! and skip outside it.

use overwatch::model::NetlifyTarget;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use overwatch::config;
use overwatch::engine::state::State;
use overwatch::sim::{self, Scenario, SimConfig, SimHandle, TargetKey};

mod support;

const BIN: &str = env!("CARGO_BIN_EXE_overwatch");

/// A small xorshift generator; the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("OW_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("random seed: OW_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Kills a process group we started (the child and everything it spawned).
fn kill_group(child: &mut Child, signal: &str) {
    let pgid = format!("-{}", child.id());
    let _ = Command::new("kill").args([signal, "--", &pgid]).status();
    let _ = child.wait();
}

fn no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "a panic trace reached the user:\n{stderr}"
    );
}

// ---- kill -9 while writing --------------------------------------------------

/// A config of about 300 KB (under the 1 MiB cap), so each CLI edit spends
/// real time parsing and writing and a kill often lands mid-write.
fn big_config(first: &str) -> String {
    let mut s = String::from("# a large config for the kill -9 test\nrefresh = \"5m\"\n");
    for i in 0..600 {
        let name = if i == 0 {
            first.to_string()
        } else {
            format!("W{i}")
        };
        s.push_str(&format!(
            "\n# workspace {i}: a comment that must survive every edit\n[[workspaces]]\nname = \"{name}\"\n\n[[workspaces.services]]\nname = \"S{i}\"\nprovider = \"netlify\"\nsite = \"site-{i}.netlify.app\"\nkey = \"env:OW_KILL_{i}\"\n"
        ));
    }
    s
}

#[test]
fn kill_9_during_cli_edits_leaves_the_old_or_the_new_config_never_a_torn_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, big_config("Alpha")).unwrap();
    // Every version a clean run of the edit loop writes (the first rename
    // also writes the service's `id`, so the versions are learned, not
    // guessed): after any kill the file must be one of them.
    let mut versions = std::collections::HashSet::from([big_config("Alpha")]);
    {
        let scratch = dir.path().join("scratch.toml");
        std::fs::write(&scratch, big_config("Alpha")).unwrap();
        for (from, to) in [("Alpha", "Beta"), ("Beta", "Alpha")].repeat(2) {
            let ok = Command::new(BIN)
                .args(["--no-input", "workspace", "rename", from, to])
                .env("OVERWATCH_CONFIG", &scratch)
                .env_remove("RUST_LOG")
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "rename {from} → {to}");
            versions.insert(std::fs::read_to_string(&scratch).unwrap());
        }
        std::fs::remove_file(&scratch).unwrap();
    }
    let mut rng = Rng::seeded();
    let mut seen_beta = false;
    let rounds = 40;
    for round in 0..rounds {
        // A loop of real CLI edits, renaming back and forth, in its own
        // process group so the kill reaches whichever edit is running.
        let script = format!(
            "while :; do \"{BIN}\" --no-input workspace rename Alpha Beta >/dev/null 2>&1; \"{BIN}\" --no-input workspace rename Beta Alpha >/dev/null 2>&1; done"
        );
        let mut child = Command::new("bash")
            .args(["-c", &script])
            .env("OVERWATCH_CONFIG", &path)
            .env_remove("RUST_LOG")
            .process_group(0)
            .spawn()
            .unwrap();
        // On a loaded machine one edit can take longer than the usual
        // window: until an edit has completed, the window grows each round.
        let window = if seen_beta {
            300
        } else {
            300 + 100 * round as u64
        };
        std::thread::sleep(Duration::from_millis(20 + rng.below(window)));
        kill_group(&mut child, "-KILL");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("round {round}: the config is gone: {e}"));
        let parsed = config::parse(&text, &path);
        assert!(
            parsed.is_ok(),
            "round {round}: a torn config: {:?}",
            parsed.err()
        );
        assert!(
            versions.contains(&text),
            "round {round}: the file is neither the old nor a new version ({} bytes)",
            text.len()
        );
        seen_beta |= text.contains("name = \"Beta\"");
        // What a crash leaves: only the config, its edit lock and possibly
        // temporary files named so they are recognisable (never a second config).
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                name == "config.toml"
                    || name == ".config.toml.lock"
                    || name == ".scratch.toml.lock"
                    || (name.starts_with(".overwatch-") && name.ends_with(".tmp")),
                "round {round}: unexpected file {name}"
            );
        }
    }
    assert!(
        seen_beta,
        "in {rounds} rounds no edit ever completed: the test did not exercise writes"
    );
}

fn watch_config(dir: &Path, sim: &SimHandle, services: usize) -> PathBuf {
    let base = sim.base_url();
    let mut text = String::from("refresh = \"1s\"\n\n[[workspaces]]\nname = \"Soak\"\n");
    for i in 0..services {
        text.push_str(&format!(
            "\n[[workspaces.services]]\nname = \"S{i}\"\nprovider = \"netlify\"\nsite = \"kill-{i}\"\nkey = \"env:OW_KILL_TOKEN\"\nbase_url = \"{base}\"\nconfirm = 1\nconfirm_recovery = 1\n"
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn_watch(config: &Path, data: &Path) -> Child {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["watch", "--no-notify", "--json"])
        .env("OW_KILL_TOKEN", sim::DEFAULT_TOKEN)
        .env("OVERWATCH_DATA_DIR", data)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/overwatch-test-bus",
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_state_writes_leaves_a_state_file_that_loads() {
    // Services that flip between healthy and degraded every 200 ms, so the
    // engine writes its state many times a second.
    let mut cfg = SimConfig::default();
    for i in 0..40 {
        cfg = cfg.with_target(
            TargetKey::netlify(format!("kill-{i}")),
            Scenario::Timeline(
                (0..300u32)
                    .map(|k| {
                        let s = if k % 2 == 0 {
                            Scenario::Healthy
                        } else {
                            Scenario::DeployFailing
                        };
                        (Duration::from_millis(200) * k, s)
                    })
                    .collect(),
            ),
        );
    }
    let sim = sim::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = watch_config(dir.path(), &sim, 40);
    let data = dir.path().join("data");
    let state = data.join("state.json");
    let mut rng = Rng::seeded();
    let mut loaded = 0;
    for round in 0..15 {
        let mut child = spawn_watch(&config, &data);
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1200))).await;
        kill_group(&mut child, "-KILL");
        if let Ok(bytes) = std::fs::read(&state) {
            let parsed: Result<State, _> = serde_json::from_slice(&bytes);
            assert!(
                parsed.is_ok(),
                "round {round}: a torn state file: {:?}",
                parsed.err()
            );
            loaded += 1;
        }
        // The next start must never have had to set a file aside.
        let corrupt: Vec<_> = std::fs::read_dir(&data)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(".corrupt-"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(corrupt.is_empty(), "round {round}: {corrupt:?}");
    }
    assert!(
        loaded >= 10,
        "the state was written in only {loaded} of 15 rounds"
    );
    assert!(sim.request_count() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_is_set_aside_with_a_warning_and_rebuilt() {
    let sim = sim::start(SimConfig {
        accept_any_target: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = watch_config(dir.path(), &sim, 2);
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let garbage = b"{\"version\": 1, \"services\": {\"soak/s0\": [1, 2,";
    std::fs::write(data.join("state.json"), garbage).unwrap();
    let mut child = spawn_watch(&config, &data);
    let state = data.join("state.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let good = std::fs::read(&state)
            .ok()
            .is_some_and(|b| serde_json::from_slice::<State>(&b).is_ok());
        if good {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    no_panic(&stderr);
    assert!(
        stderr.contains("could not be used") && stderr.contains("moved it to"),
        "the warning says what happened: {stderr}"
    );
    let aside: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("state.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), garbage, "kept as it was");
    let rebuilt: State = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(rebuilt.services.len(), 2, "rebuilt from the new checks");
}

// ---- the keychain -----------------------------------------------------------

/// A config with one keychain key and one env key, both against `sim`.
fn two_key_config(dir: &Path, sim: &SimHandle, keychain_name: &str) -> PathBuf {
    let base = sim.base_url();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r#"[[workspaces]]
name = "Acme"

[[workspaces.services]]
name = "Keychain"
provider = "netlify"
site = "kc-site"
key = "{keychain_name}"
base_url = "{base}"

[[workspaces.services]]
name = "Env"
provider = "netlify"
site = "env-site"
key = "env:OW_FAULT_ENV_KEY"
base_url = "{base}"
"#
        ),
    )
    .unwrap();
    path
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command, stdin: &str) -> Out {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    // A keychain that hangs would hang the test: bound it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the command hung (a keychain prompt nobody can answer?)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let o = Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    no_panic(&o.stderr);
    o
}

/// Runs the keychain commands and `status` in an environment whose keychain
/// does not work, and checks each says so and what to do, and that the env
/// key still works.
fn keychain_broken_checks(env: &[(&str, &str)], unset: &[&str], expect_hint: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(sim::start(SimConfig {
            accept_any_target: true,
            ..SimConfig::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let name = format!("ow-fault-{}", std::process::id());
    let config = two_key_config(dir.path(), &sim, &name);
    let cmd = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(&config)
            .arg("--no-input")
            .args(args)
            .env("OW_FAULT_ENV_KEY", sim::DEFAULT_TOKEN)
            .env("OVERWATCH_DATA_DIR", dir.path().join("data"))
            .env_remove("RUST_LOG");
        for (k, v) in env {
            c.env(k, v);
        }
        for k in unset {
            c.env_remove(k);
        }
        c
    };
    let before = std::fs::read(&config).unwrap();

    let o = run(&mut cmd(&["secret", "set", &name]), "fault-secret-value");
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(o.stderr.contains(expect_hint), "{}", o.stderr);
    assert!(!o.stderr.contains("fault-secret-value"), "{}", o.stderr);

    let o = run(&mut cmd(&["secret", "list"]), "");
    assert!(o.stdout.contains("env:OW_FAULT_ENV_KEY"), "{}", o.stdout);
    assert!(
        (o.stdout.clone() + &o.stderr).contains(expect_hint),
        "{}\n{}",
        o.stdout,
        o.stderr
    );

    let o = run(&mut cmd(&["status", "--json"]), "");
    assert_eq!(
        o.code,
        Some(3),
        "one card unknown: {}\n{}",
        o.stdout,
        o.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let services = v["workspaces"][0]["services"].as_array().unwrap();
    let by_name = |n: &str| services.iter().find(|s| s["name"] == n).unwrap();
    assert_eq!(by_name("Env")["status"], "healthy", "env keys still work");
    let kc = by_name("Keychain");
    assert_eq!(kc["status"], "unknown");
    let msg = kc["reason"]["message"].as_str().unwrap();
    assert!(msg.contains(expect_hint), "{msg}");
    assert_eq!(
        std::fs::read(&config).unwrap(),
        before,
        "the config is untouched"
    );
}

#[test]
fn no_secret_service_on_the_bus_says_what_to_do_and_env_keys_still_work() {
    keychain_broken_checks(
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/overwatch-no-bus")],
        &[],
        "start and unlock a Secret Service (GNOME Keyring or KWallet) in this session, or use `env:VAR` keys",
    );
}

/// A private D-Bus daemon; dropped, it is stopped (by its pid).
struct Bus {
    daemon: Child,
    address: String,
    dir: tempfile::TempDir,
}

impl Bus {
    fn start() -> Bus {
        let dir = tempfile::tempdir().unwrap();
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (installed by scripts/deps.sh)");
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Bus {
            daemon,
            address: line.trim().to_string(),
            dir,
        }
    }

    fn runtime_dir(&self) -> PathBuf {
        let d = self.dir.path().join("run");
        std::fs::create_dir_all(&d).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("XDG_DATA_HOME", self.dir.path().join("data"));
        c
    }

    fn has_name(&self, name: &str) -> bool {
        self.cmd("busctl")
            .args(["--user", "list", "--no-pager"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.starts_with(&format!("{name} ")))
            })
    }

    fn wait_for(&self, name: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.has_name(name) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

#[test]
fn a_locked_keychain_whose_prompt_cannot_be_answered_says_what_to_do() {
    if !support::session("gnome-keyring and secret-tool on a D-Bus of their own") {
        return;
    }
    let bus = Bus::start();
    // A keyring of its own on the private bus, unlocked to store a key...
    let mut kr = bus
        .cmd("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets", "--daemonize"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    kr.stdin.take().unwrap().write_all(b"ci").unwrap();
    kr.wait().unwrap();
    assert!(bus.wait_for("org.freedesktop.secrets", 10), "no keyring");
    let name = format!("ow-fault-{}", std::process::id());
    let mut store = bus.cmd("secret-tool");
    store
        .args([
            "store",
            "--label=x",
            "service",
            "overwatch",
            "username",
            &name,
        ])
        .env_remove("DISPLAY");
    let o = run(&mut store, "locked-secret-value");
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    // ...then locked. Without a display the unlock prompt cannot be shown,
    // which is what a user who dismisses it (access denied) looks like too.
    let locked = bus
        .cmd("gdbus")
        .args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.secrets",
            "--object-path",
            "/org/freedesktop/secrets",
            "--method",
            "org.freedesktop.Secret.Service.Lock",
            "['/org/freedesktop/secrets/collection/login']",
        ])
        .output()
        .unwrap();
    assert!(locked.status.success(), "{locked:?}");
    let address = bus.address.clone();
    let runtime = bus.runtime_dir();
    let runtime = runtime.to_str().unwrap().to_string();
    keychain_broken_checks(
        &[
            ("DBUS_SESSION_BUS_ADDRESS", &address),
            ("XDG_RUNTIME_DIR", &runtime),
        ],
        &["DISPLAY", "WAYLAND_DISPLAY"],
        "unlock",
    );
    // The keyring daemon exits with its bus (dropped here).
}

// ---- display, tray host, libayatana, notifications --------------------------

#[test]
fn without_a_display_the_tray_says_so_and_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("demo")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("OVERWATCH_DATA_DIR", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    no_panic(&stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no display: the tray needs a graphical session")
            && stderr.contains("`overwatch status` and `overwatch watch` work without one"),
        "{stderr}"
    );
}

#[test]
fn without_libayatana_the_tray_names_the_package_to_install() {
    if !support::session("root, for a private mount namespace") {
        return;
    }
    // Hides the library in a private mount namespace (the trick the Linux
    // tray notes used): bind /dev/null over it, so dlopen() fails as on a
    // machine without the package. Needs root, as CI runs.
    let lib = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("libayatana-appindicator3.so.1"))
    .find(|p| p.exists())
    .expect("libayatana-appindicator3-1 is installed by scripts/deps.sh");
    let lib = std::fs::canonicalize(lib).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "mount --bind /dev/null '{}' && exec \"$0\" demo",
        lib.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, BIN])
        .env("OVERWATCH_DATA_DIR", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    no_panic(&stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("install libayatana-appindicator3-1"),
        "{stderr}"
    );
    // The library is back for everyone else: the namespace was private.
    assert!(std::fs::metadata(&lib).unwrap().len() > 0);
}

/// Whether the tray's item is registered with the watcher on `bus`.
fn registered(bus: &Bus) -> bool {
    let script = format!("{}/tests/e2e/sni.py", env!("CARGO_MANIFEST_DIR"));
    bus.cmd("/usr/bin/python3")
        .args([&script, "item"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn with_no_tray_host_the_tray_keeps_running_and_registers_when_one_appears() {
    if !support::session("an X display for the tray") {
        return;
    }
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    // The demo on the private bus: no watcher, no notification daemon.
    let mut app = bus
        .cmd(BIN)
        .arg("demo")
        .env("OVERWATCH_DATA_DIR", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("NO_AT_BRIDGE", "1")
        .env("GDK_BACKEND", "x11")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let stderr = app.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut s);
        s
    });
    let mut watchers: Vec<Child> = Vec::new();
    let outcome = (|| -> Result<(), String> {
        std::thread::sleep(Duration::from_secs(3));
        if app.try_wait().unwrap().is_some() {
            return Err("the tray exited without a tray host".into());
        }
        // A watcher appears: the item registers. Then it restarts: the
        // tray survives and registers again.
        for round in ["appeared later", "restarted"] {
            if let Some(mut w) = watchers.pop() {
                let _ = w.kill();
                let _ = w.wait();
                std::thread::sleep(Duration::from_millis(500));
                if app.try_wait().unwrap().is_some() {
                    return Err("the tray died with the watcher".into());
                }
            }
            watchers.push(
                bus.cmd("status-notifier-watcher")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
            if !bus.wait_for("org.kde.StatusNotifierWatcher", 10) {
                return Err("the watcher did not start".into());
            }
            if !eventually(15, || registered(&bus)) {
                return Err(format!(
                    "the tray did not register with a watcher that {round}"
                ));
            }
        }
        if app.try_wait().unwrap().is_some() {
            return Err("the tray exited".into());
        }
        Ok(())
    })();
    for mut w in watchers {
        let _ = w.kill();
        let _ = w.wait();
    }
    kill_group(&mut app, "-TERM");
    let stderr = err_reader.join().unwrap();
    no_panic(&stderr);
    if let Err(e) = outcome {
        panic!("{e}\n--- the tray's stderr ---\n{stderr}");
    }
}

// ---- soak ---------------------------------------------------------------------

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Thousands of checks, each against a randomly chosen fault (silence, a
/// reset, garbage, a slow or rate-limited sim, a refused port, a valid
/// answer), 64 at a time: no panic, every check ends within its timeout, and
/// afterwards no task is left running and no file descriptor is leaked.
#[test]
fn a_soak_of_thousands_of_checks_against_random_faults_leaves_nothing_behind() {
    use overwatch::model::{Service, Status, Target};
    use overwatch::providers::http::{Http, HttpOptions};
    use overwatch::secrets::{KeyRef, NoStore};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fds_before = open_fds();
    let checks = 3000usize;
    let (counts, stats) = rt.block_on(async {
        std::env::set_var("OW_SOAK_TOKEN", sim::DEFAULT_TOKEN);
        let sims: Vec<SimHandle> = {
            let mut v = Vec::new();
            for sc in [
                Scenario::Healthy,
                Scenario::Garbage,
                Scenario::ServerError,
                Scenario::RateLimited {
                    reset_in: Duration::from_secs(30),
                },
                Scenario::Slow(Duration::from_secs(2)),
                Scenario::AuthFailure,
                Scenario::DeployFailing,
            ] {
                v.push(
                    sim::start(SimConfig::default().with_target(TargetKey::netlify("soak"), sc))
                        .await
                        .unwrap(),
                );
            }
            v
        };
        // Raw faults: silence, RST, trickle.
        let raw = |kind: u8| async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = l.local_addr().unwrap().port();
            tokio::spawn(async move {
                while let Ok((mut s, _)) = l.accept().await {
                    tokio::spawn(async move {
                        let mut b = [0u8; 2048];
                        let _ = s.read(&mut b).await;
                        match kind {
                            // Silence (or half an answer) until the client
                            // gives up and closes: this task ends with it.
                            0 => while matches!(s.read(&mut b).await, Ok(n) if n > 0) {},
                            1 => {
                                let _ = s.set_zero_linger();
                            }
                            _ => {
                                let _ = s
                                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n{")
                                    .await;
                                while matches!(s.read(&mut b).await, Ok(n) if n > 0) {}
                            }
                        }
                    });
                }
            });
            port
        };
        let mut bases: Vec<url::Url> = sims.iter().map(|s| s.base_url()).collect();
        for k in 0..3 {
            let port = raw(k).await;
            bases.push(url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap());
        }
        // A port nothing listens on: bind, note, close.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        bases.push(url::Url::parse(&format!("http://127.0.0.1:{closed}/")).unwrap());

        let http = Http::new(HttpOptions {
            total_timeout: Duration::from_millis(300),
            connect_timeout: Duration::from_millis(300),
            // This soak's own limit (64 at a time, below) decides; the
            // per-host limit would make it queue behind the slow hosts for
            // longer, while the other tests of this binary open and close
            // descriptors of their own.
            per_host: 64,
            ..HttpOptions::default()
        })
        .unwrap();
        let tasks_before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let sem = Arc::new(tokio::sync::Semaphore::new(64));
        let mut set = tokio::task::JoinSet::new();
        let mut rng = Rng::seeded();
        for _ in 0..checks {
            let base = bases[rng.below(bases.len() as u64) as usize].clone();
            let http = http.clone();
            let permit = sem.clone().acquire_owned().await.unwrap();
            set.spawn(async move {
                let mut svc = Service::example(
                    "Soak",
                    "svc",
                    Target::Netlify(NetlifyTarget {
                        site: "soak".into(),
                    }),
                    Some(KeyRef::Env("OW_SOAK_TOKEN".into())),
                );
                svc.base_url = Some(base);
                let started = Instant::now();
                let r = http
                    .check(
                        &svc,
                        &NoStore {
                            why: "env only".into(),
                        },
                        time::OffsetDateTime::now_utc(),
                    )
                    .await;
                drop(permit);
                (r.card.status, started.elapsed())
            });
        }
        let mut counts = std::collections::BTreeMap::new();
        let mut slowest = Duration::ZERO;
        while let Some(done) = set.join_next().await {
            let (status, took) = done.expect("no check panicked");
            *counts.entry(format!("{status:?}")).or_insert(0usize) += 1;
            slowest = slowest.max(took);
        }
        drop(http);
        drop(sims);
        // Closed connections' tasks wind down on their own; wait for that
        // (bounded), then count what is left.
        let handle = tokio::runtime::Handle::current();
        for _ in 0..100 {
            if handle.metrics().num_alive_tasks() <= tasks_before + 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let tasks_after = handle.metrics().num_alive_tasks();
        (counts, (tasks_before, tasks_after, slowest))
    });
    let (tasks_before, tasks_after, slowest) = stats;
    let total: usize = counts.values().sum();
    assert_eq!(total, checks, "{counts:?}");
    assert!(
        counts.contains_key(&format!("{:?}", Status::Healthy)),
        "{counts:?}"
    );
    assert!(
        counts.contains_key(&format!("{:?}", Status::Unknown)),
        "{counts:?}"
    );
    assert!(
        slowest < Duration::from_secs(10),
        "a check got stuck for {slowest:?} (timeout 300 ms)"
    );
    // The raw fault servers' own accept loops (3) may still be alive; the
    // checks' tasks and their connections must not be.
    assert!(
        tasks_after <= tasks_before + 3,
        "tasks before {tasks_before}, after {tasks_after}: something is stuck"
    );
    drop(rt);
    let fds_after = open_fds();
    assert!(
        fds_after <= fds_before + 4,
        "file descriptors before {fds_before}, after {fds_after}: a leak"
    );
}

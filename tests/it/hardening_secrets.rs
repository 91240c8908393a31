//! Secrets end to end: a distinctive key in the real keychain and another in an env variable, every command and the tray run with `RUST_LOG=trace` against the simulator, and then neither value appears in any output, log or file; the files Overwatch writes are 0600 and nothing is written outside its config, data and runtime directories.
//!
//! Runs in the private session of `make test` (D-Bus, gnome-keyring, Xvfb,
//! a tray watcher), with a fresh HOME and XDG directories, so "everything
//! Overwatch wrote" is everything under one temporary root.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use overwatch::sim::{self, SimConfig};

const BIN: &str = env!("CARGO_BIN_EXE_overwatch");

struct Env {
    root: tempfile::TempDir,
    kc_secret: String,
    env_secret: String,
    kc_name: String,
}

impl Env {
    fn dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--no-input")
            .args(args)
            .env("HOME", self.dir("home"))
            .env("XDG_CONFIG_HOME", self.dir("config"))
            .env("XDG_DATA_HOME", self.dir("data"))
            .env("XDG_CACHE_HOME", self.dir("cache"))
            .env("XDG_STATE_HOME", self.dir("state"))
            .env("XDG_RUNTIME_DIR", self.dir("run"))
            .env("TMPDIR", self.dir("tmp"))
            .env("OW_HARD_ENV", &self.env_secret)
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .env_remove("OVERWATCH_CONFIG")
            .env_remove("OVERWATCH_DATA_DIR");
        c
    }

    /// Runs a command to completion, with `stdin`; returns stdout + stderr.
    fn run(&self, args: &[&str], stdin: &str) -> (Option<i32>, String) {
        let mut child = self
            .cmd(args)
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
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }

    /// Runs a long-lived command for `secs`, stops it with SIGTERM and
    /// returns its output.
    fn run_for(&self, args: &[&str], secs: u64) -> String {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let o = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = out.read_to_end(&mut s);
            s
        });
        let e = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            s
        });
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let pgid = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &pgid]).status();
        let _ = child.wait();
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.join().unwrap()),
            String::from_utf8_lossy(&e.join().unwrap())
        )
    }

    fn assert_clean(&self, what: &str, text: &str) {
        for s in [&self.kc_secret, &self.env_secret] {
            assert!(
                !text.contains(s.as_str()),
                "a secret leaked in {what}:\n{text}"
            );
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn secrets_never_leave_the_keychain_and_files_stay_private_and_in_place() {
    if !crate::support::session("gnome-keyring, Xvfb, a tray watcher") {
        return;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let pid = std::process::id();
    let env = Env {
        root: tempfile::tempdir().unwrap(),
        kc_secret: format!("kc-Vq7Zx-{pid}-{stamp}-SECRET"),
        env_secret: format!("env-Jm4Rt-{pid}-{stamp}-SECRET"),
        kc_name: format!("ow-hard-{pid}"),
    };
    for d in ["home", "config", "data", "cache", "state", "run", "tmp"] {
        std::fs::create_dir_all(env.dir(d)).unwrap();
    }
    std::fs::set_permissions(env.dir("run"), std::fs::Permissions::from_mode(0o700)).unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(sim::start(
            SimConfig {
                accept_any_target: true,
                ..SimConfig::default()
            }
            .with_token(&env.kc_secret)
            .with_token(&env.env_secret),
        ))
        .unwrap();
    let base = sim.base_url().to_string();
    let kc = env.kc_name.clone();

    // Every command, in the order a user would meet them.
    let steps: Vec<(Vec<&str>, &str)> = vec![
        (vec!["config", "path"], ""),
        (vec!["secret", "set", &kc], &env.kc_secret),
        (vec!["workspace", "add", "Acme"], ""),
        (
            vec![
                "service",
                "add",
                "-w",
                "Acme",
                "--name",
                "Web",
                "--provider",
                "netlify",
                "--site",
                "hard-web",
                "--key",
                &kc,
                "--base-url",
                &base,
            ],
            "",
        ),
        (
            vec![
                "service",
                "add",
                "-w",
                "Acme",
                "--name",
                "API",
                "--provider",
                "railway",
                "--project",
                "hard-api",
                "--key",
                "env:OW_HARD_ENV",
                "--base-url",
                &base,
            ],
            "",
        ),
        (vec!["config", "check"], ""),
        (vec!["workspace", "list"], ""),
        (vec!["workspace", "list", "--json"], ""),
        (vec!["service", "list"], ""),
        (vec!["service", "list", "--json"], ""),
        (vec!["service", "edit", "Web", "--refresh", "2s"], ""),
        (vec!["service", "disable", "API"], ""),
        (vec!["service", "enable", "API"], ""),
        (vec!["secret", "list"], ""),
        (vec!["secret", "list", "--json"], ""),
        (vec!["status"], ""),
        (vec!["status", "--json"], ""),
        (vec!["workspace", "rename", "Acme", "Acme Corp"], ""),
    ];
    let mut transcript = String::new();
    for (args, stdin) in &steps {
        let (code, text) = env.run(args, stdin);
        env.assert_clean(&format!("`overwatch {}`", args.join(" ")), &text);
        transcript.push_str(&text);
        if args[..] == ["status", "--json"] {
            // The keys really were used: both cards are healthy.
            assert_eq!(code, Some(0), "{text}");
            let json = &text[text.find('{').unwrap()..text.rfind('}').unwrap() + 1];
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(v["status"], "healthy", "{text}");
        } else {
            assert!(matches!(code, Some(0)), "`{}`: {text}", args.join(" "));
        }
    }
    // The engine in the terminal, then the tray, each for a few polls.
    let text = env.run_for(&["watch", "--json", "--no-notify"], 4);
    env.assert_clean("`overwatch watch`", &text);
    transcript.push_str(&text);
    let text = env.run_for(&[], 5);
    env.assert_clean("the tray", &text);
    transcript.push_str(&text);
    let (code, text) = env.run(&["secret", "delete", &kc], "");
    env.assert_clean("`overwatch secret delete`", &text);
    assert_eq!(code, Some(0), "{text}");
    // The checks reached the sim with both keys (trace logs are long: the
    // transcript shows they ran).
    assert!(sim.request_count() >= 4, "{}", sim.request_count());
    assert!(
        transcript.contains("TRACE") || transcript.contains("DEBUG"),
        "RUST_LOG=trace produced no logs"
    );

    // Files: only in the config, data and runtime dirs; private; clean.
    let mut files = Vec::new();
    walk(env.root.path(), &mut files);
    let config_dir = env.dir("config").join("overwatch");
    let data_dir = env.dir("data").join("overwatch");
    let run_dir = env.dir("run");
    assert!(files.contains(&config_dir.join("config.toml")), "{files:?}");
    assert!(files.contains(&data_dir.join("state.json")), "{files:?}");
    for f in &files {
        let meta = std::fs::symlink_metadata(f).unwrap();
        if !meta.is_file() {
            // The tray's control socket (`overwatch dashboard` asks it for the
            // page): nothing to read, but only its owner may connect.
            use std::os::unix::fs::FileTypeExt;
            assert!(
                meta.file_type().is_socket(),
                "{} is neither a file nor a socket",
                f.display()
            );
            assert!(
                f.starts_with(&data_dir) || f.starts_with(&run_dir),
                "a socket outside the data and runtime dirs: {}",
                f.display()
            );
            let mode = meta.permissions().mode() & 0o777;
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", f.display());
            continue;
        }
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        env.assert_clean(&f.display().to_string(), &text);
        if f.starts_with(&config_dir) || f.starts_with(&data_dir) {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", f.display());
        } else {
            // The tray's icon images live in the runtime dir (tray-icon's
            // choice, $XDG_RUNTIME_DIR/tray-icon); nothing else anywhere.
            assert!(
                f.starts_with(&run_dir),
                "written outside the config, data and runtime dirs: {}",
                f.display()
            );
        }
    }
    assert!(
        !env.dir("config").join("autostart").exists(),
        "an autostart entry nobody asked for"
    );
}

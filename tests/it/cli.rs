//! The real `overwatch` binary against temporary config files: workspace and service commands, bad input, untouched broken files.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

struct Env {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("overwatch").join("config.toml");
        Env { _dir: dir, path }
    }

    fn with(text: &str) -> Env {
        let e = Env::new();
        std::fs::create_dir_all(e.path.parent().unwrap()).unwrap();
        std::fs::write(&e.path, text).unwrap();
        e
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("overwatch").unwrap();
        c.env("OVERWATCH_CONFIG", &self.path)
            .env_remove("RUST_LOG")
            .arg("--no-input");
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self
            .cmd()
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }
}

#[test]
fn workspaces_are_added_renamed_listed_and_removed() {
    let e = Env::new();
    e.cmd()
        .args(["workspace", "add", "Acme"])
        .assert()
        .success()
        .stderr(predicate::str::contains("added workspace `Acme`"));
    e.ok(&["workspace", "add", "Side project"]);
    e.cmd()
        .args(["workspace", "add", "acme"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    e.ok(&["workspace", "rename", "Side project", "Hobby"]);
    let list = e.json(&["workspace", "list", "--json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Hobby"]);
    e.ok(&["workspace", "remove", "Hobby"]);
    assert!(!e.text().contains("Hobby"));
    e.cmd()
        .args(["workspace", "remove", "Nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no workspace named `Nope`"));
}

fn add_four(e: &Env) {
    e.ok(&[
        "service",
        "add",
        "-w",
        "Acme",
        "--name",
        "API",
        "--provider",
        "railway",
        "--project",
        "3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41",
        "--key",
        "acme-railway",
    ]);
    e.ok(&[
        "service",
        "add",
        "-w",
        "Acme",
        "--name",
        "Traffic",
        "--provider",
        "plausible",
        "--site",
        "example.com",
        "--key",
        "env:PLAUSIBLE_KEY",
        "--base-url",
        "https://plausible.example.org",
    ]);
    e.ok(&[
        "service",
        "add",
        "-w",
        "Acme",
        "--name",
        "Web",
        "--provider",
        "netlify",
        "--site",
        "acme.netlify.app",
        "--key",
        "acme-netlify",
    ]);
    e.ok(&[
        "service",
        "add",
        "-w",
        "Acme",
        "--name",
        "Errors",
        "--provider",
        "sentry",
        "--org",
        "acme",
        "--project",
        "shop-api",
        "--key",
        "acme-sentry",
    ]);
}

#[test]
fn a_workspace_with_one_service_per_provider_is_built_from_the_cli() {
    let e = Env::new();
    add_four(&e);
    let list = e.json(&["service", "list", "--json"]);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let providers: Vec<&str> = rows
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["railway", "plausible", "netlify", "sentry"]);
    assert_eq!(rows[0]["workspace"], "Acme");
    assert_eq!(rows[0]["key"], "acme-railway");
    assert_eq!(rows[0]["id"], "acme/api");
    assert_eq!(
        rows[0]["dashboard_url"],
        "https://railway.com/project/3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41"
    );
    assert_eq!(
        rows[1]["dashboard_url"],
        "https://plausible.example.org/example.com"
    );
    assert_eq!(rows[3]["target"], "acme/shop-api");
    // The file is valid and private.
    e.cmd()
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 workspace, 4 services, 4 keys"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&e.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // No secret value was asked for or written: only references.
    assert!(e.text().contains("key = \"acme-railway\""));
}

#[test]
fn services_are_edited_moved_disabled_and_removed() {
    let e = Env::new();
    add_four(&e);
    e.ok(&[
        "service",
        "edit",
        "API",
        "--environment",
        "staging",
        "--name",
        "Backend",
    ]);
    e.ok(&["service", "disable", "Web"]);
    e.ok(&["service", "move", "Errors", "--position", "1"]);
    e.ok(&["workspace", "add", "Other"]);
    e.ok(&["service", "move", "Traffic", "--to", "Other"]);
    let rows = e.json(&["service", "list", "--json", "-w", "Acme"]);
    let rows = rows.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Errors", "Backend", "Web"]);
    assert_eq!(rows[1]["id"], "acme/api", "rename keeps the id");
    assert_eq!(
        rows[1]["target"],
        "project 3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41 (staging)"
    );
    assert_eq!(rows[2]["enabled"], false);
    let other = e.json(&["service", "list", "--json", "-w", "Other"]);
    assert_eq!(other[0]["name"], "Traffic");
    assert_eq!(other[0]["id"], "acme/traffic", "a move keeps the id");
    e.ok(&["service", "enable", "Web"]);
    e.ok(&["service", "remove", "Backend"]);
    let rows = e.json(&["service", "list", "--json"]);
    assert_eq!(rows.as_array().unwrap().len(), 3);
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["enabled"] == true));
    // Text listing groups by workspace.
    e.cmd()
        .args(["service", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Acme\n").and(predicate::str::contains("Other\n")));
}

#[test]
fn cli_edits_keep_the_users_comments() {
    let e = Env::with(include_str!("../../config.example.toml"));
    e.ok(&["service", "edit", "API", "--environment", "staging"]);
    e.ok(&["workspace", "add", "Third"]);
    let text = e.text();
    for line in include_str!("../../config.example.toml")
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
    {
        assert!(text.contains(line), "lost comment: {line}");
    }
    assert!(text.contains("environment = \"staging\""));
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code() {
    let e = Env::new();
    e.cmd()
        .args([
            "service",
            "add",
            "-w",
            "A",
            "--name",
            "X",
            "--provider",
            "heroku",
            "--site",
            "s",
            "--key",
            "k",
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("unknown provider `heroku`")
                .and(predicate::str::contains("railway")),
        );
    e.cmd()
        .args([
            "service",
            "add",
            "-w",
            "A",
            "--name",
            "X",
            "--provider",
            "sentry",
            "--org",
            "o",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing --project, --key"));
    e.cmd()
        .args(["service", "add", "--name", "X"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("--workspace").and(predicate::str::contains("--provider")),
        );
    e.cmd()
        .args([
            "service",
            "add",
            "-w",
            "A",
            "--name",
            "X",
            "--provider",
            "plausible",
            "--site",
            "s",
            "--key",
            "k",
            "--base-url",
            "http://plausible.example.org",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("plain http"));
    e.cmd()
        .args([
            "service",
            "add",
            "-w",
            "A",
            "--name",
            "X",
            "--provider",
            "netlify",
            "--site",
            "s",
            "--key",
            "bad key",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a valid key name"));
    assert!(!e.path.exists(), "failed commands wrote nothing");
    add_four(&e);
    e.cmd()
        .args([
            "service",
            "add",
            "-w",
            "Acme",
            "--name",
            "api",
            "--provider",
            "netlify",
            "--site",
            "s",
            "--key",
            "k",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "already has a service named `api`",
        ));
    e.cmd()
        .args(["service", "edit", "Nope", "--site", "x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no service named `Nope`"));
    e.cmd()
        .args(["service", "edit", "Web"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing to change"));
    e.cmd()
        .args(["service", "move", "Web", "--position", "0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("positions start at 1"));
    e.cmd()
        .args(["workspace", "remove", "Acme"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("still has 4 services")
                .and(predicate::str::contains("--force")),
        );
    // Usage errors are clap's (exit 2).
    e.cmd().args(["service", "frobnicate"]).assert().code(2);
}

#[test]
fn an_ambiguous_service_name_asks_for_the_workspace() {
    let e = Env::new();
    for ws in ["A", "B"] {
        e.ok(&[
            "service",
            "add",
            "-w",
            ws,
            "--name",
            "Web",
            "--provider",
            "netlify",
            "--site",
            "s",
            "--key",
            "k",
        ]);
    }
    e.cmd()
        .args(["service", "disable", "Web"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("several workspaces (A, B)")
                .and(predicate::str::contains("--workspace")),
        );
    e.ok(&["service", "disable", "Web", "-w", "B"]);
}

const BROKEN: &str = "refresh = \"60s\"\n\n[[workspaces]]\nname = \"Acme\"\n\n[[workspaces.services]]\nname = \"API\"\nprovider = \"railwya\"\nproject = \"p\"\nkey = \"k\"\n";

#[test]
fn a_broken_file_is_reported_with_its_line_and_never_touched() {
    let e = Env::with(BROKEN);
    let commands: &[&[&str]] = &[
        &["config", "check"],
        &["workspace", "add", "New"],
        &["workspace", "rename", "Acme", "B"],
        &["workspace", "remove", "Acme", "--force"],
        &["workspace", "list"],
        &["service", "list"],
        &[
            "service",
            "add",
            "-w",
            "Acme",
            "--name",
            "W",
            "--provider",
            "netlify",
            "--site",
            "s",
            "--key",
            "k",
        ],
        &["service", "edit", "API", "--project", "q"],
        &["service", "remove", "API"],
        &["service", "disable", "API"],
        &["service", "move", "API", "--position", "1"],
        &["config", "init"],
    ];
    let loc = format!("{}:8:12:", e.path.display());
    for args in commands {
        let out = e.cmd().args(*args).assert().failure().get_output().clone();
        let err = String::from_utf8_lossy(&out.stderr);
        if args[..2] != ["config", "init"] {
            assert!(err.contains(&loc), "{args:?}: {err}");
            assert!(
                err.contains("unknown provider `railwya`"),
                "{args:?}: {err}"
            );
        } else {
            assert!(err.contains("already exists"), "{err}");
        }
        assert_eq!(e.text(), BROKEN, "{args:?} changed the file");
    }
    // Unparseable TOML too.
    let torn = "[[workspaces]\nname = \"x\"\n";
    let e = Env::with(torn);
    e.cmd()
        .args(["workspace", "add", "New"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(":1:").and(predicate::str::contains("not valid TOML")));
    assert_eq!(e.text(), torn);
}

#[test]
fn config_path_init_and_check() {
    let e = Env::new();
    e.cmd()
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(format!("{}\n", e.path.display()));
    // --config wins over the environment.
    let other = e.path.with_file_name("other.toml");
    Command::cargo_bin("overwatch")
        .unwrap()
        .env("OVERWATCH_CONFIG", &e.path)
        .args(["--config", other.to_str().unwrap(), "config", "path"])
        .assert()
        .success()
        .stdout(format!("{}\n", other.display()));
    e.cmd().args(["config", "check"]).assert().code(1).stderr(
        predicate::str::contains("no config file")
            .and(predicate::str::contains("overwatch config init")),
    );
    e.ok(&["config", "init"]);
    assert_eq!(e.text(), include_str!("../../config.example.toml"));
    e.cmd()
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "is valid: 2 workspaces, 5 services",
        ));
}

#[test]
fn the_default_path_is_in_the_platform_config_dir() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("overwatch")
        .unwrap()
        .env_remove("OVERWATCH_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("cfg"))
        .args(["config", "path"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let p = PathBuf::from(String::from_utf8(out).unwrap().trim());
    assert!(p.ends_with("overwatch/config.toml"), "{}", p.display());
    // Exactly where confy put it before etcetera replaced it: no file moves.
    #[cfg(target_os = "linux")]
    assert_eq!(p, home.path().join("cfg/overwatch/config.toml"));
    #[cfg(target_os = "linux")]
    {
        let out = Command::cargo_bin("overwatch")
            .unwrap()
            .env_remove("OVERWATCH_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env("HOME", home.path())
            .args(["config", "path"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            home.path()
                .join(".config/overwatch/config.toml")
                .display()
                .to_string()
        );
    }
    // Reading commands never create it.
    Command::cargo_bin("overwatch")
        .unwrap()
        .env_remove("OVERWATCH_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("cfg"))
        .args(["service", "list"])
        .assert()
        .success();
    assert!(!Path::new(&p).exists());
}

/// Drives the binary in a real terminal (tmux) the way a person would.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("ow-test-{}-{n}", std::process::id());
        // A session that just ended can take its tmux server down with it
        // while this one starts: try again briefly.
        for _ in 0..20 {
            let ok = std::process::Command::new("tmux")
                .args([
                    "new-session",
                    "-d",
                    "-s",
                    &name,
                    "-x",
                    "160",
                    "-y",
                    "40",
                    cmd,
                ])
                .status()
                .expect("tmux is installed by scripts/deps.sh")
                .success();
            if ok {
                return Tmux { name };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("tmux could not start");
    }

    /// Whether the terminal's cursor is visible (a selection hides it while it runs).
    fn cursor_visible(&self) -> bool {
        let out = std::process::Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{cursor_flag}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    fn screen(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Waits until the screen shows `text` (at most ~10 s).
    fn wait_for(&self, text: &str) {
        for _ in 0..200 {
            if self.screen().contains(text) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("never saw {text:?} on screen:\n{}", self.screen());
    }

    /// Moves a picker's cursor (❯) down to the item containing `text`.
    fn choose(&self, text: &str) {
        for _ in 0..200 {
            let screen = self.screen();
            if screen
                .lines()
                .any(|l| l.trim_start().starts_with('❯') && l.contains(text))
            {
                return;
            }
            self.keys(&["Down"]);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("never selected {text:?}:\n{}", self.screen());
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.name.as_str()];
        args.extend_from_slice(keys);
        assert!(std::process::Command::new("tmux")
            .args(&args)
            .status()
            .unwrap()
            .success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

#[test]
fn in_a_terminal_service_add_asks_for_what_is_missing() {
    if !crate::support::tool("tmux") {
        return;
    }
    let e = Env::new();
    e.ok(&["workspace", "add", "Acme"]);
    let bin = assert_cmd::cargo::cargo_bin("overwatch");
    let done = e.path.with_file_name("done");
    let t = Tmux::start(&format!(
        "OVERWATCH_CONFIG='{}' '{}' service add --provider sentry; echo exit=$? > '{}'; sleep 5",
        e.path.display(),
        bin.display(),
        done.display()
    ));
    t.wait_for("Workspace");
    t.keys(&["Enter"]); // the first (only) workspace: Acme
    t.wait_for("Service name");
    t.keys(&["Errors", "Enter"]);
    t.wait_for("How should Overwatch follow it?");
    t.keys(&["Enter"]); // the first choice: poll its API
    t.wait_for("Sentry organization slug");
    t.keys(&["acme", "Enter"]);
    t.wait_for("Sentry project slug");
    t.keys(&["shop-api", "Enter"]);
    t.wait_for("base URL");
    t.keys(&["http://sentry.example.org", "Enter"]); // refused: plain http
    t.wait_for("unencrypted");
    t.keys(&["https://de.sentry.io", "Enter"]);
    t.wait_for("API key for this Sentry service");
    // The last choice, an environment variable.
    t.choose("Use an environment variable");
    t.keys(&["Enter"]);
    t.wait_for("Environment variable name");
    t.keys(&["Enter"]); // accept the suggested SENTRY_TOKEN
    for _ in 0..200 {
        if done.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "exit=0",
        "{}",
        t.screen()
    );
    let rows = e.json(&["service", "list", "--json"]);
    assert_eq!(rows[0]["name"], "Errors");
    assert_eq!(rows[0]["workspace"], "Acme");
    assert_eq!(rows[0]["target"], "acme/shop-api");
    assert_eq!(rows[0]["key"], "env:SENTRY_TOKEN");
    assert!(e.text().contains("base_url = \"https://de.sentry.io\""));
}

/// `overwatch completions SHELL` prints a script built from the clap
/// definitions: every shell clap_complete knows, naming the subcommands and flags.
#[test]
fn completions_are_printed_for_every_shell() {
    let e = Env::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = e.ok(&["completions", shell]);
        for word in [
            "overwatch",
            "service",
            "secret",
            "workspace",
            "color",
            "completions",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // The bash script is valid bash.
    let bash = e.ok(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("overwatch.bash");
    std::fs::write(&f, &bash).unwrap();
    let ok = std::process::Command::new("bash")
        .arg("-n")
        .arg(&f)
        .status()
        .unwrap();
    assert!(ok.success());
    e.cmd()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values"));
}

/// The packagers' `overwatch manpages DIR`: one page per command,
/// the main page with real FILES / ENVIRONMENT / EXIT STATUS sections.
#[test]
fn man_pages_cover_every_command() {
    let e = Env::new();
    let dir = tempfile::tempdir().unwrap();
    e.cmd()
        .arg("manpages")
        .arg(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("man pages to"));
    let page = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    for name in [
        "overwatch.1",
        "overwatch-service.1",
        "overwatch-service-add.1",
        "overwatch-secret-set.1",
        "overwatch-status.1",
        "overwatch-completions.1",
    ] {
        assert!(page(name).starts_with(".ie"), "{name} is roff");
    }
    assert!(!dir.path().join("overwatch-help.1").exists());
    let main = page("overwatch.1");
    for section in [
        ".SH FILES",
        ".SH ENVIRONMENT",
        ".SH EXIT STATUS",
        ".SH SEE ALSO",
    ] {
        assert!(main.contains(section), "{section} in overwatch.1");
    }
    assert!(
        page("overwatch-secret-set.1").contains("as a service"),
        "the NAME help"
    );
    // Rendered by man itself where it is installed (the package test reads them installed).
    if crate::support::tool("man") {
        let out = std::process::Command::new("man")
            .env("MANWIDTH", "80")
            .arg("-l")
            .arg(dir.path().join("overwatch-service-move.1"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("--position"), "{text}");
        assert!(text.contains("1-based position"), "{text}");
    }
}

/// `service list` is a table that fits the terminal: a 36-character Railway
/// id and a long name are cut with "…" instead of wrapping, and the columns
/// still line up; into a pipe (no COLUMNS) nothing is cut.
#[test]
fn service_list_fits_the_terminal_width() {
    let long_name = "A service with a rather long name for a tray menu";
    let e = Env::with(&format!(
        r#"
[[workspaces]]
name = "Acme"

[[workspaces.services]]
name = "{long_name}"
provider = "railway"
project = "3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41"
key = "acme-railway"

[[workspaces.services]]
name = "Web"
provider = "netlify"
site = "acme.netlify.app"
key = "env:NETLIFY_TOKEN"
enabled = false
"#
    ));
    let list = |cols: Option<&str>| {
        let mut c = e.cmd();
        match cols {
            Some(n) => c.env("COLUMNS", n),
            None => c.env_remove("COLUMNS"),
        };
        let out = c
            .args(["service", "list"])
            .assert()
            .success()
            .get_output()
            .clone();
        String::from_utf8(out.stdout).unwrap()
    };
    let full = list(None);
    assert!(
        full.contains("3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41"),
        "{full}"
    );
    assert!(full.contains(long_name), "{full}");
    for cols in ["100", "80", "60"] {
        let out = list(Some(cols));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Acme");
        for l in &lines {
            assert!(
                l.chars().count() <= cols.parse().unwrap(),
                "wider than {cols}: {l:?}"
            );
        }
        // The provider column starts at the same place on both rows.
        let at = |l: &str, w: &str| l.find(w).map(|b| l[..b].chars().count());
        assert_eq!(at(lines[1], "railway"), at(lines[2], "netlify"), "{out}");
        assert!(lines[1].contains('…'), "cut at {cols}: {out}");
        assert!(
            lines[2].contains("disabled") || lines[2].contains('…'),
            "{out}"
        );
    }
}

/// The CLI's target flags come from the provider registry: every field of
/// every provider has a flag, and a service of every provider can be added
/// with its spec's example values (a new provider needs no CLI change).
#[test]
fn every_registered_provider_is_added_through_its_own_field_flags() {
    use overwatch::model::Provider;
    let help = Env::new().ok(&["service", "add", "--help"]);
    let e = Env::new();
    for (i, p) in Provider::ALL.into_iter().enumerate() {
        let name = format!("S{i}");
        let mut args: Vec<String> = [
            "service",
            "add",
            "-w",
            "All",
            "--name",
            &name,
            "--provider",
            p.as_str(),
            "--key",
            "env:K",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (k, v) in p.spec().example_values(i) {
            let flag = p.spec().field(&k).unwrap().flag();
            assert!(help.contains(&flag), "{flag} missing from\n{help}");
            args.push(flag);
            args.push(v);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        e.ok(&args);
    }
    let rows = e.json(&["service", "list", "--json"]);
    let providers: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    let all: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(providers, all);

    // A flag of another provider's field is refused, naming what this one takes.
    let (p, other) = Provider::ALL
        .iter()
        .flat_map(|p| Provider::ALL.iter().map(move |o| (*p, *o)))
        .find_map(|(p, o)| {
            o.spec()
                .fields
                .iter()
                .find(|f| p.spec().field(f.key).is_none())
                .map(|f| (p, f))
        })
        .expect("two providers with different fields");
    let mut args: Vec<String> = [
        "service",
        "add",
        "-w",
        "All",
        "--name",
        "X",
        "--provider",
        p.as_str(),
        "--key",
        "env:K",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (k, v) in p.spec().example_values(9) {
        args.push(p.spec().field(&k).unwrap().flag());
        args.push(v);
    }
    args.push(other.flag());
    args.push("x".into());
    e.cmd().args(&args).assert().failure().stderr(
        predicate::str::contains(other.flag())
            .and(predicate::str::contains(format!("not used by {p}"))),
    );
}

/// Interactive `service add` asks whether to poll the API or only link to the
/// dashboard (link-only needs no key), and asks Railway's environment.
#[test]
fn in_a_terminal_service_add_asks_link_only_or_api_and_railways_environment() {
    if !crate::support::tool("tmux") {
        return;
    }
    let e = Env::new();
    e.ok(&["workspace", "add", "Acme"]);
    let bin = assert_cmd::cargo::cargo_bin("overwatch");
    let done = e.path.with_file_name("done-link");
    let t = Tmux::start(&format!(
        "OVERWATCH_CONFIG='{}' '{}' service add -w Acme --name Shop --provider railway; echo exit=$? > '{}'; sleep 5",
        e.path.display(),
        bin.display(),
        done.display()
    ));
    t.wait_for("How should Overwatch follow it?");
    t.keys(&["Down", "Enter"]); // link only
    t.wait_for("Railway project id");
    t.keys(&["3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41", "Enter"]);
    t.wait_for("Railway environment");
    t.keys(&["C-u", "staging", "Enter"]);
    for _ in 0..200 {
        if done.exists() {
            break;
        }
        // Questions this service does not need are skipped; answer any other with its default.
        if t.screen().contains("Railway token kind") {
            t.keys(&["Enter"]);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "exit=0",
        "{}",
        t.screen()
    );
    assert!(
        !t.screen().contains("API key for this"),
        "a link-only service needs no key: {}",
        t.screen()
    );
    let rows = e.json(&["service", "list", "--json"]);
    assert_eq!(rows[0]["mode"], "link", "{rows}");
    assert!(rows[0]["key"].is_null(), "{rows}");
    assert_eq!(
        rows[0]["target"], "project 3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41 (staging)",
        "{rows}"
    );
}

/// Ctrl-C at a question ends the command with 130 and leaves the terminal as
/// it was: the cursor a selection hid is shown again, and after the hidden
/// key prompt typed text echoes again.
#[test]
fn ctrl_c_at_a_question_restores_the_terminal() {
    if !crate::support::tool("tmux") {
        return;
    }
    let e = Env::new();
    e.ok(&["workspace", "add", "Acme"]);
    let bin = assert_cmd::cargo::cargo_bin("overwatch");
    let done = e.path.with_file_name("done-ctrl-c");
    // At a selection (the cursor is hidden while it runs).
    let t = Tmux::start(&format!(
        "OVERWATCH_CONFIG='{}' '{}' service add -w Acme --name X; echo exit=$? > '{}'; exec cat",
        e.path.display(),
        bin.display(),
        done.display()
    ));
    t.wait_for("Provider");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!t.cursor_visible(), "the selection hides the cursor");
    t.keys(&["C-c"]);
    for _ in 0..100 {
        if done.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "exit=130",
        "{}",
        t.screen()
    );
    assert!(t.cursor_visible(), "the cursor is back: {}", t.screen());
    drop(t);

    // At the hidden key prompt (echo off while it runs).
    let done = e.path.with_file_name("done-ctrl-c-2");
    let t = Tmux::start(&format!(
        "OVERWATCH_CONFIG='{}' '{}' secret set some-key; echo exit=$? > '{}'; exec cat",
        e.path.display(),
        bin.display(),
        done.display()
    ));
    t.wait_for("input hidden");
    t.keys(&["C-c"]);
    for _ in 0..100 {
        if done.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "exit=130",
        "{}",
        t.screen()
    );
    // `cat` now reads the terminal: what is typed shows, so echo is back on.
    t.keys(&["echo-is-back"]);
    t.wait_for("echo-is-back");
}

/// A Plausible site pasted as its URL is read as its domain, and the user is
/// told; the URL of a page is refused; a config file with a URL is reported at
/// its line with the fix (nothing rewrites a hand-written file).
#[test]
fn a_plausible_site_given_as_a_url_is_its_domain_and_says_so() {
    let e = Env::new();
    let out = e
        .cmd()
        .args([
            "service",
            "add",
            "-w",
            "Acme",
            "--name",
            "Traffic",
            "--provider",
            "plausible",
        ])
        .args([
            "--site",
            "https://Example.com/",
            "--key",
            "env:PLAUSIBLE_KEY",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("note: --site: `https://Example.com/` is a URL")
            && err.contains("`example.com`"),
        "{err}"
    );
    assert!(e.text().contains("site = \"example.com\""), "{}", e.text());
    e.cmd()
        .args([
            "service",
            "edit",
            "Traffic",
            "--site",
            "https://example.com/blog",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the URL of a page"));
    assert!(
        e.text().contains("site = \"example.com\""),
        "unchanged: {}",
        e.text()
    );

    let f = Env::with(
        "[[workspaces]]\nname = \"Acme\"\n\n[[workspaces.services]]\nname = \"Traffic\"\nprovider = \"plausible\"\nsite = \"https://example.com/\"\nkey = \"env:K\"\n",
    );
    f.cmd().args(["config", "check"]).assert().code(1).stderr(
        predicate::str::contains("config.toml:7:")
            .and(predicate::str::contains("write `site = \"example.com\"`")),
    );
}

fn keyring_lookup(name: &str) -> Option<String> {
    let out = std::process::Command::new("secret-tool")
        .args(["lookup", "service", "overwatch", "username", name])
        .output()
        .expect("secret-tool (libsecret-tools) is installed by the test setup");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

/// `service add` in a terminal against the real keychain: the key picker
/// offers the key named for the provider (not the first name, a Netlify
/// token for a Railway service); a new key gets a free name from workspace
/// and provider, and typing the name of an existing entry asks before
/// replacing it — No keeps the other service's key.
#[test]
fn in_a_terminal_the_key_picker_offers_the_right_key_and_never_overwrites_silently() {
    if !crate::support::session("an unlocked gnome-keyring") || !crate::support::tool("tmux") {
        return;
    }
    let e = Env::new();
    let ws = format!("Kt{}", std::process::id());
    let slug = ws.to_lowercase();
    let (netlify, railway, sentry) = (
        format!("{slug}-netlify"),
        format!("{slug}-railway"),
        format!("{slug}-sentry"),
    );
    for k in [&netlify, &railway] {
        e.cmd()
            .args(["secret", "set", k])
            .write_stdin("v1-kept")
            .assert()
            .success();
    }
    let bin = assert_cmd::cargo::cargo_bin("overwatch");
    let run = |args: &str, done: &Path| {
        Tmux::start(&format!(
            "OVERWATCH_CONFIG='{}' '{}' service add -w {ws} {args}; echo exit=$? > '{}'; sleep 5",
            e.path.display(),
            bin.display(),
            done.display()
        ))
    };
    let wait_done = |done: &Path, t: &Tmux| {
        for _ in 0..200 {
            if done.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(
            std::fs::read_to_string(done).unwrap_or_default().trim(),
            "exit=0",
            "{}",
            t.screen()
        );
    };

    // A Railway service: Enter takes the pre-selected key.
    let done1 = e.path.with_file_name("done1");
    let t = run("--mode api --provider railway --name Api --project p --environment production --token-kind account", &done1);
    t.wait_for("API key for this Railway service");
    assert!(
        t.screen()
            .lines()
            .any(|l| l.trim_start().starts_with('❯') && l.contains(&railway)),
        "the Railway key is offered first:\n{}",
        t.screen()
    );
    t.keys(&["Enter"]);
    wait_done(&done1, &t);
    drop(t);

    // A Sentry service: no key is named for it, so "Store a new key…" is
    // pre-selected with a fresh name; the name of an existing entry is
    // refused unless the user says to replace it.
    let done2 = e.path.with_file_name("done2");
    let t = run(
        "--mode api --provider sentry --name Errors --org o --project p",
        &done2,
    );
    t.wait_for("base URL");
    t.keys(&["Enter"]);
    t.wait_for("API key for this Sentry service");
    assert!(
        t.screen()
            .lines()
            .any(|l| l.trim_start().starts_with('❯') && l.contains("Store a new key")),
        "{}",
        t.screen()
    );
    t.keys(&["Enter"]);
    t.wait_for("Name for the new key");
    assert!(
        t.screen().contains(&sentry),
        "the fresh name is offered:\n{}",
        t.screen()
    );
    t.keys(&[railway.as_str(), "Enter"]);
    t.wait_for("Replace it?");
    t.keys(&["Enter"]); // No (the default)
    for _ in 0..100 {
        if t.screen().matches("Name for the new key").count() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    t.keys(&["Enter"]); // the fresh name
    t.wait_for("input hidden");
    t.keys(&["v2-new", "Enter"]);
    wait_done(&done2, &t);
    drop(t);

    let rows = e.json(&["service", "list", "--json"]);
    let key_of = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["key"].as_str().unwrap().to_string())
    };
    assert_eq!(key_of("Api").as_deref(), Some(railway.as_str()));
    assert_eq!(key_of("Errors").as_deref(), Some(sentry.as_str()));
    assert_eq!(
        keyring_lookup(&railway).as_deref(),
        Some("v1-kept"),
        "not overwritten"
    );
    assert_eq!(keyring_lookup(&sentry).as_deref(), Some("v2-new"));
    for k in [&netlify, &railway, &sentry] {
        e.cmd().args(["secret", "delete", k]).assert().success();
    }
}

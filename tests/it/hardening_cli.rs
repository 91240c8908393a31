//! The command line under hostile conditions: parallel edits, oversized results, CRLF files, full disks and closed pipes, odd names — nothing lost, nothing half-written, a clear message and a 0–3 exit code.

use std::path::PathBuf;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_overwatch");

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
        let mut c = Command::new(BIN);
        c.env("OVERWATCH_CONFIG", &self.path)
            .env_remove("RUST_LOG")
            .arg("--no-input");
        c
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let o = self.cmd().args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }
}

fn add_args(ws: &str, name: &str) -> Vec<String> {
    [
        "service",
        "add",
        "-w",
        ws,
        "--name",
        name,
        "--provider",
        "plausible",
        "--site",
        "example.com",
        "--key",
        "env:PLAUSIBLE_KEY",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn twenty_parallel_service_adds_all_survive() {
    // From no file at all: the first writers also race to create the file
    // and the workspace.
    let e = Env::new();
    let children: Vec<_> = (0..20)
        .map(|i| {
            e.cmd()
                .args(add_args("Acme", &format!("svc-{i:02}")))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let text = String::from_utf8(e.bytes()).unwrap();
    let c = overwatch::config::parse(&text, &e.path).unwrap();
    let mut names: Vec<String> = c.services().map(|s| s.name.clone()).collect();
    names.sort();
    let want: Vec<String> = (0..20).map(|i| format!("svc-{i:02}")).collect();
    assert_eq!(names, want, "{text}");
    assert_eq!(c.workspaces.len(), 1, "{text}");
    // The lock file is private and sits beside the config.
    let lock = e.path.with_file_name(".config.toml.lock");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&lock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn an_edit_replays_onto_a_file_changed_since_it_was_read_or_fails_writing_nothing() {
    use overwatch::config::{Editor, ServiceFields};
    let e = Env::with("[[workspaces]]\nname = \"Acme\"\n");
    let mut mine = Editor::open(&e.path).unwrap();
    mine.add_workspace("Mine").unwrap();
    // Someone else saves first.
    let mut theirs = Editor::open(&e.path).unwrap();
    theirs.add_workspace("Theirs").unwrap();
    theirs.save().unwrap();
    mine.save().unwrap();
    let c = overwatch::config::load(&e.path).unwrap();
    let names: Vec<&str> = c.workspaces.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["Acme", "Theirs", "Mine"]);
    // A change that no longer applies: refused, the other edit kept.
    let mut mine = Editor::open(&e.path).unwrap();
    mine.add_service(
        "Theirs",
        &ServiceFields {
            name: Some("Web".into()),
            provider: Some(overwatch::model::Provider::Netlify),
            target: [("site".to_string(), "a.netlify.app".to_string())].into(),
            key: Some("env:K".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let mut theirs = Editor::open(&e.path).unwrap();
    theirs.remove_workspace("Theirs", false).unwrap();
    theirs.save().unwrap();
    let before = e.bytes();
    let err = mine.save().unwrap_err().to_string();
    assert!(
        err.contains("changed by another edit") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(e.bytes(), before);
}

#[test]
fn an_edit_that_would_pass_the_read_cap_is_refused_and_the_file_untouched() {
    let cap = overwatch::config::MAX_CONFIG_BYTES;
    let head = "[[workspaces]]\nname = \"Acme\"\n# ";
    let mut text = String::from(head);
    text.push_str(&"x".repeat(cap - head.len() - 100));
    text.push('\n');
    let e = Env::with(&text);
    let long = "W".repeat(200);
    let (code, _, err) = e.run(&["workspace", "add", &long]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("is at most 1048576 bytes") && err.contains("left as it was"),
        "{err}"
    );
    assert_eq!(e.bytes(), text.as_bytes());
    // Commands still read it, and a small change still fits.
    let (code, _, err) = e.run(&["workspace", "add", "B"]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn an_edit_keeps_crlf_line_endings_and_a_byte_order_mark() {
    let original = "\u{feff}# Written on Windows\r\n[[workspaces]]\r\nname = \"Acme\" # ours\r\n";
    let e = Env::with(original);
    let (code, _, err) = e.run(
        &add_args("Acme", "Traffic")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = e.run(&["workspace", "add", "Second"]);
    assert_eq!(code, Some(0), "{err}");
    let text = String::from_utf8(e.bytes()).unwrap();
    assert!(
        text.starts_with("\u{feff}# Written on Windows\r\n"),
        "{text:?}"
    );
    assert_eq!(text.matches('\u{feff}').count(), 1, "{text:?}");
    assert!(text.contains("name = \"Acme\" # ours\r\n"), "{text:?}");
    assert!(text.contains("name = \"Traffic\"\r\n"), "{text:?}");
    assert!(text.contains("name = \"Second\"\r\n"), "{text:?}");
    // Every line ending is CRLF: no bare LF was introduced.
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "{text:?}"
    );
    // An LF file stays LF, without a BOM.
    let e = Env::with("[[workspaces]]\nname = \"Acme\"\n");
    e.run(&["workspace", "add", "Second"]);
    let text = String::from_utf8(e.bytes()).unwrap();
    assert!(
        !text.contains('\r') && !text.starts_with('\u{feff}'),
        "{text:?}"
    );
    assert!(text.contains("name = \"Second\"\n"), "{text:?}");
}

#[test]
fn sim_write_config_never_replaces_a_file_without_force() {
    let e = Env::with("[[workspaces]]\nname = \"Real\"\n");
    let before = e.bytes();
    let (code, out, err) = e.run(&[
        "sim",
        "--port",
        "0",
        "--write-config",
        e.path.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(e.bytes(), before);
    // With --force it is replaced (the simulator then runs until killed).
    let mut child = e
        .cmd()
        .args(["sim", "--port", "0", "--force", "--write-config"])
        .arg(&e.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut replaced = false;
    for _ in 0..200 {
        if std::fs::read(&e.path).unwrap() != before {
            replaced = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(replaced, "--force did not replace the file");
}

fn secret_set(e: &Env, input: &[u8]) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = e
        .cmd()
        .args(["secret", "set", "ow-hardening-never-stored"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The command may stop reading at the cap: a broken pipe here is fine.
    let _ = stdin.write_all(input);
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn secret_set_refuses_an_oversized_or_multi_line_value_instead_of_storing_it_mangled() {
    let e = Env::new();
    let (code, err) = secret_set(&e, &vec![b'x'; 64 * 1024 + 1]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("longer than 64 KiB") && err.contains("nothing was stored"),
        "{err}"
    );
    let (code, err) = secret_set(&e, b"first-line\nsecond-line\n");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("a line break") && err.contains("HTTP header"),
        "{err}"
    );
    let (code, err) = secret_set(&e, b"tok\x1b[2Jen");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("U+001B"), "{err}");
}

const LISTED: &str = r#"[[workspaces]]
name = "Acme"

[[workspaces.services]]
name = "Docs"
provider = "netlify"
site = "docs.netlify.app"
mode = "link"

[[workspaces.services]]
name = "Traffic"
provider = "plausible"
site = "example.com"
key = "env:OW_NEVER_SET"
enabled = false
"#;

/// Runs a command with stdout a pipe whose reader is already gone (EPIPE on
/// the first write), or /dev/full (ENOSPC).
fn with_stdout(e: &Env, args: &[&str], stdout: Stdio) -> (Option<i32>, String) {
    let o = e
        .cmd()
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

#[test]
fn a_closed_pipe_is_a_quiet_exit_and_a_full_disk_exit_3_never_a_panic() {
    let e = Env::with(LISTED);
    let (status_code, _, err) = e.run(&["status"]);
    assert!(matches!(status_code, Some(0..=3)), "{err}");
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["service", "list"],
        &["service", "list", "--json"],
        &["workspace", "list"],
        &["config", "path"],
    ] {
        // EPIPE: quiet; status keeps its verdict, the others exit 0.
        let (code, err) = with_stdout(&e, args, closed_pipe());
        let want = if args[0] == "status" {
            status_code
        } else {
            Some(0)
        };
        assert_eq!(code, want, "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("error"),
            "{args:?}: {err}"
        );
        // ENOSPC: exit 3 and the reason on stderr.
        let (code, err) = with_stdout(&e, args, dev_full());
        assert_eq!(code, Some(3), "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output") && err.contains("No space left"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reports_a_full_disk_instead_of_exiting_0() {
    use overwatch::sim::{self, Scenario, SimConfig, TargetKey};
    let sim = sim::start(
        SimConfig::default().with_target(TargetKey::railway("full-api"), Scenario::Crash),
    )
    .await
    .unwrap();
    let text = format!(
        "refresh = \"1s\"\n\n[[workspaces]]\nname = \"Acme\"\n\n[[workspaces.services]]\nname = \"API\"\nprovider = \"railway\"\nproject = \"full-api\"\nkey = \"env:OW_FULL_TOKEN\"\nbase_url = \"{}\"\n",
        sim.base_url()
    );
    let e = Env::with(&text);
    let dir = e.path.parent().unwrap().to_path_buf();
    let mut cmd = e.cmd();
    cmd.args(["watch", "--no-notify"])
        .env("OW_FULL_TOKEN", sim::DEFAULT_TOKEN)
        .env("OVERWATCH_DATA_DIR", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(dev_full())
        .stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        // If it never notices, stop it after 30 s (the assertion then fails).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("cannot write to standard output") && err.contains("No space left"),
        "{err}"
    );
}

fn ids(e: &Env) -> Vec<(String, String)> {
    let (code, out, err) = e.run(&["service", "list", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn names_that_slug_alike_get_distinct_stable_ids_and_id_can_be_set() {
    let e = Env::with("[[workspaces]]\nname = \"W\"\n\n[[workspaces.services]]\nname = \"Acme Co\"\nprovider = \"plausible\"\nsite = \"a.example\"\nkey = \"env:K\"\n");
    let add = |name: &str| {
        let (code, _, err) = e.run(
            &add_args("W", name)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert_eq!(code, Some(0), "{name}: {err}");
    };
    for n in ["Acme-Co", "🚀", "🔥"] {
        add(n);
    }
    let got = ids(&e);
    // The id that was derivable before stays as it was.
    assert_eq!(got[0], ("Acme Co".into(), "w/acme-co".into()));
    let all: std::collections::HashSet<&str> = got.iter().map(|(_, i)| i.as_str()).collect();
    assert_eq!(all.len(), 4, "{got:?}");
    assert!(got[1].1.starts_with("w/acme-co-"), "{got:?}");
    // Removing the first does not move its neighbour onto its id.
    let before = ids(&e);
    let (code, _, err) = e.run(&["service", "remove", "Acme Co"]);
    assert_eq!(code, Some(0), "{err}");
    let after = ids(&e);
    assert_eq!(after, before[1..].to_vec());
    // "Äpi" and "äpi" are one name: lookup and uniqueness fold alike.
    add("Äpi");
    let (code, _, err) = e.run(
        &add_args("W", "äpi")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("already has a service named"), "{err}");
    let (code, _, err) = e.run(&["service", "disable", "äpi"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = e.run(&["workspace", "add", "w"]);
    assert_eq!(code, Some(1), "{err}");
    // --id sets one; a taken id is refused with a way out.
    let mut args = add_args("W", "Custom");
    args.extend(["--id".to_string(), "my/custom".to_string()]);
    let (code, _, err) = e.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(0), "{err}");
    assert!(ids(&e).contains(&("Custom".into(), "my/custom".into())));
    let mut args = add_args("W", "Other");
    args.extend(["--id".to_string(), "my/custom".to_string()]);
    let (code, _, err) = e.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("already has the id `my/custom`") && err.contains("--id"),
        "{err}"
    );
    let (code, _, err) = e.run(&["service", "edit", "Custom", "--id", "mine"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(ids(&e).contains(&("Custom".into(), "mine".into())));
}

#[test]
fn a_hand_written_file_with_names_that_slug_alike_is_valid() {
    let text = "[[workspaces]]\nname = \"🚀\"\n\n[[workspaces.services]]\nname = \"Acme Co\"\nprovider = \"plausible\"\nsite = \"a.example\"\nkey = \"env:K\"\n\n[[workspaces.services]]\nname = \"Acme-Co\"\nprovider = \"plausible\"\nsite = \"b.example\"\nkey = \"env:K\"\n\n[[workspaces]]\nname = \"🔥\"\n\n[[workspaces.services]]\nname = \"Acme Co\"\nprovider = \"plausible\"\nsite = \"c.example\"\nkey = \"env:K\"\n\n[[workspaces.services]]\nname = \"x\"\nid = \"/acme-co\"\nprovider = \"plausible\"\nsite = \"d.example\"\nkey = \"env:K\"\n";
    let c = overwatch::config::parse(text, std::path::Path::new("t.toml")).unwrap();
    let ids: Vec<String> = c.services().map(|s| s.id.0.clone()).collect();
    // An id written out is never taken by a derived one.
    assert_eq!(ids[3], "/acme-co");
    assert!(
        ids[..3]
            .iter()
            .all(|i| i != "/acme-co" && i.starts_with("/acme-co")),
        "{ids:?}"
    );
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 4, "{ids:?}");
}

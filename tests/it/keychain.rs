//! Secrets against a real Secret Service (gnome-keyring in the test session): set, read back, delete, list, and never printed.
//!
//! The keyring tests run through `make test` (or `scripts/session.sh cargo test
//! --test it keychain::`), which starts a private D-Bus session with an unlocked
//! gnome-keyring; outside it they skip, so a plain `cargo test` never touches
//! the user's own keychain.

use std::process::Command as Std;

use assert_cmd::Command;
use overwatch::desktop::keychain::Keychain;
use overwatch::secrets::{resolve, KeyRef, Secret, SecretError, SecretStore};
use predicates::prelude::*;
use serde_json::Value;

fn unique(name: &str) -> String {
    format!("ow-test-{}-{name}", std::process::id())
}

/// Reads an entry the way any other Secret Service client would.
fn secret_tool_lookup(name: &str) -> Option<String> {
    let out = Std::new("secret-tool")
        .args(["lookup", "service", "overwatch", "username", name])
        .output()
        .expect("secret-tool (libsecret-tools) is installed by the test setup");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

#[test]
fn the_store_sets_reads_back_lists_and_deletes_through_the_secret_service() {
    if !crate::support::session("an unlocked gnome-keyring") {
        return;
    }
    let kc = Keychain::open().expect("a real keychain backend, not the mock store");
    assert!(kc.backend().contains("Secret Service"), "{}", kc.backend());
    let name = unique("store");
    kc.set(&name, &Secret::new("tok-store-1")).unwrap();
    assert_eq!(kc.get(&name).unwrap().expose(), "tok-store-1");
    // Another client sees the same entry: it is really in the keyring.
    assert_eq!(secret_tool_lookup(&name).as_deref(), Some("tok-store-1"));
    assert!(kc.list().unwrap().contains(&name));
    // Overwrite.
    kc.set(&name, &Secret::new("tok-store-2")).unwrap();
    assert_eq!(kc.get(&name).unwrap().expose(), "tok-store-2");
    assert!(kc.delete(&name).unwrap());
    assert!(!kc.delete(&name).unwrap());
    assert_eq!(secret_tool_lookup(&name), None);
    match kc.get(&name) {
        Err(SecretError::Missing { name: n }) => assert_eq!(n, name),
        other => panic!("expected Missing, got {other:?}"),
    }
    let err = resolve(&KeyRef::Keychain(name.clone()), &kc).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("key `{name}` is not in the keychain: run `overwatch secret set {name}`")
    );
}

fn cli(config: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("overwatch").unwrap();
    c.env("OVERWATCH_CONFIG", config).arg("--no-input");
    c
}

#[test]
fn the_cli_stores_lists_and_deletes_keys_and_never_prints_them() {
    if !crate::support::session("an unlocked gnome-keyring") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let railway = unique("railway");
    let netlify = unique("netlify");
    let value = format!("sekrit-{}-value", std::process::id());
    let env_value = format!("env-sekrit-{}", std::process::id());
    let mut outputs: Vec<String> = Vec::new();
    let mut run = |c: &mut Command, code: i32| {
        let out = c
            .env("RUST_LOG", "trace")
            .assert()
            .code(code)
            .get_output()
            .clone();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let both = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        outputs.push(both.clone());
        (stdout, both)
    };

    let (_, note) = run(
        cli(&config).args([
            "service",
            "add",
            "-w",
            "Acme",
            "--name",
            "API",
            "--provider",
            "railway",
            "--project",
            "p1",
            "--key",
            &railway,
        ]),
        0,
    );
    assert!(
        note.contains(&format!("run `overwatch secret set {railway}`")),
        "add warns about the missing key: {note}"
    );
    run(
        cli(&config).args([
            "service",
            "add",
            "-w",
            "Acme",
            "--name",
            "Web",
            "--provider",
            "netlify",
            "--site",
            "s",
            "--key",
            &netlify,
        ]),
        0,
    );
    run(
        cli(&config).args([
            "service",
            "add",
            "-w",
            "Acme",
            "--name",
            "Traffic",
            "--provider",
            "plausible",
            "--site",
            "s",
            "--key",
            "env:OW_TEST_PLAUSIBLE",
        ]),
        0,
    );

    // Piped value, with the newline `echo` adds.
    let (_, stored) = run(
        cli(&config)
            .args(["-v", "secret", "set", &railway])
            .write_stdin(format!("{value}\n")),
        0,
    );
    assert!(
        stored.contains("Secret Service"),
        "backend is logged: {stored}"
    );
    assert_eq!(
        secret_tool_lookup(&railway).as_deref(),
        Some(value.as_str())
    );

    // The list names every reference with its state; one missing → exit 1.
    let (listed, _) = run(
        cli(&config)
            .args(["secret", "list", "--json"])
            .env("OW_TEST_PLAUSIBLE", &env_value),
        1,
    );
    let rows: Value = serde_json::from_str(&listed).unwrap();
    let state = |n: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .map(|r| r["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state(&railway).as_deref(), Some("found"));
    assert_eq!(state(&netlify).as_deref(), Some("missing"));
    assert_eq!(state("env:OW_TEST_PLAUSIBLE").as_deref(), Some("found"));

    let (_, text) = run(cli(&config).args(["secret", "list"]), 1);
    assert!(
        text.contains(&format!("run `overwatch secret set {netlify}`")),
        "{text}"
    );

    // An empty value is refused and stores nothing.
    run(
        cli(&config)
            .args(["secret", "set", &netlify])
            .write_stdin("\n"),
        1,
    );
    assert_eq!(secret_tool_lookup(&netlify), None);

    run(
        cli(&config)
            .args(["secret", "set", &netlify])
            .write_stdin(value.as_str()),
        0,
    );
    let (_, all_found) = run(
        cli(&config)
            .args(["secret", "list"])
            .env("OW_TEST_PLAUSIBLE", &env_value),
        0,
    );
    assert!(!all_found.contains("missing"), "{all_found}");

    run(cli(&config).args(["secret", "delete", &railway]), 0);
    assert_eq!(secret_tool_lookup(&railway), None);
    let (_, again) = run(cli(&config).args(["secret", "delete", &railway]), 1);
    assert!(again.contains("nothing was deleted"), "{again}");
    run(cli(&config).args(["secret", "delete", &netlify]), 0);

    // Other commands, with tracing on, never show the value either.
    run(cli(&config).args(["service", "list", "--json"]), 0);
    run(cli(&config).args(["config", "check"]), 0);

    for o in &outputs {
        assert!(!o.contains(&value), "a secret value was printed:\n{o}");
        assert!(
            !o.contains(&env_value),
            "an env secret value was printed:\n{o}"
        );
    }
    // Nor does the config file hold it.
    let file = std::fs::read_to_string(&config).unwrap();
    assert!(!file.contains(&value));
}

#[test]
fn env_references_work_beside_the_keychain() {
    // Opening the store and resolving an env reference never call D-Bus:
    // this runs anywhere.
    let kc = Keychain::open().unwrap();
    std::env::set_var("OW_TEST_ENV_ONLY", "from-env");
    assert_eq!(
        resolve(&KeyRef::Env("OW_TEST_ENV_ONLY".into()), &kc)
            .unwrap()
            .expose(),
        "from-env"
    );
}

#[test]
fn keys_that_are_not_names_are_refused_before_touching_the_keychain() {
    // A bus where nothing listens: a keychain call would fail with another
    // message, and the user's own keychain is never touched. Runs anywhere.
    let dir = tempfile::tempdir().unwrap();
    let nobody = format!("unix:path={}", dir.path().join("nobody").display());
    let cli = |config: &std::path::Path| {
        let mut c = cli(config);
        c.env("DBUS_SESSION_BUS_ADDRESS", &nobody);
        c
    };
    cli(&dir.path().join("c.toml"))
        .args(["secret", "set", "env:FOO"])
        .write_stdin("x")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("environment reference"));
    cli(&dir.path().join("c.toml"))
        .args(["secret", "set", "has space"])
        .write_stdin("x")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a valid key name"));
}

/// `secret set` for a name no service uses still stores it (keys may be set
/// ahead of time) but says so, naming the keys the config does use, so a typo
/// shows at once; a name a service uses stores without a word more. An `env:`
/// key whose variable is unset is listed as missing, like a missing keychain entry.
#[test]
fn secret_set_warns_about_a_name_no_service_uses_and_unset_env_keys_are_missing() {
    if !crate::support::session("an unlocked gnome-keyring") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let used = unique("used");
    let typo = unique("usde");
    std::fs::write(
        &config,
        format!(
            "[[workspaces]]\nname = \"Acme\"\n\n[[workspaces.services]]\nname = \"API\"\nprovider = \"railway\"\nproject = \"p1\"\nkey = \"{used}\"\n\n[[workspaces.services]]\nname = \"Web\"\nprovider = \"netlify\"\nsite = \"s1\"\nkey = \"env:OW_TEST_UNSET_{}\"\n",
            std::process::id()
        ),
    )
    .unwrap();
    let set = |name: &str| {
        let out = cli(&config)
            .args(["secret", "set", name])
            .write_stdin("tok-value")
            .assert()
            .success()
            .get_output()
            .clone();
        String::from_utf8(out.stderr).unwrap()
    };
    let err = set(&typo);
    assert!(err.contains(&format!("stored key `{typo}`")), "{err}");
    assert!(
        err.contains(&format!("warning: no service uses key `{typo}`"))
            && err.contains(&format!("`{used}`")),
        "{err}"
    );
    assert_eq!(
        secret_tool_lookup(&typo).as_deref(),
        Some("tok-value"),
        "stored all the same"
    );
    let err = set(&used);
    assert!(!err.contains("warning"), "{err}");

    let list = cli(&config)
        .env_remove(format!("OW_TEST_UNSET_{}", std::process::id()))
        .args(["secret", "list", "--json"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let rows: Value = serde_json::from_slice(&list.stdout).unwrap();
    let env_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "env")
        .expect("the env key is listed");
    assert_eq!(env_row["state"], "missing", "{rows}");
    assert_eq!(env_row["used_by"][0], "Acme/Web");
    let text = cli(&config)
        .args(["secret", "list"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.lines().any(
            |l| l.starts_with(&format!("env:OW_TEST_UNSET_{}", std::process::id()))
                && l.contains("missing")
                && l.contains("set the variable")
        ),
        "{text}"
    );
    for n in [&typo, &used] {
        cli(&config)
            .args(["secret", "delete", n])
            .assert()
            .success();
    }
}

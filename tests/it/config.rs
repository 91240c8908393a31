//! Config file tests: the shipped example, every validation error with its line, round trips and comment-keeping edits.

use std::path::Path;
use std::time::Duration;

use overwatch::config::{self, ConfigError, Editor, ServiceFields};
use overwatch::model::{Mode, Provider, RailwayTarget, Target, TokenKind};
use overwatch::secrets::KeyRef;

fn problems(text: &str) -> Vec<(usize, String)> {
    match config::parse(text, Path::new("test.toml")) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| (p.line, p.message.clone()))
            .collect(),
    }
}

/// Asserts exactly one problem, on `line`, whose message contains each of `needles`.
fn one_problem(text: &str, line: usize, needles: &[&str]) {
    let ps = problems(text);
    assert_eq!(ps.len(), 1, "expected one problem, got {ps:?}");
    assert_eq!(ps[0].0, line, "wrong line in {ps:?}");
    for n in needles {
        assert!(ps[0].1.contains(n), "`{}` lacks `{n}`", ps[0].1);
    }
}

#[test]
fn the_shipped_example_is_valid_and_means_what_it_says() {
    let c = config::parse(config::EXAMPLE, Path::new("config.example.toml")).unwrap();
    assert_eq!(c.refresh, Some(Duration::from_secs(60)));
    assert!(c.notifications);
    let names: Vec<_> = c.workspaces.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["Acme", "Side project"]);
    let api = &c.workspaces[0].services[0];
    assert_eq!(api.name, "API");
    assert_eq!(
        api.target,
        Target::Railway(RailwayTarget {
            project: "3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41".into(),
            environment: "production".into(),
            token_kind: TokenKind::Account
        })
    );
    assert_eq!(api.key, Some(KeyRef::Keychain("acme-railway".into())));
    assert_eq!(api.id.0, "acme/api");
    let providers: Vec<Provider> = c.services().map(|s| s.provider()).collect();
    assert_eq!(
        providers,
        [
            Provider::Railway,
            Provider::Sentry,
            Provider::Plausible,
            Provider::Netlify,
            Provider::Netlify
        ]
    );
    let link = c.services().find(|s| s.name == "Status page").unwrap();
    assert_eq!(link.mode, Mode::Link);
    assert!(link.key.is_none());
    assert!(!link.polled());
    assert_eq!(
        link.dashboard_url(),
        "https://app.netlify.com/sites/status-example/overview"
    );
    let plausible = c.services().find(|s| s.name == "Blog traffic").unwrap();
    assert_eq!(plausible.key, Some(KeyRef::Env("PLAUSIBLE_API_KEY".into())));
}

#[test]
fn the_example_file_in_the_repo_is_the_one_shipped() {
    let on_disk =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
            .unwrap();
    assert_eq!(on_disk, config::EXAMPLE);
}

#[test]
fn an_empty_file_is_an_empty_config_with_defaults() {
    let c = config::parse("", Path::new("x.toml")).unwrap();
    assert!(c.workspaces.is_empty());
    assert_eq!(c.refresh, Some(config::DEFAULT_REFRESH));
    let off = config::parse("refresh = \"off\"", Path::new("x.toml")).unwrap();
    assert_eq!(off.refresh, None);
    let secs = config::parse("refresh = 30", Path::new("x.toml")).unwrap();
    assert_eq!(secs.refresh, Some(Duration::from_secs(30)));
}

#[test]
fn syntax_errors_point_at_their_line() {
    let text = "refresh = \"60s\"\n\n[[workspaces]]\nname = \"Acme\n";
    let ps = problems(text);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].0, 4);
    assert!(ps[0].1.contains("not valid TOML"), "{}", ps[0].1);
}

#[test]
fn duplicate_keys_are_a_syntax_error_at_the_second() {
    let text = "[[workspaces]]\nname = \"A\"\nname = \"B\"\n";
    let ps = problems(text);
    assert_eq!(ps[0].0, 3, "{ps:?}");
}

#[test]
fn unknown_provider_is_reported_at_its_value() {
    let text = r#"[[workspaces]]
name = "Acme"

[[workspaces.services]]
name = "API"
provider = "heroku"
key = "k"
"#;
    one_problem(text, 6, &["unknown provider `heroku`", "railway"]);
}

#[test]
fn a_missing_target_field_names_the_field_and_what_it_is() {
    let text = r#"[[workspaces]]
name = "Acme"

[[workspaces.services]]
name = "Errors"
provider = "sentry"
org = "acme"
key = "k"
"#;
    one_problem(text, 4, &["needs `project`", "Sentry project slug"]);
    let text = r#"[[workspaces]]
name = "Acme"
[[workspaces.services]]
name = "API"
provider = "railway"
key = "k"
"#;
    one_problem(text, 3, &["needs `project`", "Railway project id"]);
}

#[test]
fn a_field_of_another_provider_is_named() {
    let text = r#"[[workspaces]]
name = "Acme"
[[workspaces.services]]
name = "API"
provider = "railway"
project = "p"
site = "example.com"
key = "k"
"#;
    one_problem(text, 7, &["`site` is not used by railway"]);
}

#[test]
fn misspelt_keys_get_a_suggestion() {
    let text = r#"[[workspaces]]
name = "Acme"
[[workspaces.services]]
name = "API"
provider = "railway"
projet = "p"
project = "p"
key = "k"
"#;
    one_problem(text, 6, &["unknown key `projet`", "did you mean `project`"]);
    one_problem("refersh = \"60s\"\n", 1, &["did you mean `refresh`"]);
}

#[test]
fn duplicate_service_names_in_a_workspace_are_reported_at_the_second() {
    let text = r#"[[workspaces]]
name = "Acme"

[[workspaces.services]]
name = "API"
provider = "netlify"
site = "a"
key = "k"

[[workspaces.services]]
name = "api"
provider = "netlify"
site = "b"
key = "k"
"#;
    one_problem(text, 11, &["already has a service named `api`"]);
}

#[test]
fn the_same_name_in_two_workspaces_is_fine_but_two_workspaces_of_one_name_are_not() {
    let ok = r#"[[workspaces]]
name = "A"
[[workspaces.services]]
name = "API"
provider = "netlify"
site = "a"
key = "k"
[[workspaces]]
name = "B"
[[workspaces.services]]
name = "API"
provider = "netlify"
site = "a"
key = "k"
"#;
    let c = config::parse(ok, Path::new("x")).unwrap();
    assert_ne!(
        c.workspaces[0].services[0].id,
        c.workspaces[1].services[0].id
    );
    one_problem(
        "[[workspaces]]\nname = \"A\"\n[[workspaces]]\nname = \"a\"\n",
        4,
        &["workspace named `a` already exists"],
    );
}

#[test]
fn malformed_urls_are_reported_at_their_value() {
    let text = r#"[[workspaces]]
name = "Acme"
[[workspaces.services]]
name = "Traffic"
provider = "plausible"
site = "example.com"
key = "k"
base_url = "not a url"
"#;
    one_problem(text, 8, &["`base_url` is not a valid URL"]);
    let text = text.replace("not a url", "ftp://example.com");
    one_problem(&text, 8, &["http(s) URL"]);
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_opted_in() {
    let text = r#"[[workspaces]]
name = "Acme"
[[workspaces.services]]
name = "Traffic"
provider = "plausible"
site = "example.com"
key = "k"
base_url = "http://plausible.example.org"
"#;
    one_problem(text, 8, &["plain http", "allow_insecure"]);
    let opted = format!("{text}allow_insecure = true\n");
    assert!(config::parse(&opted, Path::new("x")).is_ok());
    for local in [
        "http://127.0.0.1:8000",
        "http://localhost:9",
        "http://[::1]:80",
        // The HTTP layer sends to these, so the config must accept them (issue 11).
        "http://api.localhost:8080",
        "http://127.1.2.3",
    ] {
        let t = text.replace("http://plausible.example.org", local);
        assert!(config::parse(&t, Path::new("x")).is_ok(), "{local}");
    }
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let text = r#"refresh = "soon"
[[workspaces]]
name = "Acme"
[[workspaces.services]]
name = "A"
provider = "heroku"
[[workspaces.services]]
name = "B"
provider = "sentry"
org = "o"
project = "p"
key = "has space"
enabled = "yes"
"#;
    let ps = problems(text);
    let lines: Vec<usize> = ps.iter().map(|p| p.0).collect();
    assert_eq!(lines, [1, 6, 12, 13], "{ps:?}");
}

#[test]
fn a_service_without_a_key_must_be_a_link() {
    let text = r#"[[workspaces]]
name = "Acme"
[[workspaces.services]]
name = "Web"
provider = "netlify"
site = "a"
"#;
    one_problem(
        text,
        3,
        &["needs `key`", "overwatch secret set", "mode = \"link\""],
    );
    let link = format!("{text}mode = \"link\"\n");
    assert!(config::parse(&link, Path::new("x")).is_ok());
}

#[test]
fn wrong_types_say_what_is_expected() {
    let base = "[[workspaces]]\nname = \"Acme\"\n[[workspaces.services]]\nname = \"W\"\nprovider = \"netlify\"\nsite = \"a\"\nkey = \"k\"\n";
    one_problem(&format!("{base}enabled = 1\n"), 8, &["true or false"]);
    one_problem(&format!("{base}refresh = \"0s\"\n"), 8, &["at least 1s"]);
    one_problem("notifications = \"yes\"\n", 1, &["true or false"]);
    one_problem("workspaces = 3\n", 1, &["list of tables"]);
    one_problem(
        "[[workspaces]]\nname = 5\n",
        2,
        &["`name` must be a string"],
    );
}

#[test]
fn thresholds_are_read_and_checked() {
    let base = "[[workspaces]]\nname = \"Acme\"\n[[workspaces.services]]\nname = \"E\"\nprovider = \"sentry\"\norg = \"o\"\nproject = \"p\"\nkey = \"k\"\n";
    let c = config::parse(
        &format!("{base}spike_degraded = 2\nspike_down = 5.5\n"),
        Path::new("x"),
    )
    .unwrap();
    let t = &c.workspaces[0].services[0].thresholds;
    assert_eq!((t.spike_degraded, t.spike_down), (2.0, 5.5));
    assert_eq!(t.unhandled_users_down, 100);
    let c = config::parse(
        &format!("{base}unhandled_users_down = 25\n"),
        Path::new("x"),
    )
    .unwrap();
    assert_eq!(
        c.workspaces[0].services[0].thresholds.unhandled_users_down,
        25
    );
    one_problem(
        &format!("{base}unhandled_users_down = -3\n"),
        9,
        &["`unhandled_users_down` must be a number of at least 0"],
    );
    one_problem(
        &format!("{base}spike_degraded = 9\nspike_down = 5\n"),
        10,
        &["`spike_down` must be at least `spike_degraded`"],
    );
    // A spike is a multiple of the usual rate: 0 called 1.2× the usual a
    // spike. Below 1 is refused at the value; degraded ≤ down still holds.
    for (text, line, what) in [
        ("spike_degraded = 0\n", 9, "`spike_degraded`"),
        (
            "spike_degraded = 0.5\nspike_down = 4\n",
            9,
            "`spike_degraded`",
        ),
        ("spike_down = 0.99\n", 9, "`spike_down`"),
    ] {
        let ps = problems(&format!("{base}{text}"));
        assert_eq!(ps.len(), 1, "{text}: {ps:?}");
        assert_eq!(ps[0].0, line, "{text}: {ps:?}");
        assert!(
            ps[0].1.contains(what) && ps[0].1.contains("must be at least 1"),
            "{}",
            ps[0].1
        );
    }
    let c = config::parse(
        &format!("{base}spike_degraded = 1\nspike_down = 1\n"),
        Path::new("x"),
    )
    .unwrap();
    let t = &c.workspaces[0].services[0].thresholds;
    assert_eq!((t.spike_degraded, t.spike_down), (1.0, 1.0));
    let p = "[[workspaces]]\nname = \"Acme\"\n[[workspaces.services]]\nname = \"T\"\nprovider = \"plausible\"\nsite = \"s\"\nkey = \"k\"\n";
    let c = config::parse(&format!("{p}traffic_drop = false\n"), Path::new("x")).unwrap();
    assert_eq!(c.workspaces[0].services[0].thresholds.traffic_drop, None);
    one_problem(&format!("{p}traffic_drop = 150\n"), 8, &["percentage"]);
}

#[test]
fn inline_tables_are_accepted_too() {
    let text = r#"workspaces = [{ name = "A", services = [{ name = "W", provider = "netlify", site = "s", key = "env:T" }] }]"#;
    let c = config::parse(text, Path::new("x")).unwrap();
    assert_eq!(c.workspaces[0].services[0].name, "W");
}

#[test]
fn non_utf8_and_oversized_files_are_refused_without_touching_them() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, b"refresh = \"60s\"\nname = \"\xff\xfe\"\n").unwrap();
    let e = config::load(&p).unwrap_err();
    assert_eq!(e.problems()[0].line, 2, "{e}");
    assert!(e.to_string().contains("UTF-8"));
    let big = vec![b'#'; config::MAX_CONFIG_BYTES + 1];
    std::fs::write(&p, &big).unwrap();
    let e = config::load(&p).unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
    assert!(Editor::open(&p).is_err());
    assert_eq!(std::fs::read(&p).unwrap(), big);
}

#[test]
fn a_missing_file_is_not_found_with_the_way_out() {
    let e = config::load(Path::new("/nonexistent/overwatch/config.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::NotFound { .. }));
    assert!(e.to_string().contains("overwatch config init"));
}

#[test]
fn errors_carry_the_file_name_line_and_column() {
    let e = config::parse(
        "refresh = \"soon\"\n",
        Path::new("/home/me/.config/overwatch/config.toml"),
    )
    .unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("/home/me/.config/overwatch/config.toml:1:11:"),
        "{s}"
    );
}

#[test]
fn edits_keep_comments_and_order_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    std::fs::write(&p, config::EXAMPLE).unwrap();
    let mut ed = Editor::open(&p).unwrap();
    ed.add_service(
        "Acme",
        &ServiceFields {
            name: Some("Web".into()),
            provider: Some(Provider::Netlify),
            target: [("site".to_string(), "acme.netlify.app".to_string())].into(),
            key: Some("acme-netlify".into()),
            ..Default::default()
        },
    )
    .unwrap();
    ed.edit_service(
        "Acme",
        "API",
        &ServiceFields {
            target: [("environment".to_string(), "staging".to_string())].into(),
            ..Default::default()
        },
    )
    .unwrap();
    let saved = ed.save().unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    // Every comment line of the example is still there.
    for line in config::EXAMPLE
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
    {
        assert!(text.contains(line), "lost comment: {line}");
    }
    // The trailing comment on the edited value stays beside it.
    assert!(
        text.contains(
            "environment = \"staging\"                          # or \"*\" for every environment"
        ),
        "{text}"
    );
    // The new service lands in Acme, after its services, before "Side project".
    let web = text.find("name = \"Web\"").unwrap();
    assert!(web > text.find("name = \"Errors\"").unwrap());
    assert!(web < text.find("name = \"Side project\"").unwrap());
    // Round trip: what was saved reads back to the same config.
    assert_eq!(config::load(&p).unwrap(), saved);
    let acme = saved.workspace("Acme").unwrap();
    let names: Vec<_> = acme.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["API", "Errors", "Web"]);
}

#[test]
fn renames_and_moves_keep_service_ids() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    std::fs::write(&p, config::EXAMPLE).unwrap();
    let before = config::load(&p).unwrap();
    let id_of =
        |c: &config::Config, name: &str| c.services().find(|s| s.name == name).unwrap().id.clone();
    let api = id_of(&before, "API");
    let blog = id_of(&before, "Blog");

    let mut ed = Editor::open(&p).unwrap();
    ed.rename_workspace("Acme", "Acme Corp").unwrap();
    ed.edit_service(
        "Acme Corp",
        "API",
        &ServiceFields {
            name: Some("Backend".into()),
            ..Default::default()
        },
    )
    .unwrap();
    ed.move_service("Side project", "Blog", Some("Acme Corp"), Some(1))
        .unwrap();
    let after = ed.save().unwrap();
    assert_eq!(id_of(&after, "Backend"), api);
    assert_eq!(id_of(&after, "Blog"), blog);
    let acme: Vec<_> = after.workspaces[0]
        .services
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(acme, ["Blog", "Backend", "Errors"]);
    assert_eq!(config::load(&p).unwrap(), after);
}

#[test]
fn an_edit_that_would_break_the_file_is_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    std::fs::write(&p, config::EXAMPLE).unwrap();
    let mut ed = Editor::open(&p).unwrap();
    ed.edit_service(
        "Acme",
        "API",
        &ServiceFields {
            base_url: Some("http://proxy.example.org".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(ed.save().is_err());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), config::EXAMPLE);
}

#[cfg(unix)]
#[test]
fn saved_files_are_private_and_written_through_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.toml");
    std::fs::write(&real, config::EXAMPLE).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut ed = Editor::open(&link).unwrap();
    ed.add_workspace("Third").unwrap();
    ed.save().unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("name = \"Third\""));
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // No temporary files are left behind: the two files and the edit lock
    // (beside the link's target, 0600).
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".real.toml.lock", "link.toml", "real.toml"]);
    let mode = std::fs::metadata(dir.path().join(".real.toml.lock"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn the_request_timeout_is_read_and_bounded() {
    let c = config::parse("timeout = \"5s\"\n", Path::new("x")).unwrap();
    assert_eq!(c.timeout, Duration::from_secs(5));
    assert_eq!(
        config::parse("", Path::new("x")).unwrap().timeout,
        config::DEFAULT_TIMEOUT
    );
    one_problem("timeout = \"10m\"\n", 1, &["between 1s and 5m"]);
    one_problem("timeout = true\n", 1, &["`timeout`"]);
}

#[test]
fn the_icon_colour_option() {
    assert!(
        !config::parse("", Path::new("x"))
            .unwrap()
            .icon_problems_only
    );
    assert!(
        config::parse("icon_colour = \"problems\"\n", Path::new("x"))
            .unwrap()
            .icon_problems_only
    );
    one_problem(
        "icon_colour = \"sometimes\"\n",
        1,
        &["\"always\" or \"problems\""],
    );
}

#[test]
fn alert_rules_default_and_are_read_per_service() {
    let base = "[[workspaces]]\nname = \"Acme\"\n[[workspaces.services]]\nname = \"W\"\nprovider = \"netlify\"\nsite = \"a\"\nkey = \"k\"\n";
    let c = config::parse(base, Path::new("x")).unwrap();
    let rules = c.workspaces[0].services[0].alerts;
    assert_eq!(rules, overwatch::model::AlertRules::default());
    assert_eq!((rules.confirm, rules.confirm_recovery), (2, 2));
    assert_eq!(rules.unreachable_alert_after, Duration::from_secs(15 * 60));
    let c = config::parse(
        &format!("{base}confirm = 3\nconfirm_recovery = 1\nunreachable_alert_after = \"1h\"\n"),
        Path::new("x"),
    )
    .unwrap();
    let rules = c.workspaces[0].services[0].alerts;
    assert_eq!((rules.confirm, rules.confirm_recovery), (3, 1));
    assert_eq!(rules.unreachable_alert_after, Duration::from_secs(3600));
    // Seconds as a plain number, like `refresh`.
    let c = config::parse(
        &format!("{base}unreachable_alert_after = 90\n"),
        Path::new("x"),
    )
    .unwrap();
    assert_eq!(
        c.workspaces[0].services[0].alerts.unreachable_alert_after,
        Duration::from_secs(90)
    );
}

#[test]
fn alert_rules_are_checked_where_they_are_written() {
    let base = "[[workspaces]]\nname = \"Acme\"\n[[workspaces.services]]\nname = \"W\"\nprovider = \"netlify\"\nsite = \"a\"\nkey = \"k\"\n";
    one_problem(
        &format!("{base}confirm = 0\n"),
        8,
        &["`confirm`", "from 1 to 10"],
    );
    one_problem(&format!("{base}confirm = 11\n"), 8, &["from 1 to 10"]);
    one_problem(&format!("{base}confirm = \"2\"\n"), 8, &["whole number"]);
    one_problem(
        &format!("{base}confirm_recovery = 2.5\n"),
        8,
        &["`confirm_recovery`"],
    );
    one_problem(
        &format!("{base}unreachable_alert_after = \"soon\"\n"),
        8,
        &["`unreachable_alert_after`", "not a duration"],
    );
    one_problem(
        &format!("{base}unreachable_alert_after = -5\n"),
        8,
        &["cannot be negative"],
    );
    one_problem(
        &format!("{base}confrim = 2\n"),
        8,
        &["did you mean `confirm`"],
    );
}

#[test]
fn durations_that_would_silence_the_engine_are_refused() {
    // `refresh = "99999999h"` used to pass validation and panic the engine.
    let base = "[[workspaces]]\nname = \"Acme\"\n[[workspaces.services]]\nname = \"W\"\nprovider = \"netlify\"\nsite = \"a\"\nkey = \"k\"\n";
    one_problem("refresh = \"99999999h\"\n", 1, &["at most 7 days"]);
    one_problem(
        &format!("{base}refresh = \"169h\"\n"),
        8,
        &["at most 7 days"],
    );
    assert!(config::parse(&format!("{base}refresh = \"168h\"\n"), Path::new("x")).is_ok());
    one_problem(
        &format!("{base}unreachable_alert_after = \"25h\"\n"),
        8,
        &["`unreachable_alert_after` must be at most 1 day"],
    );
    one_problem("timeout = \"99999h\"\n", 1, &["between 1s and 5m"]);
    // Per service, "off" was accepted and ignored.
    one_problem(
        &format!("{base}refresh = \"off\"\n"),
        8,
        &["only works for the whole config", "enabled = false"],
    );
}

#[test]
fn control_characters_and_dot_segments_are_refused() {
    let svc = |field: &str| {
        format!("[[workspaces]]\nname = \"Acme\"\n[[workspaces.services]]\nname = \"W\"\nprovider = \"netlify\"\n{field}\nkey = \"k\"\n")
    };
    // A NUL or a newline in a name, an escape sequence in a site.
    one_problem(
        "[[workspaces]]\nname = \"Ac\\u0000me\"\n",
        2,
        &["`name` contains a control character (U+0000)"],
    );
    one_problem(
        &svc("site = \"a\"").replace("name = \"W\"", "name = \"W\\nX\""),
        4,
        &["control character (U+000A)"],
    );
    one_problem(
        &svc("site = \"a\\u001b[2J\""),
        6,
        &["`site` contains a control character (U+001B)"],
    );
    one_problem(&svc("site = \"a\\u202eb\""), 6, &["U+202E"]);
    // "." and ".." would move the request to another path of the API.
    for dots in [".", ".."] {
        one_problem(
            &svc(&format!("site = \"{dots}\"")),
            6,
            &[&format!("`site` cannot be `{dots}`")],
        );
    }
    let sentry = "[[workspaces]]\nname = \"Acme\"\n[[workspaces.services]]\nname = \"E\"\nprovider = \"sentry\"\norg = \"..\"\nproject = \"p\"\nkey = \"k\"\n";
    one_problem(sentry, 6, &["`org` cannot be `..`"]);
}

/// A service of every registered provider, written with its spec's example
/// values, validates; a key of one provider is refused on another, named.
#[test]
fn every_registered_provider_validates_from_its_spec() {
    let mut text = String::from("[[workspaces]]\nname = \"All\"\n");
    for (i, p) in Provider::ALL.into_iter().enumerate() {
        text.push_str(&format!(
            "\n[[workspaces.services]]\nname = \"S{i}\"\nprovider = \"{p}\"\nkey = \"env:K\"\n"
        ));
        for (k, v) in p.spec().example_values(i) {
            text.push_str(&format!("{k} = \"{v}\"\n"));
        }
    }
    let c = config::parse(&text, Path::new("all.toml")).unwrap();
    let got: Vec<Provider> = c.workspaces[0]
        .services
        .iter()
        .map(|s| s.provider())
        .collect();
    assert_eq!(got, Provider::ALL.to_vec());
    for (i, s) in c.workspaces[0].services.iter().enumerate() {
        assert_eq!(s.target, overwatch::model::Target::example(s.provider(), i));
    }
    // Each required field left out is named with its help text and line.
    for p in Provider::ALL {
        for field in p.spec().fields.iter().filter(|f| f.required) {
            let mut t = format!("[[workspaces]]\nname = \"A\"\n[[workspaces.services]]\nname = \"S\"\nprovider = \"{p}\"\nkey = \"env:K\"\n");
            for (k, v) in p.spec().example_values(1) {
                if k != field.key {
                    t.push_str(&format!("{k} = \"{v}\"\n"));
                }
            }
            let err = config::parse(&t, Path::new("a.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("needs `{}` = {}", field.key, field.help)),
                "{err}"
            );
            assert!(err.contains("a.toml:3"), "{err}");
        }
    }
}

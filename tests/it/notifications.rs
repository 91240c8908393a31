//! The notify-rust notifier against a real notification daemon: dunst in the test session, read back with `dunstctl history`.
//!
//! The daemon test runs through `make test` (or `scripts/session.sh cargo test
//! --test it notifications::`), which starts a private D-Bus session with dunst
//! on it; outside it, it skips.

use std::process::Command;

use overwatch::desktop::notifier::{DesktopNotifier, APP_NAME};
use overwatch::engine::{EventKind, Notification, Notifier};
use overwatch::model::{ServiceId, Status};
use serde_json::Value;

fn dunstctl(args: &[&str]) -> String {
    let out = Command::new("dunstctl")
        .args(args)
        .output()
        .expect("dunstctl (from dunst) is installed by the test setup");
    assert!(out.status.success(), "dunstctl {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// (appname, summary, body) of every notification in dunst's history.
fn history() -> Vec<(String, String, String)> {
    let v: Value = serde_json::from_str(&dunstctl(&["history"])).unwrap();
    let field = |n: &Value, k: &str| n[k]["data"].as_str().unwrap_or_default().to_string();
    v["data"][0]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|n| (field(n, "appname"), field(n, "summary"), field(n, "body")))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_desktop_notifier_delivers_title_and_body_to_the_daemon() {
    if !crate::support::session("dunst on a private D-Bus") {
        return;
    }
    let unique = format!("pid {}", std::process::id());
    let n = Notification {
        title: "Acme · API (Railway) is down".into(),
        body: format!("api crashed; down since 09:12 (2 min ago) [{unique}]"),
        dashboard_url: Some("https://railway.com/project/p".into()),
        kind: EventKind::Changed,
        service: Some(ServiceId("acme/api".into())),
        status: Some(Status::Down),
    };
    // With the click-to-open action, as the tray and `watch` send it.
    DesktopNotifier::new().notify(&n).unwrap();
    let recovered = Notification {
        title: "Acme · API (Railway) recovered".into(),
        body: format!("API recovered after 14 min; all 2 services running [{unique}]"),
        dashboard_url: None,
        kind: EventKind::Recovered,
        service: Some(ServiceId("acme/api".into())),
        status: Some(Status::Healthy),
    };
    DesktopNotifier::without_actions()
        .notify(&recovered)
        .unwrap();
    // dunst moves notifications into its history once they are closed.
    dunstctl(&["close-all"]);
    let mine: Vec<(String, String, String)> = history()
        .into_iter()
        .filter(|(_, _, body)| body.contains(&unique))
        .collect();
    assert_eq!(mine.len(), 2, "{mine:?}");
    // History is newest first.
    assert_eq!(
        mine[1],
        (APP_NAME.to_string(), n.title.clone(), n.body.clone())
    );
    assert_eq!(
        mine[0],
        (
            APP_NAME.to_string(),
            recovered.title.clone(),
            recovered.body.clone()
        )
    );
}

/// Urgency by meaning and the status icon as the image, as the daemon
/// received them: down is critical with the red ×, degraded normal with the
/// amber !, a recovery and the start-up summary low.
#[test]
fn urgency_and_the_status_image_reach_the_daemon() {
    if !crate::support::session("dunst on a private D-Bus") {
        return;
    }
    let unique = format!("urgency {}", std::process::id());
    let cases = [
        (
            EventKind::Changed,
            Some(Status::Down),
            "critical",
            "status-down.png",
        ),
        (
            EventKind::Changed,
            Some(Status::Degraded),
            "normal",
            "status-degraded.png",
        ),
        (
            EventKind::Recovered,
            Some(Status::Healthy),
            "low",
            "status-healthy.png",
        ),
        (
            EventKind::Summary,
            Some(Status::Down),
            "low",
            "status-down.png",
        ),
    ];
    for (i, (kind, status, _, _)) in cases.iter().enumerate() {
        let n = Notification {
            title: format!("Acme · API (Railway) case {i}"),
            body: format!("[{unique}] {i}"),
            dashboard_url: None,
            kind: *kind,
            service: None,
            status: *status,
        };
        DesktopNotifier::without_actions().notify(&n).unwrap();
    }
    dunstctl(&["close-all"]);
    let v: Value = serde_json::from_str(&dunstctl(&["history"])).unwrap();
    for (i, (_, _, urgency, image)) in cases.iter().enumerate() {
        let body = format!("[{unique}] {i}");
        let n = v["data"][0]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["body"]["data"].as_str() == Some(body.as_str()))
            .unwrap_or_else(|| panic!("case {i} not in the history: {v}"));
        // scripts/session.sh has dunst file each notification under the
        // urgency it saw (dunst 1.9's history has no urgency field).
        assert_eq!(
            n["category"]["data"],
            format!("urgency-{urgency}"),
            "case {i}: {n}"
        );
        let path = n["icon_path"]["data"].as_str().unwrap_or_default();
        assert!(path.ends_with(image), "case {i}: {n}");
        // The image is the tray's own drawing of that status.
        let png = std::fs::read(path).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}

#[test]
fn without_a_daemon_the_notifier_reports_an_error_instead_of_failing() {
    // This test's own process keeps the real bus; the daemon-less case is
    // played through a bus address where nothing listens.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &child_test_name(), "--ignored", "--nocapture"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", dir.path().join("nobody").display()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("notifier error: "), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// The child's full test name (`notifications::child_…` in the `it` binary).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    format!("{module}::child_sends_to_a_bus_where_nothing_listens")
}

/// Run by the test above in a child process with a dead bus address.
#[test]
#[ignore = "run by without_a_daemon_the_notifier_reports_an_error_instead_of_failing"]
fn child_sends_to_a_bus_where_nothing_listens() {
    let n = Notification {
        title: "t".into(),
        body: "b".into(),
        dashboard_url: Some("https://example.com".into()),
        kind: EventKind::Changed,
        service: None,
        status: Some(Status::Down),
    };
    let err = DesktopNotifier::new().notify(&n).unwrap_err();
    assert!(err.contains("notification daemon"), "{err}");
    println!("notifier error: {err}");
}

/// Names and provider text are escaped for the daemon's markup: "R&D <Team>"
/// arrives whole (an unescaped `&` made dunst drop "<Team>"), a remote
/// `<b>` is shown as text, and an escape sequence is neutralised.
#[test]
fn markup_in_names_and_provider_text_is_shown_as_text() {
    if !crate::support::session("dunst on a private D-Bus") {
        return;
    }
    let unique = format!("markup {}", std::process::id());
    let n = Notification {
        title: "R&D <Team> · API (Sentry) is down".into(),
        body: format!("<b>big</b> & red\u{1b}[2J [{unique}]"),
        dashboard_url: None,
        kind: EventKind::Changed,
        service: None,
        status: Some(Status::Down),
    };
    DesktopNotifier::without_actions().notify(&n).unwrap();
    dunstctl(&["close-all"]);
    let v: Value = serde_json::from_str(&dunstctl(&["history"])).unwrap();
    let mine: Vec<&Value> = v["data"][0]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| {
            x["body"]["data"]
                .as_str()
                .is_some_and(|b| b.contains(&unique))
        })
        .collect();
    assert_eq!(mine.len(), 1, "{v}");
    // dunst's `message` is the markup it renders: each text escaped exactly
    // once, so what shows is the text itself — not bold, nothing dropped.
    let message = mine[0]["message"]["data"].as_str().unwrap_or_default();
    assert!(
        message.contains("R&amp;D &lt;Team&gt; · API (Sentry) is down"),
        "{message:?}"
    );
    assert!(
        message.contains("&lt;b&gt;big&lt;/b&gt; &amp; red\u{fffd}[2J"),
        "{message:?}"
    );
    assert!(
        !message.contains("&amp;amp;") && !message.contains("<b>big"),
        "{message:?}"
    );
    assert!(!message.contains('\u{1b}'), "{message:?}");
}

/// A click on the notification (dunst's default action) opens the service's
/// dashboard: the libdbus backend's handle waits on its own thread for the
/// `ActionInvoked` signal. Played in a child with a D-Bus session and a dunst
/// of its own (so no other test's notifications or `close-all` get in the
/// way) and a stand-in `xdg-open` that records what it was asked to open.
#[test]
fn clicking_a_notification_opens_the_dashboard() {
    if !crate::support::session("dunst on a private D-Bus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let opened = dir.path().join("opened");
    let fake = bin.join("xdg-open");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let inner = "dunst >/dev/null 2>&1 & \
                 for _ in $(seq 1 100); do busctl --user list 2>/dev/null | grep -q '^org.freedesktop.Notifications ' && break; sleep 0.05; done; \
                 \"$0\" --exact \"$1\" --ignored --nocapture; rc=$?; kill %1; exit $rc";
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", inner])
        .arg(std::env::current_exe().unwrap())
        .arg(format!("{module}::child_clicks_its_notification"))
        .env("PATH", path)
        .env("OW_OPENED", &opened)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run by the test above, on a bus where its own dunst is the only daemon.
#[test]
#[ignore = "run by clicking_a_notification_opens_the_dashboard"]
fn child_clicks_its_notification() {
    let opened = std::path::PathBuf::from(std::env::var_os("OW_OPENED").unwrap());
    let n = Notification {
        title: "Acme · API (Railway) is down".into(),
        body: "api crashed".into(),
        dashboard_url: Some("https://railway.com/project/clicked".into()),
        kind: EventKind::Changed,
        service: None,
        status: Some(Status::Down),
    };
    DesktopNotifier::new().notify(&n).unwrap();
    // The newest notification is at the top: invoke its default action.
    dunstctl(&["action", "0"]);
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(&opened) {
            assert_eq!(text, "https://railway.com/project/clicked\n");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the click did not open the dashboard");
}

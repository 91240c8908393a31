//! The tray menu as plain data: built from the current state, diffed against the previous one so that label-only changes update in place.
//!
//! Every node has a stable id derived from what it shows (workspace name,
//! service id, action), so two menus with the same *shape* differ only in
//! labels, enabled and checked flags, and the tray can apply those with
//! `set_text`/`set_enabled`/`set_checked` instead of rebuilding — a rebuild
//! closes a menu the user has open. Anything that changes often (ages,
//! deploys starting and finishing) is kept inside existing lines for that reason.

use std::time::Duration;

use time::OffsetDateTime;

use super::card;
use super::Counts;
use crate::engine::Zone;
use crate::model::{Card, Mode, Service, ServiceId, Status};

/// One watched service as the menu sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    pub service: Service,
    pub card: Option<Card>,
    /// Not successfully updated for too long (or offline): shown as stale.
    pub stale: bool,
    /// "muted for 1 h", "muted until it recovers".
    pub muted: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceView {
    pub name: String,
    pub services: Vec<ServiceView>,
    pub muted: Option<String>,
}

/// The notification setting shown in the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    On,
    /// Paused until this time.
    PausedUntil(OffsetDateTime),
    Off,
}

/// Everything the menu is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuState {
    pub workspaces: Vec<WorkspaceView>,
    /// Every request failed to connect: showing the last known state.
    pub offline: bool,
    /// Data from the built-in simulator.
    pub demo: bool,
    /// The config file does not validate (the last good config keeps running).
    pub config_error: Option<String>,
    /// The engine crashed and was restarted (an internal error, shown, never silent).
    pub engine_fault: Option<String>,
    /// Auto-refresh interval; `None` = off.
    pub refresh: Option<Duration>,
    pub notify: Notify,
    pub autostart: bool,
    pub now: OffsetDateTime,
    /// The user's time zone, for clock times ("Paused until 15:30").
    pub zone: Zone,
}

/// How long a mute lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MuteFor {
    Hour,
    UntilRecovered,
}

/// What a click does. The tray forwards it; the app acts on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open the dashboard page in the browser.
    OpenOverwatch,
    RefreshAll,
    RefreshWorkspace(String),
    RefreshService(ServiceId),
    OpenDashboard(String),
    MuteService(ServiceId, MuteFor),
    UnmuteService(ServiceId),
    MuteWorkspace(String, MuteFor),
    UnmuteWorkspace(String),
    SetRefresh(Option<Duration>),
    NotificationsOn,
    NotificationsPauseHour,
    NotificationsOff,
    OpenConfig,
    ToggleAutostart,
    StartDemo,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A clickable item.
    Item,
    /// A checkable item.
    Check,
    Submenu,
    Separator,
}

/// One menu entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub kind: Kind,
    pub label: String,
    pub enabled: bool,
    pub checked: bool,
    pub action: Option<Action>,
    pub children: Vec<Node>,
}

impl Node {
    fn item(id: impl Into<String>, label: impl Into<String>, action: Action) -> Node {
        Node {
            id: id.into(),
            kind: Kind::Item,
            label: label.into(),
            enabled: true,
            checked: false,
            action: Some(action),
            children: Vec::new(),
        }
    }

    /// A greyed-out line of text.
    fn text(id: impl Into<String>, label: impl Into<String>) -> Node {
        Node {
            id: id.into(),
            kind: Kind::Item,
            label: label.into(),
            enabled: false,
            checked: false,
            action: None,
            children: Vec::new(),
        }
    }

    fn check(
        id: impl Into<String>,
        label: impl Into<String>,
        checked: bool,
        action: Action,
    ) -> Node {
        Node {
            kind: Kind::Check,
            checked,
            ..Node::item(id, label, action)
        }
    }

    fn sub(id: impl Into<String>, label: impl Into<String>, children: Vec<Node>) -> Node {
        Node {
            id: id.into(),
            kind: Kind::Submenu,
            label: label.into(),
            enabled: true,
            checked: false,
            action: None,
            children,
        }
    }

    fn sep(id: impl Into<String>) -> Node {
        Node {
            id: id.into(),
            kind: Kind::Separator,
            label: String::new(),
            enabled: true,
            checked: false,
            action: None,
            children: Vec::new(),
        }
    }
}

/// The auto-refresh choices offered in the menu.
pub const REFRESH_CHOICES: [(Option<Duration>, &str); 5] = [
    (None, "Off"),
    (Some(Duration::from_secs(30)), "30 s"),
    (Some(Duration::from_secs(60)), "1 min"),
    (Some(Duration::from_secs(300)), "5 min"),
    (Some(Duration::from_secs(900)), "15 min"),
];

/// Statuses of the services that colour things (api mode, enabled).
fn statuses<'a>(services: impl Iterator<Item = &'a ServiceView>) -> Vec<Status> {
    services
        .filter(|v| v.service.enabled)
        .filter_map(|v| card::shown_status(&v.service, v.card.as_ref()))
        .collect()
}

/// The worst status of everything watched; `None` when nothing is watched.
pub fn worst(state: &MenuState) -> Option<Status> {
    Status::worst(statuses(
        state.workspaces.iter().flat_map(|w| w.services.iter()),
    ))
}

/// Whether any watched service has a deploy running (the icon's badge).
pub(crate) fn any_in_progress(state: &MenuState) -> bool {
    state
        .workspaces
        .iter()
        .flat_map(|w| w.services.iter())
        .any(|v| {
            v.service.enabled
                && v.service.mode == Mode::Api
                && v.card.as_ref().is_some_and(|c| c.in_progress)
        })
}

/// The header line ("All 12 services healthy", "offline — showing last known").
pub(crate) fn headline(state: &MenuState) -> String {
    let counts = Counts::of(statuses(
        state.workspaces.iter().flat_map(|w| w.services.iter()),
    ));
    let mut parts = Vec::new();
    if state.demo {
        parts.push("Demo data".to_string());
    }
    if state.offline {
        parts.push("offline — showing last known".into());
    } else {
        parts.push(counts.headline());
    }
    if state.refresh.is_none() {
        parts.push("auto-refresh paused".into());
    }
    parts.join(" · ")
}

/// The tooltip/title: "Overwatch — 1 down, 2 degraded, 9 healthy".
pub(crate) fn tooltip(state: &MenuState) -> String {
    format!("Overwatch — {}", headline(state).replace(" · ", ", "))
}

/// Builds the whole menu.
pub fn build(state: &MenuState) -> Vec<Node> {
    let mut out = vec![
        Node::text("header", headline(state)),
        Node::item("open-overwatch", "Open Overwatch…", Action::OpenOverwatch),
    ];
    if let Some(fault) = &state.engine_fault {
        out.push(Node::text("engine-fault", format!("⚠ {fault}")));
    }
    if let Some(err) = &state.config_error {
        for (i, line) in err.lines().take(4).enumerate() {
            out.push(Node::text(
                format!("config-error:{i}"),
                format!("⚠ {}", line.trim()),
            ));
        }
        out.push(Node::item(
            "config-error:open",
            "Open configuration file",
            Action::OpenConfig,
        ));
    }
    let has_services = state.workspaces.iter().any(|w| !w.services.is_empty());
    if !has_services {
        out.push(Node::text("empty", "No services yet"));
        out.push(Node::item(
            "empty:open",
            "Open configuration file",
            Action::OpenConfig,
        ));
        out.push(Node::item(
            "empty:demo",
            "Start the demo",
            Action::StartDemo,
        ));
    }
    out.push(Node::sep("sep:top"));
    for ws in &state.workspaces {
        out.push(workspace(ws, state));
    }
    if has_services {
        out.push(Node::sep("sep:ws"));
    }
    out.push(Node::item("refresh-all", "Refresh all", Action::RefreshAll));
    out.push(Node::sub(
        "auto-refresh",
        "Auto-refresh",
        REFRESH_CHOICES
            .iter()
            .map(|(d, label)| {
                Node::check(
                    format!("auto-refresh:{label}"),
                    *label,
                    state.refresh == *d,
                    Action::SetRefresh(*d),
                )
            })
            .collect(),
    ));
    let paused_label = match state.notify {
        Notify::PausedUntil(t) => format!("Paused until {}", clock(t, &state.zone)),
        _ => "Pause 1 hour".into(),
    };
    out.push(Node::sub(
        "notifications",
        "Notifications",
        vec![
            Node::check(
                "notifications:on",
                "On",
                state.notify == Notify::On,
                Action::NotificationsOn,
            ),
            Node::check(
                "notifications:pause",
                paused_label,
                matches!(state.notify, Notify::PausedUntil(_)),
                Action::NotificationsPauseHour,
            ),
            Node::check(
                "notifications:off",
                "Off",
                state.notify == Notify::Off,
                Action::NotificationsOff,
            ),
        ],
    ));
    out.push(Node::item(
        "open-config",
        "Open configuration file",
        Action::OpenConfig,
    ));
    out.push(Node::check(
        "autostart",
        "Launch at login",
        state.autostart,
        Action::ToggleAutostart,
    ));
    out.push(Node::sep("sep:quit"));
    out.push(Node::item("quit", "Quit Overwatch", Action::Quit));
    out
}

/// "14:05" on the user's clock at that moment.
pub fn clock(t: OffsetDateTime, zone: &Zone) -> String {
    let t = zone.local(t);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn workspace(ws: &WorkspaceView, state: &MenuState) -> Node {
    let statuses = statuses(ws.services.iter());
    let glyph = Status::worst(statuses.iter().copied())
        .map(|s| s.glyph())
        .unwrap_or("↗");
    let mut label = format!("{glyph} {} — {}", ws.name, Counts::of(statuses).headline());
    if ws.muted.is_some() {
        label.push_str(" (muted)");
    }
    let wid = format!("ws:{}", ws.name);
    let mut children = vec![
        Node::item(
            format!("{wid}:refresh"),
            format!("Refresh {}", ws.name),
            Action::RefreshWorkspace(ws.name.clone()),
        ),
        mute_menu(
            &format!("{wid}:mute"),
            "Mute workspace",
            ws.muted.as_deref(),
            |f| Action::MuteWorkspace(ws.name.clone(), f),
            Action::UnmuteWorkspace(ws.name.clone()),
        ),
    ];
    for v in ws.services.iter().filter(|v| v.service.enabled) {
        children.push(Node::sep(format!("{wid}:sep:{}", v.service.id)));
        children.extend(service(v, state));
    }
    Node::sub(wid, label, children)
}

fn mute_menu(
    id: &str,
    label: &str,
    muted: Option<&str>,
    mute: impl Fn(MuteFor) -> Action,
    unmute: Action,
) -> Node {
    let label = match muted {
        Some(m) => format!("{label} ({m})"),
        None => label.to_string(),
    };
    let mut unmute_item = Node::item(format!("{id}:off"), "Unmute", unmute);
    unmute_item.enabled = muted.is_some();
    Node::sub(
        id,
        label,
        vec![
            Node::item(format!("{id}:hour"), "For 1 hour", mute(MuteFor::Hour)),
            Node::item(
                format!("{id}:recovered"),
                "Until it recovers",
                mute(MuteFor::UntilRecovered),
            ),
            unmute_item,
        ],
    )
}

/// Metric rows shown per card: a card that sends thousands (a 5,000-service
/// Railway project) must not make a menu of thousands of items. The rest is
/// counted in one row; `--json` keeps them all.
pub const MAX_METRIC_ROWS: usize = 6;

fn service(v: &ServiceView, state: &MenuState) -> Vec<Node> {
    let s = &v.service;
    let sid = format!("svc:{}", s.id);
    let lines = card::lines(s, v.card.as_ref(), state.now, v.stale || state.offline);
    let url = v
        .card
        .as_ref()
        .and_then(|c| c.open_url().map(str::to_string))
        .unwrap_or_else(|| s.dashboard_url());
    let mut out = vec![Node::item(
        format!("{sid}:title"),
        lines.title.clone(),
        Action::OpenDashboard(url.clone()),
    )];
    if s.mode == Mode::Link {
        out.push(Node::item(
            format!("{sid}:open"),
            "Open dashboard",
            Action::OpenDashboard(url),
        ));
        return out;
    }
    out.push(Node::text(format!("{sid}:summary"), lines.summary));
    for (i, m) in lines.metrics.iter().take(MAX_METRIC_ROWS).enumerate() {
        out.push(Node::text(format!("{sid}:metric:{i}"), m.clone()));
    }
    if let Some(more) = lines.metrics.len().checked_sub(MAX_METRIC_ROWS) {
        if more > 0 {
            out.push(Node::text(
                format!("{sid}:more"),
                format!("… and {} more", crate::providers::thousands(more as u64)),
            ));
        }
    }
    // The deploy activity rides on the "updated" line so that a deploy
    // starting or finishing changes a label, not the menu's shape.
    let mut updated = lines.updated.unwrap_or_default();
    if let Some(a) = &lines.activity {
        updated = format!("{updated} · {a}");
    }
    if let Some(m) = &v.muted {
        updated = format!("{updated} · {m}");
    }
    out.push(Node::text(format!("{sid}:updated"), updated));
    out.push(Node::item(
        format!("{sid}:refresh"),
        "Refresh",
        Action::RefreshService(s.id.clone()),
    ));
    out.push(Node::item(
        format!("{sid}:open"),
        "Open dashboard",
        Action::OpenDashboard(url),
    ));
    out.push(mute_menu(
        &format!("{sid}:mute"),
        "Mute",
        v.muted.as_deref(),
        |f| Action::MuteService(s.id.clone(), f),
        Action::UnmuteService(s.id.clone()),
    ));
    out
}

/// A change to one existing node.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: String,
    pub label: Option<String>,
    pub enabled: Option<bool>,
    pub checked: Option<bool>,
}

/// How to get from one menu to the next.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Nothing to do.
    Same,
    /// Same shape: change these nodes in place.
    InPlace(Vec<Change>),
    /// The shape changed: rebuild the menu.
    Rebuild,
}

/// The shape of a menu: ids and kinds in order, with nesting.
fn shape<'a>(nodes: &'a [Node], out: &mut Vec<(&'a str, Kind, usize)>, depth: usize) {
    for n in nodes {
        out.push((n.id.as_str(), n.kind, depth));
        shape(&n.children, out, depth + 1);
    }
}

fn flatten<'a>(nodes: &'a [Node], out: &mut Vec<&'a Node>) {
    for n in nodes {
        out.push(n);
        flatten(&n.children, out);
    }
}

/// Whether a submenu's own label can change in place. On Linux muda draws a
/// submenu entry as a box holding an image and a label, and its `set_text`
/// does not reach that label (nor, so, the exported dbusmenu), so a relabelled
/// submenu is rebuilt there. Submenu labels change only with a workspace's
/// status or a mute, which is rare; card lines, which change often, are items.
pub const SUBMENU_RELABEL_IN_PLACE: bool = !cfg!(target_os = "linux");

/// Compares two menus.
pub fn diff(old: &[Node], new: &[Node]) -> Update {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    shape(old, &mut a, 0);
    shape(new, &mut b, 0);
    if a != b {
        return Update::Rebuild;
    }
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    flatten(old, &mut fa);
    flatten(new, &mut fb);
    let mut changes = Vec::new();
    for (o, n) in fa.iter().zip(fb.iter()) {
        if o.action != n.action && o.kind != Kind::Separator {
            // A different action behind the same id (e.g. a new dashboard URL):
            // the tray maps ids to actions, so it must learn the new one.
            return Update::Rebuild;
        }
        if n.kind == Kind::Submenu && o.label != n.label && !SUBMENU_RELABEL_IN_PLACE {
            return Update::Rebuild;
        }
        let c = Change {
            id: n.id.clone(),
            label: (o.label != n.label).then(|| n.label.clone()),
            enabled: (o.enabled != n.enabled).then_some(n.enabled),
            checked: (o.checked != n.checked).then_some(n.checked),
        };
        if c.label.is_some() || c.enabled.is_some() || c.checked.is_some() {
            changes.push(c);
        }
    }
    if changes.is_empty() {
        Update::Same
    } else {
        Update::InPlace(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NetlifyTarget;
    use crate::model::{Metric, Target};
    use crate::secrets::KeyRef;
    use time::macros::datetime;

    fn svc(ws: &str, name: &str) -> Service {
        let mut s = Service::example(
            ws,
            name,
            Target::Netlify(NetlifyTarget {
                site: name.to_lowercase(),
            }),
            Some(KeyRef::Env("T".into())),
        );
        s.id = ServiceId(format!("{}/{}", ws.to_lowercase(), name.to_lowercase()));
        s
    }

    fn card(status: Status, summary: &str, updated: OffsetDateTime) -> Card {
        Card {
            status,
            reason: None,
            in_progress: false,
            activity: None,
            summary: summary.into(),
            metrics: vec![
                Metric::new("published", "3 h ago"),
                Metric::new("last deploy", "ready 3 h ago"),
            ],
            details: Vec::new(),
            dashboard_url: Some("https://app.netlify.com/sites/x/overview".into()),
            link: None,
            gauge: None,
            updated_at: Some(updated),
        }
    }

    fn state(n: usize) -> MenuState {
        let now = datetime!(2026-11-25 18:00 UTC);
        let services = (0..n)
            .map(|i| ServiceView {
                service: svc("Acme", &format!("S{i}")),
                card: Some(card(Status::Healthy, "live", now)),
                stale: false,
                muted: None,
            })
            .collect();
        MenuState {
            workspaces: vec![WorkspaceView {
                name: "Acme".into(),
                services,
                muted: None,
            }],
            offline: false,
            demo: false,
            config_error: None,
            engine_fault: None,
            refresh: Some(Duration::from_secs(60)),
            notify: Notify::On,
            autostart: false,
            now,
            zone: Zone::utc(),
        }
    }

    fn find<'a>(nodes: &'a [Node], id: &str) -> Option<&'a Node> {
        let mut all = Vec::new();
        flatten(nodes, &mut all);
        all.into_iter().find(|n| n.id == id)
    }

    #[test]
    fn the_menu_has_a_header_workspaces_cards_and_global_items() {
        let mut st = state(2);
        st.workspaces[0].services[1].card = Some(card(Status::Down, "deploy failed", st.now));
        let m = build(&st);
        assert_eq!(m[0].label, "1 down · 1 healthy");
        assert!(!m[0].enabled);
        let ws = find(&m, "ws:Acme").unwrap();
        assert_eq!(ws.label, "× Acme — 1 down · 1 healthy");
        let title = find(&m, "svc:acme/s1:title").unwrap();
        assert_eq!(title.label, "× S1 · Netlify");
        assert_eq!(
            title.action,
            Some(Action::OpenDashboard(
                "https://app.netlify.com/sites/x/overview".into()
            ))
        );
        assert_eq!(
            find(&m, "svc:acme/s1:summary").unwrap().label,
            "deploy failed"
        );
        assert_eq!(
            find(&m, "svc:acme/s1:metric:0").unwrap().label,
            "published: 3 h ago"
        );
        assert!(!find(&m, "svc:acme/s1:metric:0").unwrap().enabled);
        assert_eq!(
            find(&m, "svc:acme/s1:updated").unwrap().label,
            "updated just now"
        );
        assert_eq!(
            find(&m, "svc:acme/s1:refresh").unwrap().action,
            Some(Action::RefreshService(ServiceId("acme/s1".into())))
        );
        let labels: Vec<&str> = m.iter().map(|n| n.label.as_str()).collect();
        for l in [
            "Refresh all",
            "Auto-refresh",
            "Notifications",
            "Open configuration file",
            "Launch at login",
            "Quit Overwatch",
        ] {
            assert!(labels.contains(&l), "{l} in {labels:?}");
        }
        assert!(find(&m, "auto-refresh:1 min").unwrap().checked);
        assert!(!find(&m, "auto-refresh:Off").unwrap().checked);
        assert!(find(&m, "notifications:on").unwrap().checked);
        assert_eq!(worst(&st), Some(Status::Down));
        assert_eq!(tooltip(&st), "Overwatch — 1 down, 1 healthy");
    }

    /// A 5,000-service Railway project made a 5,036-item menu: at most
    /// MAX_METRIC_ROWS metric rows per card, then one row that counts the rest.
    #[test]
    fn metric_rows_per_card_are_capped() {
        let mut st = state(1);
        let c = st.workspaces[0].services[0].card.as_mut().unwrap();
        c.metrics = (0..5000)
            .map(|i| Metric::new(format!("svc{i}"), "crashed"))
            .collect();
        let m = build(&st);
        let mut all = Vec::new();
        flatten(&m, &mut all);
        let rows: Vec<&str> = all
            .iter()
            .filter(|n| n.id.starts_with("svc:acme/s0:metric:"))
            .map(|n| n.label.as_str())
            .collect();
        assert_eq!(rows.len(), MAX_METRIC_ROWS);
        assert_eq!(rows[0], "svc0: crashed");
        assert_eq!(rows[5], "svc5: crashed");
        let more = find(&m, "svc:acme/s0:more").unwrap();
        assert_eq!(more.label, "… and 4,994 more");
        assert!(!more.enabled);
        assert!(all.len() < 60, "{} items", all.len());
        // At the cap exactly, no "more" row.
        let c = st.workspaces[0].services[0].card.as_mut().unwrap();
        c.metrics.truncate(MAX_METRIC_ROWS);
        let m = build(&st);
        assert!(find(&m, "svc:acme/s0:more").is_none());
        assert!(find(&m, "svc:acme/s0:metric:5").is_some());
    }

    #[test]
    fn value_changes_update_in_place_and_keep_ids() {
        let st = state(3);
        let before = build(&st);
        let mut later = st.clone();
        later.now = datetime!(2026-11-25 18:02 UTC);
        later.workspaces[0].services[0]
            .card
            .as_mut()
            .unwrap()
            .summary = "live again".into();
        // A deploy starting changes a label, not the shape.
        let c = later.workspaces[0].services[2].card.as_mut().unwrap();
        c.in_progress = true;
        c.activity = Some("building".into());
        let after = build(&later);
        match diff(&before, &after) {
            Update::InPlace(changes) => {
                let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
                assert!(ids.contains(&"svc:acme/s0:summary"), "{ids:?}");
                assert!(
                    ids.contains(&"svc:acme/s0:updated"),
                    "ages move on: {ids:?}"
                );
                let deploy = changes
                    .iter()
                    .find(|c| c.id == "svc:acme/s2:updated")
                    .unwrap();
                assert_eq!(
                    deploy.label.as_deref(),
                    Some("updated 2 min ago · ⟳ building")
                );
            }
            other => panic!("expected an in-place update, got {other:?}"),
        }
        assert_eq!(diff(&after, &after.clone()), Update::Same);
    }

    #[test]
    fn shape_changes_rebuild() {
        let before = build(&state(2));
        assert_eq!(
            diff(&before, &build(&state(3))),
            Update::Rebuild,
            "a new service"
        );
        let mut st = state(2);
        st.workspaces[0].services[0]
            .card
            .as_mut()
            .unwrap()
            .metrics
            .pop();
        assert_eq!(
            diff(&before, &build(&st)),
            Update::Rebuild,
            "a metric line fewer"
        );
    }

    #[test]
    fn checks_move_in_place() {
        let st = state(1);
        let mut off = st.clone();
        off.refresh = None;
        match diff(&build(&st), &build(&off)) {
            Update::InPlace(ch) => {
                assert!(ch
                    .iter()
                    .any(|c| c.id == "auto-refresh:Off" && c.checked == Some(true)));
                assert!(ch
                    .iter()
                    .any(|c| c.id == "auto-refresh:1 min" && c.checked == Some(false)));
                assert!(ch.iter().any(|c| c.id == "header"
                    && c.label.as_deref() == Some("The service is healthy · auto-refresh paused")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_error_offline_demo_and_link_states() {
        let mut st = state(0);
        st.workspaces.clear();
        let m = build(&st);
        assert_eq!(m[0].label, "No services yet");
        assert!(find(&m, "empty").is_some());
        assert_eq!(
            find(&m, "empty:demo").unwrap().action,
            Some(Action::StartDemo)
        );
        assert_eq!(worst(&st), None);

        let mut st = state(1);
        st.config_error = Some("config.toml:8:12: unknown provider `railwya`".into());
        let m = build(&st);
        assert_eq!(
            find(&m, "config-error:0").unwrap().label,
            "⚠ config.toml:8:12: unknown provider `railwya`"
        );
        assert!(
            find(&m, "svc:acme/s0:title").is_some(),
            "the last good config keeps running"
        );

        let mut st = state(1);
        st.offline = true;
        st.demo = true;
        let m = build(&st);
        assert_eq!(m[0].label, "Demo data · offline — showing last known");
        assert!(find(&m, "svc:acme/s0:updated")
            .unwrap()
            .label
            .ends_with("— stale"));

        let mut st = state(1);
        st.workspaces[0].services[0].service.mode = Mode::Link;
        st.workspaces[0].services[0].card = None;
        let m = build(&st);
        assert_eq!(
            find(&m, "svc:acme/s0:title").unwrap().label,
            "↗ S0 · Netlify"
        );
        assert!(find(&m, "svc:acme/s0:open").is_some());
        assert!(find(&m, "svc:acme/s0:summary").is_none());
        assert_eq!(worst(&st), None, "links colour nothing");
    }

    #[test]
    fn mutes_show_and_can_be_undone() {
        let mut st = state(1);
        st.workspaces[0].services[0].muted = Some("muted for 1 h".into());
        let m = build(&st);
        assert_eq!(
            find(&m, "svc:acme/s0:mute").unwrap().label,
            "Mute (muted for 1 h)"
        );
        assert!(find(&m, "svc:acme/s0:mute:off").unwrap().enabled);
        let plain = build(&state(1));
        assert!(!find(&plain, "svc:acme/s0:mute:off").unwrap().enabled);
        // The "Mute" submenu's own label changes too.
        let expected_in_place = SUBMENU_RELABEL_IN_PLACE;
        assert_eq!(
            matches!(diff(&plain, &m), Update::InPlace(_)),
            expected_in_place
        );
        assert_eq!(diff(&plain, &m) == Update::Rebuild, !expected_in_place);
    }
}

//! The tray menu as plain data: built from the current state, and diffed against the previous one into in-place steps — relabel, insert, remove — so the menu the user is reading never closes.
//!
//! Every node has a stable id derived from what it shows (workspace name,
//! service id, action). [`diff`] turns two menus into the smallest list of
//! [`Op`]s: label, flag, icon and action changes for nodes that stay, and
//! removals and insertions, per parent, for the nodes that come and go. The
//! tray applies them to the live toolkit menu and never replaces it: on
//! Linux a replaced menu closes whatever submenu is open (the tray host gets
//! a new layout with new ids), while an insertion in another workspace, or
//! in the open one, leaves it open.
//!
//! Per service the workspace submenu has at most three rows: a title with a
//! status icon ("Shop · Railway — api crashed ▸"), and up to two rows that
//! add something the title does not say ([`super::rows`]); everything else
//! is one level down, in the service's own submenu.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::icon::Look;
use super::rows;
use super::{card, Counts};
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
    /// When the last answer (not a failed check) came.
    pub last_success: Option<OffsetDateTime>,
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
    /// Shared: a workspace none of whose services changed is the previous
    /// state's (see `live::Memo`), and [`build_with`] reuses its node.
    pub workspaces: Vec<Arc<WorkspaceView>>,
    /// Every request failed to connect: showing the last known state.
    pub offline: bool,
    /// Data from the built-in simulator.
    pub demo: bool,
    /// The config file does not validate (the last good config keeps running).
    pub config_error: Option<String>,
    /// The engine crashed and was restarted (an internal error, shown, never silent).
    pub engine_fault: Option<String>,
    /// Something the app could not do for a click, said in the menu ("No
    /// application opens …: the file is /home/…/config.toml").
    pub notice: Option<String>,
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
    /// Opens the config file; writes the commented example first when there is none.
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

/// The picture at the start of a row: a status in the tray icon's shapes
/// (so colour is never the only cue), or an empty square that lines a row's
/// text up under a title's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Glyph {
    Look(Look),
    Blank,
}

/// One menu entry. `Eq`, so comparing two menus skips shared children
/// (`Arc`'s equality checks the pointer first for `Eq` types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub kind: Kind,
    pub label: String,
    pub enabled: bool,
    pub checked: bool,
    /// Items and submenus may carry one.
    pub icon: Option<Glyph>,
    pub action: Option<Action>,
    /// Shared: a workspace or card that did not change is the previous
    /// menu's node, and [`diff`] skips children that are the same allocation.
    pub children: Arc<Vec<Node>>,
    /// A submenu the tray may build when it is first opened (a workspace, a
    /// card's own submenu): until then it costs one entry instead of dozens.
    pub lazy: bool,
}

impl Node {
    fn item(id: impl Into<String>, label: impl Into<String>, action: Action) -> Node {
        Node {
            id: id.into(),
            kind: Kind::Item,
            label: label.into(),
            enabled: true,
            checked: false,
            icon: None,
            action: Some(action),
            children: Arc::default(),
            lazy: false,
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
            icon: None,
            action: None,
            children: Arc::default(),
            lazy: false,
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
            icon: None,
            action: None,
            children: Arc::new(children),
            lazy: false,
        }
    }

    fn sep(id: impl Into<String>) -> Node {
        Node {
            id: id.into(),
            kind: Kind::Separator,
            label: String::new(),
            enabled: true,
            checked: false,
            icon: None,
            action: None,
            children: Arc::default(),
            lazy: false,
        }
    }

    fn with_icon(mut self, icon: Glyph) -> Node {
        self.icon = Some(icon);
        self
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

/// Whether there is any service at all (shown, even if not polled).
pub(crate) fn has_services(state: &MenuState) -> bool {
    state.workspaces.iter().any(|w| !w.services.is_empty())
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

/// The look of a status, for icons: "checking" is the loading look.
fn look_of(s: Status) -> Look {
    Look::from_status(s)
}

/// A row of text that fits, or, when it does not, its cut start with the
/// whole text one level down.
fn text_row(id: &str, text: &str) -> Node {
    let (short, was_cut) = rows::cut(text);
    if !was_cut {
        return Node::text(id, short);
    }
    let children = rows::wrap(text)
        .into_iter()
        .enumerate()
        .map(|(i, l)| Node::text(format!("{id}:{i}"), l))
        .collect();
    Node::sub(id, short, children)
}

/// Builds the whole menu.
pub fn build(state: &MenuState) -> Vec<Node> {
    build_with(state, &mut NodeMemo::default())
}

/// The workspace submenus of the previous build, to reuse for workspaces
/// that did not change: per poll result the tray rebuilds (and the diff
/// walks) one workspace, not the whole menu.
#[derive(Debug, Default)]
pub struct NodeMemo {
    workspaces: std::collections::HashMap<String, BuiltWorkspace>,
}

#[derive(Debug)]
struct BuiltWorkspace {
    from: Arc<WorkspaceView>,
    offline: bool,
    built_at: OffsetDateTime,
    /// When one of its "updated N min ago" lines would read differently.
    valid_until: OffsetDateTime,
    node: Node,
}

impl NodeMemo {
    /// How long the menu built last stays true: until its next relative
    /// time ("updated 2 min ago") would change; between a second and an hour.
    pub fn next_change(&self, now: OffsetDateTime) -> Duration {
        self.workspaces
            .values()
            .map(|b| (b.valid_until - now).unsigned_abs())
            .min()
            .unwrap_or(Duration::from_secs(3600))
            .clamp(Duration::from_secs(1), Duration::from_secs(3600))
    }

    fn workspace(&mut self, ws: &Arc<WorkspaceView>, state: &MenuState) -> Node {
        if let Some(b) = self.workspaces.get(&ws.name) {
            if Arc::ptr_eq(&b.from, ws)
                && b.offline == state.offline
                && b.built_at <= state.now
                && state.now < b.valid_until
            {
                return b.node.clone();
            }
        }
        let node = workspace(ws, state);
        let next = card::next_time_change(
            ws.services
                .iter()
                .map(|v| (v.card.as_ref(), v.last_success)),
            state.now,
        );
        self.workspaces.insert(
            ws.name.clone(),
            BuiltWorkspace {
                from: ws.clone(),
                offline: state.offline,
                built_at: state.now,
                valid_until: state.now + next,
                node: node.clone(),
            },
        );
        node
    }
}

/// [`build`], reusing the workspaces of the previous build that did not change.
pub fn build_with(state: &MenuState, memo: &mut NodeMemo) -> Vec<Node> {
    let has_services = has_services(state);
    let mut out = Vec::new();
    if !has_services && !state.demo {
        // One row says it and offers the way out (not a header and a row).
        out.push(Node::item(
            "header",
            "No services yet — Add a service…",
            Action::OpenConfig,
        ));
    } else {
        out.push(Node::text("header", headline(state)));
    }
    out.push(Node::item(
        "open-overwatch",
        "Open Overwatch…",
        Action::OpenOverwatch,
    ));
    if let Some(fault) = &state.engine_fault {
        out.push(text_row("engine-fault", &format!("⚠ {fault}")));
    }
    if let Some(err) = &state.config_error {
        out.push(config_error(err));
    }
    if let Some(notice) = &state.notice {
        out.push(text_row("notice", &format!("⚠ {notice}")));
    }
    if state.demo {
        out.push(Node::item(
            "setup",
            "Set up your own services…",
            Action::OpenConfig,
        ));
    } else if !has_services {
        out.push(Node::item(
            "empty:demo",
            "Start the demo",
            Action::StartDemo,
        ));
    }
    out.push(Node::sep("sep:top"));
    for ws in &state.workspaces {
        out.push(memo.workspace(ws, state));
    }
    if memo.workspaces.len() > state.workspaces.len() {
        memo.workspaces
            .retain(|name, _| state.workspaces.iter().any(|w| &w.name == name));
    }
    if has_services {
        out.push(Node::sep("sep:ws"));
    }
    out.push(Node::item("refresh-all", "Refresh all", Action::RefreshAll));
    out.push(auto_refresh(state.refresh));
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

/// Auto-refresh ▸ with the current choice ticked, also when it is not one
/// of the offered ones (the demo's 5 s, a hand-written "2m"): it is listed.
fn auto_refresh(current: Option<Duration>) -> Node {
    let mut choices: Vec<(Option<Duration>, String)> = REFRESH_CHOICES
        .iter()
        .map(|(d, l)| (*d, l.to_string()))
        .collect();
    if let Some(d) = current.filter(|d| !choices.iter().any(|(c, _)| *c == Some(*d))) {
        let at = choices
            .iter()
            .position(|(c, _)| c.is_some_and(|c| c > d))
            .unwrap_or(choices.len());
        choices.insert(at, (Some(d), every(d)));
    }
    Node::sub(
        "auto-refresh",
        "Auto-refresh",
        choices
            .into_iter()
            .map(|(d, label)| {
                Node::check(
                    format!("auto-refresh:{label}"),
                    label,
                    current == d,
                    Action::SetRefresh(d),
                )
            })
            .collect(),
    )
}

/// "5 s", "2 min", "1 h 30 min" for an interval that is not an offered choice.
fn every(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 || !s.is_multiple_of(60) {
        format!("{} s", s.max(1))
    } else {
        crate::text::span(d)
    }
}

/// The config's problems: the first one in the row (cut), every one in full
/// one level down, with the way to fix them.
fn config_error(err: &str) -> Node {
    let problems: Vec<String> = err
        .lines()
        .map(|l| l.trim().replace('`', ""))
        .filter(|l| !l.is_empty())
        .collect();
    let first = problems
        .iter()
        .find(|l| !l.ends_with(':'))
        .or(problems.first())
        .cloned()
        .unwrap_or_default();
    let mut children = Vec::new();
    let mut i = 0;
    for p in problems.iter().take(12) {
        for l in rows::wrap(p) {
            children.push(Node::text(format!("config-error:{i}"), l));
            i += 1;
        }
    }
    children.push(Node::sep("config-error:sep"));
    children.push(Node::item(
        "config-error:open",
        "Open configuration file",
        Action::OpenConfig,
    ));
    Node::sub("config-error", rows::cut(&format!("⚠ {first}")).0, children)
}

/// "14:05" on the user's clock at that moment.
pub fn clock(t: OffsetDateTime, zone: &Zone) -> String {
    let t = zone.local(t);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// How many rows a workspace's submenu may take before hosts add scroll
/// arrows: about 30 rows of 25 px fit a 800 px screen under a panel.
pub const MAX_WORKSPACE_ROWS: usize = 28;

fn workspace(ws: &WorkspaceView, state: &MenuState) -> Node {
    let statuses = statuses(ws.services.iter());
    let worst = Status::worst(statuses.iter().copied());
    let icon = match worst {
        Some(s) => Glyph::Look(look_of(s)),
        None if ws.services.is_empty() => Glyph::Look(Look::Neutral),
        None => Glyph::Look(Look::Link),
    };
    let mut label = format!("{} — {}", ws.name, Counts::of(statuses).headline());
    if ws.muted.is_some() {
        label.push_str(" (muted)");
    }
    // A long workspace name is cut; its counts are in the header too.
    let label = rows::cut(&label).0;
    let wid = format!("ws:{}", ws.name);
    let shown: Vec<&ServiceView> = ws.services.iter().filter(|v| v.service.enabled).collect();
    let cards: Vec<Card0> = shown.iter().map(|v| card_parts(v, state)).collect();
    // Rows beyond the titles: problems first (up to 2 each), then healthy
    // cards (1 each), while the submenu still fits on a screen.
    let mut budget = MAX_WORKSPACE_ROWS.saturating_sub(cards.len() + 3);
    let mut allowed = vec![0usize; cards.len()];
    for pass in 0..2 {
        for (i, c) in cards.iter().enumerate() {
            let cap = if c.problem { 2 } else { 1 };
            if (pass == 0) != c.problem || allowed[i] >= cap {
                continue;
            }
            let want = c.rows.len().min(cap);
            let take = want.min(budget);
            allowed[i] = take;
            budget -= take;
        }
    }
    let mut children = Vec::new();
    for (c, n) in cards.into_iter().zip(allowed) {
        children.push(c.title);
        for (i, r) in c.rows.into_iter().take(n).enumerate() {
            children.push(Node::text(format!("{}:row:{i}", c.sid), r).with_icon(Glyph::Blank));
        }
    }
    if !shown.is_empty() {
        children.push(Node::sep(format!("{wid}:sep")));
    }
    children.push(Node::item(
        format!("{wid}:refresh"),
        rows::cut(&format!("Refresh {}", ws.name)).0,
        Action::RefreshWorkspace(ws.name.clone()),
    ));
    children.push(mute_menu(
        &format!("{wid}:mute"),
        "Mute workspace",
        ws.muted.as_deref(),
        |f| Action::MuteWorkspace(ws.name.clone(), f),
        Action::UnmuteWorkspace(ws.name.clone()),
    ));
    let mut node = Node::sub(wid, label, children).with_icon(icon);
    // Built when a tray host first opens it: a closed workspace costs one
    // entry instead of its cards' rows (issue #16: most of the idle menu).
    node.lazy = true;
    node
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

/// Metric lines one level down per card: a card that sends thousands (a
/// 5,000-service Railway project) must not make a menu of thousands of
/// items. The rest is counted in one row; `--json` keeps them all.
pub const MAX_METRIC_ROWS: usize = 6;

/// A card's title node and the rows it could show under it.
struct Card0 {
    sid: String,
    title: Node,
    rows: Vec<String>,
    /// Degraded, down or unknown: gets more rows when room is short.
    problem: bool,
}

fn card_parts(v: &ServiceView, state: &MenuState) -> Card0 {
    let s = &v.service;
    let sid = format!("svc:{}", s.id);
    let name = format!("{} · {}", s.name, s.provider().title());
    let url = v
        .card
        .as_ref()
        .and_then(|c| c.open_url().map(str::to_string))
        .unwrap_or_else(|| s.dashboard_url());
    if s.mode == Mode::Link {
        let title = Node::item(
            sid.clone(),
            rows::cut(&format!("{name} — dashboard link")).0,
            Action::OpenDashboard(url),
        )
        .with_icon(Glyph::Look(Look::Link));
        return Card0 {
            sid,
            title,
            rows: Vec::new(),
            problem: false,
        };
    }
    let status = v.card.as_ref().map(|c| c.status).unwrap_or(Status::Loading);
    let mc = rows::menu_card(&name, v.card.as_ref());
    let mut title = mc.title.clone();
    if v.muted.is_some() {
        title = rows::cut(&format!("{} (muted)", title.trim_end_matches('…'))).0;
    }
    let mut children: Vec<Node> = Vec::new();
    for (i, l) in mc.full.iter().enumerate() {
        children.push(Node::text(format!("{sid}:full:{i}"), l.clone()));
    }
    let details = &mc.details;
    let shown = details.len().min(MAX_METRIC_ROWS);
    for (i, l) in details.iter().take(shown).enumerate() {
        children.push(Node::text(format!("{sid}:detail:{i}"), l.clone()));
    }
    if details.len() > shown {
        children.push(Node::text(
            format!("{sid}:more"),
            format!(
                "… and {} more",
                crate::providers::thousands((details.len() - shown) as u64)
            ),
        ));
    }
    let mut time = rows::time_line(
        v.card.as_ref().and_then(|c| c.updated_at),
        v.last_success,
        state.now,
        v.stale || state.offline,
        state.offline,
    );
    if let Some(m) = &v.muted {
        time = format!("{time} · {m}");
    }
    children.push(Node::text(format!("{sid}:time"), time));
    children.push(Node::sep(format!("{sid}:sep")));
    children.push(Node::item(
        format!("{sid}:refresh"),
        "Refresh",
        Action::RefreshService(s.id.clone()),
    ));
    children.push(Node::item(
        format!("{sid}:open"),
        "Open dashboard",
        Action::OpenDashboard(url),
    ));
    children.push(mute_menu(
        &format!("{sid}:mute"),
        "Mute",
        v.muted.as_deref(),
        |f| Action::MuteService(s.id.clone(), f),
        Action::UnmuteService(s.id.clone()),
    ));
    let mut node = Node::sub(sid.clone(), title, children).with_icon(Glyph::Look(look_of(status)));
    node.lazy = true;
    Card0 {
        title: node,
        sid,
        rows: mc.rows,
        problem: matches!(status, Status::Down | Status::Degraded | Status::Unknown),
    }
}

/// A change to one node that stays.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: String,
    pub label: Option<String>,
    pub enabled: Option<bool>,
    pub checked: Option<bool>,
    /// The new icon (only between two icons: a row gains or loses its icon
    /// by being replaced).
    pub icon: Option<Glyph>,
    /// The new action, when it changed.
    pub action: Option<Option<Action>>,
}

impl Change {
    fn is_empty(&self) -> bool {
        self.label.is_none()
            && self.enabled.is_none()
            && self.checked.is_none()
            && self.icon.is_none()
            && self.action.is_none()
    }
}

/// One step from one menu to the next; apply them in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Labels, flags, icon or action of a node that stays.
    Set(Change),
    /// Takes a node out of `parent` (`None`: the top level). `ids` are the
    /// node's and everything's under it.
    Remove {
        parent: Option<String>,
        id: String,
        ids: Vec<String>,
    },
    /// Puts a new node (with its children) into `parent` at `index`.
    Insert {
        parent: Option<String>,
        index: usize,
        node: Node,
    },
}

/// Whether the steps add or remove anything (a layout change for the host).
pub fn is_structural(ops: &[Op]) -> bool {
    ops.iter().any(|o| !matches!(o, Op::Set(_)))
}

/// Whether a node can be changed into the other in place: the toolkit item
/// is the same kind (an icon item is not a plain one).
fn same_kind(a: &Node, b: &Node) -> bool {
    a.kind == b.kind && a.icon.is_some() == b.icon.is_some()
}

fn ids_under(n: &Node, out: &mut Vec<String>) {
    out.push(n.id.clone());
    for c in n.children.iter() {
        ids_under(c, out);
    }
}

/// The steps that turn `old` into `new` (none: nothing to do).
pub fn diff(old: &[Node], new: &[Node]) -> Vec<Op> {
    let mut ops = Vec::new();
    diff_children(None, old, new, &mut ops);
    ops
}

fn diff_children(parent: Option<&str>, old: &[Node], new: &[Node], ops: &mut Vec<Op>) {
    let parent_id = parent.map(str::to_string);
    // Fast path: the same ids in the same order (almost every update).
    let same_order = old.len() == new.len()
        && old
            .iter()
            .zip(new)
            .all(|(a, b)| a.id == b.id && same_kind(a, b));
    if same_order {
        for (a, b) in old.iter().zip(new) {
            diff_node(a, b, ops);
        }
        return;
    }
    let wanted = |n: &Node| new.iter().any(|m| m.id == n.id && same_kind(n, m));
    let mut current: Vec<&Node> = Vec::with_capacity(old.len());
    for n in old {
        if wanted(n) {
            current.push(n);
        } else {
            let mut ids = Vec::new();
            ids_under(n, &mut ids);
            ops.push(Op::Remove {
                parent: parent_id.clone(),
                id: n.id.clone(),
                ids,
            });
        }
    }
    for (i, n) in new.iter().enumerate() {
        if current.get(i).is_some_and(|c| c.id == n.id) {
            diff_node(current[i], n, ops);
            continue;
        }
        if let Some(j) = current.iter().position(|c| c.id == n.id) {
            // Moved: out of its old place, into the new one.
            let mut ids = Vec::new();
            ids_under(current[j], &mut ids);
            ops.push(Op::Remove {
                parent: parent_id.clone(),
                id: n.id.clone(),
                ids,
            });
            current.remove(j);
        }
        ops.push(Op::Insert {
            parent: parent_id.clone(),
            index: i,
            node: n.clone(),
        });
        current.insert(i, n);
    }
}

fn diff_node(o: &Node, n: &Node, ops: &mut Vec<Op>) {
    let c = Change {
        id: n.id.clone(),
        label: (o.label != n.label).then(|| n.label.clone()),
        enabled: (o.enabled != n.enabled).then_some(n.enabled),
        checked: (o.checked != n.checked).then_some(n.checked),
        icon: if o.icon != n.icon { n.icon } else { None },
        action: (o.action != n.action).then(|| n.action.clone()),
    };
    if !c.is_empty() {
        ops.push(Op::Set(c));
    }
    if n.kind == Kind::Submenu && !Arc::ptr_eq(&o.children, &n.children) {
        diff_children(Some(&n.id), &o.children, &n.children, ops);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NetlifyTarget;
    use crate::model::{Metric, Reason, ReasonKind, Target};
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

    fn view(ws: &str, name: &str, card: Option<Card>) -> ServiceView {
        ServiceView {
            service: svc(ws, name),
            last_success: card.as_ref().and_then(|c| c.updated_at),
            card,
            stale: false,
            muted: None,
        }
    }

    fn state(n: usize) -> MenuState {
        let now = datetime!(2026-11-25 18:00 UTC);
        let services = (0..n)
            .map(|i| {
                view(
                    "Acme",
                    &format!("S{i}"),
                    Some(card(Status::Healthy, "live", now)),
                )
            })
            .collect();
        MenuState {
            workspaces: vec![Arc::new(WorkspaceView {
                name: "Acme".into(),
                services,
                muted: None,
            })],
            offline: false,
            demo: false,
            config_error: None,
            engine_fault: None,
            notice: None,
            refresh: Some(Duration::from_secs(60)),
            notify: Notify::On,
            autostart: false,
            now,
            zone: Zone::utc(),
        }
    }

    fn flatten<'a>(nodes: &'a [Node], out: &mut Vec<&'a Node>) {
        for n in nodes {
            out.push(n);
            flatten(&n.children, out);
        }
    }

    fn find<'a>(nodes: &'a [Node], id: &str) -> Option<&'a Node> {
        let mut all = Vec::new();
        flatten(nodes, &mut all);
        all.into_iter().find(|n| n.id == id)
    }

    /// Applies steps to a node tree the way the tray applies them to the
    /// toolkit's menu, so tests check that the steps really lead to `new`.
    fn apply(mut tree: Vec<Node>, ops: &[Op]) -> Vec<Node> {
        fn children_of<'a>(tree: &'a mut Vec<Node>, parent: &Option<String>) -> &'a mut Vec<Node> {
            fn find_mut<'a>(nodes: &'a mut [Node], id: &str) -> Option<&'a mut Node> {
                for n in nodes {
                    if n.id == id {
                        return Some(n);
                    }
                    if let Some(f) = find_mut(Arc::<Vec<Node>>::make_mut(&mut n.children), id) {
                        return Some(f);
                    }
                }
                None
            }
            match parent {
                None => tree,
                Some(p) => Arc::make_mut(&mut find_mut(tree, p).expect("parent exists").children),
            }
        }
        fn set(nodes: &mut [Node], c: &Change) {
            for n in nodes {
                if n.id == c.id {
                    if let Some(l) = &c.label {
                        n.label = l.clone();
                    }
                    if let Some(e) = c.enabled {
                        n.enabled = e;
                    }
                    if let Some(k) = c.checked {
                        n.checked = k;
                    }
                    if let Some(i) = c.icon {
                        n.icon = Some(i);
                    }
                    if let Some(a) = &c.action {
                        n.action = a.clone();
                    }
                    return;
                }
                set(Arc::<Vec<Node>>::make_mut(&mut n.children), c);
            }
        }
        for op in ops {
            match op {
                Op::Set(c) => set(&mut tree, c),
                Op::Remove { parent, id, .. } => {
                    let kids = children_of(&mut tree, parent);
                    let at = kids
                        .iter()
                        .position(|n| &n.id == id)
                        .expect("removed node exists");
                    kids.remove(at);
                }
                Op::Insert {
                    parent,
                    index,
                    node,
                } => {
                    let kids = children_of(&mut tree, parent);
                    assert!(*index <= kids.len(), "insert within bounds");
                    kids.insert(*index, node.clone());
                }
            }
        }
        tree
    }

    fn all_labels(nodes: &[Node]) -> Vec<String> {
        let mut all = Vec::new();
        flatten(nodes, &mut all);
        all.iter().map(|n| n.label.clone()).collect()
    }

    #[test]
    fn the_menu_has_a_header_workspaces_compact_cards_and_global_items() {
        let mut st = state(2);
        Arc::make_mut(&mut st.workspaces[0]).services[1].card =
            Some(card(Status::Down, "deploy failed", st.now));
        let m = build(&st);
        assert_eq!(m[0].label, "1 down · 1 healthy");
        assert!(!m[0].enabled);
        let ws = find(&m, "ws:Acme").unwrap();
        assert_eq!(ws.label, "Acme — 1 down · 1 healthy");
        assert_eq!(
            ws.icon,
            Some(Glyph::Look(Look::Down)),
            "coloured, with a shape"
        );
        let title = find(&m, "svc:acme/s1").unwrap();
        assert_eq!(title.kind, Kind::Submenu);
        assert_eq!(title.label, "S1 · Netlify — deploy failed");
        assert_eq!(title.icon, Some(Glyph::Look(Look::Down)));
        // Under the title in the workspace: rows that add something.
        let kids: Vec<&str> = ws.children.iter().map(|n| n.id.as_str()).collect();
        let at = kids.iter().position(|k| *k == "svc:acme/s1").unwrap();
        assert_eq!(kids[at + 1], "svc:acme/s1:row:0");
        let row = &ws.children[at + 1];
        assert!(!row.enabled);
        assert_eq!(
            row.icon,
            Some(Glyph::Blank),
            "lined up under the title's text"
        );
        assert_eq!(row.label, "published: 3 h ago");
        // One level down: the details, the time, and what to do.
        let inner: Vec<&str> = title.children.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(
            inner,
            [
                "published: 3 h ago",
                "last deploy: ready 3 h ago",
                "updated just now",
                "",
                "Refresh",
                "Open dashboard",
                "Mute"
            ]
        );
        assert_eq!(
            find(&m, "svc:acme/s1:open").unwrap().action,
            Some(Action::OpenDashboard(
                "https://app.netlify.com/sites/x/overview".into()
            ))
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

    /// At most three rows per service in the workspace, the rest one level
    /// down; no label longer than about 60 characters; no developer detail.
    #[test]
    fn cards_are_compact_and_readable() {
        let mut st = state(1);
        let mut c = Card::unknown(Reason::new(
            ReasonKind::Auth,
            "API key `acme-netlify` was rejected (HTTP 401: Access Denied) — run `overwatch secret set acme-netlify`",
        ));
        c.metrics = vec![
            Metric::new("request", "GET /api/v1/sites/x"),
            Metric::new("response", "HTTP 401"),
        ];
        c.updated_at = Some(st.now);
        Arc::make_mut(&mut st.workspaces[0]).services[0].card = Some(c);
        let m = build(&st);
        let ws = find(&m, "ws:Acme").unwrap();
        let rows: Vec<&str> = ws
            .children
            .iter()
            .take_while(|n| n.kind != Kind::Separator)
            .map(|n| n.label.as_str())
            .collect();
        assert_eq!(
            rows,
            [
                "S0 · Netlify — API key rejected",
                "API key acme-netlify was rejected",
                "Run: overwatch secret set acme-netlify"
            ]
        );
        let mut long = st.clone();
        Arc::make_mut(&mut long.workspaces[0]).name =
            "A workspace with a name long enough to go well past sixty".into();
        for l in all_labels(&m).into_iter().chain(all_labels(&build(&long))) {
            assert!(l.chars().count() <= rows::WIDTH, "{l}");
            assert!(!l.contains('`'), "{l}");
            assert!(!l.contains("HTTP 401"), "{l}");
            assert!(!l.contains("request") && !l.contains("response:"), "{l}");
        }
    }

    /// A 5,000-service Railway project made a 5,036-item menu: at most
    /// MAX_METRIC_ROWS detail lines per card, then one row that counts the rest.
    #[test]
    fn detail_lines_per_card_are_capped() {
        let mut st = state(1);
        let c = Arc::make_mut(&mut st.workspaces[0]).services[0]
            .card
            .as_mut()
            .unwrap();
        c.metrics = (0..5000)
            .map(|i| Metric::new(format!("svc{i}"), "crashed"))
            .collect();
        let m = build(&st);
        let mut all = Vec::new();
        flatten(&m, &mut all);
        let rows: Vec<&str> = all
            .iter()
            .filter(|n| n.id.starts_with("svc:acme/s0:detail:"))
            .map(|n| n.label.as_str())
            .collect();
        assert_eq!(rows.len(), MAX_METRIC_ROWS);
        assert_eq!(rows[0], "svc0: crashed");
        assert_eq!(rows[5], "svc5: crashed");
        let more = find(&m, "svc:acme/s0:more").unwrap();
        assert_eq!(more.label, "… and 4,994 more");
        assert!(!more.enabled);
        assert!(all.len() < 60, "{} items", all.len());
        let c = Arc::make_mut(&mut st.workspaces[0]).services[0]
            .card
            .as_mut()
            .unwrap();
        c.metrics.truncate(MAX_METRIC_ROWS);
        let m = build(&st);
        assert!(find(&m, "svc:acme/s0:more").is_none());
        assert!(find(&m, "svc:acme/s0:detail:5").is_some());
    }

    /// Ten services with problems still fit a screen: rows under titles are
    /// dropped (problems keep theirs first) before the submenu would scroll.
    #[test]
    fn a_ten_service_workspace_fits_on_a_screen() {
        let mut st = state(10);
        for (i, v) in Arc::make_mut(&mut st.workspaces[0])
            .services
            .iter_mut()
            .enumerate()
        {
            let c = v.card.as_mut().unwrap();
            c.metrics = vec![
                Metric::new("a", format!("{i} one")),
                Metric::new("b", format!("{i} two")),
                Metric::new("c", format!("{i} three")),
            ];
            if i < 4 {
                c.status = Status::Down;
            }
        }
        let m = build(&st);
        let ws = find(&m, "ws:Acme").unwrap();
        assert!(
            ws.children.len() <= MAX_WORKSPACE_ROWS,
            "{}",
            ws.children.len()
        );
        let rows_of = |i: usize| {
            ws.children
                .iter()
                .filter(|n| n.id.starts_with(&format!("svc:acme/s{i}:row:")))
                .count()
        };
        assert_eq!(rows_of(0), 2, "a problem gets two rows");
        assert_eq!(rows_of(9), 1, "a healthy card one");
        // A small workspace: every card its rows.
        let st = state(2);
        let ws = build(&st);
        let ws = find(&ws, "ws:Acme").unwrap();
        assert_eq!(
            ws.children
                .iter()
                .filter(|n| n.id.contains(":row:"))
                .count(),
            2
        );
    }

    #[test]
    fn value_changes_are_set_in_place_and_keep_ids() {
        let st = state(3);
        let before = build(&st);
        let mut later = st.clone();
        later.now = datetime!(2026-11-25 18:02 UTC);
        Arc::make_mut(&mut later.workspaces[0]).services[0]
            .card
            .as_mut()
            .unwrap()
            .summary = "live again".into();
        let after = build(&later);
        let ops = diff(&before, &after);
        assert!(!is_structural(&ops), "{ops:?}");
        let ids: Vec<&str> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Set(c) => Some(c.id.as_str()),
                _ => None,
            })
            .collect();
        assert!(ids.contains(&"svc:acme/s0"), "the title: {ids:?}");
        assert!(ids.contains(&"svc:acme/s0:time"), "ages move on: {ids:?}");
        assert_eq!(apply(before, &ops), after);
        assert!(diff(&after, &after.clone()).is_empty());
    }

    /// Shape changes are steps too: nothing is rebuilt, and the steps lead
    /// exactly to the new menu.
    #[test]
    fn shape_changes_are_inserts_and_removals_where_they_happen() {
        let before = build(&state(2));
        let after = build(&state(3));
        let ops = diff(&before, &after);
        assert!(ops.iter().any(|o| matches!(o,
            Op::Insert { parent: Some(p), node, .. } if p == "ws:Acme" && node.id == "svc:acme/s2")));
        assert!(
            !ops.iter().any(|o| matches!(o, Op::Remove { .. })),
            "nothing that stays is removed: {ops:?}"
        );
        assert_eq!(apply(before.clone(), &ops), after);
        // A deploy starting adds a row under its card only.
        let mut st = state(2);
        let c = Arc::make_mut(&mut st.workspaces[0]).services[1]
            .card
            .as_mut()
            .unwrap();
        c.in_progress = true;
        c.activity = Some("building".into());
        let busy = build(&st);
        let ops = diff(&before, &busy);
        assert_eq!(apply(before.clone(), &ops), busy);
        assert!(
            ops.iter().all(|o| match o {
                Op::Insert { parent, .. } | Op::Remove { parent, .. } => parent
                    .as_deref()
                    .is_some_and(|p| p.starts_with("ws:Acme") || p.starts_with("svc:acme/s1")),
                Op::Set(c) => c.id.contains("s1") || c.id == "header" || c.id.starts_with("ws:"),
            }),
            "{ops:?}"
        );
        // A second workspace appearing, one disappearing, one moving.
        let mut two = state(2);
        two.workspaces.push(Arc::new(WorkspaceView {
            name: "Beta".into(),
            services: vec![view("Beta", "B0", None)],
            muted: None,
        }));
        let m2 = build(&two);
        assert_eq!(apply(before.clone(), &diff(&before, &m2)), m2);
        two.workspaces.reverse();
        let m3 = build(&two);
        assert_eq!(apply(m2.clone(), &diff(&m2, &m3)), m3);
        assert_eq!(apply(m3.clone(), &diff(&m3, &before)), before);
    }

    #[test]
    fn checks_move_in_place() {
        let st = state(1);
        let mut off = st.clone();
        off.refresh = None;
        let ops = diff(&build(&st), &build(&off));
        assert!(!is_structural(&ops));
        let set = |id: &str| {
            ops.iter().find_map(|o| match o {
                Op::Set(c) if c.id == id => Some(c.clone()),
                _ => None,
            })
        };
        assert_eq!(set("auto-refresh:Off").unwrap().checked, Some(true));
        assert_eq!(set("auto-refresh:1 min").unwrap().checked, Some(false));
        assert_eq!(
            set("header").unwrap().label.as_deref(),
            Some("The service is healthy · auto-refresh paused")
        );
    }

    /// The demo polls every 5 s: that choice is listed and ticked.
    #[test]
    fn the_current_auto_refresh_is_ticked_even_when_not_offered() {
        let mut st = state(1);
        st.refresh = Some(Duration::from_secs(5));
        st.demo = true;
        let m = build(&st);
        let ar = find(&m, "auto-refresh").unwrap();
        let labels: Vec<(&str, bool)> = ar
            .children
            .iter()
            .map(|n| (n.label.as_str(), n.checked))
            .collect();
        assert_eq!(
            labels,
            [
                ("Off", false),
                ("5 s", true),
                ("30 s", false),
                ("1 min", false),
                ("5 min", false),
                ("15 min", false)
            ]
        );
        st.refresh = Some(Duration::from_secs(120));
        let m = build(&st);
        assert!(find(&m, "auto-refresh:2 min").unwrap().checked);
    }

    #[test]
    fn empty_error_offline_demo_and_link_states() {
        let mut st = state(0);
        st.workspaces.clear();
        let m = build(&st);
        assert_eq!(m[0].label, "No services yet — Add a service…");
        assert_eq!(m[0].action, Some(Action::OpenConfig));
        assert_eq!(
            all_labels(&m)
                .iter()
                .filter(|l| l.contains("No services yet"))
                .count(),
            1,
            "said once"
        );
        assert_eq!(
            find(&m, "empty:demo").unwrap().action,
            Some(Action::StartDemo)
        );
        assert_eq!(worst(&st), None);

        let mut st = state(1);
        st.config_error = Some(
            "/home/me/.config/overwatch/config.toml has 2 problems:\n  /home/me/.config/overwatch/config.toml:8:12: unknown provider `railwya`: use one of railway, plausible, netlify, sentry\n  x.toml:9:1: unknown key `projet`"
                .into(),
        );
        let m = build(&st);
        let err = find(&m, "config-error").unwrap();
        assert!(
            err.label
                .starts_with("⚠ /home/me/.config/overwatch/config.toml:8:12"),
            "{}",
            err.label
        );
        assert!(err.label.chars().count() <= rows::WIDTH);
        let inner = all_labels(&err.children)
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(inner.contains("unknown provider railwya"), "{inner}");
        assert!(inner.contains("unknown key projet"), "{inner}");
        assert_eq!(
            find(&m, "config-error:open").unwrap().action,
            Some(Action::OpenConfig)
        );
        assert!(
            find(&m, "svc:acme/s0").is_some(),
            "the last good config keeps running"
        );

        let mut st = state(1);
        st.offline = true;
        st.demo = true;
        let m = build(&st);
        assert_eq!(m[0].label, "Demo data · offline — showing last known");
        assert_eq!(
            find(&m, "svc:acme/s0:time").unwrap().label,
            "last checked just now (offline)"
        );
        assert_eq!(
            find(&m, "setup").unwrap().label,
            "Set up your own services…"
        );
        assert_eq!(find(&m, "setup").unwrap().action, Some(Action::OpenConfig));

        let mut st = state(1);
        Arc::make_mut(&mut st.workspaces[0]).services[0].card = None;
        Arc::make_mut(&mut st.workspaces[0]).services[0].last_success = None;
        let m = build(&st);
        assert_eq!(
            find(&m, "svc:acme/s0").unwrap().label,
            "S0 · Netlify — checking…"
        );
        assert_eq!(
            find(&m, "svc:acme/s0:time").unwrap().label,
            "not checked yet"
        );

        let mut st = state(1);
        Arc::make_mut(&mut st.workspaces[0]).services[0]
            .service
            .mode = Mode::Link;
        Arc::make_mut(&mut st.workspaces[0]).services[0].card = None;
        let m = build(&st);
        let link = find(&m, "svc:acme/s0").unwrap();
        assert_eq!(link.label, "S0 · Netlify — dashboard link");
        assert_eq!(link.kind, Kind::Item);
        assert_eq!(link.icon, Some(Glyph::Look(Look::Link)));
        assert!(matches!(link.action, Some(Action::OpenDashboard(_))));
        assert_eq!(worst(&st), None, "links colour nothing");
    }

    #[test]
    fn a_notice_says_what_could_not_be_done() {
        let mut st = state(1);
        st.notice = Some("no application opens the configuration file: it is /home/me/.config/overwatch/config.toml".into());
        let m = build(&st);
        let n = find(&m, "notice").unwrap();
        assert!(n.label.starts_with("⚠ no application opens"), "{}", n.label);
        assert!(all_labels(&n.children)
            .join(" ")
            .contains("/home/me/.config/overwatch/config.toml"));
    }

    #[test]
    fn mutes_show_and_can_be_undone() {
        let mut st = state(1);
        Arc::make_mut(&mut st.workspaces[0]).services[0].muted = Some("muted for 1 h".into());
        let m = build(&st);
        assert_eq!(
            find(&m, "svc:acme/s0:mute").unwrap().label,
            "Mute (muted for 1 h)"
        );
        assert!(find(&m, "svc:acme/s0").unwrap().label.ends_with("(muted)"));
        assert!(find(&m, "svc:acme/s0:mute:off").unwrap().enabled);
        let plain = build(&state(1));
        assert!(!find(&plain, "svc:acme/s0:mute:off").unwrap().enabled);
        // Submenus are relabelled in place like any item.
        let ops = diff(&plain, &m);
        assert!(!is_structural(&ops), "{ops:?}");
        assert_eq!(apply(plain, &ops), m);
    }
}

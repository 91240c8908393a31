//! The tray itself: tao owns the main thread, tray-icon shows the icon, muda renders the menu model; it holds no logic.
//!
//! [`run`] takes over the main thread. The app feeds it [`TrayUpdate`]s through
//! a [`TrayProxy`] and gets clicks back as [`Action`]s. Menus are diffed
//! ([`menu::diff`]): label-only changes are applied in place with
//! `set_text`/`set_enabled`/`set_checked`, so an open menu stays open;
//! only a change of shape rebuilds it.

use std::collections::HashMap;

use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tray_icon::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu,
};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::view::icon::{self, IconSpec};
use crate::view::menu::{self, Action, Kind, Node, Update};

/// Every label passes here on its way into muda: one harmless line, `&` doubled.
fn label(text: &str) -> String {
    crate::text::menu_label(text)
}

/// The icon size handed to the platform (hosts scale it to their panel).
#[cfg(target_os = "macos")]
const ICON_SIZE: u32 = 36;
#[cfg(not(target_os = "macos"))]
const ICON_SIZE: u32 = 32;

/// What the tray should show now.
#[derive(Debug, Clone, PartialEq)]
pub struct TrayUpdate {
    pub menu: Vec<Node>,
    pub icon: IconSpec,
    pub tooltip: String,
}

/// Messages into the tray's event loop.
#[derive(Debug)]
pub enum TrayMsg {
    Update(Box<TrayUpdate>),
    Menu(String),
    Quit,
    /// A tray host (StatusNotifierWatcher) is on the bus but does not list
    /// our item: build the icon again so it registers (Linux).
    Reregister,
}

/// Sends updates to the running tray from any thread.
#[derive(Clone)]
pub struct TrayProxy(EventLoopProxy<TrayMsg>);

impl TrayProxy {
    /// `false` once the tray has gone.
    pub fn update(&self, u: TrayUpdate) -> bool {
        self.0.send_event(TrayMsg::Update(Box::new(u))).is_ok()
    }

    pub fn quit(&self) {
        let _ = self.0.send_event(TrayMsg::Quit);
    }
}

/// A rendered menu entry we can change in place.
enum Handle {
    Item(MenuItem),
    Check(CheckMenuItem),
    Sub(Submenu),
    Sep,
}

struct Rendered {
    menu: Menu,
    nodes: Vec<Node>,
    handles: HashMap<String, Handle>,
    actions: HashMap<String, Action>,
}

fn render(nodes: &[Node]) -> Rendered {
    let menu = Menu::new();
    let mut handles = HashMap::new();
    let mut actions = HashMap::new();
    for n in nodes {
        let item = make(n, &mut handles, &mut actions);
        if let Err(e) = menu.append(item.as_ref()) {
            tracing::warn!("menu item `{}`: {e}", n.id);
        }
    }
    Rendered {
        menu,
        nodes: nodes.to_vec(),
        handles,
        actions,
    }
}

fn make(
    n: &Node,
    handles: &mut HashMap<String, Handle>,
    actions: &mut HashMap<String, Action>,
) -> Box<dyn IsMenuItem> {
    if let Some(a) = &n.action {
        actions.insert(n.id.clone(), a.clone());
    }
    match n.kind {
        Kind::Item => {
            let it = MenuItem::with_id(n.id.clone(), label(&n.label), n.enabled, None);
            handles.insert(n.id.clone(), Handle::Item(it.clone()));
            Box::new(it)
        }
        Kind::Check => {
            let it =
                CheckMenuItem::with_id(n.id.clone(), label(&n.label), n.enabled, n.checked, None);
            handles.insert(n.id.clone(), Handle::Check(it.clone()));
            Box::new(it)
        }
        Kind::Submenu => {
            let sub = Submenu::with_id(n.id.clone(), label(&n.label), n.enabled);
            for c in &n.children {
                let child = make(c, handles, actions);
                if let Err(e) = sub.append(child.as_ref()) {
                    tracing::warn!("menu item `{}`: {e}", c.id);
                }
            }
            handles.insert(n.id.clone(), Handle::Sub(sub.clone()));
            Box::new(sub)
        }
        Kind::Separator => {
            handles.insert(n.id.clone(), Handle::Sep);
            Box::new(PredefinedMenuItem::separator())
        }
    }
}

/// What [`Rendered::update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Same,
    InPlace,
    /// A new menu was built; it must be handed to the tray icon.
    Rebuilt,
}

impl Rendered {
    /// Brings the rendered menu to `new`: in place when only labels and
    /// flags changed, a new menu when the shape did.
    fn update(&mut self, new: Vec<Node>) -> Applied {
        match menu::diff(&self.nodes, &new) {
            Update::Same => Applied::Same,
            Update::InPlace(changes) => {
                self.apply(&changes);
                self.nodes = new;
                Applied::InPlace
            }
            Update::Rebuild => {
                *self = render(&new);
                Applied::Rebuilt
            }
        }
    }

    fn apply(&mut self, changes: &[menu::Change]) {
        for c in changes {
            match self.handles.get(&c.id) {
                Some(Handle::Item(it)) => {
                    if let Some(l) = &c.label {
                        it.set_text(label(l));
                    }
                    if let Some(e) = c.enabled {
                        it.set_enabled(e);
                    }
                }
                Some(Handle::Check(it)) => {
                    if let Some(l) = &c.label {
                        it.set_text(label(l));
                    }
                    if let Some(e) = c.enabled {
                        it.set_enabled(e);
                    }
                    if let Some(k) = c.checked {
                        it.set_checked(k);
                    }
                }
                Some(Handle::Sub(s)) => {
                    if let Some(l) = &c.label {
                        s.set_text(label(l));
                    }
                    if let Some(e) = c.enabled {
                        s.set_enabled(e);
                    }
                }
                Some(Handle::Sep) | None => {}
            }
        }
    }
}

/// A menu rendered into real toolkit items, outside the event loop: for
/// benchmarks of the update path the tray uses. The toolkit must already be
/// initialised on this thread (GTK on Linux).
pub struct MenuRenderer(Rendered);

impl MenuRenderer {
    pub fn new(nodes: &[Node]) -> MenuRenderer {
        MenuRenderer(render(nodes))
    }

    /// The toolkit menu (to attach to a tray icon).
    pub fn menu(&self) -> &Menu {
        &self.0.menu
    }

    /// Applies a new menu model exactly as the running tray does.
    pub fn update(&mut self, nodes: Vec<Node>) -> Applied {
        self.0.update(nodes)
    }
}

fn tray_icon(spec: IconSpec) -> Option<Icon> {
    match Icon::from_rgba(icon::render(spec, ICON_SIZE), ICON_SIZE, ICON_SIZE) {
        Ok(i) => Some(i),
        Err(e) => {
            tracing::error!("icon: {e}");
            None
        }
    }
}

/// Why the tray cannot start; said before anything panics inside a toolkit.
#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    #[error("no display: the tray needs a graphical session (DISPLAY or WAYLAND_DISPLAY is not set); `overwatch status` and `overwatch watch` work without one")]
    NoDisplay,
    #[error("the tray library is missing: install libayatana-appindicator3-1 (Debian/Ubuntu: `sudo apt install libayatana-appindicator3-1`)")]
    NoAppIndicator,
    #[error("could not create the tray icon: {0}")]
    Build(String),
}

/// Checks what would otherwise make the toolkits panic (no display, no
/// libappindicator), so people get a sentence instead of a backtrace.
pub(crate) fn preflight() -> Result<(), TrayError> {
    #[cfg(target_os = "linux")]
    {
        let has = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
        if !has("DISPLAY") && !has("WAYLAND_DISPLAY") {
            return Err(TrayError::NoDisplay);
        }
        // tray-icon loads this with dlopen() and panics if it is absent.
        let found = ["libayatana-appindicator3.so.1", "libappindicator3.so.1"]
            .iter()
            .any(|name| {
                let c = std::ffi::CString::new(*name).expect("no NUL in a library name");
                // SAFETY: dlopen with a valid C string; the handle is closed at once.
                unsafe {
                    let h = libc::dlopen(c.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
                    if h.is_null() {
                        false
                    } else {
                        libc::dlclose(h);
                        true
                    }
                }
            });
        if !found {
            return Err(TrayError::NoAppIndicator);
        }
    }
    Ok(())
}

/// Runs the tray on this (the main) thread until Quit. `ready` receives a
/// proxy for updates; `on_action` is called for every click, on this thread
/// (keep it quick: hand the work to another thread).
pub fn run(
    first: TrayUpdate,
    ready: impl FnOnce(TrayProxy) + 'static,
    mut on_action: impl FnMut(Action) + 'static,
) -> Result<(), TrayError> {
    preflight()?;
    #[allow(unused_mut)]
    let mut event_loop = EventLoopBuilder::<TrayMsg>::with_user_event().build();
    #[cfg(target_os = "macos")]
    {
        // A menu-bar app: no Dock icon, no app menu.
        use tao::platform::macos::{ActivationPolicy, EventLoopExtMacOS};
        event_loop.set_activation_policy(ActivationPolicy::Accessory);
    }
    let proxy = event_loop.create_proxy();
    let menu_proxy = proxy.clone();
    MenuEvent::set_event_handler(Some(move |e: MenuEvent| {
        let _ = menu_proxy.send_event(TrayMsg::Menu(e.id.0));
    }));
    let mut ready = Some(ready);
    let mut tray: Option<TrayIcon> = None;
    let mut rendered: Option<Rendered> = None;
    let mut shown_icon: Option<IconSpec> = None;
    let mut pending = Some(first);
    // What is shown, to build the icon again when a tray host restarts.
    let mut last: Option<TrayUpdate> = None;
    let mut generation = 0u32;
    event_loop.run(move |event, _, control_flow| {
        // Sleep until something arrives: no polling, no timers here.
        *control_flow = ControlFlow::Wait;
        match event {
            Event::NewEvents(StartCause::Init) => {
                let Some(first) = pending.take() else { return };
                match build(&first, 0) {
                    Ok((t, r)) => {
                        tray = Some(t);
                        rendered = Some(r);
                    }
                    Err(e) => {
                        eprintln!("error: {}", TrayError::Build(e.to_string()));
                        *control_flow = ControlFlow::ExitWithCode(1);
                        return;
                    }
                }
                shown_icon = Some(first.icon);
                last = Some(first);
                #[cfg(target_os = "linux")]
                hosts::watch(proxy.clone());
                if let Some(f) = ready.take() {
                    f(TrayProxy(proxy.clone()));
                }
            }
            Event::UserEvent(TrayMsg::Reregister) => {
                let Some(u) = &last else { return };
                tray = None;
                generation += 1;
                match build(u, generation) {
                    Ok((t, r)) => {
                        tracing::info!("tray icon rebuilt to register with the tray host");
                        tray = Some(t);
                        rendered = Some(r);
                        shown_icon = Some(u.icon);
                    }
                    Err(e) => tracing::warn!("could not rebuild the tray icon: {e}"),
                }
            }
            Event::UserEvent(TrayMsg::Update(u)) => {
                last = Some((*u).clone());
                let Some(t) = &tray else { return };
                if shown_icon != Some(u.icon) {
                    if let Err(e) = t.set_icon(tray_icon(u.icon)) {
                        tracing::warn!("set_icon: {e}");
                    }
                    #[cfg(target_os = "macos")]
                    t.set_icon_as_template(
                        u.icon.monochrome_when_healthy && u.icon.look == icon::Look::Healthy,
                    );
                    shown_icon = Some(u.icon);
                }
                let _ = t.set_tooltip(Some(crate::text::clean(&u.tooltip)));
                match rendered.as_mut() {
                    Some(r) => {
                        if r.update(u.menu) == Applied::Rebuilt {
                            t.set_menu(Some(Box::new(r.menu.clone())));
                            tracing::debug!("menu rebuilt");
                        }
                    }
                    None => {
                        let r = render(&u.menu);
                        t.set_menu(Some(Box::new(r.menu.clone())));
                        rendered = Some(r);
                    }
                }
            }
            Event::UserEvent(TrayMsg::Menu(id)) => {
                let action = rendered.as_ref().and_then(|r| r.actions.get(&id).cloned());
                if let Some(a) = action {
                    on_action(a);
                }
            }
            Event::UserEvent(TrayMsg::Quit) => {
                tray = None;
                *control_flow = ControlFlow::Exit;
            }
            _ => {}
        }
    });
}

/// Builds the icon and its menu for `u`. `generation` counts rebuilds: the
/// id names the item's D-Bus object, and a dropped item's object may still
/// be exported for a moment, so a rebuilt one takes a new name.
fn build(u: &TrayUpdate, generation: u32) -> Result<(TrayIcon, Rendered), tray_icon::Error> {
    let r = render(&u.menu);
    let id = match generation {
        0 => "overwatch".to_string(),
        n => format!("overwatch-{n}"),
    };
    let mut builder = TrayIconBuilder::new()
        .with_id(id)
        .with_menu(Box::new(r.menu.clone()))
        .with_tooltip(crate::text::clean(&u.tooltip));
    if let Some(i) = tray_icon(u.icon) {
        builder = builder.with_icon(i);
    }
    #[cfg(target_os = "macos")]
    {
        builder = builder.with_icon_as_template(
            u.icon.monochrome_when_healthy && u.icon.look == icon::Look::Healthy,
        );
    }
    Ok((builder.build()?, r))
}

/// Keeps the icon registered with the tray host on Linux.
///
/// libayatana-appindicator registers when a StatusNotifierWatcher appears,
/// but gives up for good when the watcher owns its bus name before it
/// exports its object (seen with status-notifier-watcher: "Unable to connect
/// to the Notification Watcher: UnknownObject"), so after a watcher restart
/// the icon could stay invisible. This thread sleeps on the bus until the
/// watcher's name changes owner, then checks (a few times, backing off) that
/// the watcher lists an item of this process, and asks the tray to build the
/// icon again when it does not. No polling while nothing changes.
#[cfg(target_os = "linux")]
mod hosts {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
    use dbus::blocking::Connection;
    use dbus::message::MatchRule;
    use tao::event_loop::EventLoopProxy;

    use super::TrayMsg;

    const WATCHER: &str = "org.kde.StatusNotifierWatcher";
    const CALL: Duration = Duration::from_secs(2);

    pub fn watch(proxy: EventLoopProxy<TrayMsg>) {
        let spawned = std::thread::Builder::new()
            .name("overwatch-tray-host".into())
            .spawn(move || {
                if let Err(e) = run(proxy) {
                    tracing::debug!("not watching for tray hosts: {e}");
                }
            });
        if let Err(e) = spawned {
            tracing::debug!("not watching for tray hosts: {e}");
        }
    }

    fn run(proxy: EventLoopProxy<TrayMsg>) -> Result<(), dbus::Error> {
        let conn = Connection::new_session()?;
        let appeared = Arc::new(AtomicBool::new(false));
        let flag = appeared.clone();
        conn.add_match(
            MatchRule::new_signal("org.freedesktop.DBus", "NameOwnerChanged"),
            move |(name, _old, new): (String, String, String), _, _| {
                if name == WATCHER && !new.is_empty() {
                    flag.store(true, Ordering::Relaxed);
                }
                true
            },
        )?;
        // A watcher already there at start-up is checked once too.
        appeared.store(has_owner(&conn), Ordering::Relaxed);
        loop {
            if appeared.swap(false, Ordering::Relaxed) {
                for wait in [1, 2, 4, 8] {
                    // libappindicator's own attempt comes first.
                    std::thread::sleep(Duration::from_secs(wait));
                    match registered(&conn) {
                        Some(false) => {
                            if proxy.send_event(TrayMsg::Reregister).is_err() {
                                return Ok(());
                            }
                        }
                        // Listed, or the watcher went away again.
                        Some(true) | None => break,
                    }
                }
            }
            conn.process(Duration::from_secs(24 * 3600))?;
        }
    }

    fn has_owner(conn: &Connection) -> bool {
        let bus = conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", CALL);
        let r: Result<(bool,), _> =
            bus.method_call("org.freedesktop.DBus", "NameHasOwner", (WATCHER,));
        r.is_ok_and(|(b,)| b)
    }

    /// Whether the watcher lists an item owned by this process; `None` when
    /// there is no watcher to ask. Entries are a bus name, or "name/path"
    /// (KDE), so each name's process id is compared with ours.
    fn registered(conn: &Connection) -> Option<bool> {
        let watcher = conn.with_proxy(WATCHER, "/StatusNotifierWatcher", CALL);
        let items: Vec<String> = watcher.get(WATCHER, "RegisteredStatusNotifierItems").ok()?;
        let bus = conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", CALL);
        let me = std::process::id();
        Some(items.iter().any(|item| {
            let name = item.split('/').next().unwrap_or(item);
            let pid: Result<(u32,), _> = bus.method_call(
                "org.freedesktop.DBus",
                "GetConnectionUnixProcessID",
                (name,),
            );
            pid.is_ok_and(|(p,)| p == me)
        }))
    }
}

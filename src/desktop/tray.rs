//! The tray itself: tao owns the main thread, tray-icon shows the icon, muda renders the menu model; it holds no logic.
//!
//! [`run`] takes over the main thread. The app feeds it [`TrayUpdate`]s through
//! a [`TrayProxy`] and gets clicks back as [`Action`]s. The menu is built
//! once and from then on only changed in place, step by step
//! ([`menu::diff`]): labels, flags and icons are set, rows that come and go
//! are inserted and removed where they are. It is never replaced, because a
//! replaced menu closes the submenu the user is reading (the tray host gets
//! a whole new layout); an insertion elsewhere leaves it open.
//!
//! A workspace's submenu and a card's own submenu ([`Node::lazy`]) are built
//! when a tray host first opens them (hosts call AboutToShow first, which
//! libdbusmenu turns into a GTK "activate"); opening a workspace builds its
//! cards' submenus too, so hovering a card never shows a placeholder. Until
//! then each holds one "…" entry. Each GTK menu entry with its libdbusmenu
//! mirror costs about 20 KB, and these submenus are nearly all of the menu:
//! closed, 200 services are 59 entries instead of 2,409. Steps for
//! entries that are not built yet are skipped (the build reads the model).
//!
//! On Linux muda draws icon items and submenus as a box holding an image and
//! a label, and its `set_text` does not reach that label (nor, so, the menu
//! libdbusmenu exports to the tray host): those labels are set on the GTK
//! label itself, which libdbusmenu watches. libdbusmenu also exports an
//! item's image only when GTK's `gtk-menu-images` setting is on, so the tray
//! turns it on.

use std::collections::HashMap;

use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tray_icon::menu::{
    CheckMenuItem, Icon as MenuIcon, IconMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem,
    PredefinedMenuItem, Submenu,
};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::view::icon::{self, IconSpec};
use crate::view::menu::{self, Action, Glyph, Kind, Node, Op};

/// Every label passes here on its way into muda: one harmless line, `&` doubled.
fn label(text: &str) -> String {
    crate::text::menu_label(text)
}

/// The icon size handed to the platform (hosts scale it to their panel).
#[cfg(target_os = "macos")]
const ICON_SIZE: u32 = 36;
#[cfg(not(target_os = "macos"))]
const ICON_SIZE: u32 = 32;

/// The size of the status icons in menu rows (muda scales to it anyway).
const ROW_ICON_SIZE: u32 = 16;

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
    /// A host is about to show this submenu: build what is not built yet.
    Opening(String),
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
#[derive(Clone)]
enum Handle {
    Item(MenuItem),
    Icon(IconMenuItem),
    Check(CheckMenuItem),
    Sub(Submenu),
    Sep(PredefinedMenuItem),
}

impl Handle {
    fn item(&self) -> &dyn IsMenuItem {
        match self {
            Handle::Item(i) => i,
            Handle::Icon(i) => i,
            Handle::Check(i) => i,
            Handle::Sub(i) => i,
            Handle::Sep(i) => i,
        }
    }

    /// Items whose muda `set_text` does not reach the label on Linux.
    fn boxed_label(&self) -> bool {
        matches!(self, Handle::Icon(_) | Handle::Sub(_))
    }
}

/// Where children go: the menu itself or a submenu.
enum Parent {
    Root(Menu),
    Sub(Submenu),
}

impl Parent {
    fn insert(&self, item: &dyn IsMenuItem, at: usize) -> tray_icon::menu::Result<()> {
        match self {
            Parent::Root(m) => m.insert(item, at),
            Parent::Sub(s) => s.insert(item, at),
        }
    }

    fn remove(&self, item: &dyn IsMenuItem) -> tray_icon::menu::Result<()> {
        match self {
            Parent::Root(m) => m.remove(item),
            Parent::Sub(s) => s.remove(item),
        }
    }
}

struct Rendered {
    menu: Menu,
    nodes: Vec<Node>,
    handles: HashMap<String, Handle>,
    actions: HashMap<String, Action>,
    icons: HashMap<Glyph, MenuIcon>,
    /// Lazy submenus not built yet, with their "…" entry.
    unbuilt: HashMap<String, MenuItem>,
    /// Submenus whose opening builds something, not yet wired to say so.
    unwatched: Vec<String>,
    /// Where "a host is opening this" goes (none: nothing is ever built late).
    opening: Option<EventLoopProxy<TrayMsg>>,
    /// The GTK labels of icon rows and submenus, found once (Linux).
    #[cfg(target_os = "linux")]
    labels: HashMap<String, gtk::Label>,
}

fn render(nodes: &[Node]) -> Rendered {
    #[cfg(target_os = "linux")]
    gtk_menu::export_images();
    let mut r = Rendered {
        menu: Menu::new(),
        nodes: nodes.to_vec(),
        handles: HashMap::new(),
        actions: HashMap::new(),
        icons: HashMap::new(),
        unbuilt: HashMap::new(),
        unwatched: Vec::new(),
        opening: None,
        #[cfg(target_os = "linux")]
        labels: HashMap::new(),
    };
    for n in nodes {
        let item = r.make(n);
        if let Err(e) = r.menu.append(item.item()) {
            tracing::warn!("menu item `{}`: {e}", n.id);
        }
    }
    r
}

/// The node `id` in a menu model.
fn find<'a>(nodes: &'a [Node], id: &str) -> Option<&'a Node> {
    nodes.iter().find_map(|n| {
        if n.id == id {
            Some(n)
        } else {
            find(&n.children, id)
        }
    })
}

/// The pixels of a row's icon.
fn row_icon(g: Glyph) -> MenuIcon {
    let n = ROW_ICON_SIZE;
    let rgba = match g {
        Glyph::Look(look) => icon::render(IconSpec::new(look), n),
        Glyph::Blank => vec![0; (n * n * 4) as usize],
    };
    MenuIcon::from_rgba(rgba, n, n).expect("a square RGBA buffer of the stated size")
}

/// What [`Rendered::update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Same,
    /// Labels, flags or icons changed.
    InPlace,
    /// Entries were also inserted or removed (in place: nothing was rebuilt).
    Reshaped,
}

impl Rendered {
    fn icon(&mut self, g: Glyph) -> MenuIcon {
        self.icons.entry(g).or_insert_with(|| row_icon(g)).clone()
    }

    /// Creates the toolkit items for `n` and everything under it.
    fn make(&mut self, n: &Node) -> Handle {
        if let Some(a) = &n.action {
            self.actions.insert(n.id.clone(), a.clone());
        }
        let text = label(&n.label);
        let h = match (n.kind, n.icon) {
            (Kind::Item, None) => {
                Handle::Item(MenuItem::with_id(n.id.clone(), text, n.enabled, None))
            }
            (Kind::Item, Some(g)) => {
                let icon = self.icon(g);
                Handle::Icon(IconMenuItem::with_id(
                    n.id.clone(),
                    text,
                    n.enabled,
                    Some(icon),
                    None,
                ))
            }
            (Kind::Check, _) => Handle::Check(CheckMenuItem::with_id(
                n.id.clone(),
                text,
                n.enabled,
                n.checked,
                None,
            )),
            (Kind::Submenu, icon) => {
                let sub = Submenu::with_id(n.id.clone(), text, n.enabled);
                if let Some(g) = icon {
                    sub.set_icon(Some(self.icon(g)));
                }
                if n.lazy {
                    let wait = MenuItem::new("…", false, None);
                    if let Err(e) = sub.append(&wait) {
                        tracing::warn!("menu item `{}`: {e}", n.id);
                    }
                    self.unbuilt.insert(n.id.clone(), wait);
                } else {
                    for c in n.children.iter() {
                        let child = self.make(c);
                        if let Err(e) = sub.append(child.item()) {
                            tracing::warn!("menu item `{}`: {e}", c.id);
                        }
                    }
                }
                if n.lazy || n.children.iter().any(|c| c.lazy) {
                    self.unwatched.push(n.id.clone());
                }
                Handle::Sub(sub)
            }
            (Kind::Separator, _) => Handle::Sep(PredefinedMenuItem::separator()),
        };
        self.handles.insert(n.id.clone(), h.clone());
        h
    }

    /// Whether the container `id` has its entries (`None`, the menu itself,
    /// always has): steps inside one not built yet are skipped, since its
    /// build reads the model as it is then.
    fn built(&self, id: Option<&str>) -> bool {
        id.is_none_or(|id| !self.unbuilt.contains_key(id) && self.handles.contains_key(id))
    }

    /// The built container `id` names (`None`: the menu itself); `None`
    /// when it is not built yet (its steps wait for it to be built).
    fn parent(&self, id: Option<&str>) -> Option<Parent> {
        match id {
            None => Some(Parent::Root(self.menu.clone())),
            Some(id) if self.unbuilt.contains_key(id) => None,
            Some(id) => match self.handles.get(id) {
                Some(Handle::Sub(s)) => Some(Parent::Sub(s.clone())),
                _ => None,
            },
        }
    }

    /// Builds the lazy submenu `id`, and the lazy ones directly under it (a
    /// workspace opening builds its cards'), from the current model.
    fn build_opened(&mut self, id: &str) {
        let Some(node) = find(&self.nodes, id).cloned() else {
            return;
        };
        let mut todo: Vec<Node> = Vec::new();
        if node.lazy {
            todo.push(node.clone());
        }
        todo.extend(node.children.iter().filter(|c| c.lazy).cloned());
        for n in todo {
            let Some(wait) = self.unbuilt.remove(&n.id) else {
                continue;
            };
            let Some(Handle::Sub(sub)) = self.handles.get(&n.id).cloned() else {
                continue;
            };
            for c in n.children.iter() {
                let child = self.make(c);
                if let Err(e) = sub.append(child.item()) {
                    tracing::warn!("menu item `{}`: {e}", c.id);
                }
            }
            if let Err(e) = sub.remove(&wait) {
                tracing::warn!("menu: removing the placeholder of `{}`: {e}", n.id);
            }
        }
    }

    /// Wires the submenus whose opening builds something to say so (after
    /// their toolkit items exist: once the tray icon holds the menu).
    fn watch_openings(&mut self) {
        let Some(proxy) = self.opening.clone() else {
            self.unwatched.clear();
            return;
        };
        if self.unwatched.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.unwatched);
        #[cfg(target_os = "linux")]
        gtk_menu::on_activate(&self.menu, &self.nodes, &ids, move |id| {
            let _ = proxy.send_event(TrayMsg::Opening(id));
        });
        #[cfg(not(target_os = "linux"))]
        {
            // muda builds menus natively there: build everything now.
            let _ = proxy;
            for id in ids {
                self.build_opened(&id);
            }
        }
    }

    /// Brings the rendered menu to `new`, step by step, in place.
    fn update(&mut self, new: Vec<Node>) -> Applied {
        let ops = menu::diff(&self.nodes, &new);
        if ops.is_empty() {
            return Applied::Same;
        }
        let reshaped = menu::is_structural(&ops);
        // Labels muda cannot set on Linux, set on GTK's label after the steps.
        let mut boxed: Vec<(String, String)> = Vec::new();
        for op in ops {
            match op {
                Op::Set(c) => self.set(&c, &mut boxed),
                Op::Remove { parent, id, ids } => {
                    if !self.built(parent.as_deref()) {
                        continue;
                    }
                    let (Some(p), Some(h)) =
                        (self.parent(parent.as_deref()), self.handles.get(&id))
                    else {
                        tracing::warn!("menu: cannot remove `{id}`");
                        continue;
                    };
                    if let Err(e) = p.remove(h.item()) {
                        tracing::warn!("menu: removing `{id}`: {e}");
                    }
                    for i in ids {
                        self.handles.remove(&i);
                        self.actions.remove(&i);
                        self.unbuilt.remove(&i);
                    }
                }
                Op::Insert {
                    parent,
                    index,
                    node,
                } => {
                    if !self.built(parent.as_deref()) {
                        continue;
                    }
                    let Some(p) = self.parent(parent.as_deref()) else {
                        tracing::warn!("menu: no parent for `{}`", node.id);
                        continue;
                    };
                    let h = self.make(&node);
                    if let Err(e) = p.insert(h.item(), index) {
                        tracing::warn!("menu: inserting `{}`: {e}", node.id);
                    }
                }
            }
        }
        self.nodes = new;
        #[cfg(target_os = "linux")]
        if !boxed.is_empty() {
            gtk_menu::relabel(&self.menu, &self.nodes, &boxed, &mut self.labels);
        }
        self.watch_openings();
        #[cfg(not(target_os = "linux"))]
        let _ = boxed;
        if reshaped {
            Applied::Reshaped
        } else {
            Applied::InPlace
        }
    }

    fn set(&mut self, c: &menu::Change, boxed: &mut Vec<(String, String)>) {
        if let Some(a) = &c.action {
            match a {
                Some(a) => self.actions.insert(c.id.clone(), a.clone()),
                None => self.actions.remove(&c.id),
            };
        }
        let icon = c.icon.map(|g| self.icon(g));
        let Some(h) = self.handles.get(&c.id) else {
            return;
        };
        if let Some(l) = &c.label {
            match h {
                Handle::Item(i) => i.set_text(label(l)),
                Handle::Icon(i) => i.set_text(label(l)),
                Handle::Check(i) => i.set_text(label(l)),
                Handle::Sub(i) => i.set_text(label(l)),
                Handle::Sep(_) => {}
            }
            if h.boxed_label() {
                boxed.push((c.id.clone(), l.clone()));
            }
        }
        if let Some(e) = c.enabled {
            match h {
                Handle::Item(i) => i.set_enabled(e),
                Handle::Icon(i) => i.set_enabled(e),
                Handle::Check(i) => i.set_enabled(e),
                Handle::Sub(i) => i.set_enabled(e),
                Handle::Sep(_) => {}
            }
        }
        if let (Some(k), Handle::Check(i)) = (c.checked, h) {
            i.set_checked(k);
        }
        if let Some(icon) = icon {
            match h {
                Handle::Icon(i) => i.set_icon(Some(icon)),
                Handle::Sub(i) => i.set_icon(Some(icon)),
                _ => {}
            }
        }
    }
}

/// GTK's side of the menu on Linux: the setting that makes libdbusmenu
/// export row images, and labels set where muda cannot reach.
#[cfg(target_os = "linux")]
mod gtk_menu {
    use std::collections::{HashMap, HashSet};

    use gtk::prelude::*;
    use tray_icon::menu::{ContextMenu, Menu};

    use crate::view::menu::Node;

    /// libdbusmenu sends an item's image to the tray host only when
    /// `gtk-menu-images` is on (GTK 3 turned it off by default): without it
    /// the coloured status icons never leave the process.
    pub fn export_images() {
        if let Some(settings) = gtk::Settings::default() {
            if settings.find_property("gtk-menu-images").is_some() {
                settings.set_property("gtk-menu-images", true);
            }
        }
    }

    /// The label text GTK shows for our label: muda's mnemonic rules (a
    /// single `_` is an accelerator, `__` a literal underscore).
    fn gtk_text(text: &str) -> String {
        crate::text::clean(text).replace('_', "__")
    }

    /// The positions of the wanted nodes, top level first.
    fn paths<'a>(
        nodes: &'a [Node],
        wanted: &HashSet<&str>,
        prefix: &mut Vec<usize>,
        out: &mut HashMap<&'a str, Vec<usize>>,
    ) {
        for (i, n) in nodes.iter().enumerate() {
            if out.len() == wanted.len() {
                return;
            }
            prefix.push(i);
            if wanted.contains(n.id.as_str()) {
                out.insert(n.id.as_str(), prefix.clone());
            }
            paths(&n.children, wanted, prefix, out);
            prefix.pop();
        }
    }

    fn first_label(w: &gtk::Widget) -> Option<gtk::Label> {
        if let Some(l) = w.downcast_ref::<gtk::Label>() {
            return Some(l.clone());
        }
        let c = w.downcast_ref::<gtk::Container>()?;
        c.children().iter().find_map(first_label)
    }

    /// The GTK item at `path`; `shells` keeps each menu's children listed
    /// once for a batch of look-ups.
    fn item_at(
        root: &gtk::Menu,
        path: &[usize],
        shells: &mut HashMap<Vec<usize>, Vec<gtk::Widget>>,
    ) -> Option<gtk::MenuItem> {
        let mut shell = root.clone();
        let mut item = None;
        for depth in 0..path.len() {
            let kids = shells
                .entry(path[..depth].to_vec())
                .or_insert_with(|| shell.children());
            let mi = kids
                .get(path[depth])?
                .clone()
                .downcast::<gtk::MenuItem>()
                .ok()?;
            if depth + 1 < path.len() {
                shell = mi.submenu()?.downcast::<gtk::Menu>().ok()?;
            }
            item = Some(mi);
        }
        item
    }

    /// Calls `f(id)` whenever a host is about to show one of these
    /// submenus (libdbusmenu answers AboutToShow, or a click on the entry,
    /// by activating the GTK item).
    pub fn on_activate(
        menu: &Menu,
        nodes: &[Node],
        ids: &[String],
        f: impl Fn(String) + Clone + 'static,
    ) {
        let root = menu.gtk_context_menu();
        let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut all = HashMap::new();
        paths(nodes, &wanted, &mut Vec::new(), &mut all);
        let mut shells = HashMap::new();
        for id in ids {
            match all
                .get(id.as_str())
                .and_then(|p| item_at(&root, p, &mut shells))
            {
                Some(mi) => {
                    let (f, id) = (f.clone(), id.clone());
                    mi.connect_activate(move |_| f(id.clone()));
                }
                None => tracing::warn!("menu: no entry `{id}` to watch"),
            }
        }
    }

    /// Sets the GTK labels of these (icon or submenu) items; libdbusmenu
    /// sees the label change and tells the tray host, in place. Each label
    /// is found once and kept in `cache` (dropped when its item is removed).
    pub fn relabel(
        menu: &Menu,
        nodes: &[Node],
        labels: &[(String, String)],
        cache: &mut HashMap<String, gtk::Label>,
    ) {
        let missing: HashSet<&str> = labels
            .iter()
            .map(|(id, _)| id.as_str())
            .filter(|id| !cache.contains_key(*id))
            .collect();
        if !missing.is_empty() {
            let root = menu.gtk_context_menu();
            let mut all = HashMap::new();
            paths(nodes, &missing, &mut Vec::new(), &mut all);
            let mut shells = HashMap::new();
            for (id, path) in all {
                if let Some(l) =
                    item_at(&root, &path, &mut shells).and_then(|mi| first_label(mi.upcast_ref()))
                {
                    cache.insert(id.to_string(), l);
                }
            }
        }
        for (id, text) in labels {
            match cache.get(id) {
                Some(l) => l.set_label(&gtk_text(text)),
                None => tracing::warn!("menu: no label to set for `{id}`"),
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

    /// Builds every submenu, as if a tray host had opened each one: the
    /// menu at its largest.
    pub fn open_everything(&mut self) {
        fn lazy(nodes: &[Node], out: &mut Vec<String>) {
            for n in nodes {
                if n.lazy {
                    out.push(n.id.clone());
                }
                lazy(&n.children, out);
            }
        }
        let mut ids = Vec::new();
        lazy(&self.0.nodes, &mut ids);
        for id in ids {
            self.0.build_opened(&id);
        }
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
                    Ok((t, mut r)) => {
                        r.opening = Some(proxy.clone());
                        r.watch_openings();
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
                    Ok((t, mut r)) => {
                        tracing::info!("tray icon rebuilt to register with the tray host");
                        r.opening = Some(proxy.clone());
                        r.watch_openings();
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
                        if r.update(u.menu) == Applied::Reshaped {
                            tracing::debug!("menu reshaped in place");
                        }
                    }
                    None => {
                        let mut r = render(&u.menu);
                        t.set_menu(Some(Box::new(r.menu.clone())));
                        r.opening = Some(proxy.clone());
                        r.watch_openings();
                        rendered = Some(r);
                    }
                }
            }
            Event::UserEvent(TrayMsg::Opening(id)) => {
                if let Some(r) = rendered.as_mut() {
                    r.build_opened(&id);
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

//! The tray process: one instance, the engine on a background runtime, the config watched live, snapshots rendered into the tray, clicks turned into engine commands.
//!
//! Threads: the main thread belongs to tao (the tray); a two-worker tokio
//! runtime runs the engine, the render loop, the action handler and the
//! config watcher's debounce. The tray only ever receives finished
//! [`TrayUpdate`]s; all decisions are made here or in the engine.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch, Notify as Wake};

use super::autostart;
use super::control::{self, Ask};
use super::tray::{self, TrayProxy, TrayUpdate};
use crate::config::{self, Config, ConfigError, Editor};
use crate::engine::state::{Mute, MuteTarget, MuteUntil};
use crate::engine::{Engine, EngineHandle, Notifier, Scope, Snapshot, Zone};
use crate::sim::{self, SimConfig, SimHandle};
use crate::view::icon::IconSpec;
use crate::view::live::{self, AppView};
use crate::view::menu::{self, Action, MuteFor};
use crate::web::{self, AppInfo};
use crate::wiring::{Wiring, DEMO_KEY};

/// How the tray was asked to start.
pub struct AppOptions {
    pub config_path: PathBuf,
    /// Run against the built-in simulator (also when no config exists).
    pub demo: bool,
    pub notifier: Option<Arc<dyn Notifier>>,
}

/// What the render loop needs besides the engine's snapshot.
struct Shared {
    /// The last config that validated (or the demo's); shared with the
    /// dashboard and replaced, never edited, so a pointer says it changed.
    config: Arc<Config>,
    config_error: Option<String>,
    demo: bool,
    autostart: bool,
    config_path: PathBuf,
    /// The user's time zone (from the wiring's clock), for clock times in the menu.
    zone: Zone,
    /// What a click could not do, shown in the menu until it is done.
    notice: Option<String>,
}

/// Holds the single-instance lock for the life of the process.
pub struct InstanceLock {
    _file: std::fs::File,
}

/// Takes the single-instance lock; `Ok(None)` when another Overwatch holds it.
pub(crate) fn single_instance(dir: &Path) -> Result<Option<InstanceLock>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("overwatch.lock");
    let mut open = std::fs::OpenOptions::new();
    open.create(true).truncate(false).write(true);
    // Like the config and the state: every file Overwatch writes is 0600.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let file = open
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // A lock file left by an older version keeps its mode; tighten it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    match file.try_lock() {
        Ok(()) => Ok(Some(InstanceLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Runs the tray until Quit. Returns the process exit code. Call it from the
/// main thread before any other thread starts (it sets GTK's GL switch).
pub fn run(opts: AppOptions) -> Result<i32> {
    // First, while this is the only thread: GTK reads it when it starts.
    super::gl::disable_for_this_process();
    super::memory::limit_arenas();
    let state_path = crate::engine::state::default_path().ok();
    let lock_dir = control::runtime_dir();
    let Some(_lock) = single_instance(&lock_dir)? else {
        eprintln!("Overwatch is already running (look for its icon in the tray).");
        return Ok(0);
    };
    tray::preflight()?;
    // The demo's simulator token is answered from memory (never the
    // environment), so the demo and a real config can follow each other.
    let wiring = Arc::new(Wiring::system().with_demo_token(sim::DEFAULT_TOKEN));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("overwatch-engine")
        .enable_all()
        .build()?;

    // The config, or the demo when there is none (or when asked).
    let mut demo = opts.demo || !opts.config_path.exists();
    let mut config_error = None;
    let mut sim_handle: Option<SimHandle> = None;
    let config = if demo {
        let (c, h) = rt.block_on(start_demo())?;
        sim_handle = Some(h);
        c
    } else {
        match config::load(&opts.config_path) {
            Ok(c) => c,
            Err(e) => {
                // Show the error in the menu and run the demo meanwhile, so the
                // tray is never a dead icon; a fixed file replaces it live.
                config_error = Some(e.to_string());
                demo = true;
                let (c, h) = rt.block_on(start_demo())?;
                sim_handle = Some(h);
                c
            }
        }
    };
    tracing::info!(demo, path = %opts.config_path.display(), "starting the tray");

    let engine = {
        let _guard = rt.enter();
        Engine::start(
            config.clone(),
            wiring.engine_options(
                &config,
                opts.notifier.clone(),
                if demo { None } else { state_path.clone() },
            )?,
        )
    };
    let shared = Arc::new(Mutex::new(Shared {
        config: Arc::new(config),
        config_error,
        demo,
        autostart: autostart::is_enabled(),
        config_path: opts.config_path.clone(),
        zone: wiring.clock().zone(),
        notice: None,
    }));
    let wake = Arc::new(Wake::new());
    let (act_tx, act_rx) = mpsc::unbounded_channel::<Action>();
    // The dashboard sees the app's state through this; nothing listens on
    // the network until its page is first opened.
    let (app_tx, app_rx) =
        watch::channel(Arc::new(app_info(&shared.lock().expect("not poisoned"))));
    let dashboard = Arc::new(Dashboard {
        server: tokio::sync::Mutex::new(None),
        source: web::Source {
            engine: engine.clone(),
            app: app_rx,
            wiring: wiring.clone(),
        },
        notifier: opts.notifier.clone(),
    });
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel::<control::Request>();
    #[cfg(unix)]
    if let Err(e) = control::listen(rt.handle(), &lock_dir, ctl_tx) {
        tracing::warn!(
            "`overwatch dashboard` cannot reach this tray ({e}); the menu's Open Overwatch… still works"
        );
    }
    #[cfg(not(unix))]
    drop(ctl_tx);
    {
        let dashboard = dashboard.clone();
        rt.spawn(async move {
            while let Some((ask, reply)) = ctl_rx.recv().await {
                let _ = reply.send(dashboard.answer(ask).await);
            }
        });
    }

    let mut memo = live::Memo::default();
    let first = compute(
        &shared.lock().expect("not poisoned"),
        &engine.subscribe().borrow(),
        OffsetDateTime::now_utc(),
        &mut memo,
    );
    // The render loop starts from what the tray shows, so its first turn
    // sends nothing unless something changed since.
    let shown = first.clone();
    let handle = rt.handle().clone();
    let ready = {
        let (engine, shared, wake) = (engine.clone(), shared.clone(), wake.clone());
        move |proxy: TrayProxy| {
            handle.spawn(render_loop(
                engine.clone(),
                shared.clone(),
                wake.clone(),
                proxy.clone(),
                app_tx,
                memo,
                shown,
            ));
            handle.spawn(actions(
                act_rx,
                engine.clone(),
                shared.clone(),
                wake.clone(),
                proxy,
                sim_handle,
                dashboard,
            ));
            let watcher = watch_config(&handle, shared, engine, wake);
            // The watcher lives as long as the process.
            std::mem::forget(watcher);
        }
    };
    tray::run(first, ready, move |a| {
        let _ = act_tx.send(a);
    })?;
    Ok(0)
}

/// Starts the simulator and builds the demo config that watches it.
async fn start_demo() -> Result<(Config, SimHandle)> {
    let handle = sim::start(SimConfig::demo())
        .await
        .context("starting the demo simulator")?;
    // The key is a name the tray's wiring answers with the simulator's token.
    let text = sim::demo_config_toml(&handle.base_url(), DEMO_KEY, "5s");
    let config = config::parse(&text, Path::new("(demo)")).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((config, handle))
}

/// Builds what the tray shows from the engine's snapshot and the app's state.
/// `memo` holds what the previous call built: only the workspaces whose
/// services changed are built again.
fn compute(
    shared: &Shared,
    snap: &Snapshot,
    now: OffsetDateTime,
    memo: &mut live::Memo,
) -> TrayUpdate {
    let app = AppView {
        config: &shared.config,
        config_error: shared.config_error.as_deref(),
        demo: shared.demo,
        autostart: shared.autostart,
        zone: &shared.zone,
        notice: shared.notice.as_deref(),
    };
    let state = live::menu_state_with(&app, snap, now, memo);
    TrayUpdate {
        icon: IconSpec {
            look: live::look(&state),
            monochrome_when_healthy: shared.config.icon_problems_only,
            badge: menu::any_in_progress(&state),
        },
        tooltip: menu::tooltip(&state),
        menu: menu::build_with(&state, &mut memo.nodes),
    }
}

/// What the dashboard needs of the app's state.
fn app_info(s: &Shared) -> AppInfo {
    AppInfo {
        config: s.config.clone(),
        config_error: s.config_error.clone(),
        demo: s.demo,
        config_path: s.config_path.clone(),
        zone: s.zone.clone(),
    }
}

/// The dashboard server, started the first time its page is opened.
struct Dashboard {
    server: tokio::sync::Mutex<Option<web::Server>>,
    source: web::Source,
    notifier: Option<Arc<dyn Notifier>>,
}

impl Dashboard {
    /// A one-time sign-in URL, starting the server if it is not running.
    async fn launch_url(&self) -> Result<String> {
        let mut server = self.server.lock().await;
        if server.is_none() {
            let s = web::Server::start(self.source.clone())
                .await
                .context("starting the dashboard's server on 127.0.0.1")?;
            *server = Some(s);
        }
        Ok(server.as_ref().expect("started above").launch_url())
    }

    /// Opens the page in the browser; `Ok` says where it is (without the token).
    async fn open(&self) -> Result<String> {
        let url = self.launch_url().await?;
        let base = url.split('?').next().unwrap_or_default().to_string();
        tokio::task::spawn_blocking(move || super::gl::open_now(&url))
            .await?
            .with_context(|| format!("opening {base} in the browser"))?;
        Ok(base)
    }

    /// Answers `overwatch dashboard`.
    async fn answer(&self, ask: Ask) -> control::Reply {
        match ask {
            Ask::Open => self
                .open()
                .await
                .map(|base| format!("opened the dashboard ({base}) in your browser")),
            Ask::Url => self.launch_url().await,
        }
        .map_err(|e| format!("{e:#}"))
    }

    /// "Open Overwatch…" from the menu: a failure is shown, not only logged.
    async fn open_from_menu(&self) {
        if let Err(e) = self.open().await {
            tracing::warn!("dashboard: {e:#}");
            if let Some(n) = &self.notifier {
                let _ = n.notify(&crate::engine::Notification {
                    title: "Overwatch could not open its page".into(),
                    // Plain text: the notifier escapes the body for its medium.
                    body: format!(
                        "{e:#}. Run: overwatch dashboard --url for a link to open by hand."
                    ),
                    dashboard_url: None,
                    kind: crate::engine::EventKind::Summary,
                    service: None,
                    status: None,
                });
            }
        }
    }
}

async fn render_loop(
    engine: EngineHandle,
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Wake>,
    proxy: TrayProxy,
    app_tx: watch::Sender<Arc<AppInfo>>,
    mut memo: live::Memo,
    shown: TrayUpdate,
) {
    let mut rx = engine.subscribe();
    let mut last: Option<TrayUpdate> = Some(shown);
    // The start-up round and each new config free more than they keep:
    // hand it back once the menu has settled after them.
    let mut settled: Option<(bool, Arc<Config>)> = None;
    let mut trim_at: Option<tokio::time::Instant> = None;
    let mut last_trim: Option<tokio::time::Instant> = None;
    loop {
        let now = OffsetDateTime::now_utc();
        let snap = rx.borrow_and_update().clone();
        let (update, next, info, config) = {
            let s = shared.lock().expect("not poisoned");
            (
                compute(&s, &snap, now, &mut memo),
                memo.nodes.next_change(now),
                app_info(&s),
                s.config.clone(),
            )
        };
        {
            let same = settled
                .as_ref()
                .is_some_and(|(started, c)| *started == snap.started && Arc::ptr_eq(c, &config));
            let at = tokio::time::Instant::now();
            if !same {
                settled = Some((snap.started, config));
                trim_at = Some(at + TRIM_AFTER);
            } else if trim_at.is_none() && last_trim.is_none_or(|t| at >= t + TRIM_EVERY) {
                // Polls keep coming: what their rounds freed goes back at
                // most once a minute (a few milliseconds each time).
                trim_at = Some(at + TRIM_AFTER);
            }
        }
        if trim_at.is_some_and(|t| t <= tokio::time::Instant::now()) {
            trim_at = None;
            last_trim = Some(tokio::time::Instant::now());
            super::memory::give_back();
        }
        app_tx.send_if_modified(|old| {
            if same_info(old, &info) {
                false
            } else {
                *old = Arc::new(info);
                true
            }
        });
        if last.as_ref() != Some(&update) {
            if !proxy.update(update.clone()) {
                return;
            }
            last = Some(update);
        }
        tokio::select! {
            r = rx.changed() => {
                if r.is_err() {
                    return;
                }
                // A burst of results (the first round, a refresh of all)
                // becomes one update of the menu, not one per result.
                tokio::time::sleep(COALESCE).await;
            }
            _ = wake.notified() => {}
            _ = tokio::time::sleep(next) => {}
            _ = async {
                match trim_at {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}

/// How long after the start-up round (or a new config) the tray returns
/// freed memory: once the menu has been built for it.
const TRIM_AFTER: Duration = Duration::from_secs(5);
/// Between two returns of freed memory while polls keep coming, at least.
const TRIM_EVERY: Duration = Duration::from_secs(60);

/// How long the render loop gathers snapshot changes into one menu update.
const COALESCE: Duration = Duration::from_millis(100);

/// The dashboard's view of the app changed (the config compared by pointer:
/// it is replaced, never edited in place).
fn same_info(a: &AppInfo, b: &AppInfo) -> bool {
    Arc::ptr_eq(&a.config, &b.config)
        && a.config_error == b.config_error
        && a.demo == b.demo
        && a.config_path == b.config_path
        && a.zone == b.zone
}

/// Carries out menu clicks.
async fn actions(
    mut rx: mpsc::UnboundedReceiver<Action>,
    engine: EngineHandle,
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Wake>,
    proxy: TrayProxy,
    mut sim_handle: Option<SimHandle>,
    dashboard: Arc<Dashboard>,
) {
    let hour = || OffsetDateTime::now_utc() + time::Duration::hours(1);
    let opener = Opener {
        shared: shared.clone(),
        wake: wake.clone(),
        notifier: dashboard.notifier.clone(),
    };
    while let Some(a) = rx.recv().await {
        tracing::debug!(?a, "menu action");
        let r = match a {
            Action::OpenOverwatch => {
                let d = dashboard.clone();
                tokio::spawn(async move { d.open_from_menu().await });
                Ok(())
            }
            Action::RefreshAll => engine.refresh(Scope::All).await.map(|_| ()),
            Action::RefreshWorkspace(w) => engine.refresh(Scope::Workspace(w)).await.map(|_| ()),
            Action::RefreshService(id) => engine.refresh(Scope::Service(id)).await.map(|_| ()),
            Action::OpenDashboard(url) => {
                opener.open(url, "the dashboard");
                Ok(())
            }
            Action::MuteService(id, f) => {
                engine
                    .mute(Mute {
                        target: MuteTarget::Service(id),
                        until: until(f, hour()),
                    })
                    .await
            }
            Action::UnmuteService(id) => engine.unmute(MuteTarget::Service(id)).await,
            Action::MuteWorkspace(w, f) => {
                engine
                    .mute(Mute {
                        target: MuteTarget::Workspace(w),
                        until: until(f, hour()),
                    })
                    .await
            }
            Action::UnmuteWorkspace(w) => engine.unmute(MuteTarget::Workspace(w)).await,
            Action::SetRefresh(d) => {
                set_refresh(&shared, &engine, d).await;
                Ok(())
            }
            Action::NotificationsOn => {
                set_notifications(&shared, &engine, true).await;
                engine.pause_notifications(None).await
            }
            Action::NotificationsPauseHour => engine.pause_notifications(Some(hour())).await,
            Action::NotificationsOff => {
                set_notifications(&shared, &engine, false).await;
                Ok(())
            }
            Action::OpenConfig => {
                let path = shared.lock().expect("not poisoned").config_path.clone();
                if !path.exists() {
                    // The example to start from, every service switched off:
                    // its placeholders would each fail and notify, and end
                    // the demo for nothing.
                    let text = config::example_without_services();
                    if let Err(e) = config::write_atomic(&path, text.as_bytes()) {
                        opener.failed(
                            "Overwatch can't create the configuration file",
                            format!("could not create the configuration file: {e}"),
                        );
                    }
                }
                if path.exists() {
                    opener.open(path.display().to_string(), "the configuration file");
                }
                Ok(())
            }
            Action::ToggleAutostart => {
                let on = !autostart::is_enabled();
                let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("overwatch"));
                match autostart::set(on, &exe) {
                    Ok(()) => shared.lock().expect("not poisoned").autostart = on,
                    Err(e) => tracing::warn!("launch at login: {e}"),
                }
                Ok(())
            }
            Action::StartDemo => {
                if sim_handle.is_none() {
                    match start_demo().await {
                        Ok((c, h)) => {
                            sim_handle = Some(h);
                            {
                                let mut s = shared.lock().expect("not poisoned");
                                s.demo = true;
                                s.config = Arc::new(c.clone());
                            }
                            let _ = engine.apply_config(c).await;
                        }
                        Err(e) => tracing::warn!("demo: {e:#}"),
                    }
                }
                Ok(())
            }
            Action::Quit => {
                // Persist state before the process goes.
                let _ = engine.shutdown().await;
                proxy.quit();
                return;
            }
        };
        if r.is_err() {
            tracing::warn!("the engine has stopped");
        }
        wake.notify_one();
    }
}

fn until(f: MuteFor, hour: OffsetDateTime) -> MuteUntil {
    match f {
        MuteFor::Hour => MuteUntil::Time(hour),
        MuteFor::UntilRecovered => MuteUntil::Recovered,
    }
}

/// Opens files and pages with the desktop's handler, off the async threads,
/// and says so in the menu and a notification when nothing could open them
/// (no editor or browser set up): a log line alone is a silent failure.
#[derive(Clone)]
struct Opener {
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Wake>,
    notifier: Option<Arc<dyn Notifier>>,
}

impl Opener {
    /// Opens `target` (`what`: "the configuration file", "the dashboard").
    fn open(&self, target: String, what: &'static str) {
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("overwatch-open".into())
            .spawn(move || match super::gl::open_now(&target) {
                Ok(()) => {
                    let had = me.shared.lock().expect("not poisoned").notice.take();
                    if had.is_some() {
                        me.wake.notify_one();
                    }
                }
                Err(e) => {
                    tracing::warn!("cannot open {target}: {e}");
                    me.failed(
                        &format!("Overwatch can't open {what}"),
                        format!("No application opened {what}: {target}"),
                    );
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot open {what}: {e}");
        }
    }

    /// Shows what could not be done: in the menu, and as a notification
    /// unless notifications are off.
    fn failed(&self, title: &str, text: String) {
        let notify = {
            let mut s = self.shared.lock().expect("not poisoned");
            s.notice = Some(text.clone());
            s.config.notifications
        };
        self.wake.notify_one();
        if let (true, Some(n)) = (notify, &self.notifier) {
            let note = crate::engine::Notification {
                title: title.to_string(),
                body: text,
                dashboard_url: None,
                kind: crate::engine::EventKind::CantCheck,
                service: None,
                status: None,
            };
            if let Err(e) = n.notify(&note) {
                tracing::warn!("could not show the notification \"{title}\": {e}");
            }
        }
    }
}

/// Saves a top-level setting to the config file, keeping comments; in the
/// demo, or when the file is broken, the change applies to this run only.
fn save_top(shared: &Arc<Mutex<Shared>>, key: &str, value: toml_edit::Value) {
    let (path, demo) = {
        let s = shared.lock().expect("not poisoned");
        (s.config_path.clone(), s.demo)
    };
    if demo {
        return;
    }
    let result = Editor::open(&path).and_then(|mut ed| {
        ed.set_top(key, value);
        ed.save()
    });
    if let Err(e) = result {
        tracing::warn!("not saved to the config ({e}); applied to this run only");
    }
}

async fn set_refresh(shared: &Arc<Mutex<Shared>>, engine: &EngineHandle, d: Option<Duration>) {
    save_top(shared, "refresh", config::refresh_value(d).into());
    let c = {
        let mut s = shared.lock().expect("not poisoned");
        Arc::make_mut(&mut s.config).refresh = d;
        (*s.config).clone()
    };
    let _ = engine.apply_config(c).await;
    let _ = if d.is_some() {
        engine.resume().await
    } else {
        engine.pause().await
    };
}

async fn set_notifications(shared: &Arc<Mutex<Shared>>, engine: &EngineHandle, on: bool) {
    save_top(shared, "notifications", on.into());
    let c = {
        let mut s = shared.lock().expect("not poisoned");
        Arc::make_mut(&mut s.config).notifications = on;
        (*s.config).clone()
    };
    let _ = engine.apply_config(c).await;
}

/// Watches the config file (inotify/FSEvents, no polling) and applies a new
/// valid config, or shows why it is not valid while the last good one runs.
fn watch_config(
    rt: &tokio::runtime::Handle,
    shared: Arc<Mutex<Shared>>,
    engine: EngineHandle,
    wake: Arc<Wake>,
) -> Option<notify::RecommendedWatcher> {
    let path = shared.lock().expect("not poisoned").config_path.clone();
    let (watcher, mut loads) = watch_loads(rt, path)?;
    rt.spawn(async move {
        while let Some(outcome) = loads.recv().await {
            let apply = {
                let mut s = shared.lock().expect("not poisoned");
                match outcome {
                    // A config with nothing to watch yet (the commented
                    // example "Set up your own services…" writes) keeps the
                    // demo running until a service is added.
                    Ok(c) if s.demo && c.services().next().is_none() => {
                        s.config_error = None;
                        None
                    }
                    Ok(c) => {
                        let changed = c != *s.config || s.config_error.is_some() || s.demo;
                        s.config_error = None;
                        if changed {
                            s.demo = false;
                            s.config = Arc::new(c.clone());
                            Some(c)
                        } else {
                            None
                        }
                    }
                    Err(ConfigError::NotFound { .. }) => None,
                    Err(e) => {
                        tracing::warn!("{e}");
                        s.config_error = Some(e.to_string());
                        None
                    }
                }
            };
            if let Some(c) = apply {
                tracing::info!("config reloaded");
                let _ = engine.apply_config(c).await;
            }
            wake.notify_one();
        }
    });
    Some(watcher)
}

/// Whether a watcher event can have changed the config's content. Reads must
/// not count: inotify reports every open and close of the file, so reacting to
/// them made one `cat` start an endless loop (the reload's own open was the
/// next event). A close after writing is the end of an in-place save.
fn reload_worthy(ev: &notify::Event) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind, MetadataKind, ModifyKind};
    match ev.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        // A read may bump the access time; it says nothing about the content.
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        // Unknown kinds and a rescan (the kernel queue overflowed and events
        // were lost): read again rather than miss an edit.
        EventKind::Any | EventKind::Other => true,
    }
}

/// Watches `path` and loads it after each burst of content changes: one
/// outcome per load, i.e. per time the reloader opens the file.
fn watch_loads(
    rt: &tokio::runtime::Handle,
    path: PathBuf,
) -> Option<(
    notify::RecommendedWatcher,
    mpsc::UnboundedReceiver<Result<Config, ConfigError>>,
)> {
    use notify::{RecursiveMode, Watcher};
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if std::fs::create_dir_all(&dir).is_err() {
        return None;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let name = path.file_name().map(|n| n.to_os_string());
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            // Editors save by renaming a temp file over the target: watch the
            // directory and pick the events that touch our file.
            if reload_worthy(&ev)
                && ev
                    .paths
                    .iter()
                    .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
            {
                let _ = tx.send(());
            }
        }
    })
    .map_err(|e| tracing::warn!("cannot watch the config: {e}"))
    .ok()?;
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!("cannot watch {}: {e}", dir.display());
        return None;
    }
    let (out, loads) = mpsc::unbounded_channel();
    rt.spawn(async move {
        while rx.recv().await.is_some() {
            // Let a burst of writes settle.
            tokio::time::sleep(Duration::from_millis(250)).await;
            while rx.try_recv().is_ok() {}
            tracing::debug!("config changed on disk: reading it again");
            if out.send(config::load(&path)).is_err() {
                break;
            }
        }
    });
    Some((watcher, loads))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::icon::Look;

    fn event(kind: notify::EventKind) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from("/c/config.toml"))
    }

    #[test]
    fn reads_are_not_reasons_to_reload() {
        use notify::event::*;
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Open(AccessMode::Read)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Close(AccessMode::Execute)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Any),
            EventKind::Access(AccessKind::Other),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
        ] {
            assert!(!reload_worthy(&event(kind)), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Create(CreateKind::File),
            EventKind::Remove(RemoveKind::File),
            EventKind::Other,
        ] {
            assert!(reload_worthy(&event(kind)), "{kind:?}");
        }
    }

    /// One `cat` of the config made the tray read it 4 times a second forever
    /// (each reload's own open was the next event). Through the real watcher
    /// on a real file: a read loads nothing, a write loads once, and that
    /// load does not start another.
    #[test]
    fn a_read_of_the_config_never_starts_a_reload() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config::EXAMPLE).unwrap();
        let (_watcher, mut loads) = watch_loads(rt.handle(), path.clone()).unwrap();
        let quiet = |loads: &mut mpsc::UnboundedReceiver<_>, secs| {
            rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(secs), loads.recv())
                    .await
                    .is_err()
            })
        };
        // `cat`: open, read, close.
        assert!(!std::fs::read_to_string(&path).unwrap().is_empty());
        assert!(quiet(&mut loads, 3), "a read made the config load");
        // An in-place save loads it once...
        std::fs::write(&path, format!("{}\n# edited\n", config::EXAMPLE)).unwrap();
        let first = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), loads.recv()).await });
        assert!(matches!(first, Ok(Some(Ok(_)))), "{first:?}");
        // ...and that load's own open and close are not a change.
        assert!(quiet(&mut loads, 3), "the reload's own read loaded again");
    }

    #[test]
    fn only_one_instance_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = single_instance(dir.path()).unwrap();
        assert!(first.is_some());
        assert!(single_instance(dir.path()).unwrap().is_none());
        drop(first);
        assert!(single_instance(dir.path()).unwrap().is_some());
    }

    /// The app's state around the shipped example config.
    fn example(zone: Zone) -> Shared {
        Shared {
            config: Arc::new(config::parse(config::EXAMPLE, Path::new("x")).unwrap()),
            config_error: None,
            demo: false,
            autostart: false,
            config_path: PathBuf::from("x"),
            zone,
            notice: None,
        }
    }

    #[test]
    fn the_icon_follows_the_worst_confirmed_status() {
        let shared = example(Zone::utc());
        let u = compute(
            &shared,
            &Snapshot::default(),
            OffsetDateTime::now_utc(),
            &mut live::Memo::default(),
        );
        assert_eq!(u.icon.look, Look::Loading, "nothing answered yet");
        assert!(u.tooltip.starts_with("Overwatch — "));
    }

    /// The tray showed "muted until" and "Paused until" in UTC: its engine and
    /// its menu now get the user's zone from the wiring.
    #[test]
    fn clock_times_in_the_menu_are_local() {
        use time::macros::datetime;
        let shared = example(Zone::named("Europe/Berlin").unwrap());
        let ws = shared.config.workspaces[0].name.clone();
        let snap = Snapshot {
            mutes: vec![Mute {
                target: MuteTarget::Workspace(ws),
                until: MuteUntil::Time(datetime!(2026-07-15 08:12 UTC)),
            }],
            notifications_paused_until: Some(datetime!(2026-07-15 09:30 UTC)),
            ..Snapshot::default()
        };
        let u = compute(
            &shared,
            &snap,
            datetime!(2026-07-15 08:00 UTC),
            &mut live::Memo::default(),
        );
        fn labels(nodes: &[menu::Node], out: &mut Vec<String>) {
            for n in nodes {
                out.push(n.label.clone());
                labels(&n.children, out);
            }
        }
        let mut all = Vec::new();
        labels(&u.menu, &mut all);
        assert!(
            all.iter().any(|l| l.contains("muted until 10:12")),
            "{all:#?}"
        );
        assert!(all.iter().any(|l| l == "Paused until 11:30"), "{all:#?}");
    }

    /// An engine that crashed and restarted says so at the top of the menu.
    #[test]
    fn an_engine_fault_is_shown_in_the_menu() {
        let shared = example(Zone::utc());
        let snap = Snapshot {
            engine_fault: Some("the engine stopped on an internal error (boom)".into()),
            ..Snapshot::default()
        };
        let u = compute(
            &shared,
            &snap,
            OffsetDateTime::now_utc(),
            &mut live::Memo::default(),
        );
        assert_eq!(u.menu[1].label, "Open Overwatch…");
        assert_eq!(
            u.menu[2].label,
            "⚠ the engine stopped on an internal error (boom)"
        );
    }
}

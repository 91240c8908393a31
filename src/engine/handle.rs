//! The engine's remote: the handle commands go in through and snapshots and events come out of, the snapshot types, and the supervisor that runs the engine task and restarts it after a panic.

use super::*;

/// Which services a manual refresh covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// A workspace by name (case-insensitive).
    Workspace(String),
    Service(ServiceId),
}

/// What a manual refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// Polls started (or queued behind the concurrency limit or a budget).
    pub started: usize,
    /// Services already being polled: that poll answers the request.
    pub coalesced: usize,
    /// Services that must wait (a provider's rate-limit reset, or the wake-up grace).
    pub waiting: usize,
}

/// One service as the tray and `status` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    pub service: Service,
    /// The card to show (while offline: the last answer, marked stale).
    pub card: Option<Card>,
    /// Not successfully updated for 2× its interval, or offline.
    pub stale: bool,
    /// A poll is running or queued.
    pub polling: bool,
    /// The status after hysteresis.
    pub status: Option<Status>,
    /// When that status began ("down since 09:12").
    pub since: Option<OffsetDateTime>,
    pub last_success: Option<OffsetDateTime>,
    /// The interval in force (budgets may stretch the configured one).
    pub interval: Option<Duration>,
    pub muted: Option<MuteUntil>,
    pub flapping: bool,
    /// Recent status changes, oldest first.
    pub history: Vec<Change>,
    /// The last 24 hours in quarter hours (shared, cheap to clone).
    pub timeline: history::History,
}

/// Everything the engine knows, for rendering.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// One per service in config order. A view that did not change since the
    /// previous snapshot is the same allocation (`Arc::ptr_eq`), so a
    /// consumer can skip it without comparing it.
    pub services: Vec<Arc<ServiceView>>,
    pub offline_since: Option<OffsetDateTime>,
    /// Auto-refresh is paused (manual refresh still works).
    pub paused: bool,
    /// The machine just woke: checks resume after a short grace.
    pub waking: bool,
    pub notifications_paused_until: Option<OffsetDateTime>,
    pub mutes: Vec<Mute>,
    /// The start-up round is done (the tray can colour without "checking…").
    pub started: bool,
    /// The engine hit an internal error and was restarted: what happened.
    pub engine_fault: Option<String>,
}

impl Snapshot {
    pub fn offline(&self) -> bool {
        self.offline_since.is_some()
    }

    pub fn service(&self, id: &ServiceId) -> Option<&ServiceView> {
        self.services
            .iter()
            .find(|v| &v.service.id == id)
            .map(|v| &**v)
    }

    /// Equal but for the views, which are the same allocations in the same
    /// order: what the engine checks before publishing (no card compared).
    pub(super) fn same_except_views(&self, other: &Snapshot) -> bool {
        // Every field named: a new one cannot be forgotten here.
        let Snapshot {
            services,
            offline_since,
            paused,
            waking,
            notifications_paused_until,
            mutes,
            started,
            engine_fault,
        } = self;
        services.len() == other.services.len()
            && services
                .iter()
                .zip(&other.services)
                .all(|(a, b)| Arc::ptr_eq(a, b))
            && *offline_since == other.offline_since
            && *paused == other.paused
            && *waking == other.waking
            && *notifications_paused_until == other.notifications_paused_until
            && *mutes == other.mutes
            && *started == other.started
            && *engine_fault == other.engine_fault
    }
}

pub(super) enum Command {
    Refresh(Scope, oneshot::Sender<RefreshOutcome>),
    Pause(bool, oneshot::Sender<()>),
    Apply(Box<Config>, oneshot::Sender<()>),
    Mute(Mute, oneshot::Sender<()>),
    Unmute(MuteTarget, oneshot::Sender<()>),
    PauseNotifications(Option<OffsetDateTime>, oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// The remote control of a running engine. Dropping every clone stops it.
#[derive(Clone)]
pub struct EngineHandle {
    cmd: mpsc::UnboundedSender<Command>,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    events: broadcast::Sender<Event>,
    first_events: Arc<std::sync::Mutex<Option<broadcast::Receiver<Event>>>>,
    wakeups: Arc<AtomicU64>,
    polls_done: Arc<AtomicU64>,
    faults: watch::Receiver<Option<String>>,
}

/// The engine has stopped; the command was not carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the engine has stopped")]
pub struct Stopped;

impl EngineHandle {
    /// The last internal error the engine was restarted after (`None` while
    /// it never failed), and every new one. `watch` exits on the first.
    pub fn faults(&self) -> watch::Receiver<Option<String>> {
        self.faults.clone()
    }

    /// The latest snapshot, and every new one.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshot.clone()
    }

    /// Events as they happen. The first call receives every event since the
    /// engine started; later calls only new ones.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        let first = self
            .first_events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        first.unwrap_or_else(|| self.events.subscribe())
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Stopped> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(make(tx)).map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    /// Polls now (a poll already running answers instead of a new one).
    pub async fn refresh(&self, scope: Scope) -> Result<RefreshOutcome, Stopped> {
        self.ask(|tx| Command::Refresh(scope, tx)).await
    }

    /// Stops auto-refresh (manual refresh still works).
    pub async fn pause(&self) -> Result<(), Stopped> {
        self.ask(|tx| Command::Pause(true, tx)).await
    }

    /// Resumes auto-refresh; anything overdue polls at once.
    pub async fn resume(&self) -> Result<(), Stopped> {
        self.ask(|tx| Command::Pause(false, tx)).await
    }

    /// Applies a new config: services that still exist (by id) keep their
    /// state, new ones start, removed ones are dropped.
    pub async fn apply_config(&self, config: Config) -> Result<(), Stopped> {
        self.ask(|tx| Command::Apply(Box::new(config), tx)).await
    }

    /// Mutes a service or workspace (replacing an earlier mute of the same target).
    pub async fn mute(&self, mute: Mute) -> Result<(), Stopped> {
        self.ask(|tx| Command::Mute(mute, tx)).await
    }

    pub async fn unmute(&self, target: MuteTarget) -> Result<(), Stopped> {
        self.ask(|tx| Command::Unmute(target, tx)).await
    }

    /// Holds back every notification until `until`; `None` resumes them.
    pub async fn pause_notifications(&self, until: Option<OffsetDateTime>) -> Result<(), Stopped> {
        self.ask(|tx| Command::PauseNotifications(until, tx)).await
    }

    /// How many times the engine's loop has woken up (for tests and
    /// benchmarks: it should track polls, commands and display changes only).
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// How many poll results the engine has received (for benchmarks: a
    /// refresh is complete once this has grown by the polls it started).
    pub fn polls_done(&self) -> u64 {
        self.polls_done.load(Ordering::Relaxed)
    }

    /// Saves the state and stops the engine.
    pub async fn shutdown(&self) -> Result<(), Stopped> {
        self.ask(Command::Shutdown).await
    }
}

/// Starts an engine on the current tokio runtime.
pub struct Engine;

impl Engine {
    pub fn start(config: Config, opts: EngineOptions) -> EngineHandle {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (snap_tx, snap_rx) = watch::channel(Arc::new(Snapshot::default()));
        let (ev_tx, ev_rx) = broadcast::channel(1024);
        let wakeups = Arc::new(AtomicU64::new(0));
        let polls_done = Arc::new(AtomicU64::new(0));
        let (fault_tx, fault_rx) = watch::channel(None);
        tokio::spawn(supervise(
            config,
            opts,
            cmd_rx,
            snap_tx,
            ev_tx.clone(),
            (wakeups.clone(), polls_done.clone()),
            fault_tx,
        ));
        EngineHandle {
            cmd: cmd_tx,
            snapshot: snap_rx,
            events: ev_tx,
            first_events: Arc::new(std::sync::Mutex::new(Some(ev_rx))),
            wakeups,
            polls_done,
            faults: fault_rx,
        }
    }
}

/// Set to `engine` to make the engine panic once, on its first poll result:
/// how the tests check that a panic is shown and survived, never silent.
pub const INJECT_PANIC_ENV: &str = "OVERWATCH_INJECT_PANIC";

/// Runs the engine; if it panics, says so (`faults`, the snapshot, the log)
/// and starts it again from the last config applied, after a wait that
/// doubles with each crash (2 s … 5 min). Commands sent meanwhile wait.
async fn supervise(
    config: Config,
    opts: EngineOptions,
    mut cmd_rx: mpsc::UnboundedReceiver<Command>,
    snap_tx: watch::Sender<Arc<Snapshot>>,
    ev_tx: broadcast::Sender<Event>,
    counters: (Arc<AtomicU64>, Arc<AtomicU64>),
    fault_tx: watch::Sender<Option<String>>,
) {
    use futures_util::FutureExt;
    let latest = Arc::new(std::sync::Mutex::new(config));
    let inject = opts.inject_panic;
    let mut crashes = 0u32;
    loop {
        let run = std::panic::AssertUnwindSafe(async {
            let config = latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let mut core = Core::new(config, opts.clone(), snap_tx.clone(), ev_tx.clone());
            core.latest = Some(latest.clone());
            core.fault = fault_tx.borrow().clone();
            core.inject_panic = inject && crashes == 0;
            core.run(&mut cmd_rx, counters.0.clone(), counters.1.clone())
                .await
        });
        match run.catch_unwind().await {
            Ok(()) => return,
            Err(payload) => {
                crashes += 1;
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                let wait = Duration::from_secs(1 << crashes.min(8)).min(Duration::from_secs(300));
                let text = format!(
                    "the engine stopped on an internal error ({}) and restarts in {} — please report this",
                    crate::providers::clip(&what, 200),
                    notify::span(wait)
                );
                tracing::error!("{text}");
                let _ = fault_tx.send(Some(text.clone()));
                snap_tx.send_modify(|s| {
                    let mut next = (**s).clone();
                    next.engine_fault = Some(text);
                    *s = Arc::new(next);
                });
                tokio::time::sleep(wait).await;
            }
        }
    }
}

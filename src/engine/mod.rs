//! The background polling engine: schedules checks politely (jitter, budgets, backoff, 429 resets), notices offline and sleep, keeps state across restarts, and turns real changes into events and notifications.
//!
//! One task owns all the state (no locks); polls run as separate tasks
//! bounded by a semaphore and report back over a channel. The loop sleeps
//! until the next thing that is due — a poll, the end of a grace window, a
//! card going stale, a mute expiring — and never ticks in between.
//! [`EngineHandle`] is the remote: commands go in over a channel, a
//! [`Snapshot`] comes out over a `watch` channel, [`Event`]s over a broadcast.
//!
//! Rules, in brief (the README's "Notifications" section is the user's view):
//! - A poll whose every request reached nothing (no route, DNS, a timeout;
//!   a refusal, reset or TLS peer is a host answering, so it proves the
//!   network works and is that service's failure), when every other
//!   service's latest poll did too, means *offline*: cards keep their last
//!   known answer marked stale, no per-service events, one `offline` event,
//!   and the first answer afterwards (`online`) refreshes everything.
//!   A first connect failure on one service brings the others' polls forward
//!   so a lost network becomes one state within one round, not a trickle.
//! - Wall time jumping ahead of monotonic time means the machine slept:
//!   results still in flight are dropped, nothing polls during a short grace
//!   window, then everything refreshes at once, and hysteresis starts over.
//! - The first round after start-up produces one summary instead of a burst.

pub mod clock;
pub mod notify;
pub mod schedule;
pub mod state;
pub mod transitions;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Semaphore};
use tokio::time::{sleep_until, Instant};

use crate::config::{Config, DEFAULT_REFRESH};
use crate::model::{Card, ReasonKind, Service, ServiceId, Status};
use crate::providers::http::Http;
use crate::providers::PollResult;
use crate::secrets::SecretStore;

pub use clock::{Clock, SystemClock, TestClock, Zone};
pub use notify::{Event, EventKind, Notification, Notifier, Silence};
pub use state::{Mute, MuteTarget, MuteUntil};
pub use transitions::{Change, Rules, Transition};

use schedule::{backoff, jittered, requests_per_poll, BudgetKey, Budgets, Rng};
use state::{ServiceRecord, State};

/// How the engine runs. [`EngineOptions::new`] gives the defaults.
#[derive(Clone)]
pub struct EngineOptions {
    pub http: Http,
    pub store: Arc<dyn SecretStore>,
    /// Desktop notifications; `None` sends none (events are still emitted).
    pub notifier: Option<Arc<dyn Notifier>>,
    /// Takes the notifier's place: every notification is sent here, in order,
    /// at the moment the engine decides to show it, before the event that
    /// caused it goes to subscribers. So a test that has seen an event has its
    /// notification too, with no notifier thread to wait for.
    pub notification_sink: Option<std::sync::mpsc::Sender<Notification>>,
    pub clock: Arc<dyn Clock>,
    /// Where state persists; `None` keeps it in memory only.
    pub state_path: Option<PathBuf>,
    /// Polls running at once.
    pub max_in_flight: usize,
    /// Quiet time after a wake-up before everything refreshes.
    pub sleep_grace: Duration,
    /// Wall time running ahead of monotonic time by more than this is a sleep.
    pub sleep_threshold: Duration,
    /// The start-up summary waits at most this long for the first round.
    pub startup_deadline: Duration,
    /// Flap detection (the per-service hysteresis comes from each service's config).
    pub flap_changes: usize,
    pub flap_window: Duration,
    pub flap_quiet: Duration,
    /// Seed for jitter; `None` seeds from the clock.
    pub seed: Option<u64>,
    /// Asks the OS whether there is a network at all; consulted after a
    /// connect failure, so "no route" means offline at once. `None` relies on
    /// every check failing.
    pub network_probe: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    /// Budget loopback hosts too (tests of the budgets against the simulator);
    /// normally only real provider hosts are budgeted.
    pub budget_loopback: bool,
    /// Rebuilds `http` and `store` for every config applied, so a new
    /// `timeout` or a newly used keychain key takes effect without a restart.
    /// `None` keeps the ones given (tests).
    pub rewire: Option<Arc<dyn Rewire>>,
    /// Panic once, on the first poll result: the tests' way to check that a
    /// crash is shown and survived. Set from [`INJECT_PANIC_ENV`] by default.
    pub inject_panic: bool,
}

/// Builds the parts of a check that depend on the config: the HTTP client
/// (its `timeout`) and the secret store (which kinds of key it uses).
/// Implemented once, by `crate::wiring`, for every consumer of the engine.
pub trait Rewire: Send + Sync {
    fn http(&self, config: &Config) -> Result<Http, String>;
    fn store(&self, config: &Config) -> Arc<dyn SecretStore>;
}

impl EngineOptions {
    pub fn new(http: Http, store: Arc<dyn SecretStore>) -> EngineOptions {
        let rules = Rules::default();
        EngineOptions {
            http,
            store,
            notifier: None,
            notification_sink: None,
            clock: Arc::new(SystemClock::with_zone(Zone::utc())),
            state_path: None,
            max_in_flight: 4,
            sleep_grace: Duration::from_secs(15),
            sleep_threshold: Duration::from_secs(20),
            startup_deadline: Duration::from_secs(30),
            flap_changes: rules.flap_changes,
            flap_window: rules.flap_window,
            flap_quiet: rules.flap_quiet,
            seed: None,
            network_probe: None,
            budget_loopback: false,
            rewire: None,
            inject_panic: std::env::var(INJECT_PANIC_ENV).is_ok_and(|v| v == "engine"),
        }
    }
}

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
}

/// Everything the engine knows, for rendering.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub services: Vec<ServiceView>,
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
        self.services.iter().find(|v| &v.service.id == id)
    }
}

enum Command {
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

/// `t + d`, saturating a year ahead instead of panicking on overflow: no
/// interval from a config (capped at 7 days) or a provider's reset comes
/// near it, but a panic here would silence every service at once.
fn later(t: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(365 * 86400);
    t.checked_add(d.min(FAR)).unwrap_or(t)
}

/// Whether a card is evidence of being offline: the request reached nothing
/// at all (DNS, no route, a timeout). A refusal, a reset or a TLS peer is
/// something at the host's address answering — the network works and that
/// service is unreachable (services on one dead self-hosted host alert
/// instead of hiding behind "offline"). A 5xx is an answer. Read from the
/// reason's typed facts, never from its wording.
pub fn is_connect_failure(card: &Card) -> bool {
    match &card.reason {
        Some(r) if card.status == Status::Unknown => {
            r.kind == ReasonKind::Offline || r.facts.transport.is_some_and(|t| !t.proves_network())
        }
        _ => false,
    }
}

struct Slot {
    service: Service,
    rec: ServiceRecord,
    /// Next automatic poll.
    due: Option<Instant>,
    /// A manual refresh is waiting to run (honoured even when paused).
    forced: bool,
    in_flight: bool,
    /// Consecutive failed polls.
    errors: u32,
    /// No request before this (a provider's rate-limit reset).
    hold_until: Option<Instant>,
    /// The latest poll failed to connect.
    connect_failed: bool,
    /// At least one poll finished since start (or since the last sleep).
    has_result: bool,
    budget: Option<BudgetKey>,
}

struct PollDone {
    id: ServiceId,
    epoch: u64,
    at: OffsetDateTime,
    result: PollResult,
}

struct Startup {
    pending: HashSet<ServiceId>,
    deadline: Instant,
    /// (service id, summary line), in the order they came.
    items: Vec<(ServiceId, String)>,
}

struct Core {
    config: Config,
    /// Where the supervisor finds the config to restart with.
    latest: Option<Arc<std::sync::Mutex<Config>>>,
    /// The last crash, shown in every snapshot after it.
    fault: Option<String>,
    /// Panic on the next poll result (see [`INJECT_PANIC_ENV`]).
    inject_panic: bool,
    slots: Vec<Slot>,
    opts: EngineOptions,
    budgets: Budgets,
    rng: Rng,
    offline_since: Option<OffsetDateTime>,
    paused: bool,
    grace_until: Option<Instant>,
    /// Bumped on every sleep: results of polls started before are dropped.
    epoch: u64,
    last_seen: (Instant, OffsetDateTime),
    startup: Option<Startup>,
    mutes: Vec<Mute>,
    notifications_paused_until: Option<OffsetDateTime>,
    snap_tx: watch::Sender<Arc<Snapshot>>,
    ev_tx: broadcast::Sender<Event>,
    notify_tx: Option<std::sync::mpsc::Sender<Notification>>,
    done_tx: mpsc::UnboundedSender<PollDone>,
    done_rx: Option<mpsc::UnboundedReceiver<PollDone>>,
    sem: Arc<Semaphore>,
    dirty: bool,
}

impl Core {
    fn new(
        config: Config,
        opts: EngineOptions,
        snap_tx: watch::Sender<Arc<Snapshot>>,
        ev_tx: broadcast::Sender<Event>,
    ) -> Core {
        let mut persisted = opts
            .state_path
            .as_deref()
            .map(|p| state::load(p, opts.clock.now()))
            .unwrap_or_default();
        let now = Instant::now();
        let wall = opts.clock.now();
        let notify_tx = opts
            .notification_sink
            .clone()
            .or_else(|| opts.notifier.clone().map(spawn_notifier));
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let rng = opts.seed.map(Rng::new).unwrap_or_else(Rng::from_entropy);
        let sem = Arc::new(Semaphore::new(opts.max_in_flight.max(1)));
        let mut core = Core {
            config: Config::default(),
            slots: Vec::new(),
            budgets: Budgets::new(),
            rng,
            offline_since: None,
            paused: false,
            grace_until: None,
            epoch: 0,
            last_seen: (now, wall),
            startup: None,
            mutes: std::mem::take(&mut persisted.mutes),
            notifications_paused_until: persisted.notifications_paused_until,
            snap_tx,
            ev_tx,
            notify_tx,
            done_tx,
            done_rx: Some(done_rx),
            sem,
            opts,
            dirty: false,
            latest: None,
            fault: None,
            inject_panic: false,
        };
        core.install(config, Some(persisted), now);
        let pending = core
            .slots
            .iter()
            .filter(|s| s.service.polled())
            .map(|s| s.service.id.clone())
            .collect();
        core.startup = Some(Startup {
            pending,
            deadline: now + core.opts.startup_deadline,
            items: Vec::new(),
        });
        core
    }

    async fn run(
        mut self,
        cmd_rx: &mut mpsc::UnboundedReceiver<Command>,
        wakeups: Arc<AtomicU64>,
        polls_done: Arc<AtomicU64>,
    ) {
        let mut done_rx = self.done_rx.take().expect("receiver taken once");
        self.tick();
        self.publish();
        loop {
            let wake = self.next_wake();
            let far = Instant::now() + Duration::from_secs(86400 * 365);
            tokio::select! {
                biased;
                cmd = cmd_rx.recv() => match cmd {
                    None => break,
                    Some(Command::Shutdown(reply)) => {
                        self.save();
                        let _ = reply.send(());
                        return;
                    }
                    Some(c) => self.command(c),
                },
                Some(done) = done_rx.recv() => {
                    if std::mem::take(&mut self.inject_panic) {
                        panic!("injected by {INJECT_PANIC_ENV}=engine");
                    }
                    self.check_clock();
                    self.on_result(done);
                    polls_done.fetch_add(1, Ordering::Relaxed);
                    // Results that arrived together are taken together: one
                    // snapshot (which costs O(services)) for the lot, not one each.
                    while let Ok(more) = done_rx.try_recv() {
                        self.on_result(more);
                        polls_done.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ = sleep_until(wake.unwrap_or(far)), if wake.is_some() => {}
            }
            wakeups.fetch_add(1, Ordering::Relaxed);
            self.check_clock();
            self.tick();
            if self.dirty {
                self.save();
            }
            self.publish();
        }
        self.save();
    }

    // ---- configuration -------------------------------------------------

    /// Installs a config: keeps matching records (from `persisted` at start,
    /// from the running slots on reload), starts new services, drops the rest.
    fn install(&mut self, config: Config, persisted: Option<State>, now: Instant) {
        let mut old: Vec<Slot> = std::mem::take(&mut self.slots);
        let mut persisted = persisted.map(|p| p.services).unwrap_or_default();
        for service in config.services() {
            let target = service.target.describe();
            let kept = old
                .iter()
                .position(|s| s.service.id == service.id)
                .map(|i| old.swap_remove(i));
            let slot = match kept {
                Some(mut s) if s.rec.target == target => {
                    let interval_changed = s.service.refresh != service.refresh
                        || s.service.polled() != service.polled();
                    s.service = service.clone();
                    s.budget = self.budget_key(service);
                    if interval_changed || s.due.is_none() {
                        s.due = Some(now);
                    }
                    s
                }
                _ => {
                    let rec = persisted
                        .remove(&service.id)
                        .filter(|r| r.target == target)
                        .unwrap_or_else(|| ServiceRecord {
                            target,
                            ..ServiceRecord::default()
                        });
                    if let Some(st) = self.startup.as_mut() {
                        if service.polled() {
                            st.pending.insert(service.id.clone());
                        }
                    }
                    Slot {
                        service: service.clone(),
                        rec,
                        due: Some(now),
                        forced: false,
                        in_flight: false,
                        errors: 0,
                        hold_until: None,
                        connect_failed: false,
                        has_result: false,
                        budget: self.budget_key(service),
                    }
                }
            };
            self.slots.push(slot);
        }
        if let Some(st) = self.startup.as_mut() {
            let ids: HashSet<&ServiceId> = self.slots.iter().map(|s| &s.service.id).collect();
            st.pending.retain(|id| ids.contains(id));
        }
        self.config = config;
        if let Some(l) = &self.latest {
            *l.lock().unwrap_or_else(|e| e.into_inner()) = self.config.clone();
        }
        self.dirty = true;
    }

    fn budget_key(&self, s: &Service) -> Option<BudgetKey> {
        if self.opts.budget_loopback {
            Some(BudgetKey::of_any(s))
        } else {
            BudgetKey::of(s)
        }
    }

    /// The configured interval of a service; `None` when it is not auto-refreshed.
    fn base_interval(&self, s: &Service) -> Option<Duration> {
        if !s.polled() {
            return None;
        }
        s.refresh.or(self.config.refresh)
    }

    /// The interval in force: the configured one, stretched so every service
    /// sharing the key fits inside its budget.
    fn interval(&mut self, i: usize) -> Option<Duration> {
        let base = self.base_interval(&self.slots[i].service)?;
        let Some(key) = self.slots[i].budget.clone() else {
            return Some(base);
        };
        let sharing = self
            .slots
            .iter()
            .filter(|s| s.service.polled() && s.budget.as_ref() == Some(&key))
            .count();
        let min = self.budgets.min_interval(&key, sharing, Instant::now());
        Some(base.max(min))
    }

    /// The interval used for staleness and retries when auto-refresh is off.
    fn nominal_interval(&mut self, i: usize) -> Duration {
        self.interval(i)
            .unwrap_or_else(|| self.config.refresh.unwrap_or(DEFAULT_REFRESH))
    }

    // ---- commands ------------------------------------------------------

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Refresh(scope, reply) => {
                let out = self.refresh(&scope);
                let _ = reply.send(out);
            }
            Command::Pause(p, reply) => {
                self.paused = p;
                if !p {
                    // Anything that came due while paused polls now.
                    let now = Instant::now();
                    for i in 0..self.slots.len() {
                        if self.slots[i].due.is_none() && self.slots[i].service.polled() {
                            self.slots[i].due = Some(now);
                        }
                    }
                }
                let _ = reply.send(());
            }
            Command::Apply(config, reply) => {
                let now = Instant::now();
                if let Some(w) = self.opts.rewire.clone() {
                    match w.http(&config) {
                        Ok(http) => self.opts.http = http,
                        // Only a broken TLS setup gets here; the old client still works.
                        Err(e) => tracing::error!("keeping the previous HTTP client: {e}"),
                    }
                    self.opts.store = w.store(&config);
                }
                self.install(*config, None, now);
                // A shorter interval takes effect now, not after the old one.
                for i in 0..self.slots.len() {
                    if let (Some(iv), Some(due)) = (self.interval(i), self.slots[i].due) {
                        if due > now + iv {
                            self.slots[i].due = Some(later(now, jittered(iv, &mut self.rng)));
                        }
                    }
                }
                let _ = reply.send(());
            }
            Command::Mute(m, reply) => {
                self.mutes.retain(|x| x.target != m.target);
                self.mutes.push(m);
                self.dirty = true;
                let _ = reply.send(());
            }
            Command::Unmute(t, reply) => {
                self.mutes.retain(|x| x.target != t);
                self.dirty = true;
                let _ = reply.send(());
            }
            Command::PauseNotifications(until, reply) => {
                self.notifications_paused_until = until;
                self.dirty = true;
                let _ = reply.send(());
            }
            Command::Shutdown(_) => unreachable!("handled by the loop"),
        }
    }

    fn in_scope(s: &Service, scope: &Scope) -> bool {
        match scope {
            Scope::All => true,
            Scope::Workspace(w) => s.workspace.eq_ignore_ascii_case(w),
            Scope::Service(id) => &s.id == id,
        }
    }

    fn refresh(&mut self, scope: &Scope) -> RefreshOutcome {
        let now = Instant::now();
        let mut out = RefreshOutcome::default();
        for s in self.slots.iter_mut() {
            if !s.service.polled() || !Self::in_scope(&s.service, scope) {
                continue;
            }
            if s.in_flight {
                out.coalesced += 1;
            } else if s.hold_until.is_some_and(|h| h > now) || self.grace_until.is_some() {
                // Polled as soon as the provider (or the wake-up grace) allows.
                s.forced = true;
                out.waiting += 1;
            } else {
                s.forced = true;
                s.due = Some(now);
                // A manual refresh is a fresh start for backoff.
                s.errors = 0;
                out.started += 1;
            }
        }
        out
    }

    // ---- the loop's timing -----------------------------------------------

    fn next_wake(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let wall = self.opts.clock.now();
        let mut wake: Option<Instant> = None;
        let mut at = |t: Instant| wake = Some(wake.map_or(t, |w: Instant| w.min(t)));
        if let Some(g) = self.grace_until {
            at(g);
        } else {
            for s in &self.slots {
                if s.in_flight || !s.service.polled() {
                    continue;
                }
                let due = match (s.forced, self.paused) {
                    (true, _) => Some(s.due.unwrap_or(now)),
                    (false, false) => s.due,
                    (false, true) => None,
                };
                if let Some(d) = due {
                    at(s.hold_until.map_or(d, |h| h.max(d)));
                }
            }
        }
        if let Some(st) = &self.startup {
            at(st.deadline);
        }
        // Wake when something changes on screen without a poll: a card
        // turning stale, a mute or the notification pause ending.
        let mut walls: Vec<OffsetDateTime> = Vec::new();
        for i in 0..self.slots.len() {
            if let Some(t) = self.slots[i].rec.last_success {
                let limit = self.nominal_interval(i).saturating_mul(2);
                // Checked: a time near year 9999 (a clock gone wrong) must
                // not panic the engine; such a card simply never turns stale.
                let stale_at = time::Duration::try_from(limit)
                    .ok()
                    .and_then(|l| t.checked_add(l));
                if let Some(stale_at) = stale_at.filter(|s| *s > wall) {
                    walls.push(stale_at);
                }
            }
        }
        walls.extend(self.mutes.iter().filter_map(|m| match m.until {
            MuteUntil::Time(t) if t > wall => Some(t),
            _ => None,
        }));
        walls.extend(self.notifications_paused_until.filter(|t| *t > wall));
        for w in walls {
            // A few ms late, so the moment has surely passed when we look.
            let d = (w - wall).unsigned_abs() + Duration::from_millis(5);
            at(later(now, d));
        }
        wake
    }

    /// Notices a sleep: wall time ran ahead of monotonic time.
    fn check_clock(&mut self) {
        let now = Instant::now();
        let wall = self.opts.clock.now();
        let (m0, w0) = self.last_seen;
        self.last_seen = (now, wall);
        let mono = now.saturating_duration_since(m0);
        let walled = wall - w0;
        if walled <= time::Duration::ZERO {
            return;
        }
        let ahead = walled.unsigned_abs().saturating_sub(mono);
        if ahead > self.opts.sleep_threshold {
            self.on_sleep(now, wall, ahead);
        }
    }

    fn on_sleep(&mut self, now: Instant, wall: OffsetDateTime, slept: Duration) {
        tracing::info!(
            "the machine slept for about {}; checking again in {}",
            notify::span(slept),
            notify::span(self.opts.sleep_grace)
        );
        self.epoch += 1;
        self.grace_until = Some(now + self.opts.sleep_grace);
        for s in self.slots.iter_mut() {
            // Their answers, if any come, describe the world before the sleep.
            s.in_flight = false;
            s.hold_until = None;
            s.rec.tracker.on_sleep(wall);
        }
    }

    /// Starts every poll that is due, ends the grace window and the start-up round.
    fn tick(&mut self) {
        let now = Instant::now();
        let wall = self.opts.clock.now();
        if let Some(g) = self.grace_until {
            if now < g {
                return;
            }
            self.grace_until = None;
            // Awake and settled: refresh everything at once.
            for s in self.slots.iter_mut() {
                if s.service.polled() {
                    s.due = Some(now);
                    s.forced = true;
                }
            }
        }
        if self.startup.as_ref().is_some_and(|s| now >= s.deadline) {
            self.finish_startup(wall);
        }
        self.expire(wall);
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            if s.in_flight || !s.service.polled() {
                continue;
            }
            let due = match (s.forced, self.paused) {
                (true, _) => s.due.unwrap_or(now),
                (false, false) => match s.due {
                    Some(d) => d,
                    None => continue,
                },
                (false, true) => continue,
            };
            if due > now || s.hold_until.is_some_and(|h| h > now) {
                continue;
            }
            if let Some(key) = s.budget.clone() {
                let cost = requests_per_poll(key.provider);
                if let Err(wait) = self.budgets.try_take(&key, cost, now) {
                    tracing::debug!(service = %self.slots[i].service.id, "budget: waiting {wait:?}");
                    self.slots[i].due = Some(later(now, wait));
                    continue;
                }
            }
            self.start_poll(i);
        }
    }

    fn expire(&mut self, wall: OffsetDateTime) {
        let before = self.mutes.len();
        self.mutes
            .retain(|m| !matches!(m.until, MuteUntil::Time(t) if t <= wall));
        if self.notifications_paused_until.is_some_and(|t| t <= wall) {
            self.notifications_paused_until = None;
            self.dirty = true;
        }
        if self.mutes.len() != before {
            self.dirty = true;
        }
    }

    fn start_poll(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        slot.in_flight = true;
        slot.forced = false;
        slot.due = None;
        let service = slot.service.clone();
        let http = self.opts.http.clone();
        let store = self.opts.store.clone();
        let clock = self.opts.clock.clone();
        let sem = self.sem.clone();
        let tx = self.done_tx.clone();
        let epoch = self.epoch;
        tokio::spawn(async move {
            let Ok(_permit) = sem.acquire_owned().await else {
                return;
            };
            let result = http.check(&service, &*store, clock.now()).await;
            let _ = tx.send(PollDone {
                id: service.id.clone(),
                epoch,
                at: clock.now(),
                result,
            });
        });
    }

    // ---- results -----------------------------------------------------------

    fn on_result(&mut self, done: PollDone) {
        let Some(i) = self.slots.iter().position(|s| s.service.id == done.id) else {
            return; // removed by a config reload meanwhile
        };
        if done.epoch != self.epoch {
            return; // from before a sleep
        }
        let now = Instant::now();
        let at = done.at;
        let result = done.result;
        self.slots[i].in_flight = false;
        let connect_failed = is_connect_failure(&result.card);
        if let Some(wait) = result.retry_after {
            self.slots[i].hold_until = Some(later(now, wait));
            if let Some(key) = self.slots[i].budget.clone() {
                self.budgets.rate_limited(&key, now);
            }
        }
        self.startup_done(&done.id);

        if self.offline_since.is_some() {
            if connect_failed {
                // Still offline: keep the last known card, try again at the plain interval.
                let s = &mut self.slots[i];
                s.connect_failed = true;
                s.has_result = true;
                let next = self.nominal_interval(i);
                let d = jittered(next, &mut self.rng);
                self.slots[i].due = Some(later(now, d));
                return;
            }
            self.go_online(at, now);
        } else if connect_failed {
            let was_failing = self.slots[i].connect_failed;
            self.slots[i].connect_failed = true;
            self.slots[i].has_result = true;
            // Services whose latest answer is old news (held by a provider's
            // rate-limit reset, or not polled automatically) cannot vouch for
            // the network either way.
            let paused = self.paused;
            let all_failing = self
                .slots
                .iter()
                .filter(|s| s.has_result && s.service.polled())
                .filter(|s| {
                    s.connect_failed
                        || (s.hold_until.is_none_or(|h| h <= now)
                            && (paused || s.in_flight || s.due.is_some()))
                })
                .all(|s| s.connect_failed);
            let os_offline = self.opts.network_probe.as_ref().is_some_and(|up| !up());
            if all_failing || os_offline {
                self.go_offline(at);
                let next = self.nominal_interval(i);
                let d = jittered(next, &mut self.rng);
                self.slots[i].due = Some(later(now, d));
                return;
            }
            if !was_failing {
                // Is it this host, or the network? Ask the others now.
                for s in self.slots.iter_mut() {
                    if s.service.polled()
                        && !s.in_flight
                        && !s.connect_failed
                        && s.hold_until.is_none_or(|h| h <= now)
                    {
                        s.due = Some(now);
                    }
                }
            }
        }
        self.record(i, result, at, connect_failed, now);
    }

    /// Stores an answer, schedules the next poll and runs the transitions.
    fn record(
        &mut self,
        i: usize,
        result: PollResult,
        at: OffsetDateTime,
        connect_failed: bool,
        now: Instant,
    ) {
        let interval = self.interval(i);
        let nominal = self.nominal_interval(i);
        let card = result.card;
        let answered = card.status != Status::Unknown;
        {
            let s = &mut self.slots[i];
            s.has_result = true;
            s.connect_failed = connect_failed;
            if answered {
                s.errors = 0;
                s.rec.last_good = Some(card.clone());
                s.rec.last_success = Some(at);
            } else {
                s.errors = s.errors.saturating_add(1);
            }
            s.rec.card = Some(card.clone());
        }
        // Next poll: the provider's reset, else backoff, else the interval.
        let s = &self.slots[i];
        let next = if let Some(h) = s.hold_until.filter(|h| *h > now) {
            let spread = nominal.mul_f64(self.rng.between(0.0, schedule::JITTER));
            Some(later(h, spread))
        } else {
            // With auto-refresh off, only a manual refresh polls again.
            interval.map(|iv| later(now, backoff(iv, s.errors, &mut self.rng)))
        };
        self.slots[i].due = next;

        let rules = Rules {
            alerts: self.slots[i].service.alerts,
            flap_changes: self.opts.flap_changes,
            flap_window: self.opts.flap_window,
            flap_quiet: self.opts.flap_quiet,
        };
        let transitions = self.slots[i].rec.tracker.observe(&card, at, &rules);
        if !transitions.is_empty() {
            self.dirty = true;
        }
        for t in transitions {
            self.transition(i, t, at);
        }
    }

    fn go_offline(&mut self, at: OffsetDateTime) {
        self.offline_since = Some(at);
        for s in self.slots.iter_mut() {
            // Show what we last saw, marked stale, rather than a wall of "unreachable".
            if let Some(good) = &s.rec.last_good {
                s.rec.card = Some(good.clone());
            }
        }
        let n = self.slots.iter().filter(|s| s.service.polled()).count();
        let ev = Event::global(
            at,
            EventKind::Offline,
            "Offline".into(),
            format!(
                "no check of {} could connect; showing the last known status, marked stale, until the network is back",
                if n == 1 { "1 service".to_string() } else { format!("{n} services") }
            ),
        );
        self.emit(ev);
    }

    fn go_online(&mut self, at: OffsetDateTime, now: Instant) {
        let since = self.offline_since.take();
        let away = since
            .map(|s| format!("offline for {}; ", notify::span((at - s).unsigned_abs())))
            .unwrap_or_default();
        let ev = Event::global(
            at,
            EventKind::Online,
            "Back online".into(),
            format!("{away}refreshing every service"),
        );
        self.emit(ev);
        for s in self.slots.iter_mut() {
            s.rec.tracker.on_online(at);
            s.errors = 0;
            if s.service.polled() && !s.in_flight {
                s.due = Some(now);
                s.forced = true;
            }
        }
    }

    // ---- transitions → events ------------------------------------------------

    fn transition(&mut self, i: usize, t: Transition, at: OffsetDateTime) {
        let zone = self.opts.clock.zone();
        let service = self.slots[i].service.clone();
        let card = self.slots[i].rec.card.clone();
        let in_startup = self.startup.is_some();
        let (kind, from, to, (title, body)) = match t {
            Transition::Baseline { status } => {
                if status == Status::Healthy {
                    return;
                }
                if in_startup {
                    self.summarize(&service, status.as_str(), card.as_ref());
                    return;
                }
                // A service seen for the first time after start-up (new in
                // the config, or offline until now) that is not healthy.
                let since = self.slots[i].rec.tracker.since.unwrap_or(at);
                (
                    EventKind::Changed,
                    None,
                    Some(status),
                    notify::changed_text(
                        &service,
                        card.as_ref(),
                        Status::Healthy,
                        status,
                        since,
                        at,
                        &zone,
                    ),
                )
            }
            Transition::Changed { from, to, since } => {
                if in_startup {
                    self.summarize(&service, to.as_str(), card.as_ref());
                    return;
                }
                (
                    EventKind::Changed,
                    Some(from),
                    Some(to),
                    notify::changed_text(&service, card.as_ref(), from, to, since, at, &zone),
                )
            }
            Transition::Recovered {
                from,
                trouble_since,
                at: healthy_at,
            } => {
                self.lift_recovery_mutes(&service);
                if let Some(st) = self.startup.as_mut() {
                    st.items.retain(|(id, _)| id != &service.id);
                    return;
                }
                (
                    EventKind::Recovered,
                    Some(from),
                    Some(Status::Healthy),
                    notify::recovered_text(&service, card.as_ref(), trouble_since, healthy_at),
                )
            }
            Transition::Flapping {
                changes,
                window,
                now,
            } => (
                EventKind::Flapping,
                None,
                Some(now),
                notify::flapping_text(&service, changes, window, now),
            ),
            Transition::Settled { from, to, since } => {
                if to == Status::Healthy {
                    self.lift_recovery_mutes(&service);
                }
                (
                    if to == Status::Healthy {
                        EventKind::Recovered
                    } else {
                        EventKind::Changed
                    },
                    from,
                    Some(to),
                    notify::settled_text(&service, card.as_ref(), to, since, at, &zone),
                )
            }
            Transition::CantCheck {
                reason,
                since,
                setup,
            } => {
                if in_startup {
                    self.summarize_line(
                        &service,
                        notify::summary_line(&service, "can't check", &reason.message),
                    );
                    return;
                }
                (
                    EventKind::CantCheck,
                    self.slots[i].rec.tracker.confirmed,
                    Some(Status::Unknown),
                    notify::cant_check_text(&service, &reason.message, setup, since, at),
                )
            }
        };
        let ev = Event::about(&service, at, kind, from, to, title, body);
        self.emit(ev);
    }

    fn summarize(&mut self, s: &Service, what: &str, card: Option<&Card>) {
        let detail = card
            .map(|c| c.summary.clone())
            .unwrap_or_else(|| "no details".into());
        self.summarize_line(s, notify::summary_line(s, what, &detail));
    }

    fn summarize_line(&mut self, s: &Service, line: String) {
        if let Some(st) = self.startup.as_mut() {
            st.items.retain(|(id, _)| id != &s.id);
            st.items.push((s.id.clone(), line));
        }
    }

    /// Marks a service's first result in; the round closes on the loop's
    /// next tick, after this result's own transitions went into the summary.
    fn startup_done(&mut self, id: &ServiceId) {
        if let Some(st) = self.startup.as_mut() {
            st.pending.remove(id);
            if st.pending.is_empty() {
                st.deadline = Instant::now();
            }
        }
    }

    /// Ends the start-up round: one summary of what needs attention, or nothing.
    fn finish_startup(&mut self, wall: OffsetDateTime) {
        let Some(st) = self.startup.take() else {
            return;
        };
        let mut lines = Vec::new();
        let mut silenced_all = true;
        for (id, line) in &st.items {
            let Some(s) = self.slots.iter().find(|s| &s.service.id == id) else {
                continue;
            };
            if self.muted(&s.service, wall).is_none() {
                silenced_all = false;
                lines.push(line.clone());
            }
        }
        if st.items.is_empty() {
            return;
        }
        let mut ev = Event::global(
            wall,
            EventKind::Summary,
            notify::summary_title(if lines.is_empty() {
                st.items.len()
            } else {
                lines.len()
            }),
            if lines.is_empty() {
                st.items
                    .iter()
                    .map(|(_, l)| l.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                lines.join("\n")
            },
        );
        if silenced_all {
            ev.silenced = Some(Silence::Muted);
        }
        self.dirty = true;
        self.emit(ev);
    }

    // ---- mutes -----------------------------------------------------------

    fn mute_active(m: &Mute, wall: OffsetDateTime) -> bool {
        match m.until {
            MuteUntil::Time(t) => t > wall,
            MuteUntil::Recovered => true,
        }
    }

    /// The mute covering a service, if any (its own first, then its workspace's).
    fn muted(&self, s: &Service, wall: OffsetDateTime) -> Option<MuteUntil> {
        let own = self
            .mutes
            .iter()
            .find(|m| m.target == MuteTarget::Service(s.id.clone()) && Self::mute_active(m, wall));
        let ws = self.mutes.iter().find(|m| {
            matches!(&m.target, MuteTarget::Workspace(w) if w.eq_ignore_ascii_case(&s.workspace))
                && Self::mute_active(m, wall)
        });
        own.or(ws).map(|m| m.until)
    }

    /// "Until it recovers" ends when it has: the recovery itself is told.
    fn lift_recovery_mutes(&mut self, s: &Service) {
        let before = self.mutes.len();
        self.mutes.retain(|m| {
            !(m.until == MuteUntil::Recovered && m.target == MuteTarget::Service(s.id.clone()))
        });
        let ws_healthy = self
            .slots
            .iter()
            .filter(|x| x.service.workspace.eq_ignore_ascii_case(&s.workspace))
            .filter(|x| x.service.polled())
            .all(|x| matches!(x.rec.tracker.confirmed, Some(Status::Healthy) | None));
        if ws_healthy {
            self.mutes.retain(|m| {
                !(m.until == MuteUntil::Recovered
                    && matches!(&m.target, MuteTarget::Workspace(w) if w.eq_ignore_ascii_case(&s.workspace)))
            });
        }
        if self.mutes.len() != before {
            self.dirty = true;
        }
    }

    /// Sends an event out: to subscribers always, to the notifier unless
    /// silenced or not a pop-up kind.
    fn emit(&mut self, mut ev: Event) {
        if ev.silenced.is_none() {
            let wall = self.opts.clock.now();
            if self.notifications_paused_until.is_some_and(|t| t > wall) {
                ev.silenced = Some(Silence::Paused);
            } else if let Some(id) = &ev.service_id {
                if let Some(s) = self.slots.iter().find(|s| &s.service.id == id) {
                    if self.muted(&s.service, wall).is_some() {
                        ev.silenced = Some(Silence::Muted);
                    }
                }
            }
        }
        match ev.silenced {
            None => tracing::info!(kind = %ev.kind, "{} — {}", ev.title, ev.body),
            Some(why) => tracing::info!(kind = %ev.kind, ?why, "held back: {}", ev.title),
        }
        if ev.notify && ev.silenced.is_none() && self.config.notifications {
            if let Some(tx) = &self.notify_tx {
                let _ = tx.send(Notification::from(&ev));
            }
        }
        let _ = self.ev_tx.send(ev);
    }

    // ---- output ------------------------------------------------------------

    fn publish(&mut self) {
        let wall = self.opts.clock.now();
        let offline = self.offline_since.is_some();
        let mut services = Vec::with_capacity(self.slots.len());
        for i in 0..self.slots.len() {
            let interval = self.interval(i);
            let nominal = self.nominal_interval(i);
            let s = &self.slots[i];
            let time_stale = s
                .rec
                .last_success
                .is_some_and(|t| (wall - t).unsigned_abs() > nominal * 2 && wall > t);
            services.push(ServiceView {
                service: s.service.clone(),
                card: s.rec.card.clone(),
                stale: s.service.polled() && s.rec.card.is_some() && (offline || time_stale),
                polling: s.in_flight,
                status: s.rec.tracker.confirmed,
                since: s.rec.tracker.since,
                last_success: s.rec.last_success,
                interval,
                muted: self.muted(&s.service, wall),
                flapping: s.rec.tracker.flapping,
                history: s.rec.tracker.history.iter().cloned().collect(),
            });
        }
        let snap = Snapshot {
            services,
            offline_since: self.offline_since,
            paused: self.paused,
            waking: self.grace_until.is_some(),
            notifications_paused_until: self.notifications_paused_until,
            mutes: self.mutes.clone(),
            started: self.startup.is_none(),
            engine_fault: self.fault.clone(),
        };
        self.snap_tx.send_if_modified(|old| {
            if **old == snap {
                false
            } else {
                *old = Arc::new(snap);
                true
            }
        });
    }

    fn save(&mut self) {
        self.dirty = false;
        let Some(path) = self.opts.state_path.clone() else {
            return;
        };
        let st = State {
            format: state::FORMAT.into(),
            version: state::VERSION,
            services: self
                .slots
                .iter()
                .map(|s| (s.service.id.clone(), s.rec.clone()))
                .collect(),
            mutes: self.mutes.clone(),
            notifications_paused_until: self.notifications_paused_until,
        };
        if let Err(e) = state::save(&path, &st) {
            tracing::warn!("{e}");
        }
    }
}

/// Whether the OS has a route to anywhere: a default route on an interface
/// other than loopback (Linux: `/proc/net/route`, `/proc/net/ipv6_route`).
/// Elsewhere, or when those files cannot be read, it says yes and leaves
/// the verdict to the checks themselves.
pub fn os_has_default_route() -> bool {
    #[cfg(target_os = "linux")]
    {
        let v4 = std::fs::read_to_string("/proc/net/route").ok();
        let v6 = std::fs::read_to_string("/proc/net/ipv6_route").ok();
        default_route_in(v4.as_deref(), v6.as_deref())
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// Reads Linux's route tables (the text of `/proc/net/route` and
/// `/proc/net/ipv6_route`); `true` when neither could be read.
pub fn default_route_in(v4: Option<&str>, v6: Option<&str>) -> bool {
    if v4.is_none() && v6.is_none() {
        return true;
    }
    let v4_default = v4.unwrap_or_default().lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 1 && f[1] == "00000000" && f[0] != "lo"
    });
    // RTF_REJECT (0x0200) marks the kernel's "unreachable" placeholder.
    let v6_default = v6.unwrap_or_default().lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 10
            && f[0].bytes().all(|b| b == b'0')
            && f[1] == "00"
            && f[9] != "lo"
            && u32::from_str_radix(f[8], 16).is_ok_and(|flags| flags & 0x0200 == 0)
    });
    v4_default || v6_default
}

/// Runs the notifier on its own thread: it may block on D-Bus, the engine must not.
fn spawn_notifier(n: Arc<dyn Notifier>) -> std::sync::mpsc::Sender<Notification> {
    let (tx, rx) = std::sync::mpsc::channel::<Notification>();
    let spawned = std::thread::Builder::new()
        .name("overwatch-notifier".into())
        .spawn(move || {
            for note in rx {
                if let Err(e) = n.notify(&note) {
                    tracing::warn!("could not show the notification \"{}\": {e}", note.title);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the notification thread ({e}); notifications are off");
    }
    tx
}

#[cfg(test)]
mod tests {
    use super::{default_route_in, is_connect_failure};
    use crate::model::{Card, Reason, ReasonKind, Transport};

    #[test]
    fn offline_evidence_is_the_transport_fact_never_the_wording() {
        let unknown = |r: Reason| Card::unknown(r);
        // An answer (a 502 page) whose words look like a transport failure.
        let answered = Reason::new(
            ReasonKind::Unreachable,
            "could not connect to the upstream: connection refused",
        )
        .with_status(502);
        assert!(!is_connect_failure(&unknown(answered)));
        // A transport failure whose words happen to mention HTTP.
        let no_answer = Reason::new(ReasonKind::Unreachable, "proxy failed (HTTP CONNECT)")
            .with_transport(Transport::Other);
        assert!(is_connect_failure(&unknown(no_answer)));
        let timed_out =
            Reason::new(ReasonKind::Timeout, "no answer").with_transport(Transport::TimedOut);
        assert!(is_connect_failure(&unknown(timed_out)));
        // A refusal, a reset or a TLS peer is the host answering: the
        // network works (issue 12 item 8); no route and DNS are not.
        for (t, offline) in [
            (Transport::Refused, false),
            (Transport::Reset, false),
            (Transport::Tls, false),
            (Transport::NoRoute, true),
            (Transport::Dns, true),
        ] {
            let r = Reason::new(ReasonKind::Unreachable, "x").with_transport(t);
            assert_eq!(is_connect_failure(&unknown(r)), offline, "{t:?}");
        }
        // An adapter's unreachable without any transport fact (Railway's
        // internal error on HTTP 200) is an answer.
        assert!(!is_connect_failure(&unknown(Reason::new(
            ReasonKind::Unreachable,
            "Railway's API had an internal error"
        ))));
    }

    const V4_HEAD: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
    const V6_UNREACHABLE: &str = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

    #[test]
    fn a_default_route_means_a_network() {
        let v4 = format!("{V4_HEAD}eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        assert!(default_route_in(Some(&v4), Some(V6_UNREACHABLE)));
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 wlan0\n";
        assert!(default_route_in(Some(V4_HEAD), Some(v6)));
    }

    #[test]
    fn only_local_routes_mean_no_network() {
        let v4 = format!("{V4_HEAD}eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
        assert!(!default_route_in(Some(&v4), Some(V6_UNREACHABLE)));
        assert!(!default_route_in(Some(V4_HEAD), None));
        // Unreadable tables decide nothing.
        assert!(default_route_in(None, None));
    }
}

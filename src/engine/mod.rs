//! The background polling engine: schedules checks politely (jitter, budgets, backoff, 429 resets), notices offline and sleep, keeps state across restarts, and turns real changes into events and notifications.
//!
//! One task owns all the state (no locks); polls run as separate tasks and
//! report back over a channel (the HTTP layer lets at most
//! [`PER_HOST_IN_FLIGHT`](crate::providers::http::PER_HOST_IN_FLIGHT)
//! requests reach one API host at once; hosts do not wait for each other).
//! The loop sleeps until the next thing that is due — a poll, the end of a grace window, a
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
pub mod history;
pub mod notify;
pub mod schedule;
pub mod state;
pub mod transitions;

mod events;
mod handle;
mod probe;
mod results;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{sleep_until, Instant};

use crate::config::{Config, DEFAULT_REFRESH};
use crate::model::{Card, ReasonKind, Service, ServiceId, Status};
use crate::providers::http::Http;
use crate::providers::PollResult;
use crate::secrets::SecretStore;

pub use clock::{Clock, SystemClock, TestClock, Zone};
pub use notify::{Event, EventKind, Notification, Notifier, Silence, Urgency};
pub use state::{Mute, MuteTarget, MuteUntil};
pub use transitions::{Change, Rules, Transition};

use events::spawn_notifier;
use handle::Command;
pub use handle::{
    Engine, EngineHandle, RefreshOutcome, Scope, ServiceView, Snapshot, Stopped, INJECT_PANIC_ENV,
};
pub use probe::{default_route_in, is_connect_failure, os_has_default_route};

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

/// `t + d`, saturating a year ahead instead of panicking on overflow: no
/// interval from a config (capped at 7 days) or a provider's reset comes
/// near it, but a panic here would silence every service at once.
fn later(t: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(365 * 86400);
    t.checked_add(d.min(FAR)).unwrap_or(t)
}

struct Slot {
    service: Service,
    /// What is persisted; reach it through [`Slot::rec`] / [`Slot::rec_mut`],
    /// which drops the published view.
    record: ServiceRecord,
    /// The view last published, shared by every snapshot until the slot
    /// changes (`None` then): a poll result rebuilds its own view only.
    view: Option<Arc<ServiceView>>,
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

impl Slot {
    fn rec(&self) -> &ServiceRecord {
        &self.record
    }

    fn rec_mut(&mut self) -> &mut ServiceRecord {
        self.view = None;
        &mut self.record
    }

    /// The view of this slot, with the values the engine decides.
    fn fresh_view(
        &self,
        stale: bool,
        interval: Option<Duration>,
        muted: Option<MuteUntil>,
    ) -> ServiceView {
        ServiceView {
            service: self.service.clone(),
            card: self.record.card.clone(),
            stale,
            polling: self.in_flight,
            status: self.record.tracker.confirmed,
            since: self.record.tracker.since,
            last_success: self.record.last_success,
            interval,
            muted,
            flapping: self.record.tracker.flapping,
            history: self.record.tracker.history.iter().cloned().collect(),
            timeline: self.record.history.clone(),
        }
    }
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
                Some(mut s) if s.rec().target == target => {
                    let interval_changed = s.service.refresh != service.refresh
                        || s.service.polled() != service.polled();
                    s.service = service.clone();
                    s.view = None;
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
                        record: rec,
                        view: None,
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
            Scope::Workspace(w) => crate::config::same_name(&s.workspace, w),
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
            if let Some(t) = self.slots[i].rec().last_success {
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
            s.rec_mut().tracker.on_sleep(wall);
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
        let tx = self.done_tx.clone();
        let epoch = self.epoch;
        tokio::spawn(async move {
            let result = http.check(&service, &*store, clock.now()).await;
            let _ = tx.send(PollDone {
                id: service.id.clone(),
                epoch,
                at: clock.now(),
                result,
            });
        });
    }

    // ---- output ------------------------------------------------------------

    /// Publishes a snapshot when anything shown changed. A service's view is
    /// rebuilt only when its record changed or one of the few values that
    /// move with time or the engine (stale, polling, interval, mute) did;
    /// every other view is the previous snapshot's, shared — so a poll
    /// result costs its own view plus a pointer per service, not a clone and
    /// a comparison of every card.
    fn publish(&mut self) {
        let wall = self.opts.clock.now();
        let offline = self.offline_since.is_some();
        let mut changed = false;
        let mut services = Vec::with_capacity(self.slots.len());
        for i in 0..self.slots.len() {
            let interval = self.interval(i);
            let nominal = self.nominal_interval(i);
            let muted = self.muted(&self.slots[i].service, wall);
            let s = &mut self.slots[i];
            let time_stale = s
                .record
                .last_success
                .is_some_and(|t| (wall - t).unsigned_abs() > nominal * 2 && wall > t);
            let stale = s.service.polled() && s.record.card.is_some() && (offline || time_stale);
            let reuse = s.view.as_ref().is_some_and(|v| {
                v.stale == stale
                    && v.polling == s.in_flight
                    && v.interval == interval
                    && v.muted == muted
            });
            if !reuse {
                s.view = Some(Arc::new(s.fresh_view(stale, interval, muted)));
                changed = true;
            }
            let view = s.view.clone().expect("built above");
            // Every change to a record goes through `rec_mut`: a view reused
            // here must be the one a rebuild would make.
            debug_assert!(
                !reuse || *view == s.fresh_view(stale, interval, view.muted),
                "a reused view is out of date: {}",
                s.service.id
            );
            services.push(view);
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
            if !changed && old.same_except_views(&snap) {
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
                .map(|s| (s.service.id.clone(), s.rec().clone()))
                .collect(),
            mutes: self.mutes.clone(),
            notifications_paused_until: self.notifications_paused_until,
        };
        if let Err(e) = state::save(&path, &st) {
            tracing::warn!("{e}");
        }
    }
}

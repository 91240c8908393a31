//! The engine against the loopback simulator on paused tokio time: schedule, jitter, backoff, 429s, budgets, manual refresh, offline, sleep, staleness, hysteresis, flapping, the start-up summary, mutes, restarts and config reloads — and the scripted day whose notifications the README lists.
//!
//! Time is paused (`start_paused`): tokio's clock jumps to the next timer
//! whenever every task is idle, while the simulator's real loopback sockets
//! keep working. Poll times are read from the secret store, which every
//! check asks for its key exactly once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use overwatch::config::Config;
use overwatch::engine::{
    Engine, EngineHandle, EngineOptions, Event, EventKind, Mute, MuteTarget, MuteUntil,
    Notification, Scope, Silence, Snapshot, TestClock,
};
use overwatch::model::{
    NetlifyTarget, PlausibleTarget, RailwayTarget, SentryTarget, Service, ServiceId, Status,
    Target, TokenKind, Workspace,
};
use overwatch::providers::http::{Http, HttpOptions};
use overwatch::secrets::{KeyRef, Secret, SecretError, SecretStore};
use overwatch::sim::{self, Scenario, SimConfig, SimHandle, TargetKey};
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

// ---- fixtures ----------------------------------------------------------------

/// Hands every key the simulator's token and remembers when each was asked for.
#[derive(Default)]
struct Store {
    log: Mutex<Vec<(String, Instant)>>,
}

impl Store {
    fn polls(&self, key: &str) -> Vec<Instant> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, t)| *t)
            .collect()
    }
    fn total(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

impl SecretStore for Store {
    fn backend(&self) -> String {
        "test".into()
    }
    fn get(&self, name: &str) -> Result<Secret, SecretError> {
        self.log
            .lock()
            .unwrap()
            .push((name.to_string(), Instant::now()));
        Ok(Secret::new(sim::DEFAULT_TOKEN))
    }
    fn set(&self, _: &str, _: &Secret) -> Result<(), SecretError> {
        Ok(())
    }
    fn delete(&self, _: &str) -> Result<bool, SecretError> {
        Ok(false)
    }
    fn list(&self) -> Result<Vec<String>, SecretError> {
        Ok(Vec::new())
    }
}

/// What the engine asked the desktop to show, from its notification sink:
/// sent before the event that caused it, so once a test has seen its events
/// every notification is already here, with nothing to wait for.
struct Recorder {
    rx: Mutex<std::sync::mpsc::Receiver<Notification>>,
    seen: Mutex<Vec<Notification>>,
}

impl Recorder {
    fn new() -> (Recorder, std::sync::mpsc::Sender<Notification>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let r = Recorder {
            rx: Mutex::new(rx),
            seen: Mutex::new(Vec::new()),
        };
        (r, tx)
    }

    /// The titles shown so far.
    fn titles(&self) -> Vec<String> {
        let mut seen = self.seen.lock().unwrap();
        seen.extend(self.rx.lock().unwrap().try_iter());
        seen.iter().map(|n| n.title.clone()).collect()
    }
}

fn railway(ws: &str, name: &str, project: &str) -> Service {
    Service::example(
        ws,
        name,
        Target::Railway(RailwayTarget {
            project: project.into(),
            environment: "production".into(),
            token_kind: TokenKind::Account,
        }),
        Some(KeyRef::Keychain(project.into())),
    )
}

fn netlify(ws: &str, name: &str, site: &str) -> Service {
    Service::example(
        ws,
        name,
        Target::Netlify(NetlifyTarget { site: site.into() }),
        Some(KeyRef::Keychain(site.into())),
    )
}

fn plausible(ws: &str, name: &str, site: &str) -> Service {
    Service::example(
        ws,
        name,
        Target::Plausible(PlausibleTarget { site: site.into() }),
        Some(KeyRef::Keychain(site.into())),
    )
}

fn sentry(ws: &str, name: &str, project: &str) -> Service {
    Service::example(
        ws,
        name,
        Target::Sentry(SentryTarget {
            org: "acme".into(),
            project: project.into(),
        }),
        Some(KeyRef::Keychain(project.into())),
    )
}

fn key(s: &Service) -> TargetKey {
    TargetKey::from(&s.target)
}

fn config(services: &[Service], refresh: u64, base: &url::Url) -> Config {
    let mut workspaces: Vec<Workspace> = Vec::new();
    for s in services {
        let mut s = s.clone();
        // A service that names its own host keeps it (a dead self-hosted one).
        s.base_url = s.base_url.or_else(|| Some(base.clone()));
        match workspaces.iter_mut().find(|w| w.name == s.workspace) {
            Some(w) => {
                s.order = w.services.len();
                w.services.push(s);
            }
            None => workspaces.push(Workspace {
                name: s.workspace.clone(),
                services: vec![s],
            }),
        }
    }
    Config {
        refresh: Some(Duration::from_secs(refresh)),
        notifications: true,
        workspaces,
        ..Config::default()
    }
}

struct Rig {
    sim: Option<SimHandle>,
    sim_config: SimConfig,
    store: Arc<Store>,
    clock: Arc<TestClock>,
    recorder: Arc<Recorder>,
    sink: std::sync::mpsc::Sender<Notification>,
    handle: EngineHandle,
    events: broadcast::Receiver<Event>,
    snap: watch::Receiver<Arc<Snapshot>>,
    dir: tempfile::TempDir,
    services: Vec<Service>,
    refresh: u64,
    /// The simulator's port while the network is cut.
    dark: Option<Dark>,
}

fn options(
    store: &Arc<Store>,
    clock: &Arc<TestClock>,
    sink: &std::sync::mpsc::Sender<Notification>,
    dir: &tempfile::TempDir,
) -> EngineOptions {
    let mut o = EngineOptions::new(
        Http::new(HttpOptions::default()).unwrap(),
        store.clone() as Arc<dyn SecretStore>,
    );
    o.clock = clock.clone();
    o.notification_sink = Some(sink.clone());
    o.state_path = Some(dir.path().join("state.json"));
    o.seed = Some(42);
    o
}

async fn rig(
    services: &[(Service, Scenario)],
    refresh: u64,
    tweak: impl FnOnce(&mut EngineOptions),
) -> Rig {
    let mut sim_config = SimConfig::default();
    for (s, sc) in services {
        sim_config = sim_config.with_target(key(s), sc.clone());
    }
    let sim = sim::start(sim_config.clone()).await.unwrap();
    let services: Vec<Service> = services.iter().map(|(s, _)| s.clone()).collect();
    let store = Arc::new(Store::default());
    let clock = Arc::new(TestClock::new(OffsetDateTime::now_utc()));
    let (recorder, sink) = Recorder::new();
    let recorder = Arc::new(recorder);
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(&store, &clock, &sink, &dir);
    tweak(&mut o);
    let handle = Engine::start(config(&services, refresh, &sim.base_url()), o);
    let events = handle.events();
    let snap = handle.subscribe();
    Rig {
        sim: Some(sim),
        sim_config,
        store,
        clock,
        recorder,
        sink,
        handle,
        events,
        snap,
        dir,
        services,
        refresh,
        dark: None,
    }
}

impl Rig {
    fn sim(&self) -> &SimHandle {
        self.sim.as_ref().expect("the simulator is running")
    }

    fn set(&self, s: &Service, scenario: Scenario) {
        self.sim().set_scenario(key(s), scenario);
    }

    /// Lets `secs` of (paused) time pass, then returns the events meanwhile.
    async fn run(&mut self, secs: f64) -> Vec<Event> {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        self.drain()
    }

    fn drain(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            match self.events.try_recv() {
                Ok(e) => out.push(e),
                Err(broadcast::error::TryRecvError::Lagged(n)) => panic!("lost {n} events"),
                Err(_) => return out,
            }
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snap.borrow().clone()
    }

    fn status(&self, s: &Service) -> Option<Status> {
        self.snapshot().service(&s.id).and_then(|v| v.status)
    }

    /// One manual check of a service, waited for.
    async fn poll(&mut self, s: &Service) -> Vec<Event> {
        let before = self.store.total();
        let out = self
            .handle
            .refresh(Scope::Service(s.id.clone()))
            .await
            .unwrap();
        assert_eq!(out.started, 1, "{out:?}");
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let snap = self.snapshot();
            if self.store.total() > before && !snap.service(&s.id).unwrap().polling {
                break;
            }
        }
        self.run(1.0).await
    }

    /// Stops the engine and starts a new one on the same state file.
    async fn restart(&mut self) {
        self.handle.shutdown().await.unwrap();
        self.clock = Arc::new(TestClock::new(self.clock_now()));
        let o = options(&self.store, &self.clock, &self.sink, &self.dir);
        let base = self.sim().base_url();
        self.handle = Engine::start(config(&self.services, self.refresh, &base), o);
        self.events = self.handle.events();
        self.snap = self.handle.subscribe();
    }

    fn clock_now(&self) -> OffsetDateTime {
        use overwatch::engine::Clock;
        self.clock.now()
    }

    /// The network goes away. A refusal would prove the network works (a
    /// host answered, at the TCP layer), so the simulator's port goes dark
    /// instead, as behind a dead link: connections are taken and nothing is
    /// ever said, and every request times out. Loopback only.
    async fn cut_network(&mut self) {
        let addr = self.sim().addr();
        self.sim.take().unwrap().shutdown().await;
        self.dark = Some(Dark::listen(addr).await);
    }

    /// The network is back: the simulator listens on the same port again.
    async fn restore_network(&mut self, addr: std::net::SocketAddr) {
        if let Some(dark) = self.dark.take() {
            dark.close().await;
        }
        self.sim = Some(sim::start_on(addr, self.sim_config.clone()).await.unwrap());
    }
}

/// A loopback listener that accepts connections and never answers.
struct Dark {
    accept: tokio::task::JoinHandle<()>,
    held: Arc<std::sync::Mutex<Vec<tokio::net::TcpStream>>>,
}

impl Dark {
    async fn listen(addr: std::net::SocketAddr) -> Dark {
        assert!(addr.ip().is_loopback(), "only loopback here: {addr}");
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let held = Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = held.clone();
        let accept = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                into.lock().unwrap().push(conn);
            }
        });
        Dark { accept, held }
    }

    /// Stops listening, so the simulator can take the port back. The
    /// requests sent into the dark stay unanswered until they time out, as
    /// they would when a network comes back (closing them would be a reset:
    /// an answer from the host).
    async fn close(self) {
        self.accept.abort();
        let _ = self.accept.await;
        let held = std::mem::take(&mut *self.held.lock().unwrap());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(held);
        });
    }
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

// ---- schedule ------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn services_poll_at_their_interval_with_bounded_jitter() {
    let a = railway("Acme", "A", "pa");
    let mut b = railway("Acme", "B", "pb");
    b.refresh = Some(Duration::from_secs(30));
    let c = railway("Acme", "C", "pc");
    let mut r = rig(
        &[
            (a, Scenario::Healthy),
            (b, Scenario::Healthy),
            (c, Scenario::Healthy),
        ],
        10,
        |_| {},
    )
    .await;
    r.run(300.0).await;
    for (key, every, lo, hi) in [
        ("pa", 10.0, 28, 34),
        ("pc", 10.0, 28, 34),
        ("pb", 30.0, 10, 12),
    ] {
        let polls = r.store.polls(key);
        assert!(
            (lo..=hi).contains(&polls.len()),
            "{key}: {} polls in 300 s",
            polls.len()
        );
        for g in gaps(&polls) {
            assert!(
                secs(g) >= every * 0.9 - 1e-6 && secs(g) <= every * 1.1 + 0.05,
                "{key}: gap {g:?} outside ±10 % of {every} s"
            );
        }
    }
    // Jitter spreads them: gaps differ, and A and C, started together, drift apart.
    let ga = gaps(&r.store.polls("pa"));
    let spread = ga
        .iter()
        .max()
        .unwrap()
        .saturating_sub(*ga.iter().min().unwrap());
    assert!(spread > Duration::from_millis(500), "no jitter: {ga:?}");
    let (pa, pc) = (r.store.polls("pa"), r.store.polls("pc"));
    assert_eq!(pa[0], pc[0], "the first round runs together");
    assert_ne!(pa[5], pc[5]);
}

#[tokio::test(start_paused = true)]
async fn the_engine_sleeps_between_polls_even_with_link_and_disabled_services() {
    let a = railway("Acme", "API", "idle-a");
    let mut link = netlify("Acme", "Status", "idle-link");
    link.mode = overwatch::model::Mode::Link;
    link.key = None;
    let mut off = netlify("Acme", "Old", "idle-off");
    off.enabled = false;
    let r = rig(
        &[
            (a, Scenario::Healthy),
            (link, Scenario::Healthy),
            (off, Scenario::Healthy),
        ],
        10,
        |_| {},
    )
    .await;
    // Step the clock by hand: a loop that never idles would still let this
    // task run (tokio's cooperative budget), and would show in the count.
    for _ in 0..100 {
        tokio::time::advance(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
    }
    let polls = r.store.polls("idle-a").len();
    assert!((9..=12).contains(&polls), "{polls}");
    assert!(r.store.polls("idle-off").is_empty() && r.store.polls("idle-link").is_empty());
    // About two wake-ups per poll (start, answer) plus a few for display changes.
    let wakeups = r.handle.wakeups();
    assert!(
        wakeups <= 3 * polls as u64 + 5,
        "{wakeups} wake-ups for {polls} polls"
    );
}

/// Every service is due at once and the engine starts them all; the HTTP
/// layer lets at most the per-host limit reach one host at a time — counted
/// at the simulator, which serves under two host names here — and the two
/// hosts do not wait for each other. Plausible's checks send two requests at
/// once: requests, not checks, are what the limit counts.
#[tokio::test(start_paused = true)]
async fn requests_in_flight_stay_within_the_per_host_limit_and_hosts_do_not_wait() {
    let sim_config = SimConfig {
        accept_any_target: true,
        latency: Duration::from_secs(2),
        ..SimConfig::default()
    };
    let sim = sim::start(sim_config).await.unwrap();
    let port = sim.addr().port();
    let services: Vec<Service> = (0..16)
        .map(|i| {
            let mut s = if i % 4 == 0 {
                plausible("Acme", &format!("S{i}"), &format!("s{i}.example"))
            } else {
                railway("Acme", &format!("S{i}"), &format!("p{i}"))
            };
            let host = if i % 2 == 0 { "127.0.0.1" } else { "localhost" };
            s.base_url = Some(url::Url::parse(&format!("http://{host}:{port}/")).unwrap());
            s
        })
        .collect();
    let store = Arc::new(Store::default());
    let clock = Arc::new(TestClock::new(OffsetDateTime::now_utc()));
    let (_recorder, sink) = Recorder::new();
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(&store, &clock, &sink, &dir);
    o.http = Http::new(HttpOptions {
        per_host: 3,
        ..HttpOptions::default()
    })
    .unwrap();
    let handle = Engine::start(config(&services, 600, &sim.base_url()), o);
    let mut snap = handle.subscribe();
    let answered =
        |s: &Snapshot| s.services.len() == 16 && s.services.iter().all(|v| v.card.is_some());
    tokio::time::timeout(Duration::from_secs(120), async {
        while !answered(&snap.borrow_and_update()) {
            snap.changed().await.unwrap();
        }
    })
    .await
    .expect("every service answered");
    assert!(snap
        .borrow()
        .services
        .iter()
        .all(|v| v.card.as_ref().unwrap().status == Status::Healthy));
    assert_eq!(
        sim.peak_in_flight_by_host(),
        [
            (format!("127.0.0.1:{port}"), 3),
            (format!("localhost:{port}"), 3)
        ],
        "each host up to its limit, never over it"
    );
    assert_eq!(
        sim.peak_in_flight(),
        6,
        "the hosts did not wait for each other"
    );
    let _ = handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_on_repeated_errors_and_resets_on_success() {
    let a = netlify("Acme", "Web", "web-a");
    let mut r = rig(&[(a.clone(), Scenario::ServerError)], 1, |_| {}).await;
    r.run(130.0).await;
    let polls = r.store.polls("web-a");
    let g = gaps(&polls);
    assert!(g.len() >= 6, "{g:?}");
    for (n, gap) in g.iter().take(6).enumerate() {
        let errors = n as i32 + 1;
        let ideal = 2f64.powi(errors);
        assert!(
            secs(*gap) >= (ideal / 2.0).max(1.0) - 1e-6 && secs(*gap) <= ideal + 0.05,
            "gap after {errors} errors: {gap:?}"
        );
    }
    let card = r.snapshot().service(&a.id).unwrap().card.clone().unwrap();
    assert_eq!(card.status, Status::Unknown, "{card:?}");
    r.set(&a, Scenario::Healthy);
    let before = polls.len();
    r.run(150.0).await;
    let after = r.store.polls("web-a");
    // The first success brings the plain interval back.
    let g = gaps(&after[before..]);
    assert!(g.len() > 20, "{g:?}");
    assert!(g.iter().all(|d| secs(*d) <= 1.1 + 0.05), "{g:?}");
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_for_the_reset_the_provider_gave() {
    let a = railway("Acme", "API", "p-429");
    let mut r = rig(
        &[(
            a.clone(),
            Scenario::RateLimited {
                reset_in: Duration::from_secs(120),
            },
        )],
        1,
        |_| {},
    )
    .await;
    let t0 = Instant::now();
    r.run(60.0).await;
    assert_eq!(r.store.polls("p-429").len(), 1);
    // A manual refresh must not break the provider's rule either.
    let out = r.handle.refresh(Scope::All).await.unwrap();
    assert_eq!((out.started, out.waiting), (0, 1), "{out:?}");
    r.set(&a, Scenario::Healthy);
    r.run(61.0).await;
    let polls = r.store.polls("p-429");
    assert_eq!(polls.len(), 2, "{polls:?}");
    let waited = secs(polls[1] - t0);
    assert!((120.0..=120.2).contains(&waited), "waited {waited} s");
    let view = r.snapshot().service(&a.id).unwrap().clone();
    assert_eq!(view.card.unwrap().status, Status::Healthy);
    // Rate limiting is not news.
    assert!(r.drain().is_empty());
}

#[tokio::test(start_paused = true)]
async fn many_services_on_one_key_are_slowed_to_fit_its_budget() {
    // Budgets apply to real provider hosts; here the simulator stands in for one.
    let mut services: Vec<(Service, Scenario)> = (0..10)
        .map(|i| {
            let mut s = railway("Acme", &format!("S{i}"), &format!("shared-{i}"));
            s.key = Some(KeyRef::Keychain("shared".into()));
            (s, Scenario::Healthy)
        })
        .collect();
    let mut solo = railway("Side", "Solo", "solo");
    solo.key = Some(KeyRef::Keychain("solo".into()));
    services.push((solo.clone(), Scenario::Healthy));
    let mut r = rig(&services, 1, |o| o.budget_loopback = true).await;
    r.run(900.0).await;
    let snap = r.snapshot();
    // Railway (Hobby assumed): 1,000/h, 80 % of it, shared by 10 → 45 s each.
    for v in snap
        .services
        .iter()
        .filter(|v| v.service.workspace == "Acme")
    {
        assert_eq!(
            v.interval,
            Some(Duration::from_secs(45)),
            "{}",
            v.service.id
        );
    }
    assert_eq!(
        snap.service(&solo.id).unwrap().interval,
        Some(Duration::from_secs_f64(4.5))
    );
    let shared = r.store.polls("shared").len();
    // Never above 800/h (plus the first round), and not starved either.
    assert!(shared <= 10 + 200, "{shared} polls in 15 min");
    assert!(shared >= 170, "{shared} polls in 15 min");
    let solo_polls = r.store.polls("solo").len();
    assert!((180..=221).contains(&solo_polls), "{solo_polls}");
}

#[tokio::test(start_paused = true)]
async fn manual_refresh_coalesces_with_a_poll_in_flight_and_works_while_paused() {
    let a = railway("Acme", "A", "ma");
    let b = railway("Acme", "B", "mb");
    let c = railway("Blog", "C", "mc");
    let slow = Scenario::Slow(Duration::from_secs(3));
    let mut r = rig(
        &[(a.clone(), slow.clone()), (b, slow.clone()), (c, slow)],
        600,
        |_| {},
    )
    .await;
    r.run(0.5).await;
    let out = r
        .handle
        .refresh(Scope::Service(a.id.clone()))
        .await
        .unwrap();
    assert_eq!((out.started, out.coalesced), (0, 1));
    let out = r.handle.refresh(Scope::All).await.unwrap();
    assert_eq!((out.started, out.coalesced), (0, 3));
    // The first request to a host goes alone (it opens the one connection
    // the others then share), so the last of the three answers at about 6 s.
    r.run(7.0).await;
    assert_eq!(r.store.total(), 3, "one poll each answered every request");

    let out = r
        .handle
        .refresh(Scope::Workspace("acme".into()))
        .await
        .unwrap();
    assert_eq!((out.started, out.coalesced), (2, 0));
    r.run(4.0).await;
    assert_eq!(r.store.total(), 5);
    assert_eq!(
        r.store.polls("mc").len(),
        1,
        "another workspace is untouched"
    );

    r.handle.pause().await.unwrap();
    r.run(1200.0).await;
    assert!(r.snapshot().paused);
    assert_eq!(r.store.total(), 5, "no auto-refresh while paused");
    let out = r
        .handle
        .refresh(Scope::Service(a.id.clone()))
        .await
        .unwrap();
    assert_eq!(out.started, 1);
    r.run(4.0).await;
    assert_eq!(r.store.total(), 6, "manual refresh works while paused");
    r.handle.resume().await.unwrap();
    r.run(4.0).await;
    // B and C were overdue: they poll at once.
    assert_eq!(r.store.polls("mb").len(), 3);
    assert_eq!(r.store.polls("mc").len(), 2);
}

/// A poll result rebuilds its own service's view only: every other view in
/// the next snapshot is the previous snapshot's (the same allocation), so the
/// tray and the dashboard skip them without comparing cards.
#[tokio::test(start_paused = true)]
async fn a_poll_result_shares_every_other_service_view_with_the_previous_snapshot() {
    let a = railway("Acme", "A", "sa");
    let b = railway("Acme", "B", "sb");
    let c = netlify("Blog", "C", "sc");
    let mut r = rig(
        &[
            (a.clone(), Scenario::Healthy),
            (b.clone(), Scenario::Healthy),
            (c.clone(), Scenario::Healthy),
        ],
        600,
        |_| {},
    )
    .await;
    r.run(5.0).await;
    let before = r.snapshot();
    assert!(before.started && before.services.iter().all(|v| v.card.is_some()));
    r.set(&b, Scenario::Crash);
    r.handle
        .refresh(Scope::Service(b.id.clone()))
        .await
        .unwrap();
    r.run(5.0).await;
    let after = r.snapshot();
    assert_eq!(
        after.service(&b.id).unwrap().card.as_ref().unwrap().status,
        Status::Down
    );
    let shared: Vec<bool> = before
        .services
        .iter()
        .zip(&after.services)
        .map(|(x, y)| Arc::ptr_eq(x, y))
        .collect();
    assert_eq!(shared, [true, false, true], "only B's view is new");
    // Nothing changes: nothing is published (the same snapshot stays).
    r.run(5.0).await;
    assert!(Arc::ptr_eq(&after, &r.snapshot()));
}

// ---- offline, sleep, staleness ------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn offline_is_one_quiet_state_and_recovery_refreshes_everything() {
    let a = railway("Acme", "API", "oa");
    let w = netlify("Acme", "Web", "ow");
    let p = plausible("Blog", "Site", "op.example");
    let mut r = rig(
        &[
            (a.clone(), Scenario::Healthy),
            (w.clone(), Scenario::Healthy),
            (p.clone(), Scenario::Healthy),
        ],
        5,
        |_| {},
    )
    .await;
    assert!(r.run(12.0).await.is_empty());
    let addr = r.sim().addr();
    r.cut_network().await;
    let ev = r.run(600.0).await;
    assert_eq!(kinds(&ev), [EventKind::Offline], "{ev:?}");
    assert!(!ev[0].notify, "offline is printed, not popped up");
    let snap = r.snapshot();
    assert!(snap.offline());
    for v in &snap.services {
        assert_eq!(v.card.as_ref().unwrap().status, Status::Healthy);
        assert!(v.stale, "{} is not marked stale", v.service.id);
        assert_eq!(v.status, Some(Status::Healthy));
    }
    // 10 minutes offline is not "unreachable for 15 min" material either.
    let keys = ["oa", "ow", "op.example"];
    let before: Vec<usize> = keys.iter().map(|k| r.store.polls(k).len()).collect();
    r.restore_network(addr).await;
    let ev = r.run(6.0).await;
    assert_eq!(kinds(&ev), [EventKind::Online], "{ev:?}");
    assert!(!r.snapshot().offline());
    // The first answer brings everything else forward at once.
    let firsts: Vec<Instant> = keys
        .iter()
        .zip(&before)
        .map(|(k, n)| r.store.polls(k)[*n])
        .collect();
    let spread = *firsts.iter().max().unwrap() - *firsts.iter().min().unwrap();
    assert!(spread <= Duration::from_millis(10), "{spread:?}");
    assert!(r.snapshot().services.iter().all(|v| !v.stale));
    assert!(r.run(30.0).await.is_empty());
    assert!(r.recorder.titles().is_empty(), "nothing popped up");
}

#[tokio::test(start_paused = true)]
async fn a_service_held_by_a_rate_limit_does_not_keep_the_engine_from_going_offline() {
    let a = railway("Acme", "API", "ol-a");
    let b = netlify("Acme", "Web", "ol-b");
    let mut r = rig(
        &[
            (
                a.clone(),
                Scenario::RateLimited {
                    reset_in: Duration::from_secs(3600),
                },
            ),
            (b.clone(), Scenario::Healthy),
        ],
        5,
        |_| {},
    )
    .await;
    r.run(12.0).await;
    r.cut_network().await;
    let ev = r.run(30.0 * 60.0).await;
    assert_eq!(kinds(&ev), [EventKind::Offline], "{ev:?}");
    assert!(
        ev[0].at - r.clock_now() < time::Duration::minutes(-29),
        "offline at once"
    );
}

#[tokio::test(start_paused = true)]
async fn when_the_os_reports_no_network_the_first_connect_failure_is_offline() {
    let a = railway("Acme", "API", "os-a");
    let b = netlify("Acme", "Web", "os-b");
    let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let probe = up.clone();
    let mut r = rig(
        &[
            (a.clone(), Scenario::Healthy),
            (b.clone(), Scenario::Healthy),
        ],
        // A long interval: without the OS's word, the second service would only
        // confirm it much later.
        600,
        move |o| {
            o.network_probe = Some(Arc::new(move || {
                probe.load(std::sync::atomic::Ordering::SeqCst)
            }))
        },
    )
    .await;
    r.run(1.0).await;
    up.store(false, std::sync::atomic::Ordering::SeqCst);
    r.cut_network().await;
    let polls = r.store.total();
    r.handle
        .refresh(Scope::Service(a.id.clone()))
        .await
        .unwrap();
    // The request goes into the dark and times out (15 s).
    let ev = r.run(16.0).await;
    assert_eq!(kinds(&ev), [EventKind::Offline], "{ev:?}");
    assert_eq!(
        r.store.total(),
        polls + 1,
        "no other service had to be asked"
    );
}

/// A loopback URL where nothing listens: connecting is refused at once.
fn closed_port() -> url::Url {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap()
}

// Issue 12 item 8: a refusal proves the network works.
#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_that_service_unreachable_never_offline() {
    // A self-hosted Sentry whose host is down, next to a healthy service.
    let ok = netlify("Acme", "Web", "rf-ok");
    let mut dead = sentry("Acme", "Errors", "rf-dead");
    dead.base_url = Some(closed_port());
    let mut r = rig(
        &[
            (ok.clone(), Scenario::Healthy),
            (dead.clone(), Scenario::Healthy),
        ],
        60,
        |_| {},
    )
    .await;
    let ev = r.run(30.0 * 60.0).await;
    assert!(!r.snapshot().offline());
    assert_eq!(kinds(&ev), [EventKind::CantCheck], "{ev:?}");
    assert!(
        ev[0].body.starts_with("can't check Errors for "),
        "{}",
        ev[0].body
    );
    assert_eq!(r.status(&ok), Some(Status::Healthy));
}

// Issue 12 item 8: a refusal proves the network works.
#[tokio::test(start_paused = true)]
async fn services_on_one_dead_host_alert_instead_of_going_offline() {
    // Every polled service on the same dead self-hosted host: a refusal
    // proves the network works, so this is "can't check", not "offline".
    let mut dead = sentry("Acme", "Errors", "rf-alone");
    dead.base_url = Some(closed_port());
    let mut r = rig(&[(dead.clone(), Scenario::Healthy)], 60, |_| {}).await;
    let ev = r.run(30.0 * 60.0).await;
    assert!(!r.snapshot().offline());
    assert_eq!(kinds(&ev), [EventKind::CantCheck], "{ev:?}");
}

#[tokio::test(start_paused = true)]
async fn a_sleep_jump_waits_out_the_grace_then_refreshes_without_stale_alerts() {
    let a = railway("Acme", "API", "sa");
    let b = netlify("Acme", "Web", "sb");
    let mut r = rig(
        &[
            (a.clone(), Scenario::Healthy),
            (b.clone(), Scenario::ServerError),
        ],
        2,
        |_| {},
    )
    .await;
    r.run(10.0).await;
    // The lid closes for an hour; B was already unanswerable before.
    r.clock.sleep(Duration::from_secs(3600));
    r.run(2.5).await;
    let snap = r.snapshot();
    assert!(snap.waking, "the jump was noticed");
    assert!(
        snap.service(&a.id).unwrap().stale,
        "an hour-old card is stale"
    );
    let noticed = r.store.total();
    let (na, nb) = (r.store.polls("sa").len(), r.store.polls("sb").len());
    r.run(12.0).await;
    assert_eq!(
        r.store.total(),
        noticed,
        "nothing polls during the grace window"
    );
    r.run(3.0).await;
    let (pa, pb) = (r.store.polls("sa"), r.store.polls("sb"));
    assert!(pa.len() > na && pb.len() > nb, "refreshed after the grace");
    assert_eq!(pa[na], pb[nb], "both refreshed at once after the grace");
    assert!(!r.snapshot().waking);
    assert!(!r.snapshot().service(&a.id).unwrap().stale);
    // B has been "unreachable" for over an hour of wall time, but only
    // seconds of it were awake: no alert from the stale window.
    let ev = r.run(60.0).await;
    assert!(ev.is_empty(), "{ev:?}");
}

#[tokio::test(start_paused = true)]
async fn a_card_not_updated_for_twice_its_interval_is_stale() {
    let a = railway("Acme", "API", "st");
    let mut r = rig(&[(a.clone(), Scenario::Healthy)], 10, |_| {}).await;
    r.run(0.5).await;
    r.handle.pause().await.unwrap();
    r.run(19.0).await;
    assert!(!r.snapshot().service(&a.id).unwrap().stale);
    // The engine wakes by itself for the moment the card turns stale.
    let mut snap = r.handle.subscribe();
    snap.borrow_and_update();
    tokio::time::timeout(Duration::from_secs(5), snap.changed())
        .await
        .expect("a new snapshot when the card went stale")
        .unwrap();
    let view = snap.borrow().service(&a.id).unwrap().clone();
    assert!(view.stale);
    let lines =
        overwatch::view::card::lines(&view.service, view.card.as_ref(), r.clock_now(), true);
    assert!(lines.updated.unwrap().ends_with("— stale"));
}

// ---- transitions -------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn hysteresis_holds_in_both_directions() {
    let a = railway("Acme", "API", "hy");
    let mut r = rig(&[(a.clone(), Scenario::Healthy)], 3600, |_| {}).await;
    r.run(1.0).await;
    r.set(&a, Scenario::Crash);
    assert!(r.poll(&a).await.is_empty(), "one bad answer is a blip");
    r.set(&a, Scenario::Healthy);
    assert!(r.poll(&a).await.is_empty());
    r.set(&a, Scenario::Crash);
    assert!(r.poll(&a).await.is_empty());
    let ev = r.poll(&a).await;
    assert_eq!(kinds(&ev), [EventKind::Changed]);
    assert_eq!(ev[0].title, "Acme · API (Railway) is down");
    assert_eq!(r.status(&a), Some(Status::Down));
    r.set(&a, Scenario::Healthy);
    assert!(
        r.poll(&a).await.is_empty(),
        "one good answer is not a recovery"
    );
    r.set(&a, Scenario::Crash);
    assert!(r.poll(&a).await.is_empty());
    r.set(&a, Scenario::Healthy);
    assert!(r.poll(&a).await.is_empty());
    let ev = r.poll(&a).await;
    assert_eq!(kinds(&ev), [EventKind::Recovered]);
    assert!(
        ev[0].body.starts_with("API recovered after "),
        "{}",
        ev[0].body
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_key_is_told_once_as_cant_check_never_as_down() {
    let a = railway("Acme", "API", "acme-railway");
    let mut r = rig(&[(a.clone(), Scenario::Healthy)], 2, |_| {}).await;
    assert!(r.run(5.0).await.is_empty());
    r.set(&a, Scenario::AuthFailure);
    let ev = r.run(60.0).await;
    assert_eq!(kinds(&ev), [EventKind::CantCheck], "{ev:?}");
    assert_eq!(ev[0].title, "Acme · API (Railway): can't check");
    assert!(
        ev[0].body.starts_with("can't check API: ") && ev[0].body.contains("`acme-railway`"),
        "{}",
        ev[0].body
    );
    assert!(!ev[0].body.contains("down"));
    assert_eq!(ev[0].to, Some(Status::Unknown));
    assert_eq!(r.status(&a), Some(Status::Healthy), "can't see is not down");
    assert!(!ev[0].body.contains(sim::DEFAULT_TOKEN));
}

#[tokio::test(start_paused = true)]
async fn unreachable_only_notifies_when_it_lasts() {
    let a = netlify("Acme", "Web", "long-5xx");
    let mut r = rig(&[(a.clone(), Scenario::Healthy)], 60, |_| {}).await;
    r.run(1.0).await;
    r.set(&a, Scenario::ServerError);
    assert!(r.run(14.0 * 60.0).await.is_empty());
    let ev = r.run(30.0 * 60.0).await;
    assert_eq!(kinds(&ev), [EventKind::CantCheck], "{ev:?}");
    assert!(
        ev[0].body.starts_with("can't check Web for "),
        "{}",
        ev[0].body
    );
}

#[tokio::test(start_paused = true)]
async fn start_up_sends_one_summary_or_nothing() {
    let a = railway("Acme", "API", "su-a");
    let b = railway("Acme", "Jobs", "su-b");
    let c = netlify("Acme", "Web", "su-c");
    let d = plausible("Blog", "Site", "su-d.example");
    let mut r = rig(
        &[
            (a, Scenario::Crash),
            (b, Scenario::AuthFailure),
            (c, Scenario::DeployFailing),
            (d, Scenario::Healthy),
        ],
        2,
        |_| {},
    )
    .await;
    let ev = r.run(20.0).await;
    assert_eq!(kinds(&ev), [EventKind::Summary], "{ev:?}");
    assert_eq!(ev[0].title, "3 services need attention");
    let lines: Vec<&str> = ev[0].body.lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Acme · API (Railway): down — ")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Acme · Jobs (Railway): can't check — ")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Acme · Web (Netlify): degraded — ")));
    assert_eq!(r.recorder.titles(), ["3 services need attention"]);

    let mut quiet = rig(
        &[
            (railway("Acme", "API", "q-a"), Scenario::Healthy),
            (netlify("Acme", "Web", "q-w"), Scenario::Healthy),
        ],
        2,
        |_| {},
    )
    .await;
    assert!(quiet.run(20.0).await.is_empty());
    assert!(quiet.snapshot().started);
}

#[tokio::test(start_paused = true)]
async fn mutes_silence_until_they_expire_and_the_pause_ends_on_time() {
    let a = railway("Acme", "API", "mu-a");
    let b = railway("Acme", "Jobs", "mu-b");
    let c = plausible("Blog", "Site", "mu-c.example");
    let mut r = rig(
        &[
            (a.clone(), Scenario::Healthy),
            (b.clone(), Scenario::Healthy),
            (c.clone(), Scenario::Healthy),
        ],
        60,
        |_| {},
    )
    .await;
    r.run(1.0).await;
    let now = r.clock_now();
    r.handle
        .mute(Mute {
            target: MuteTarget::Service(a.id.clone()),
            until: MuteUntil::Time(now + Duration::from_secs(600)),
        })
        .await
        .unwrap();
    r.handle
        .mute(Mute {
            target: MuteTarget::Workspace("blog".into()),
            until: MuteUntil::Recovered,
        })
        .await
        .unwrap();
    r.set(&a, Scenario::Crash);
    r.sim().set_scenario(
        TargetKey::plausible("mu-c.example"),
        Scenario::TrafficCollapse,
    );
    let ev = r.run(300.0).await;
    assert_eq!(
        kinds(&ev),
        [EventKind::Changed, EventKind::Changed],
        "{ev:?}"
    );
    assert!(ev.iter().all(|e| e.silenced == Some(Silence::Muted)));
    assert_eq!(r.snapshot().mutes.len(), 2);
    // The 10-minute mute runs out; the workspace one waits for recovery.
    r.run(360.0).await;
    let snap = r.snapshot();
    assert_eq!(snap.mutes.len(), 1, "{:?}", snap.mutes);
    assert_eq!(snap.service(&a.id).unwrap().muted, None);
    assert_eq!(
        snap.service(&c.id).unwrap().muted,
        Some(MuteUntil::Recovered)
    );
    r.set(&a, Scenario::Healthy);
    r.set(&c, Scenario::Healthy);
    let ev = r.run(300.0).await;
    assert_eq!(
        kinds(&ev),
        [EventKind::Recovered, EventKind::Recovered],
        "{ev:?}"
    );
    assert!(ev.iter().all(|e| e.silenced.is_none()), "{ev:?}");
    assert!(
        r.snapshot().mutes.is_empty(),
        "recovery lifted the workspace mute"
    );

    // A global pause with an end time.
    let now = r.clock_now();
    r.handle
        .pause_notifications(Some(now + Duration::from_secs(900)))
        .await
        .unwrap();
    r.set(&b, Scenario::Crash);
    let ev = r.run(300.0).await;
    assert_eq!(kinds(&ev), [EventKind::Changed]);
    assert_eq!(ev[0].silenced, Some(Silence::Paused));
    // Held across a restart: mutes and the pause live in the state file.
    r.handle
        .mute(Mute {
            target: MuteTarget::Service(c.id.clone()),
            until: MuteUntil::Recovered,
        })
        .await
        .unwrap();
    r.restart().await;
    r.run(1.0).await;
    let snap = r.snapshot();
    assert!(snap.notifications_paused_until.is_some());
    assert_eq!(snap.mutes.len(), 1);
    r.run(700.0).await;
    assert_eq!(
        r.snapshot().notifications_paused_until,
        None,
        "the pause ended"
    );
    r.set(&b, Scenario::Healthy);
    let ev = r.run(300.0).await;
    assert_eq!(kinds(&ev), [EventKind::Recovered]);
    assert!(ev[0].silenced.is_none());
    // Which recovery is seen first depends on each service's jitter.
    let mut titles = r.recorder.titles();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Acme · API (Railway) recovered",
            "Acme · Jobs (Railway) recovered",
            "Blog · Site (Plausible) recovered",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_does_not_repeat_what_was_announced_and_remembers_since() {
    let a = railway("Acme", "API", "rs-a");
    let mut r = rig(&[(a.clone(), Scenario::Crash)], 2, |_| {}).await;
    let ev = r.run(10.0).await;
    assert_eq!(kinds(&ev), [EventKind::Summary]);
    let since = r.snapshot().service(&a.id).unwrap().since.unwrap();
    r.restart().await;
    assert!(
        r.run(30.0).await.is_empty(),
        "nothing new to say after a restart"
    );
    let view = r.snapshot().service(&a.id).unwrap().clone();
    assert_eq!(view.status, Some(Status::Down));
    assert_eq!(
        view.since,
        Some(since),
        "still down since the first sighting"
    );
    r.set(&a, Scenario::Healthy);
    let ev = r.run(10.0).await;
    assert_eq!(kinds(&ev), [EventKind::Recovered]);
    // The outage spans both runs.
    assert!(
        ev[0].body.starts_with("API recovered after 4"),
        "{}",
        ev[0].body
    );
}

#[tokio::test(start_paused = true)]
async fn applying_a_new_config_keeps_state_by_id_starts_new_and_drops_removed() {
    let a = railway("Acme", "API", "rl-a");
    let b = railway("Acme", "Jobs", "rl-b");
    let mut r = rig(
        &[(a.clone(), Scenario::Crash), (b.clone(), Scenario::Healthy)],
        5,
        |_| {},
    )
    .await;
    r.run(12.0).await;
    let since = r.snapshot().service(&a.id).unwrap().since;
    let mut renamed = a.clone();
    renamed.name = "Public API".into();
    let c = railway("Acme", "Cron", "rl-c");
    r.sim().set_scenario(key(&c), Scenario::Healthy);
    let cfg = config(&[renamed, c.clone()], 5, &r.sim().base_url());
    r.handle.apply_config(cfg).await.unwrap();
    r.run(0.5).await;
    let snap = r.snapshot();
    let ids: Vec<&ServiceId> = snap.services.iter().map(|v| &v.service.id).collect();
    assert_eq!(ids, [&a.id, &c.id]);
    let kept = snap.service(&a.id).unwrap();
    assert_eq!(kept.service.name, "Public API");
    assert_eq!(kept.since, since);
    assert_eq!(kept.status, Some(Status::Down));
    assert_eq!(
        r.store.polls("rl-c").len(),
        1,
        "a new service polls at once"
    );
    let ev = r.run(30.0).await;
    assert!(ev.is_empty(), "{ev:?}");
    let polls_b = r.store.polls("rl-b").len();
    r.run(30.0).await;
    assert_eq!(
        r.store.polls("rl-b").len(),
        polls_b,
        "a removed service stops"
    );
}

// ---- the scripted day ----------------------------------------------------------------

/// A deploy failure and its fix, a flapping service, a lost network and a
/// laptop sleep. The notifications below — and nothing else — are what the
/// README's "Notifications" section promises for this day.
#[tokio::test(start_paused = true)]
async fn the_scripted_day_notifies_exactly_what_a_user_wants() {
    let api = railway("Acme", "API", "day-api");
    let web = netlify("Acme", "Web", "day-web");
    let errors = sentry("Acme", "Errors", "day-errors");
    let blog = plausible("Blog", "Site", "day-blog.example");
    let mut r = rig(
        &[
            (api.clone(), Scenario::Healthy),
            (web.clone(), Scenario::Healthy),
            (errors.clone(), Scenario::Healthy),
            (blog.clone(), Scenario::Healthy),
        ],
        2,
        |_| {},
    )
    .await;
    let mut all: Vec<Event> = Vec::new();
    // Morning: everything is fine — no start-up summary.
    all.extend(r.run(30.0).await);

    // A deploy fails (the old one keeps serving), then a fix ships.
    r.set(&web, Scenario::DeployFailing);
    all.extend(r.run(300.0).await);
    r.set(&web, Scenario::Healthy);
    all.extend(r.run(60.0).await);

    // The API flaps: down and up every 10 s for 2 minutes, then holds.
    for _ in 0..6 {
        r.set(&api, Scenario::Crash);
        all.extend(r.run(10.0).await);
        r.set(&api, Scenario::Healthy);
        all.extend(r.run(10.0).await);
    }
    all.extend(r.run(20.0 * 60.0).await);

    // The network goes for 20 minutes.
    let addr = r.sim().addr();
    r.cut_network().await;
    all.extend(r.run(20.0 * 60.0).await);
    r.restore_network(addr).await;
    all.extend(r.run(60.0).await);

    // The laptop sleeps for 8 hours; nothing changed meanwhile.
    r.clock.sleep(Duration::from_secs(8 * 3600));
    all.extend(r.run(120.0).await);

    for e in &all {
        eprintln!("{}", e.text_line(&overwatch::engine::Zone::utc()));
    }
    let shown: Vec<(EventKind, &str)> = all
        .iter()
        .filter(|e| e.notify && e.silenced.is_none())
        .map(|e| (e.kind, e.title.as_str()))
        .collect();
    let expected = [
        (EventKind::Changed, "Acme · Web (Netlify) is degraded"),
        (EventKind::Recovered, "Acme · Web (Netlify) recovered"),
        (EventKind::Changed, "Acme · API (Railway) is down"),
        (EventKind::Recovered, "Acme · API (Railway) recovered"),
        (EventKind::Changed, "Acme · API (Railway) is down"),
        (EventKind::Flapping, "Acme · API (Railway) is flapping"),
        (EventKind::Recovered, "Acme · API (Railway) recovered"),
    ];
    assert_eq!(shown, expected, "{all:#?}");
    // Printed by `overwatch watch`, not popped up.
    let quiet: Vec<EventKind> = all.iter().filter(|e| !e.notify).map(|e| e.kind).collect();
    assert_eq!(quiet, [EventKind::Offline, EventKind::Online]);
    // And the desktop got exactly the same list.
    let titles = r.recorder.titles();
    let want: Vec<&str> = expected.iter().map(|(_, t)| *t).collect();
    assert_eq!(titles, want);

    // The bodies say what changed and when.
    let by_title = |t: &str| all.iter().find(|e| e.title == t).unwrap();
    let degraded = by_title("Acme · Web (Netlify) is degraded");
    assert!(
        degraded.body.contains("; degraded since "),
        "{}",
        degraded.body
    );
    let flapping = by_title("Acme · API (Railway) is flapping");
    assert!(
        flapping
            .body
            .starts_with("changed status 4 times in 30 min"),
        "{}",
        flapping.body
    );
    let settled = all
        .iter()
        .rfind(|e| e.kind == EventKind::Recovered)
        .unwrap();
    assert!(
        settled
            .body
            .starts_with("API settled after flapping: healthy since "),
        "{}",
        settled.body
    );
    let counts: BTreeMap<&str, usize> = all.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.kind.as_str()).or_default() += 1;
        m
    });
    assert_eq!(counts.get("summary"), None, "{counts:?}");
}

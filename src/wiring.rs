//! The one wiring point: turns a config into the parts every consumer of the engine runs with (HTTP client, secret store, clock, network probe), for `status`, `watch`, the tray and the dashboard alike, and again on every config reload.
//!
//! Before this module each consumer built these by hand and they drifted:
//! the tray showed times in UTC, `watch` ignored the config's `timeout`, only
//! `watch` asked the OS for a default route, the tray chose its secret store
//! once at start, and the demo set an environment variable on a running
//! runtime. Here each part is built one way:
//! - the HTTP client from the config's `timeout` (rebuilt when a reload changes it);
//! - the secret store for the config's keys: the OS keychain only when a
//!   service keeps its key there (re-chosen on reload, so a keychain key added
//!   later works at once), with the demo's simulator token held in memory in
//!   front of it;
//! - the clock in the user's time zone, following summer time;
//! - the OS default-route probe, so "no route" means offline at once.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::engine::{Clock, EngineOptions, Notifier, Rewire, SystemClock};
use crate::providers::http::{Http, HttpOptions};
use crate::secrets::{KeyRef, NoStore, Overlay, Secret, SecretStore};

/// The keychain name the demo config refers to; the demo's wiring answers it
/// from memory with the simulator's (public, made-up) token.
pub const DEMO_KEY: &str = "overwatch-demo";

/// Picks the real secret store for a config that keeps a key there.
type StorePicker = Arc<dyn Fn(&Config) -> Arc<dyn SecretStore> + Send + Sync>;

/// The last HTTP client built, and the timeout it was built for.
type HttpCache = Arc<std::sync::Mutex<Option<(std::time::Duration, Http)>>>;

/// How a process is wired. Cheap to clone; share it with `Arc`.
#[derive(Clone)]
pub struct Wiring {
    clock: Arc<dyn Clock>,
    /// Secrets answered from memory before the real store (the demo's token).
    memory: Vec<(String, Secret)>,
    /// Picks the real store for a config (the keychain, or none); replaced in tests.
    real_store: StorePicker,
    probe: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    /// A reload that keeps the `timeout` keeps the client and its connection
    /// pool (the tray applies a config on every settings click too).
    http: HttpCache,
}

impl Wiring {
    /// The real thing: the user's clock and zone, the OS keychain when the
    /// config needs it, the OS network probe.
    pub fn system() -> Wiring {
        Wiring {
            clock: Arc::new(SystemClock::new()),
            memory: Vec::new(),
            real_store: Arc::new(|_: &Config| crate::desktop::keychain::open_store()),
            probe: Some(Arc::new(crate::engine::os_has_default_route)),
            http: HttpCache::default(),
        }
    }

    /// Adds the demo's token, so a config whose key is [`DEMO_KEY`] reaches
    /// the simulator; every other key resolves as usual.
    pub fn with_demo_token(mut self, token: &str) -> Wiring {
        self.memory.retain(|(name, _)| name.as_str() != DEMO_KEY);
        self.memory.push((DEMO_KEY.to_string(), Secret::new(token)));
        self
    }

    /// Replaces the clock (tests: a fixed zone, paused time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Wiring {
        self.clock = clock;
        self
    }

    /// Replaces how the real store is chosen (tests: a store of their own).
    pub fn with_store(
        mut self,
        pick: impl Fn(&Config) -> Arc<dyn SecretStore> + Send + Sync + 'static,
    ) -> Wiring {
        self.real_store = Arc::new(pick);
        self
    }

    /// Replaces the network probe (`None`: rely on every check failing).
    pub fn with_probe(mut self, probe: Option<Arc<dyn Fn() -> bool + Send + Sync>>) -> Wiring {
        self.probe = probe;
        self
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The HTTP client for this config (its `timeout`): the one built last
    /// when the timeout is the same, else a new one.
    pub(crate) fn http_for(&self, config: &Config) -> anyhow::Result<Http> {
        let mut cached = self.http.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, http)) = cached.as_ref() {
            if *t == config.timeout {
                return Ok(http.clone());
            }
        }
        let opts = HttpOptions {
            total_timeout: config.timeout,
            ..HttpOptions::default()
        };
        // A new timeout: a new client, within the same per-host limits.
        let http = match cached.as_ref() {
            Some((_, old)) => old.rebuilt(opts)?,
            None => Http::new(opts)?,
        };
        *cached = Some((config.timeout, http.clone()));
        Ok(http)
    }

    /// The secret store for this config's keys: the real one only when a
    /// service keeps its key there (so the demo, and `env:`-only setups,
    /// never touch the keychain).
    pub fn store_for(&self, config: &Config) -> Arc<dyn SecretStore> {
        let in_memory = |name: &str| self.memory.iter().any(|(n, _)| n == name);
        let needs_real = config
            .services()
            .any(|s| matches!(&s.key, Some(KeyRef::Keychain(n)) if !in_memory(n)));
        let real = if needs_real {
            (self.real_store)(config)
        } else {
            Arc::new(NoStore {
                why: "no service keeps its key in the keychain".into(),
            })
        };
        if self.memory.is_empty() {
            real
        } else {
            Arc::new(Overlay::new(self.memory.iter().cloned(), real))
        }
    }

    /// The real secret store (the OS keychain) whatever the config uses: where
    /// the dashboard lists key names and stores a new key.
    pub fn keychain(&self, config: &Config) -> Arc<dyn SecretStore> {
        (self.real_store)(config)
    }

    /// Everything the engine needs for this config; the engine calls back
    /// into this wiring on every config applied afterwards.
    pub fn engine_options(
        self: &Arc<Self>,
        config: &Config,
        notifier: Option<Arc<dyn Notifier>>,
        state_path: Option<PathBuf>,
    ) -> anyhow::Result<EngineOptions> {
        let mut opts = EngineOptions::new(self.http_for(config)?, self.store_for(config));
        opts.clock = self.clock.clone();
        opts.notifier = notifier;
        opts.state_path = state_path;
        opts.network_probe = self.probe.clone();
        opts.rewire = Some(self.clone());
        Ok(opts)
    }
}

impl Rewire for Wiring {
    fn http(&self, config: &Config) -> Result<Http, String> {
        self.http_for(config).map_err(|e| format!("{e:#}"))
    }
    fn store(&self, config: &Config) -> Arc<dyn SecretStore> {
        self.store_for(config)
    }
}

//! The one wiring point (`overwatch::wiring`) as the tray, `watch` and `status` use it, against the loopback simulator: the config's `timeout` (at start and after a reload), a secret store re-chosen on reload, the demo's token from memory rather than the environment, the network probe and the local clock.
//!
//! Each test is one of the bugs the hand-built wiring had; it runs on real
//! time because the timeouts under test are real socket timeouts.

use std::sync::Arc;
use std::time::Duration;

use overwatch::config::{self, Config};
use overwatch::engine::{Engine, EngineHandle, Scope};
use overwatch::model::{ReasonKind, ServiceId, Status};
use overwatch::secrets::{NoStore, Secret, SecretError, SecretStore};
use overwatch::sim::{self, Scenario, SimConfig, SimHandle, TargetKey};
use overwatch::wiring::{Wiring, DEMO_KEY};

/// A sim where every target exists and is healthy, `w` as given.
async fn sim_with(web: Scenario) -> SimHandle {
    // The neighbour's `env:` key; set once, before any runtime thread reads it.
    static ENV: std::sync::Once = std::sync::Once::new();
    ENV.call_once(|| std::env::set_var("OVERWATCH_WIRING_TEST_TOKEN", sim::DEFAULT_TOKEN));
    let mut c = SimConfig::default().with_target(TargetKey::netlify("w"), web);
    c.accept_any_target = true;
    sim::start(c).await.unwrap()
}

/// Answers one keychain name with the simulator's token.
struct OneKey(&'static str);

impl SecretStore for OneKey {
    fn backend(&self) -> String {
        "test keychain".into()
    }
    fn get(&self, name: &str) -> Result<Secret, SecretError> {
        if name == self.0 {
            Ok(Secret::new(sim::DEFAULT_TOKEN))
        } else {
            Err(SecretError::Missing { name: name.into() })
        }
    }
    fn set(&self, _: &str, _: &Secret) -> Result<(), SecretError> {
        Ok(())
    }
    fn delete(&self, _: &str) -> Result<bool, SecretError> {
        Ok(false)
    }
    fn list(&self) -> Result<Vec<String>, SecretError> {
        Ok(vec![self.0.into()])
    }
}

/// Two Netlify services on the sim: "Web" (site `w`) with `key`, and a
/// healthy neighbour with an `env:` key (so one failing service is not
/// "the whole network is down"); `extra` lines go at the top.
fn config(sim: &SimHandle, key: &str, extra: &str) -> Config {
    let base = sim.base_url();
    let text = format!(
        "{extra}\nrefresh = \"1h\"\n\n[[workspaces]]\nname = \"Sites\"\n\n[[workspaces.services]]\nname = \"Web\"\nprovider = \"netlify\"\nsite = \"w\"\nkey = \"{key}\"\nbase_url = \"{base}\"\n\n[[workspaces.services]]\nname = \"Docs\"\nprovider = \"netlify\"\nsite = \"d\"\nkey = \"env:OVERWATCH_WIRING_TEST_TOKEN\"\nbase_url = \"{base}\"\n"
    );
    config::parse(&text, std::path::Path::new("(test)")).expect("valid config")
}

/// Waits (real time, at most 30 s) until the service's card is no longer loading
/// and is not `prev`; returns its status and reason kind.
async fn settled(
    engine: &EngineHandle,
    id: &str,
    prev: Option<(Status, Option<ReasonKind>)>,
) -> (Status, Option<ReasonKind>) {
    let mut rx = engine.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = rx
            .borrow_and_update()
            .service(&ServiceId(id.into()))
            .and_then(|v| {
                v.card
                    .as_ref()
                    .filter(|c| c.status != Status::Loading)
                    .map(|c| (c.status, c.reason.as_ref().map(|r| r.kind)))
            });
        if let Some(g) = got {
            if Some(g) != prev {
                return g;
            }
        }
        tokio::select! {
            r = rx.changed() => r.expect("engine alive"),
            _ = tokio::time::sleep_until(deadline) => panic!("no new card for {id} (was {prev:?}): {:?}", rx.borrow().service(&ServiceId(id.into())).and_then(|v| v.card.clone())),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configs_timeout_applies_at_start_and_after_a_reload() {
    // `watch` built its HTTP client with the default 15 s, ignoring `timeout`.
    let sim = sim_with(Scenario::Slow(Duration::from_secs(3))).await;
    let w =
        Arc::new(Wiring::system().with_store(|_| Arc::new(OneKey("k")) as Arc<dyn SecretStore>));
    let short = config(&sim, "k", "timeout = \"1s\"");
    let engine = Engine::start(short.clone(), w.engine_options(&short, None, None).unwrap());
    assert_eq!(
        settled(&engine, "sites/web", None).await,
        (Status::Unknown, Some(ReasonKind::Timeout)),
        "a 3 s answer under a 1 s timeout"
    );

    // The tray applied a reloaded `timeout` only after a restart.
    let long = config(&sim, "k", "timeout = \"10s\"");
    engine.apply_config(long).await.unwrap();
    engine.refresh(Scope::All).await.unwrap();
    let prev = Some((Status::Unknown, Some(ReasonKind::Timeout)));
    assert_eq!(
        settled(&engine, "sites/web", prev).await,
        (Status::Healthy, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keychain_key_added_by_a_reload_works_without_a_restart() {
    // The tray chose its secret store once: a config that started with only
    // `env:` keys never reached the keychain after a reload.
    let sim = sim_with(Scenario::Healthy).await;
    let w = Arc::new(
        Wiring::system().with_store(|_| Arc::new(OneKey("web-key")) as Arc<dyn SecretStore>),
    );
    let env_only = config(&sim, "env:OVERWATCH_WIRING_TEST_UNSET", "");
    let engine = Engine::start(
        env_only.clone(),
        w.engine_options(&env_only, None, None).unwrap(),
    );
    let first = settled(&engine, "sites/web", None).await;
    assert_eq!(first.0, Status::Unknown, "the env var is not set");

    let keychain = config(&sim, "web-key", "");
    engine.apply_config(keychain).await.unwrap();
    engine.refresh(Scope::All).await.unwrap();
    assert_eq!(
        settled(&engine, "sites/web", Some(first)).await,
        (Status::Healthy, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_reads_its_token_from_memory_not_the_environment() {
    let sim = sim_with(Scenario::Healthy).await;
    let text = sim::demo_config_toml(&sim.base_url(), DEMO_KEY, "1h");
    let demo = config::parse(&text, std::path::Path::new("(demo)")).unwrap();
    // A store that would fail every keychain name: only memory can answer.
    let w = Arc::new(
        Wiring::system()
            .with_demo_token(sim::DEFAULT_TOKEN)
            .with_store(|_| Arc::new(NoStore { why: "test".into() }) as Arc<dyn SecretStore>),
    );
    let engine = Engine::start(demo.clone(), w.engine_options(&demo, None, None).unwrap());
    for s in demo.services() {
        let (status, kind) = settled(&engine, &s.id.0, None).await;
        assert_eq!((status, kind), (Status::Healthy, None), "{}", s.id);
    }
    assert!(std::env::var_os("OVERWATCH_DEMO_TOKEN").is_none());
    // The demo's names never open the real keychain.
    assert!(
        w.store_for(&demo).backend().starts_with("none"),
        "{}",
        w.store_for(&demo).backend()
    );
}

#[test]
fn every_consumer_gets_the_network_probe_and_the_users_clock() {
    // Only `watch` had the OS default-route probe; only `watch` had a local clock.
    let c = config::parse("", std::path::Path::new("(empty)")).unwrap();
    let w = Arc::new(Wiring::system());
    let o = w.engine_options(&c, None, None).unwrap();
    assert!(o.network_probe.is_some());
    assert!(o.rewire.is_some());
    assert_eq!(o.clock.zone(), overwatch::engine::Zone::system());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_engine_is_shown_and_restarted() {
    // The engine task used to die silently: the tray showed "checking…" forever.
    let sim = sim_with(Scenario::Healthy).await;
    let c = config(&sim, "k", "");
    let w =
        Arc::new(Wiring::system().with_store(|_| Arc::new(OneKey("k")) as Arc<dyn SecretStore>));
    let mut o = w.engine_options(&c, None, None).unwrap();
    o.inject_panic = true;
    let engine = Engine::start(c, o);
    let mut faults = engine.faults();
    tokio::time::timeout(Duration::from_secs(30), faults.changed())
        .await
        .expect("a fault within 30 s")
        .unwrap();
    let fault = faults.borrow().clone().unwrap();
    assert!(
        fault.contains("injected by OVERWATCH_INJECT_PANIC=engine"),
        "{fault}"
    );
    // Shown in every snapshot, and the restarted engine checks again (2 s later).
    assert_eq!(
        settled(&engine, "sites/web", None).await,
        (Status::Healthy, None)
    );
    assert_eq!(
        engine.subscribe().borrow().engine_fault.as_deref(),
        Some(fault.as_str())
    );
    engine
        .refresh(Scope::All)
        .await
        .expect("the restarted engine takes commands");
}

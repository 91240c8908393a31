//! When to poll next: interval jitter, exponential backoff on errors, and the request budgets that keep each API key inside its provider's documented limits.
//!
//! All of it is arithmetic on `Duration`s and `tokio::time::Instant`s with
//! an explicit random source, so the engine's tests can check the bounds on
//! paused time.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::model::is_loopback;
use crate::model::{Provider, Service};

/// How far a scheduled poll may move from its interval, both ways (±10 %),
/// so services that start together drift apart.
pub const JITTER: f64 = 0.10;

/// The longest wait exponential backoff grows to.
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);

/// Budgets keep this share of the documented limit in reserve (for manual
/// refreshes, the provider's own clients, clock skew).
pub const BUDGET_SHARE: f64 = 0.8;

/// A seedable random source (fastrand's wyrand). Jitter needs spread, not
/// cryptographic quality; a seed makes tests reproducible.
#[derive(Debug, Clone)]
pub struct Rng(fastrand::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }

    /// Seeded from the OS's randomness (fastrand's default seed).
    pub(crate) fn from_entropy() -> Rng {
        Rng(fastrand::Rng::new())
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0.f64()
    }

    /// Uniform in [lo, hi).
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// The interval with ±[`JITTER`] applied.
pub(crate) fn jittered(interval: Duration, rng: &mut Rng) -> Duration {
    interval.mul_f64(rng.between(1.0 - JITTER, 1.0 + JITTER))
}

/// The wait after `errors` consecutive failures (1 = the first failure):
/// `interval · 2^errors`, capped at `max(interval, BACKOFF_CAP)`, with
/// "equal jitter" (between half and all of it) so many failing services do
/// not retry in lockstep — but never below the interval itself.
pub fn backoff(interval: Duration, errors: u32, rng: &mut Rng) -> Duration {
    if errors == 0 {
        return jittered(interval, rng);
    }
    let cap = BACKOFF_CAP.max(interval);
    let grown = interval
        .checked_mul(1u32 << errors.min(20))
        .unwrap_or(cap)
        .min(cap);
    grown.mul_f64(rng.between(0.5, 1.0)).max(interval)
}

/// Which requests share one budget: the same provider, key and host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BudgetKey {
    pub provider: Provider,
    /// The key's label (`acme-railway`, `env:VAR`), never the secret.
    pub key: String,
    pub host: String,
}

impl BudgetKey {
    /// The budget a service draws from; `None` for loopback hosts (the
    /// simulator and tests), which have no limits to respect.
    pub fn of(service: &Service) -> Option<BudgetKey> {
        if is_loopback(&service.api_base()) {
            return None;
        }
        Some(BudgetKey::of_any(service))
    }

    /// The budget key whatever the host (tests budget the simulator with it).
    pub(crate) fn of_any(service: &Service) -> BudgetKey {
        let base = service.api_base();
        BudgetKey {
            provider: service.provider(),
            key: service.key.as_ref().map(|k| k.label()).unwrap_or_default(),
            host: base.host_str().unwrap_or_default().to_ascii_lowercase(),
        }
    }
}

pub use crate::providers::Limit;

/// The limit assumed for a provider's key until a 429 says otherwise (its spec's).
pub(crate) fn documented_limit(p: Provider) -> Limit {
    p.spec().limit
}

/// The limit after the provider answered 429 on this key.
pub(crate) fn lowered_limit(p: Provider, current: Limit) -> Limit {
    (p.spec().lowered)(current)
}

/// Requests one check of a service sends (apis.md §5).
pub(crate) fn requests_per_poll(p: Provider) -> f64 {
    p.spec().requests_per_poll
}

/// A token bucket per budget key, plus the arithmetic that stretches the
/// intervals of services sharing a key so the steady state stays inside it.
#[derive(Debug, Default)]
pub struct Budgets {
    buckets: HashMap<BudgetKey, Bucket>,
}

#[derive(Debug, Clone)]
struct Bucket {
    limit: Limit,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    /// A burst of a few polls is allowed (a manual refresh of a workspace),
    /// never more than the reserve-adjusted limit itself.
    fn capacity(&self) -> f64 {
        (self.limit.requests * BUDGET_SHARE).clamp(3.0, 20.0)
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens =
            (self.tokens + dt * self.limit.per_second() * BUDGET_SHARE).min(self.capacity());
        self.updated = now;
    }
}

impl Budgets {
    pub fn new() -> Budgets {
        Budgets::default()
    }

    fn bucket(&mut self, key: &BudgetKey, now: Instant) -> &mut Bucket {
        self.buckets.entry(key.clone()).or_insert_with(|| {
            let limit = documented_limit(key.provider);
            let mut b = Bucket {
                limit,
                tokens: 0.0,
                updated: now,
            };
            b.tokens = b.capacity();
            b
        })
    }

    /// The limit currently assumed for a key.
    pub fn limit(&mut self, key: &BudgetKey, now: Instant) -> Limit {
        self.bucket(key, now).limit
    }

    /// Takes `cost` tokens if there are enough; otherwise says how long until there are.
    pub(crate) fn try_take(
        &mut self,
        key: &BudgetKey,
        cost: f64,
        now: Instant,
    ) -> Result<(), Duration> {
        let b = self.bucket(key, now);
        b.refill(now);
        let cost = cost.min(b.capacity());
        if b.tokens >= cost {
            b.tokens -= cost;
            Ok(())
        } else {
            let rate = b.limit.per_second() * BUDGET_SHARE;
            Err(Duration::from_secs_f64((cost - b.tokens) / rate))
        }
    }

    /// The provider answered 429 on this key: assume a lower limit and empty the bucket.
    pub fn rate_limited(&mut self, key: &BudgetKey, now: Instant) {
        let b = self.bucket(key, now);
        b.limit = lowered_limit(key.provider, b.limit);
        b.tokens = 0.0;
        b.updated = now;
    }

    /// The shortest interval each of `sharing` services on one key can poll at
    /// without the key exceeding its (reserve-adjusted) limit.
    pub(crate) fn min_interval(
        &mut self,
        key: &BudgetKey,
        sharing: usize,
        now: Instant,
    ) -> Duration {
        let limit = self.limit(key, now);
        let per_poll = requests_per_poll(key.provider);
        let polls_per_sec = limit.per_second() * BUDGET_SHARE / per_poll;
        Duration::from_secs_f64(sharing.max(1) as f64 / polls_per_sec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RailwayTarget;
    use crate::model::Target;
    use crate::secrets::KeyRef;

    #[test]
    fn jitter_stays_within_ten_percent_and_spreads() {
        let mut rng = Rng::new(7);
        let base = Duration::from_secs(60);
        let all: Vec<Duration> = (0..1000).map(|_| jittered(base, &mut rng)).collect();
        assert!(all
            .iter()
            .all(|d| *d >= Duration::from_secs(54) && *d < Duration::from_secs(66)));
        let min = all.iter().min().unwrap();
        let max = all.iter().max().unwrap();
        assert!(*max - *min > Duration::from_secs(10), "{min:?}..{max:?}");
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let mut rng = Rng::new(3);
        let i = Duration::from_secs(60);
        for errors in 1..=12u32 {
            let ideal = (i * 2u32.pow(errors.min(10))).min(BACKOFF_CAP);
            for _ in 0..50 {
                let d = backoff(i, errors, &mut rng);
                assert!(d <= ideal && d >= (ideal / 2).max(i), "{errors}: {d:?}");
            }
        }
        // A long interval is its own cap.
        let long = Duration::from_secs(3600);
        assert_eq!(backoff(long, 5, &mut rng), long);
    }

    fn svc(name: &str, provider_host: Option<&str>, key: &str) -> Service {
        let mut s = Service::example(
            "Acme",
            name,
            Target::Railway(RailwayTarget {
                project: name.into(),
                environment: "production".into(),
                token_kind: Default::default(),
            }),
            Some(KeyRef::Keychain(key.into())),
        );
        s.base_url = provider_host.map(|h| url::Url::parse(h).unwrap());
        s
    }

    #[test]
    fn loopback_hosts_have_no_budget_and_keys_are_labels() {
        assert_eq!(
            BudgetKey::of(&svc("a", Some("http://127.0.0.1:9"), "k")),
            None
        );
        let k = BudgetKey::of(&svc("a", None, "acme-railway")).unwrap();
        assert_eq!(k.key, "acme-railway");
        assert_eq!(k.host, "backboard.railway.com");
    }

    #[tokio::test(start_paused = true)]
    async fn buckets_allow_a_burst_then_pace_and_a_429_lowers_the_limit() {
        let mut b = Budgets::new();
        let key = BudgetKey::of(&svc("a", None, "k")).unwrap();
        let now = Instant::now();
        // Railway Hobby: 1000/h · 0.8 = 800/h, bursts of 20.
        for _ in 0..20 {
            b.try_take(&key, 1.0, now).unwrap();
        }
        let wait = b.try_take(&key, 1.0, now).unwrap_err();
        assert!((wait.as_secs_f64() - 4.5).abs() < 0.01, "{wait:?}");
        assert!(b.try_take(&key, 1.0, now + wait).is_ok());
        // 10 services on one Hobby key: each at least every 45 s.
        assert_eq!(b.min_interval(&key, 10, now), Duration::from_secs(45));
        b.rate_limited(&key, now);
        // Free plan assumed: 100/h · 0.8 → 10 services each every 450 s.
        assert_eq!(b.min_interval(&key, 10, now), Duration::from_secs(450));
        assert!(b.try_take(&key, 1.0, now).is_err());
    }
}

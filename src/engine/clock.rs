//! Wall-clock time for the engine, injectable so that a laptop's sleep (wall time jumping ahead of monotonic time) can be played in tests.
//!
//! Scheduling always uses `tokio::time::Instant` (monotonic, pausable in
//! tests); the wall clock is only for display, persisted times, and
//! noticing that the machine slept.

use std::sync::Mutex;
use std::time::Duration;

use time::{OffsetDateTime, UtcOffset};

/// A time zone with its rules: the offset it gives depends on the moment
/// (summer time), so a clock time is converted with the offset in force then,
/// not with one offset taken at start-up.
#[derive(Debug, Clone)]
pub struct Zone(jiff::tz::TimeZone);

/// Zones are equal when they are the same named zone; unnamed ones (a fixed
/// offset, a POSIX TZ string) when they give the same offset now. Only the
/// menu's "did anything change" test compares them.
impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        match (self.0.iana_name(), other.0.iana_name()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => {
                let now = OffsetDateTime::now_utc();
                self.offset_at(now) == other.offset_at(now)
            }
            _ => false,
        }
    }
}

impl Zone {
    pub fn utc() -> Zone {
        Zone(jiff::tz::TimeZone::UTC)
    }

    /// The user's zone (`TZ`, else the system's); UTC, with a warning, when
    /// it cannot be read.
    pub fn system() -> Zone {
        match jiff::tz::TimeZone::try_system() {
            Ok(tz) => Zone(tz),
            Err(e) => {
                tracing::warn!("cannot read the local time zone ({e}); showing times in UTC");
                Zone::utc()
            }
        }
    }

    /// A zone by IANA name ("Europe/Berlin"), for tests and overrides.
    pub fn named(name: &str) -> Option<Zone> {
        jiff::tz::TimeZone::get(name).ok().map(Zone)
    }

    /// The offset this zone has at `t`.
    pub(crate) fn offset_at(&self, t: OffsetDateTime) -> UtcOffset {
        let secs = jiff::Timestamp::from_second(t.unix_timestamp())
            .map(|ts| self.0.to_offset(ts).seconds())
            .unwrap_or(0);
        UtcOffset::from_whole_seconds(secs).unwrap_or(UtcOffset::UTC)
    }

    /// `t` on this zone's wall clock.
    pub fn local(&self, t: OffsetDateTime) -> OffsetDateTime {
        t.to_offset(self.offset_at(t))
    }
}

/// Where the engine reads wall-clock time.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
    /// The zone clock times ("down since 09:12") are shown in.
    fn zone(&self) -> Zone {
        Zone::utc()
    }
}

/// The real clock, showing times in a zone (the user's, normally).
#[derive(Debug, Clone)]
pub struct SystemClock {
    zone: Zone,
}

impl SystemClock {
    /// The real clock in the user's time zone.
    pub fn new() -> SystemClock {
        SystemClock {
            zone: Zone::system(),
        }
    }

    pub(crate) fn with_zone(zone: Zone) -> SystemClock {
        SystemClock { zone }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
    fn zone(&self) -> Zone {
        self.zone.clone()
    }
}

/// A wall clock that follows tokio's (pausable) clock from a fixed start,
/// plus any jumps a test makes: [`TestClock::sleep`] moves wall time ahead
/// without moving monotonic time, exactly what a suspended laptop sees.
#[derive(Debug)]
pub struct TestClock {
    start_wall: OffsetDateTime,
    start: tokio::time::Instant,
    jumped: Mutex<Duration>,
}

impl TestClock {
    /// Must be called inside a tokio runtime (it reads tokio's clock).
    pub fn new(start_wall: OffsetDateTime) -> TestClock {
        TestClock {
            start_wall,
            start: tokio::time::Instant::now(),
            jumped: Mutex::new(Duration::ZERO),
        }
    }

    /// The machine "slept" for `d`: wall time moves, monotonic time does not.
    pub fn sleep(&self, d: Duration) {
        *self.jumped.lock().unwrap_or_else(|e| e.into_inner()) += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        let jumped = *self.jumped.lock().unwrap_or_else(|e| e.into_inner());
        self.start_wall + self.start.elapsed() + jumped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_zone_follows_summer_time() {
        let berlin = Zone::named("Europe/Berlin").expect("the tz database has Europe/Berlin");
        // Winter: UTC+1; summer: UTC+2 — one zone, two offsets.
        let winter = berlin.local(datetime!(2026-01-15 08:12 UTC));
        let summer = berlin.local(datetime!(2026-07-15 08:12 UTC));
        assert_eq!((winter.hour(), winter.minute()), (9, 12));
        assert_eq!((summer.hour(), summer.minute()), (10, 12));
        // The switch itself (2026-03-29 01:00 UTC).
        assert_eq!(berlin.local(datetime!(2026-03-29 00:59 UTC)).hour(), 1);
        assert_eq!(berlin.local(datetime!(2026-03-29 01:00 UTC)).hour(), 3);
        assert_eq!(Zone::utc().local(datetime!(2026-07-15 08:12 UTC)).hour(), 8);
        assert!(Zone::named("Not/AZone").is_none());
    }
}

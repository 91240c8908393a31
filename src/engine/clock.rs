//! Wall-clock time for the engine, injectable so that a laptop's sleep (wall time jumping ahead of monotonic time) can be played in tests.
//!
//! Scheduling always uses `tokio::time::Instant` (monotonic, pausable in
//! tests); the wall clock is only for display, persisted times, and
//! noticing that the machine slept.

use std::sync::Mutex;
use std::time::Duration;

use time::{OffsetDateTime, UtcOffset};

/// Where the engine reads wall-clock time.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
    /// The offset clock times ("down since 09:12") are shown in.
    fn local_offset(&self) -> UtcOffset {
        UtcOffset::UTC
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    offset: UtcOffset,
}

impl SystemClock {
    /// Reads the local UTC offset now. On Unix this only works while the
    /// process has one thread (the `time` crate refuses otherwise, as the
    /// libc call is not thread-safe), so create it before starting a runtime;
    /// it falls back to UTC.
    pub fn new() -> SystemClock {
        SystemClock {
            offset: UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC),
        }
    }

    pub fn with_offset(offset: UtcOffset) -> SystemClock {
        SystemClock { offset }
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
    fn local_offset(&self) -> UtcOffset {
        self.offset
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

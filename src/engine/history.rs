//! The last 24 hours of each service for the dashboard's strip and sparkline: a fixed ring of 96 quarter-hour buckets (the worst status seen, the card's main number, whether a deploy ran), kept by the engine and persisted with the state in one compact line per service.
//!
//! Bounded by construction: at most [`BUCKETS`] buckets per service whatever
//! the refresh interval, so 50 services cost the same after a day as after a
//! year (measured in BENCHMARKS.md). A check adds to the bucket of its time;
//! the engine saves the state when a check opens a new bucket, so at most a
//! quarter hour of history is lost to a crash (a clean quit saves it all).
//! Gaps (the machine asleep, offline, auto-refresh off) stay empty: no data
//! is never drawn as healthy.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::model::{Card, Status};

/// The width of one bucket, in seconds.
pub const BUCKET_SECS: i64 = 15 * 60;

/// Buckets kept: 24 hours of quarter hours.
pub const BUCKETS: usize = 96;

/// What the checks within one quarter hour saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Unix time the bucket starts at (a multiple of [`BUCKET_SECS`]).
    pub start: i64,
    /// The worst status a check reported in it.
    pub worst: Status,
    /// The largest main number a check reported in it (see [`crate::model::Gauge`]).
    pub value: Option<u64>,
    /// A deploy or build was in progress at some check in it.
    pub deploying: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Ring {
    /// Oldest first; starts strictly increasing.
    buckets: VecDeque<Bucket>,
    /// What the main number is ("visitors now"), from the latest card with one.
    label: Option<String>,
}

/// One service's ring. Cheap to clone (shared until changed), so every
/// engine snapshot can carry it.
#[derive(Debug, Clone, Default)]
pub struct History(Arc<Ring>);

impl PartialEq for History {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for History {}

/// The bucket a time falls in.
pub fn bucket_start(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(BUCKET_SECS) * BUCKET_SECS
}

impl History {
    pub fn is_empty(&self) -> bool {
        self.0.buckets.is_empty()
    }

    /// The buckets kept, oldest first.
    pub fn buckets(&self) -> impl Iterator<Item = &Bucket> {
        self.0.buckets.iter()
    }

    /// The heap this history holds (its ring and its label), for the benchmarks.
    pub fn heap_bytes(&self) -> usize {
        self.0.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self.0.label.as_ref().map_or(0, |l| l.capacity())
    }

    /// What the main number is, when the service has one.
    pub fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }

    /// Adds a check's card at `at`. Returns whether it opened a new bucket
    /// (the moment worth saving the state).
    pub fn observe(&mut self, at: OffsetDateTime, card: &Card) -> bool {
        let start = bucket_start(at);
        let ring = Arc::make_mut(&mut self.0);
        if let Some(g) = &card.gauge {
            if ring.label.as_deref() != Some(g.label.as_str()) {
                ring.label = Some(g.label.clone());
            }
        }
        let value = card.gauge.as_ref().map(|g| g.value);
        // The clock went back by more than a bucket (or the file held a
        // future): those buckets describe a time that has not come.
        if ring
            .buckets
            .back()
            .is_some_and(|b| b.start > start + BUCKET_SECS)
        {
            ring.buckets.clear();
        }
        match ring.buckets.back_mut() {
            // A check in the current bucket (or a few seconds back across its edge).
            Some(b) if b.start >= start => {
                b.worst = Status::worst([b.worst, card.status]).unwrap_or(card.status);
                b.value = match (b.value, value) {
                    (Some(a), Some(v)) => Some(a.max(v)),
                    (a, v) => a.or(v),
                };
                b.deploying |= card.in_progress;
                false
            }
            _ => {
                // Older than a day drops out first, so the ring never holds
                // more than a day: one allocation of exactly that, never regrown.
                let oldest = start - BUCKET_SECS * (BUCKETS as i64 - 1);
                while ring.buckets.front().is_some_and(|b| b.start < oldest) {
                    ring.buckets.pop_front();
                }
                if ring.buckets.capacity() == 0 {
                    ring.buckets.reserve_exact(BUCKETS);
                }
                ring.buckets.push_back(Bucket {
                    start,
                    worst: card.status,
                    value,
                    deploying: card.in_progress,
                });
                true
            }
        }
    }

    /// The 24 hours up to `now` as [`BUCKETS`] slots, oldest first, the last
    /// being the current quarter hour; `None` where nothing was checked.
    pub fn window(&self, now: OffsetDateTime) -> Vec<Option<Bucket>> {
        let last = bucket_start(now);
        let first = last - BUCKET_SECS * (BUCKETS as i64 - 1);
        let mut out = vec![None; BUCKETS];
        for b in self.buckets() {
            if b.start >= first && b.start <= last {
                out[((b.start - first) / BUCKET_SECS) as usize] = Some(*b);
            }
        }
        out
    }

    /// The compact line the state file keeps: the first bucket's start, then
    /// one token per quarter hour from there: `.` for none, else the status
    /// letter (h healthy, d degraded, x down, u unknown, l loading), the
    /// number if any, `*` when a deploy ran. "1755860400 h12 h14* . x0".
    fn encode(&self) -> String {
        let mut out = String::new();
        let Some(first) = self.0.buckets.front() else {
            return out;
        };
        let _ = write!(out, "{}", first.start);
        let mut at = first.start;
        for b in self.buckets() {
            while at < b.start {
                out.push_str(" .");
                at += BUCKET_SECS;
            }
            out.push(' ');
            out.push(letter(b.worst));
            if let Some(v) = b.value {
                let _ = write!(out, "{v}");
            }
            if b.deploying {
                out.push('*');
            }
            at = b.start + BUCKET_SECS;
        }
        out
    }

    /// Reads [`History::encode`]'s line; `None` when it is not one.
    fn decode(s: &str) -> Option<Ring> {
        let mut parts = s.split_ascii_whitespace();
        let Some(first) = parts.next() else {
            return Some(Ring::default());
        };
        let mut at: i64 = first.parse().ok()?;
        if at.rem_euclid(BUCKET_SECS) != 0 {
            return None;
        }
        let mut buckets = VecDeque::with_capacity(BUCKETS);
        for tok in parts {
            if tok != "." {
                let mut chars = tok.chars();
                let worst = from_letter(chars.next()?)?;
                let rest = chars.as_str();
                let (digits, deploying) = match rest.strip_suffix('*') {
                    Some(d) => (d, true),
                    None => (rest, false),
                };
                let value = if digits.is_empty() {
                    None
                } else {
                    Some(digits.parse().ok()?)
                };
                if buckets.len() == BUCKETS {
                    buckets.pop_front();
                }
                buckets.push_back(Bucket {
                    start: at,
                    worst,
                    value,
                    deploying,
                });
            }
            at = at.checked_add(BUCKET_SECS)?;
        }
        // Gaps count too: only the last day from the newest bucket is kept.
        if let Some(newest) = buckets.back().map(|b| b.start) {
            let oldest = newest - BUCKET_SECS * (BUCKETS as i64 - 1);
            while buckets.front().is_some_and(|b| b.start < oldest) {
                buckets.pop_front();
            }
        }
        Some(Ring {
            buckets,
            label: None,
        })
    }
}

fn letter(s: Status) -> char {
    match s {
        Status::Healthy => 'h',
        Status::Degraded => 'd',
        Status::Down => 'x',
        Status::Unknown => 'u',
        Status::Loading => 'l',
    }
}

fn from_letter(c: char) -> Option<Status> {
    Some(match c {
        'h' => Status::Healthy,
        'd' => Status::Degraded,
        'x' => Status::Down,
        'u' => Status::Unknown,
        'l' => Status::Loading,
        _ => return None,
    })
}

/// The state file's form of a history.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(default)]
    buckets: String,
}

impl Serialize for History {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored {
            label: self.0.label.clone(),
            buckets: self.encode(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for History {
    /// A line that does not read is an empty history (with a warning), never
    /// a reason to set the whole state aside.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(d)?;
        let mut ring = History::decode(&stored.buckets).unwrap_or_else(|| {
            tracing::warn!(
                "a service's history in the state file could not be read; it starts afresh"
            );
            Ring::default()
        });
        ring.label = stored.label;
        Ok(History(Arc::new(ring)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Gauge;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-08-22 12:00 UTC);

    fn card(status: Status, value: Option<u64>, deploying: bool) -> Card {
        let mut c = Card::loading();
        c.status = status;
        c.in_progress = deploying;
        c.gauge = value.map(|v| Gauge {
            label: "visitors now".into(),
            value: v,
        });
        c
    }

    fn mins(m: i64) -> time::Duration {
        time::Duration::minutes(m)
    }

    #[test]
    fn a_bucket_keeps_the_worst_status_the_largest_number_and_any_deploy() {
        let mut h = History::default();
        assert!(h.observe(T0, &card(Status::Healthy, Some(3), false)));
        assert!(!h.observe(T0 + mins(5), &card(Status::Down, Some(9), true)));
        assert!(!h.observe(T0 + mins(10), &card(Status::Healthy, Some(4), false)));
        let b: Vec<_> = h.buckets().copied().collect();
        assert_eq!(
            b,
            [Bucket {
                start: T0.unix_timestamp(),
                worst: Status::Down,
                value: Some(9),
                deploying: true
            }]
        );
        assert!(h.observe(T0 + mins(15), &card(Status::Healthy, None, false)));
        assert_eq!(h.buckets().count(), 2);
        assert_eq!(h.label(), Some("visitors now"));
    }

    #[test]
    fn the_ring_never_holds_more_than_a_day() {
        let mut h = History::default();
        // A week of checks every minute.
        for m in 0..7 * 24 * 60 {
            h.observe(T0 + mins(m), &card(Status::Healthy, Some(m as u64), false));
        }
        assert_eq!(h.buckets().count(), BUCKETS);
        assert_eq!(
            h.heap_bytes(),
            BUCKETS * std::mem::size_of::<Bucket>() + "visitors now".len(),
            "one allocation of a day, never regrown"
        );
        let now = T0 + mins(7 * 24 * 60 - 1);
        let w = h.window(now);
        assert_eq!(w.len(), BUCKETS);
        assert!(w.iter().all(Option::is_some), "a full day, no gaps");
        assert_eq!(w[BUCKETS - 1].unwrap().start, bucket_start(now));
    }

    #[test]
    fn gaps_stay_empty_and_old_buckets_fall_out_of_the_window() {
        let mut h = History::default();
        h.observe(T0, &card(Status::Healthy, None, false));
        h.observe(T0 + mins(60), &card(Status::Degraded, None, false));
        let w = h.window(T0 + mins(60));
        assert_eq!(w.iter().filter(|b| b.is_some()).count(), 2);
        assert!(w[BUCKETS - 2].is_none() && w[BUCKETS - 3].is_none());
        assert_eq!(w[BUCKETS - 1].unwrap().worst, Status::Degraded);
        assert_eq!(w[BUCKETS - 5].unwrap().worst, Status::Healthy);
        // A day and more later, both are out of the window.
        assert!(h.window(T0 + mins(25 * 60)).iter().all(Option::is_none));
    }

    #[test]
    fn a_clock_that_went_back_drops_the_future() {
        let mut h = History::default();
        h.observe(T0 + mins(600), &card(Status::Down, None, false));
        h.observe(T0, &card(Status::Healthy, None, false));
        let b: Vec<_> = h.buckets().copied().collect();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].worst, Status::Healthy);
        // A few seconds back across a bucket edge joins the current bucket.
        h.observe(T0 + mins(15), &card(Status::Healthy, None, false));
        h.observe(T0 + mins(14), &card(Status::Degraded, None, false));
        assert_eq!(h.buckets().count(), 2);
        assert_eq!(h.buckets().last().unwrap().worst, Status::Degraded);
    }

    #[test]
    fn round_trips_through_one_compact_line() {
        let mut h = History::default();
        h.observe(T0, &card(Status::Healthy, Some(12), false));
        h.observe(T0 + mins(15), &card(Status::Down, Some(0), true));
        h.observe(T0 + mins(60), &card(Status::Unknown, None, false));
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"label":"visitors now","buckets":"{} h12 x0* . . u"}}"#,
                T0.unix_timestamp()
            )
        );
        let back: History = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h);
        assert_eq!(
            serde_json::from_str::<History>(r#"{"buckets":""}"#).unwrap(),
            History::default()
        );
    }

    #[test]
    fn an_unreadable_line_is_an_empty_history_not_an_error() {
        for bad in [
            r#"{"buckets":"12 h"}"#,
            r#"{"buckets":"1755860400 q"}"#,
            r#"{"buckets":"1755860400 h1x"}"#,
            r#"{"buckets":"x h"}"#,
        ] {
            let h: History = serde_json::from_str(bad).unwrap();
            assert!(h.is_empty(), "{bad}");
        }
        // An over-long line keeps only the newest day.
        let long = format!(
            r#"{{"buckets":"{}{}"}}"#,
            T0.unix_timestamp(),
            " h".repeat(500)
        );
        let h: History = serde_json::from_str(&long).unwrap();
        assert_eq!(h.buckets().count(), BUCKETS);
    }
}

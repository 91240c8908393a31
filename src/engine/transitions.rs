//! Per-service transition tracking: hysteresis, flap suppression, "can't check" and the first-ever status, as a pure state machine fed one observation at a time.
//!
//! The tracker knows nothing of time sources, networks or notifiers: the
//! engine feeds it cards with the wall-clock time they were observed and
//! turns the [`Transition`]s it returns into events. Observations the engine
//! decides not to count (connect failures while offline, results from before
//! a sleep) are simply never fed.
//!
//! Three statuses matter to people: healthy, degraded and down. `unknown` is
//! not a fourth colour here but blindness: it never replaces the confirmed
//! status and never reads as "down". Blindness caused by the user's setup
//! (auth, config) is announced once; transient blindness (unreachable,
//! timeout, rate limited, garbage) only when it lasts.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{AlertRules, Card, Reason, ReasonKind, Status};

/// How many status changes a service remembers for "down since" and the tray's history.
pub const HISTORY_LEN: usize = 20;

/// The rules a tracker applies: the service's own plus the flap detector's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub alerts: AlertRules,
    /// This many confirmed changes inside `flap_window` is flapping.
    pub flap_changes: usize,
    pub flap_window: Duration,
    /// A flapping service is quiet until it has kept one status this long.
    pub flap_quiet: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            alerts: AlertRules::default(),
            flap_changes: 4,
            flap_window: Duration::from_secs(30 * 60),
            flap_quiet: Duration::from_secs(15 * 60),
        }
    }
}

impl Rules {
    pub fn with_alerts(alerts: AlertRules) -> Rules {
        Rules {
            alerts,
            ..Rules::default()
        }
    }
}

/// One confirmed status change, for history and "down since 09:12".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// When the new status was first observed (not when it was confirmed).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub from: Option<Status>,
    pub to: Status,
}

/// What the tracker decided from an observation. Every transition is
/// something the user should hear about unless muted; the tracker has
/// already recorded it as told.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The first status ever seen for this service (no earlier state): it
    /// belongs in the start-up summary, or is news if it is not healthy.
    Baseline { status: Status },
    /// Healthy, degraded and down moved (not to healthy).
    Changed {
        from: Status,
        to: Status,
        /// When `to` was first observed.
        since: OffsetDateTime,
    },
    /// Back to healthy after trouble that began at `trouble_since`.
    Recovered {
        from: Status,
        trouble_since: Option<OffsetDateTime>,
        at: OffsetDateTime,
    },
    /// Too many changes in the window: one notice, then quiet until it settles.
    Flapping {
        changes: usize,
        window: Duration,
        now: Status,
    },
    /// A flapping service held one status for the quiet period, and it is not
    /// the one the user last heard about.
    Settled {
        from: Option<Status>,
        to: Status,
        /// When the status it settled on began.
        since: OffsetDateTime,
    },
    /// The service cannot be checked: announced once per spell.
    CantCheck {
        reason: Reason,
        /// When the blindness began.
        since: OffsetDateTime,
        /// Setup problem (auth, config) rather than a long transient one.
        setup: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    status: Status,
    /// Towards a worse status (counts against `confirm`) or a better one.
    worse: bool,
    count: u32,
    #[serde(with = "time::serde::rfc3339")]
    first_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Blind {
    reason: Reason,
    /// Auth or config (the user's setup) rather than a transient failure.
    setup: bool,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
    count: u32,
    announced: bool,
}

/// The per-service state machine. Serializable: it is the heart of the
/// persisted state, so a restart neither re-announces nor forgets "since".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    /// The status we believe after hysteresis; `None` before the first answer.
    pub confirmed: Option<Status>,
    /// When the confirmed status was first observed.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub since: Option<OffsetDateTime>,
    /// When the current spell of not-healthy began (for "recovered after 14 min").
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub trouble_since: Option<OffsetDateTime>,
    /// The status the user was last told about (or chose not to hear about).
    pub announced: Option<Status>,
    pub flapping: bool,
    #[serde(default)]
    pending: Option<Pending>,
    #[serde(default)]
    blind: Option<Blind>,
    /// Times of recent confirmed changes, for flap detection.
    #[serde(default)]
    changes: VecDeque<OffsetDateTime>,
    /// The last [`HISTORY_LEN`] confirmed changes, oldest first.
    #[serde(default)]
    pub history: VecDeque<Change>,
}

/// How an observation counts.
enum Seen<'a> {
    Health(Status),
    /// Unknown because of the user's setup (auth, config).
    Setup(&'a Reason),
    /// Unknown for a reason that may pass (unreachable, timeout, rate limit, bad answer).
    Transient(&'a Reason),
}

fn classify(card: &Card) -> Option<Seen<'_>> {
    match card.status {
        Status::Healthy | Status::Degraded | Status::Down => Some(Seen::Health(card.status)),
        Status::Loading => None,
        Status::Unknown => match &card.reason {
            Some(r) if matches!(r.kind, ReasonKind::Auth | ReasonKind::Config) => {
                Some(Seen::Setup(r))
            }
            Some(r) => Some(Seen::Transient(r)),
            None => None,
        },
    }
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Whether the service is currently blind (its last observation was unknown).
    pub fn blind_since(&self) -> Option<OffsetDateTime> {
        self.blind.as_ref().map(|b| b.since)
    }

    /// Feeds one observation made at `at`; returns what is worth telling.
    pub(crate) fn observe(
        &mut self,
        card: &Card,
        at: OffsetDateTime,
        rules: &Rules,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        match classify(card) {
            None => {}
            Some(Seen::Health(s)) => {
                self.blind = None;
                self.health(s, at, rules, &mut out);
            }
            Some(Seen::Setup(r)) => self.blindness(r, true, at, rules, &mut out),
            Some(Seen::Transient(r)) => self.blindness(r, false, at, rules, &mut out),
        }
        self.settle(at, rules, &mut out);
        out
    }

    /// After the machine slept: observations from before are not consecutive
    /// with the ones after, and a blind spell's clock restarts.
    pub(crate) fn on_sleep(&mut self, at: OffsetDateTime) {
        self.pending = None;
        self.restart_blind_clock(at);
    }

    /// After the network came back: time spent offline does not count
    /// towards "unreachable for 15 min".
    pub(crate) fn on_online(&mut self, at: OffsetDateTime) {
        self.restart_blind_clock(at);
    }

    fn restart_blind_clock(&mut self, at: OffsetDateTime) {
        if let Some(b) = self.blind.as_mut().filter(|b| !b.setup && !b.announced) {
            b.since = at;
            b.count = 0;
        }
    }

    fn health(&mut self, s: Status, at: OffsetDateTime, rules: &Rules, out: &mut Vec<Transition>) {
        let Some(current) = self.confirmed else {
            // Nothing to flap from: the first answer is taken as it is.
            self.confirmed = Some(s);
            self.since = Some(at);
            self.trouble_since = (s != Status::Healthy).then_some(at);
            self.announced = Some(s);
            self.push_history(at, None, s);
            out.push(Transition::Baseline { status: s });
            return;
        };
        if s == current {
            self.pending = None;
            return;
        }
        let worse = s.severity() > current.severity();
        let pending = match self.pending.take() {
            Some(mut p) if p.worse == worse => {
                p.count += 1;
                p.status = s;
                p
            }
            _ => Pending {
                status: s,
                worse,
                count: 1,
                first_at: at,
            },
        };
        let needed = if worse {
            rules.alerts.confirm
        } else {
            rules.alerts.confirm_recovery
        }
        .max(1);
        if pending.count < needed {
            self.pending = Some(pending);
            return;
        }
        // Confirmed.
        let first_at = pending.first_at;
        self.confirmed = Some(s);
        self.since = Some(first_at);
        let trouble_since = self.trouble_since;
        if s == Status::Healthy {
            self.trouble_since = None;
        } else if current == Status::Healthy {
            self.trouble_since = Some(first_at);
        }
        self.push_history(first_at, Some(current), s);
        self.changes.push_back(at);
        self.prune_changes(at, rules);
        if self.flapping {
            return;
        }
        if self.changes.len() >= rules.flap_changes.max(2) {
            self.flapping = true;
            // The user now knows it flaps; what it settles on is told later.
            out.push(Transition::Flapping {
                changes: self.changes.len(),
                window: rules.flap_window,
                now: s,
            });
            return;
        }
        self.announce(s, trouble_since, first_at, out);
    }

    /// Tells the user about `to` if it is not what they already know.
    fn announce(
        &mut self,
        to: Status,
        trouble_since: Option<OffsetDateTime>,
        since: OffsetDateTime,
        out: &mut Vec<Transition>,
    ) {
        let from = self.announced;
        if from == Some(to) {
            return;
        }
        self.announced = Some(to);
        match (from, to) {
            (Some(from), Status::Healthy) => out.push(Transition::Recovered {
                from,
                trouble_since,
                at: since,
            }),
            (None, Status::Healthy) => {}
            (from, to) => out.push(Transition::Changed {
                from: from.unwrap_or(Status::Healthy),
                to,
                since,
            }),
        }
    }

    fn blindness(
        &mut self,
        reason: &Reason,
        setup: bool,
        at: OffsetDateTime,
        rules: &Rules,
        out: &mut Vec<Transition>,
    ) {
        let blind = match self.blind.take() {
            Some(mut b) if b.setup == setup => {
                b.count += 1;
                b.reason = reason.clone();
                b
            }
            _ => Blind {
                reason: reason.clone(),
                setup,
                since: at,
                count: 1,
                announced: false,
            },
        };
        let mut blind = blind;
        let due = if setup {
            // Never seen before: nothing to wait for, tell it now.
            self.confirmed.is_none() || blind.count >= rules.alerts.confirm.max(1)
        } else {
            at - blind.since >= rules.alerts.unreachable_alert_after && blind.count >= 2
        };
        if due && !blind.announced {
            blind.announced = true;
            out.push(Transition::CantCheck {
                reason: reason.clone(),
                since: blind.since,
                setup,
            });
        }
        self.blind = Some(blind);
    }

    /// Ends a flapping spell once the status has held for `flap_quiet`, and
    /// tells what it settled on if that is not what the user last heard.
    fn settle(&mut self, at: OffsetDateTime, rules: &Rules, out: &mut Vec<Transition>) {
        if !self.flapping {
            return;
        }
        let quiet_since = self.changes.back().copied();
        if quiet_since.is_some_and(|t| at - t < rules.flap_quiet) {
            return;
        }
        self.flapping = false;
        self.changes.clear();
        if let Some(now) = self.confirmed {
            if self.announced != Some(now) {
                let from = self.announced;
                self.announced = Some(now);
                out.push(Transition::Settled {
                    from,
                    to: now,
                    since: self.since.unwrap_or(at),
                });
            }
        }
    }

    fn prune_changes(&mut self, at: OffsetDateTime, rules: &Rules) {
        while self
            .changes
            .front()
            .is_some_and(|t| at - *t > rules.flap_window)
        {
            self.changes.pop_front();
        }
    }

    fn push_history(&mut self, at: OffsetDateTime, from: Option<Status>, to: Status) {
        self.history.push_back(Change { at, from, to });
        while self.history.len() > HISTORY_LEN {
            self.history.pop_front();
        }
    }

    /// The user chose not to hear about the current status (a mute): record
    /// it as told, so lifting the mute does not replay it.
    pub fn mark_announced(&mut self) {
        self.announced = self.confirmed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-08-22 09:00 UTC);

    fn at(mins: i64) -> OffsetDateTime {
        T0 + time::Duration::minutes(mins)
    }

    fn card(s: Status) -> Card {
        Card {
            status: s,
            summary: s.as_str().into(),
            ..Card::loading()
        }
    }

    fn blind(kind: ReasonKind) -> Card {
        Card::unknown(Reason::new(kind, format!("{} trouble", kind.as_str())))
    }

    /// Feeds statuses one minute apart from minute `start`; returns all transitions.
    fn feed(t: &mut Tracker, start: i64, cards: &[Card], rules: &Rules) -> Vec<Transition> {
        cards
            .iter()
            .enumerate()
            .flat_map(|(i, c)| t.observe(c, at(start + i as i64), rules))
            .collect()
    }

    use Status::{Degraded, Down, Healthy};

    #[test]
    fn the_first_answer_is_a_baseline_without_hysteresis() {
        let mut t = Tracker::new();
        let r = Rules::default();
        assert_eq!(
            t.observe(&card(Down), at(0), &r),
            vec![Transition::Baseline { status: Down }]
        );
        assert_eq!(t.confirmed, Some(Down));
        assert_eq!(t.trouble_since, Some(at(0)));
    }

    #[test]
    fn two_observations_enter_and_two_recover() {
        let mut t = Tracker::new();
        let r = Rules::default();
        feed(&mut t, 0, &[card(Healthy)], &r);
        // One bad observation is a blip.
        assert!(feed(&mut t, 1, &[card(Down), card(Healthy)], &r).is_empty());
        assert_eq!(t.confirmed, Some(Healthy));
        let ev = feed(&mut t, 3, &[card(Down), card(Down)], &r);
        assert_eq!(
            ev,
            vec![Transition::Changed {
                from: Healthy,
                to: Down,
                since: at(3)
            }]
        );
        assert_eq!(t.since, Some(at(3)));
        // One good observation is not a recovery either.
        assert!(feed(&mut t, 5, &[card(Healthy), card(Down)], &r).is_empty());
        let ev = feed(&mut t, 7, &[card(Healthy), card(Healthy)], &r);
        assert_eq!(
            ev,
            vec![Transition::Recovered {
                from: Down,
                trouble_since: Some(at(3)),
                at: at(7)
            }]
        );
    }

    #[test]
    fn degraded_and_down_in_a_row_count_as_one_worsening() {
        let mut t = Tracker::new();
        let r = Rules::default();
        feed(&mut t, 0, &[card(Healthy)], &r);
        let ev = feed(&mut t, 1, &[card(Degraded), card(Down)], &r);
        assert_eq!(
            ev,
            vec![Transition::Changed {
                from: Healthy,
                to: Down,
                since: at(1)
            }]
        );
    }

    #[test]
    fn confirm_counts_are_per_service() {
        let mut t = Tracker::new();
        let r = Rules::with_alerts(AlertRules {
            confirm: 1,
            confirm_recovery: 3,
            ..AlertRules::default()
        });
        feed(&mut t, 0, &[card(Healthy)], &r);
        assert_eq!(feed(&mut t, 1, &[card(Down)], &r).len(), 1);
        assert!(feed(&mut t, 2, &[card(Healthy), card(Healthy)], &r).is_empty());
        assert_eq!(feed(&mut t, 4, &[card(Healthy)], &r).len(), 1);
    }

    #[test]
    fn blind_observations_neither_count_nor_break_a_streak() {
        let mut t = Tracker::new();
        let r = Rules::default();
        feed(&mut t, 0, &[card(Healthy)], &r);
        let ev = feed(
            &mut t,
            1,
            &[card(Down), blind(ReasonKind::Timeout), card(Down)],
            &r,
        );
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(t.confirmed, Some(Down), "unknown never replaces the status");
    }

    #[test]
    fn auth_failure_is_told_once_and_never_as_down() {
        let mut t = Tracker::new();
        let r = Rules::default();
        feed(&mut t, 0, &[card(Healthy)], &r);
        let ev = feed(&mut t, 1, &vec![blind(ReasonKind::Auth); 5], &r);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(matches!(
            &ev[0],
            Transition::CantCheck { setup: true, since, .. } if *since == at(1)
        ));
        assert_eq!(t.confirmed, Some(Healthy));
        // Fixed: the same status as before is not news.
        assert!(feed(&mut t, 6, &[card(Healthy)], &r).is_empty());
        // A second spell is told again.
        assert_eq!(
            feed(&mut t, 7, &vec![blind(ReasonKind::Config); 2], &r).len(),
            1
        );
    }

    #[test]
    fn transient_blindness_is_told_only_when_it_lasts() {
        let mut t = Tracker::new();
        let r = Rules::default();
        feed(&mut t, 0, &[card(Healthy)], &r);
        // 14 minutes of timeouts: quiet.
        let cards = vec![blind(ReasonKind::Unreachable); 15];
        assert!(feed(&mut t, 1, &cards, &r).is_empty());
        // The 16th minute reaches 15 min: one notice, then quiet.
        let ev = feed(&mut t, 16, &vec![blind(ReasonKind::RateLimited); 5], &r);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(matches!(&ev[0], Transition::CantCheck { setup: false, .. }));
    }

    #[test]
    fn sleep_and_offline_restart_the_blind_clock_and_the_streak() {
        let mut t = Tracker::new();
        let r = Rules::default();
        feed(&mut t, 0, &[card(Healthy), blind(ReasonKind::Timeout)], &r);
        t.on_sleep(at(60));
        assert!(feed(&mut t, 61, &[blind(ReasonKind::Timeout)], &r).is_empty());
        feed(&mut t, 62, &[card(Down)], &r);
        t.on_sleep(at(120));
        assert!(
            feed(&mut t, 121, &[card(Down)], &r).is_empty(),
            "a bad observation before the sleep does not confirm one after it"
        );
        t.on_online(at(200));
        assert_eq!(t.blind_since(), None);
    }

    #[test]
    fn flapping_is_told_once_then_quiet_until_it_settles() {
        let mut t = Tracker::new();
        let r = Rules::default();
        feed(&mut t, 0, &[card(Healthy)], &r);
        let mut all = Vec::new();
        let mut minute = 1;
        for _ in 0..4 {
            all.extend(feed(&mut t, minute, &[card(Down), card(Down)], &r));
            all.extend(feed(
                &mut t,
                minute + 2,
                &[card(Healthy), card(Healthy)],
                &r,
            ));
            minute += 4;
        }
        let kinds: Vec<&str> = all
            .iter()
            .map(|e| match e {
                Transition::Changed { .. } => "changed",
                Transition::Recovered { .. } => "recovered",
                Transition::Flapping { .. } => "flapping",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["changed", "recovered", "changed", "flapping"]);
        assert!(t.flapping);
        // Ends healthy (minute 16); the user last heard "down".
        assert_eq!(t.announced, Some(Down));
        assert!(feed(&mut t, 17, &vec![card(Healthy); 10], &r).is_empty());
        // 15 minutes after the last change it has settled: tell the outcome.
        let ev = feed(&mut t, 31, &[card(Healthy)], &r);
        assert_eq!(
            ev,
            [Transition::Settled {
                from: Some(Down),
                to: Healthy,
                since: at(15)
            }]
        );
        assert!(!t.flapping);
    }

    #[test]
    fn a_flap_that_settles_where_it_was_announced_is_quiet() {
        let mut t = Tracker::new();
        let r = Rules::default();
        feed(&mut t, 0, &[card(Healthy)], &r);
        let mut minute = 1;
        for _ in 0..2 {
            feed(&mut t, minute, &[card(Down), card(Down)], &r);
            feed(&mut t, minute + 2, &[card(Healthy), card(Healthy)], &r);
            minute += 4;
        }
        assert!(t.flapping);
        assert_eq!(t.announced, Some(Down));
        feed(&mut t, minute, &[card(Down), card(Down)], &r);
        assert!(feed(&mut t, 40, &[card(Down)], &r).is_empty());
        assert!(!t.flapping);
    }

    #[test]
    fn history_is_bounded_and_serializes() {
        let mut t = Tracker::new();
        let r = Rules {
            flap_changes: 1000,
            ..Rules::default()
        };
        for i in 0..30 {
            let s = if i % 2 == 0 { Healthy } else { Down };
            feed(&mut t, i * 4, &[card(s), card(s)], &r);
        }
        assert_eq!(t.history.len(), HISTORY_LEN);
        let json = serde_json::to_string(&t).unwrap();
        let back: Tracker = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }
}

//! What the engine does with a finished poll: offline and online, backoff and rate-limit holds, staleness, the next due time, and the transition the new card makes.

use super::*;

impl Core {
    // ---- results -----------------------------------------------------------

    pub(super) fn on_result(&mut self, done: PollDone) {
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
    pub(super) fn record(
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
        let opened;
        {
            let s = &mut self.slots[i];
            s.has_result = true;
            s.connect_failed = connect_failed;
            if answered {
                s.errors = 0;
                s.rec_mut().last_good = Some(card.clone());
                s.rec_mut().last_success = Some(at);
            } else {
                s.errors = s.errors.saturating_add(1);
            }
            s.rec_mut().card = Some(card.clone());
            // A new quarter hour in the history is worth saving; the
            // checks within one are saved with the next transition or quit.
            opened = s.rec_mut().history.observe(at, &card);
        }
        self.dirty |= opened;
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
        let transitions = self.slots[i].rec_mut().tracker.observe(&card, at, &rules);
        if !transitions.is_empty() {
            self.dirty = true;
        }
        for t in transitions {
            self.transition(i, t, at);
        }
    }

    pub(super) fn go_offline(&mut self, at: OffsetDateTime) {
        self.offline_since = Some(at);
        for s in self.slots.iter_mut() {
            // Show what we last saw, marked stale, rather than a wall of "unreachable".
            let r = s.rec_mut();
            if let Some(good) = &r.last_good {
                r.card = Some(good.clone());
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

    pub(super) fn go_online(&mut self, at: OffsetDateTime, now: Instant) {
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
            s.rec_mut().tracker.on_online(at);
            s.errors = 0;
            if s.service.polled() && !s.in_flight {
                s.due = Some(now);
                s.forced = true;
            }
        }
    }
}

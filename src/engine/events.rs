//! Turning the engine's transitions into events and notifications (start-up summary, changes, recoveries, flapping, offline), with mutes and the notification pause applied; and the thread notifications are shown from.

use super::*;

impl Core {
    // ---- transitions → events ------------------------------------------------

    pub(super) fn transition(&mut self, i: usize, t: Transition, at: OffsetDateTime) {
        let zone = self.opts.clock.zone();
        let service = self.slots[i].service.clone();
        let card = self.slots[i].rec().card.clone();
        let in_startup = self.startup.is_some();
        let (kind, from, to, (title, body)) = match t {
            Transition::Baseline { status } => {
                if status == Status::Healthy {
                    return;
                }
                if in_startup {
                    self.summarize(&service, status.as_str(), card.as_ref());
                    return;
                }
                // A service seen for the first time after start-up (new in
                // the config, or offline until now) that is not healthy.
                let since = self.slots[i].rec().tracker.since.unwrap_or(at);
                (
                    EventKind::Changed,
                    None,
                    Some(status),
                    notify::changed_text(
                        &service,
                        card.as_ref(),
                        Status::Healthy,
                        status,
                        since,
                        at,
                        &zone,
                    ),
                )
            }
            Transition::Changed { from, to, since } => {
                if in_startup {
                    self.summarize(&service, to.as_str(), card.as_ref());
                    return;
                }
                (
                    EventKind::Changed,
                    Some(from),
                    Some(to),
                    notify::changed_text(&service, card.as_ref(), from, to, since, at, &zone),
                )
            }
            Transition::Recovered {
                from,
                trouble_since,
                at: healthy_at,
            } => {
                self.lift_recovery_mutes(&service);
                if let Some(st) = self.startup.as_mut() {
                    st.items.retain(|(id, _)| id != &service.id);
                    return;
                }
                (
                    EventKind::Recovered,
                    Some(from),
                    Some(Status::Healthy),
                    notify::recovered_text(&service, card.as_ref(), trouble_since, healthy_at),
                )
            }
            Transition::Flapping {
                changes,
                window,
                now,
            } => (
                EventKind::Flapping,
                None,
                Some(now),
                notify::flapping_text(&service, changes, window, now),
            ),
            Transition::Settled { from, to, since } => {
                if to == Status::Healthy {
                    self.lift_recovery_mutes(&service);
                }
                (
                    if to == Status::Healthy {
                        EventKind::Recovered
                    } else {
                        EventKind::Changed
                    },
                    from,
                    Some(to),
                    notify::settled_text(&service, card.as_ref(), to, since, at, &zone),
                )
            }
            Transition::CantCheck {
                reason,
                since,
                setup,
            } => {
                if in_startup {
                    self.summarize_line(
                        &service,
                        notify::summary_line(&service, "can't check", &reason.message),
                    );
                    return;
                }
                (
                    EventKind::CantCheck,
                    self.slots[i].rec().tracker.confirmed,
                    Some(Status::Unknown),
                    notify::cant_check_text(&service, &reason.message, setup, since, at),
                )
            }
        };
        let ev = Event::about(&service, at, kind, from, to, title, body);
        self.emit(ev);
    }

    pub(super) fn summarize(&mut self, s: &Service, what: &str, card: Option<&Card>) {
        let detail = card
            .map(|c| c.summary.clone())
            .unwrap_or_else(|| "no details".into());
        self.summarize_line(s, notify::summary_line(s, what, &detail));
    }

    pub(super) fn summarize_line(&mut self, s: &Service, line: String) {
        if let Some(st) = self.startup.as_mut() {
            st.items.retain(|(id, _)| id != &s.id);
            st.items.push((s.id.clone(), line));
        }
    }

    /// Marks a service's first result in; the round closes on the loop's
    /// next tick, after this result's own transitions went into the summary.
    pub(super) fn startup_done(&mut self, id: &ServiceId) {
        if let Some(st) = self.startup.as_mut() {
            st.pending.remove(id);
            if st.pending.is_empty() {
                st.deadline = Instant::now();
            }
        }
    }

    /// Ends the start-up round: one summary of what needs attention, or nothing.
    pub(super) fn finish_startup(&mut self, wall: OffsetDateTime) {
        let Some(st) = self.startup.take() else {
            return;
        };
        let mut lines = Vec::new();
        let mut silenced_all = true;
        for (id, line) in &st.items {
            let Some(s) = self.slots.iter().find(|s| &s.service.id == id) else {
                continue;
            };
            if self.muted(&s.service, wall).is_none() {
                silenced_all = false;
                lines.push(line.clone());
            }
        }
        if st.items.is_empty() {
            return;
        }
        let mut ev = Event::global(
            wall,
            EventKind::Summary,
            notify::summary_title(if lines.is_empty() {
                st.items.len()
            } else {
                lines.len()
            }),
            if lines.is_empty() {
                st.items
                    .iter()
                    .map(|(_, l)| l.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                lines.join("\n")
            },
        );
        if silenced_all {
            ev.silenced = Some(Silence::Muted);
        }
        ev.worst = Status::worst(st.items.iter().filter_map(|(id, _)| {
            self.slots
                .iter()
                .find(|s| &s.service.id == id)
                .and_then(|s| s.rec().tracker.confirmed)
        }));
        self.dirty = true;
        self.emit(ev);
    }

    // ---- mutes -----------------------------------------------------------

    pub(super) fn mute_active(m: &Mute, wall: OffsetDateTime) -> bool {
        match m.until {
            MuteUntil::Time(t) => t > wall,
            MuteUntil::Recovered => true,
        }
    }

    /// The mute covering a service, if any (its own first, then its workspace's).
    pub(super) fn muted(&self, s: &Service, wall: OffsetDateTime) -> Option<MuteUntil> {
        let own = self
            .mutes
            .iter()
            .find(|m| m.target == MuteTarget::Service(s.id.clone()) && Self::mute_active(m, wall));
        let ws = self.mutes.iter().find(|m| {
            matches!(&m.target, MuteTarget::Workspace(w) if crate::config::same_name(w, &s.workspace))
                && Self::mute_active(m, wall)
        });
        own.or(ws).map(|m| m.until)
    }

    /// "Until it recovers" ends when it has: the recovery itself is told.
    pub(super) fn lift_recovery_mutes(&mut self, s: &Service) {
        let before = self.mutes.len();
        self.mutes.retain(|m| {
            !(m.until == MuteUntil::Recovered && m.target == MuteTarget::Service(s.id.clone()))
        });
        let ws_healthy = self
            .slots
            .iter()
            .filter(|x| crate::config::same_name(&x.service.workspace, &s.workspace))
            .filter(|x| x.service.polled())
            .all(|x| matches!(x.rec().tracker.confirmed, Some(Status::Healthy) | None));
        if ws_healthy {
            self.mutes.retain(|m| {
                !(m.until == MuteUntil::Recovered
                    && matches!(&m.target, MuteTarget::Workspace(w) if crate::config::same_name(w, &s.workspace)))
            });
        }
        if self.mutes.len() != before {
            self.dirty = true;
        }
    }

    /// Sends an event out: to subscribers always, to the notifier unless
    /// silenced or not a pop-up kind.
    pub(super) fn emit(&mut self, mut ev: Event) {
        if ev.silenced.is_none() {
            let wall = self.opts.clock.now();
            if self.notifications_paused_until.is_some_and(|t| t > wall) {
                ev.silenced = Some(Silence::Paused);
            } else if let Some(id) = &ev.service_id {
                if let Some(s) = self.slots.iter().find(|s| &s.service.id == id) {
                    if self.muted(&s.service, wall).is_some() {
                        ev.silenced = Some(Silence::Muted);
                    }
                }
            }
        }
        match ev.silenced {
            None => tracing::info!(kind = %ev.kind, "{} — {}", ev.title, ev.body),
            Some(why) => tracing::info!(kind = %ev.kind, ?why, "held back: {}", ev.title),
        }
        if ev.notify && ev.silenced.is_none() && self.config.notifications {
            if let Some(tx) = &self.notify_tx {
                let _ = tx.send(Notification::from(&ev));
            }
        }
        let _ = self.ev_tx.send(ev);
    }
}

/// Runs the notifier on its own thread: it may block on D-Bus, the engine must not.
pub(super) fn spawn_notifier(n: Arc<dyn Notifier>) -> std::sync::mpsc::Sender<Notification> {
    let (tx, rx) = std::sync::mpsc::channel::<Notification>();
    let spawned = std::thread::Builder::new()
        .name("overwatch-notifier".into())
        .spawn(move || {
            for note in rx {
                if let Err(e) = n.notify(&note) {
                    tracing::warn!("could not show the notification \"{}\": {e}", note.title);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the notification thread ({e}); notifications are off");
    }
    tx
}

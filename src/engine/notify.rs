//! Events and notifications: what the engine tells the user, the words it uses, and the [`Notifier`] trait the desktop implements.
//!
//! Every notification-worthy change becomes an [`Event`] (printed by
//! `overwatch watch`, kept by the tray); events with `notify` set and not
//! silenced by a mute or the pause also go to the [`Notifier`] as a
//! [`Notification`]. The texts say what changed and when, in one place, so
//! the terminal and the desktop read the same.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use super::clock::Zone;
pub use crate::text::span;

use crate::model::{Card, Provider, Service, ServiceId, Status};
use crate::providers::ago;

/// What kind of news an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Healthy, degraded and down moved (not to healthy).
    Changed,
    /// Back to healthy.
    Recovered,
    /// Too many changes: one notice, then quiet until it settles.
    Flapping,
    /// The start-up summary of what needs attention.
    Summary,
    /// A service cannot be checked (auth, config, or unreachable for long).
    CantCheck,
    /// Every check failed to connect: the network is gone.
    Offline,
    /// The network is back.
    Online,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Changed => "changed",
            EventKind::Recovered => "recovered",
            EventKind::Flapping => "flapping",
            EventKind::Summary => "summary",
            EventKind::CantCheck => "cant_check",
            EventKind::Offline => "offline",
            EventKind::Online => "online",
        }
    }

    /// Whether this kind pops up a desktop notification. Losing the network
    /// is not news about the user's services (and every other app shows it),
    /// so offline/online are printed and shown in the tray, never popped up.
    pub(crate) fn pops_up(self) -> bool {
        !matches!(self, EventKind::Offline | EventKind::Online)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an event was held back from the desktop and from `watch`'s output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Silence {
    /// The service or its workspace is muted.
    Muted,
    /// Notifications are paused globally.
    Paused,
}

/// One notification-worthy happening.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: EventKind,
    pub workspace: Option<String>,
    /// The service's display name.
    pub service: Option<String>,
    pub service_id: Option<ServiceId>,
    pub provider: Option<Provider>,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub title: String,
    pub body: String,
    pub dashboard_url: Option<String>,
    /// Goes to the desktop notifier (unless silenced).
    pub notify: bool,
    /// Held back by a mute or the pause; still recorded for the tray's history.
    pub silenced: Option<Silence>,
}

impl Event {
    /// A service-less event (summary, offline, online).
    pub fn global(at: OffsetDateTime, kind: EventKind, title: String, body: String) -> Event {
        Event {
            at,
            kind,
            workspace: None,
            service: None,
            service_id: None,
            provider: None,
            from: None,
            to: None,
            title,
            body,
            dashboard_url: None,
            notify: kind.pops_up(),
            silenced: None,
        }
    }

    /// An event about one service.
    pub fn about(
        service: &Service,
        at: OffsetDateTime,
        kind: EventKind,
        from: Option<Status>,
        to: Option<Status>,
        title: String,
        body: String,
    ) -> Event {
        Event {
            at,
            kind,
            workspace: Some(service.workspace.clone()),
            service: Some(service.name.clone()),
            service_id: Some(service.id.clone()),
            provider: Some(service.provider()),
            from,
            to,
            title,
            body,
            dashboard_url: Some(service.dashboard_url()),
            notify: kind.pops_up(),
            silenced: None,
        }
    }

    /// The line `overwatch watch --json` prints: exactly these fields.
    pub(crate) fn json_line(&self) -> serde_json::Value {
        serde_json::json!({
            "at": self.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "workspace": self.workspace,
            "service": self.service,
            "provider": self.provider,
            "from": self.from,
            "to": self.to,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
        })
    }

    /// The line `overwatch watch` prints: time, kind, title and body on one
    /// line, with every control character of a name or a provider's text
    /// neutralised ([`crate::text::clean`]): one event is always one line.
    pub fn text_line(&self, zone: &Zone) -> String {
        format!(
            "{} {:<10} {} — {}",
            clock_time(self.at, zone, true),
            self.kind.as_str(),
            crate::text::clean(&self.title),
            crate::text::clean(&self.body.replace('\n', "; "))
        )
    }
}

/// What a notifier shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
    /// Opened when the notification is clicked, where the platform supports it.
    pub dashboard_url: Option<String>,
    pub kind: EventKind,
    pub service: Option<ServiceId>,
}

impl From<&Event> for Notification {
    fn from(e: &Event) -> Self {
        Notification {
            title: e.title.clone(),
            body: e.body.clone(),
            dashboard_url: e.dashboard_url.clone(),
            kind: e.kind,
            service: e.service_id.clone(),
        }
    }
}

/// Shows notifications. Implemented by the desktop (notify-rust) and by tests.
/// Called from a dedicated thread, never from the engine's loop, so it may
/// block; a failure is logged by the engine and never stops it.
pub trait Notifier: Send + Sync {
    fn notify(&self, n: &Notification) -> Result<(), String>;
}

/// "Acme · API (Railway)".
pub fn label(s: &Service) -> String {
    format!("{} · {} ({})", s.workspace, s.name, s.provider().title())
}

/// "09:12" (or "09:12:05") on the user's clock at that moment.
pub(crate) fn clock_time(t: OffsetDateTime, zone: &Zone, seconds: bool) -> String {
    let t = zone.local(t);
    if seconds {
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    } else {
        format!("{:02}:{:02}", t.hour(), t.minute())
    }
}

fn since_phrase(t: OffsetDateTime, now: OffsetDateTime, zone: &Zone) -> String {
    format!("since {} ({})", clock_time(t, zone, false), ago(t, now))
}

fn summary_of(card: Option<&Card>) -> String {
    card.map(|c| c.summary.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "no details".into())
}

/// Title and body of a change to degraded or down.
pub(crate) fn changed_text(
    s: &Service,
    card: Option<&Card>,
    from: Status,
    to: Status,
    since: OffsetDateTime,
    now: OffsetDateTime,
    zone: &Zone,
) -> (String, String) {
    let title = format!("{} is {to}", label(s));
    let mut body = format!(
        "{}; {to} {}",
        summary_of(card),
        since_phrase(since, now, zone)
    );
    if from != Status::Healthy {
        body.push_str(&format!(" (was {from})"));
    }
    (title, body)
}

/// Title and body of a recovery.
pub(crate) fn recovered_text(
    s: &Service,
    card: Option<&Card>,
    trouble_since: Option<OffsetDateTime>,
    at: OffsetDateTime,
) -> (String, String) {
    let title = format!("{} recovered", label(s));
    let after = match trouble_since {
        Some(t) if at > t => format!(" after {}", span((at - t).unsigned_abs())),
        _ => String::new(),
    };
    let body = format!("{} recovered{after}; {}", s.name, summary_of(card));
    (title, body)
}

/// Title and body when a flapping service has settled.
pub(crate) fn settled_text(
    s: &Service,
    card: Option<&Card>,
    to: Status,
    since: OffsetDateTime,
    now: OffsetDateTime,
    zone: &Zone,
) -> (String, String) {
    let title = if to == Status::Healthy {
        format!("{} recovered", label(s))
    } else {
        format!("{} is {to}", label(s))
    };
    let body = format!(
        "{} settled after flapping: {to} {}; {}",
        s.name,
        since_phrase(since, now, zone),
        summary_of(card)
    );
    (title, body)
}

/// Title and body of a flapping notice.
pub(crate) fn flapping_text(
    s: &Service,
    changes: usize,
    window: Duration,
    now: Status,
) -> (String, String) {
    (
        format!("{} is flapping", label(s)),
        format!(
            "changed status {changes} times in {}, now {now}; no more alerts until it settles",
            span(window)
        ),
    )
}

/// Title and body of "can't check".
pub(crate) fn cant_check_text(
    s: &Service,
    message: &str,
    setup: bool,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> (String, String) {
    let title = format!("{}: can't check", label(s));
    let body = if setup {
        format!("can't check {}: {message}", s.name)
    } else {
        format!(
            "can't check {} for {}: {message}",
            s.name,
            span((now - since).unsigned_abs())
        )
    };
    (title, body)
}

/// One line of the start-up summary.
pub(crate) fn summary_line(s: &Service, what: &str, detail: &str) -> String {
    format!("{}: {what} — {detail}", label(s))
}

/// Title of the start-up summary.
pub(crate) fn summary_title(n: usize) -> String {
    if n == 1 {
        "1 service needs attention".into()
    } else {
        format!("{n} services need attention")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RailwayTarget;
    use crate::model::Target;
    use time::macros::datetime;

    fn api() -> Service {
        Service::example(
            "Acme",
            "API",
            Target::Railway(RailwayTarget {
                project: "p".into(),
                environment: "production".into(),
                token_kind: Default::default(),
            }),
            None,
        )
    }

    #[test]
    fn texts_say_what_changed_and_when() {
        let now = datetime!(2026-08-22 09:14 UTC);
        let card = Card {
            summary: "api crashed".into(),
            ..Card::loading()
        };
        let (t, b) = changed_text(
            &api(),
            Some(&card),
            Status::Healthy,
            Status::Down,
            datetime!(2026-08-22 09:12 UTC),
            now,
            &Zone::utc(),
        );
        assert_eq!(t, "Acme · API (Railway) is down");
        assert_eq!(b, "api crashed; down since 09:12 (2 min ago)");
        let (t, b) = recovered_text(
            &api(),
            Some(&card),
            Some(datetime!(2026-08-22 09:00 UTC)),
            now,
        );
        assert_eq!(t, "Acme · API (Railway) recovered");
        assert!(b.starts_with("API recovered after 14 min"), "{b}");
        assert_eq!(span(Duration::from_secs(7500)), "2 h 5 min");
        assert_eq!(span(Duration::from_secs(45)), "45 s");
    }

    #[test]
    fn json_lines_have_exactly_the_documented_fields() {
        let e = Event::global(
            datetime!(2026-08-22 09:14 UTC),
            EventKind::Offline,
            "Offline".into(),
            "b".into(),
        );
        let v = e.json_line();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "at",
                "body",
                "from",
                "kind",
                "provider",
                "service",
                "title",
                "to",
                "workspace"
            ]
        );
        assert_eq!(v["kind"], "offline");
        assert_eq!(v["at"], "2026-08-22T09:14:00Z");
        assert!(!e.notify, "offline is printed, not popped up");
    }
}

//! Card lines: the text a card shows, identical in the tray menu and in `overwatch status`.

use time::OffsetDateTime;

use crate::model::{Card, Mode, ReasonKind, Service, Status};
use crate::text::ago;
pub use crate::text::next_age_change;

/// How long until the soonest relative time of these cards ("updated 2 min
/// ago", from a card's `updated_at` or the last answer) reads differently:
/// between a second and an hour (an hour when there is none).
pub fn next_time_change<'a>(
    cards: impl IntoIterator<Item = (Option<&'a Card>, Option<OffsetDateTime>)>,
    now: OffsetDateTime,
) -> std::time::Duration {
    cards
        .into_iter()
        .flat_map(|(card, last_success)| [card.and_then(|c| c.updated_at), last_success])
        .flatten()
        .map(|t| next_age_change(t, now))
        .min()
        .unwrap_or(std::time::Duration::from_secs(3600))
        .clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(3600),
        )
}

/// The text of one card, line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardLines {
    /// "✓ API · Railway"
    pub title: String,
    /// The summary ("all 3 services running"), or the reason in plain words.
    pub summary: String,
    /// "services: 3/3 running"
    pub metrics: Vec<String>,
    /// "⟳ deploying api" while a deploy runs.
    pub activity: Option<String>,
    /// "updated 2 min ago", "updated 14 min ago — stale"; `None` for link-only services.
    pub updated: Option<String>,
}

/// The status a service shows: `None` for link-only services (they colour nothing).
pub(crate) fn shown_status(service: &Service, card: Option<&Card>) -> Option<Status> {
    if service.mode == Mode::Link {
        return None;
    }
    Some(card.map(|c| c.status).unwrap_or(Status::Loading))
}

/// Builds the lines of a service's card. `stale` marks data older than it
/// should be. Every line is one line of harmless text ([`crate::text::clean`]):
/// names come from the config and summaries from providers.
pub fn lines(
    service: &Service,
    card: Option<&Card>,
    now: OffsetDateTime,
    stale: bool,
) -> CardLines {
    let raw = raw_lines(service, card, now, stale);
    let c = |s: String| crate::text::clean(&s).into_owned();
    CardLines {
        title: c(raw.title),
        summary: c(raw.summary),
        metrics: raw.metrics.into_iter().map(c).collect(),
        activity: raw.activity.map(c),
        updated: raw.updated.map(c),
    }
}

fn raw_lines(
    service: &Service,
    card: Option<&Card>,
    now: OffsetDateTime,
    stale: bool,
) -> CardLines {
    let provider = service.provider().title();
    if service.mode == Mode::Link {
        return CardLines {
            title: format!("↗ {} · {provider}", service.name),
            summary: "dashboard link".into(),
            metrics: Vec::new(),
            activity: None,
            updated: None,
        };
    }
    let status = card.map(|c| c.status).unwrap_or(Status::Loading);
    let summary = match card {
        None => "checking…".to_string(),
        Some(c) => match &c.reason {
            Some(r) if c.status == Status::Unknown => plain_reason(r.kind, &r.message),
            _ => c.summary.clone(),
        },
    };
    // A metric that only repeats the summary line is left out.
    let metrics = card
        .map(|c| {
            c.metrics
                .iter()
                .map(|m| format!("{}: {}", m.label, m.value))
                .filter(|line| *line != summary)
                .collect()
        })
        .unwrap_or_default();
    let activity = card.filter(|c| c.in_progress).map(|c| {
        format!(
            "⟳ {}",
            c.activity
                .clone()
                .unwrap_or_else(|| "deploy in progress".into())
        )
    });
    let updated = Some(match card.and_then(|c| c.updated_at) {
        None => "not checked yet".to_string(),
        Some(t) => {
            let age = ago(t, now);
            if stale {
                format!("updated {age} — stale")
            } else {
                format!("updated {age}")
            }
        }
    });
    CardLines {
        title: format!("{} {} · {provider}", status.glyph(), service.name),
        summary,
        metrics,
        activity,
        updated,
    }
}

fn plain_reason(kind: ReasonKind, message: &str) -> String {
    let lead = match kind {
        ReasonKind::Offline => "offline",
        ReasonKind::Unreachable => "can't reach the API",
        ReasonKind::Timeout => "no answer",
        ReasonKind::Auth => "API key rejected",
        ReasonKind::RateLimited => "rate limited",
        ReasonKind::Config => "check the settings",
        ReasonKind::BadResponse => "unexpected answer",
    };
    let lower = message.to_lowercase();
    let lead_words: Vec<&str> = lead.split_whitespace().collect();
    if lead_words.iter().any(|w| w.len() > 3 && lower.contains(w)) {
        message.to_string()
    } else {
        format!("{lead}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RailwayTarget;
    use crate::model::{Metric, Reason, Target};
    use crate::secrets::KeyRef;
    use time::macros::datetime;

    fn svc() -> Service {
        Service::example(
            "Acme",
            "API",
            Target::Railway(RailwayTarget {
                project: "p".into(),
                environment: "production".into(),
                token_kind: Default::default(),
            }),
            Some(KeyRef::Keychain("acme-railway".into())),
        )
    }

    #[test]
    fn a_healthy_card_reads_like_the_menu() {
        let now = datetime!(2026-11-25 18:00 UTC);
        let card = Card {
            status: Status::Healthy,
            reason: None,
            in_progress: true,
            activity: Some("deploying api".into()),
            summary: "all 3 services running".into(),
            metrics: vec![
                Metric::new("services", "3/3 running"),
                Metric::new("last deploy", "2 h ago"),
            ],
            details: Vec::new(),
            dashboard_url: None,
            link: None,
            gauge: None,
            updated_at: Some(datetime!(2026-11-25 17:58 UTC)),
        };
        let l = lines(&svc(), Some(&card), now, false);
        assert_eq!(l.title, "✓ API · Railway");
        assert_eq!(l.summary, "all 3 services running");
        assert_eq!(l.metrics, ["services: 3/3 running", "last deploy: 2 h ago"]);
        assert_eq!(l.activity.as_deref(), Some("⟳ deploying api"));
        assert_eq!(l.updated.as_deref(), Some("updated 2 min ago"));
        let stale = lines(&svc(), Some(&card), datetime!(2026-11-25 18:12 UTC), true);
        assert_eq!(stale.updated.as_deref(), Some("updated 14 min ago — stale"));
    }

    #[test]
    fn unknown_cards_say_why_in_plain_words() {
        let card = Card::unknown(Reason::new(ReasonKind::Timeout, "no answer within 15s"));
        let l = lines(&svc(), Some(&card), datetime!(2026-11-25 18:00 UTC), false);
        assert_eq!(l.title, "? API · Railway");
        assert_eq!(l.summary, "no answer within 15s");
        let card = Card::unknown(Reason::new(
            ReasonKind::Auth,
            "HTTP 401 — run `overwatch secret set acme-railway`",
        ));
        let l = lines(&svc(), Some(&card), datetime!(2026-11-25 18:00 UTC), false);
        assert_eq!(
            l.summary,
            "API key rejected: HTTP 401 — run `overwatch secret set acme-railway`"
        );
    }

    #[test]
    fn age_labels_change_exactly_when_predicted() {
        let then = datetime!(2026-11-25 18:00 UTC);
        for start in [
            0i64, 10, 44, 45, 89, 90, 600, 3500, 3569, 3570, 7000, 200_000,
        ] {
            let now = then + time::Duration::seconds(start);
            let wait = next_age_change(then, now).as_secs() as i64;
            let label = ago(then, now);
            let before = then + time::Duration::seconds(start + wait - 1);
            let after = then + time::Duration::seconds(start + wait);
            assert_eq!(
                ago(then, before),
                label,
                "no change before the predicted time (from {start}s)"
            );
            assert_ne!(
                ago(then, after),
                label,
                "a change at the predicted time (from {start}s)"
            );
        }
    }

    #[test]
    fn link_services_and_first_polls() {
        let mut link = svc();
        link.mode = Mode::Link;
        let l = lines(&link, None, datetime!(2026-11-25 18:00 UTC), false);
        assert_eq!(l.title, "↗ API · Railway");
        assert_eq!(l.updated, None);
        assert_eq!(shown_status(&link, None), None);
        let l = lines(&svc(), None, datetime!(2026-11-25 18:00 UTC), false);
        assert_eq!(l.title, "… API · Railway");
        assert_eq!(shown_status(&svc(), None), Some(Status::Loading));
    }
}

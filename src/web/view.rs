//! The dashboard's data as JSON: the engine's snapshot and the app's state turned into the grid the page draws (cards, counts, the 24-hour strips), with every text from a provider or the config cleaned on the way out.
//!
//! Built from the same [`live::menu_state`] the tray uses, so the page shows
//! the same confirmed statuses, stale marks, mutes and local clock times.
//! Text is cleaned here ([`crate::text::clean`]: no control or bidi
//! characters); the page puts it in the document as text, never as markup.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use time::OffsetDateTime;

use super::AppInfo;
use crate::engine::history::{Bucket, BUCKETS, BUCKET_SECS};
use crate::engine::{ServiceView as EngineView, Snapshot};
use crate::model::{Card, Mode, ReasonKind, Service, Status};
use crate::secrets::KeyRef;
use crate::text::clean;
use crate::view::icon::Look;
use crate::view::live::{self, AppView};
use crate::view::{card, menu, Counts};

/// Everything the page shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Page {
    /// Data from the built-in simulator, not the user's services.
    pub demo: bool,
    pub config_path: String,
    /// Why the config file cannot be used (with its file:line), when it cannot.
    pub config_error: Option<String>,
    pub engine_fault: Option<String>,
    pub offline: bool,
    /// Auto-refresh is off.
    pub paused: bool,
    /// "1 down · 2 degraded · 5 healthy", as the tray's header says it.
    pub headline: String,
    /// The icon's look: healthy, degraded, down, unknown, loading, offline.
    pub look: &'static str,
    pub counts: CountsView,
    pub workspaces: Vec<WorkspaceView>,
    /// No service at all: the page's call to action.
    pub empty: bool,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct CountsView {
    pub healthy: usize,
    pub degraded: usize,
    pub down: usize,
    pub unknown: usize,
    pub loading: usize,
    /// Link-only services (shown, never checked).
    pub link: usize,
    pub disabled: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkspaceView {
    pub name: String,
    /// The worst status of its checked services; `None` when none is checked.
    pub worst: Option<&'static str>,
    /// "2 healthy · 1 down".
    pub headline: String,
    pub muted: Option<String>,
    pub services: Vec<CardView>,
}

/// One metric: a label and a value, side by side on the card.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricView {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReasonView {
    pub kind: &'static str,
    pub message: String,
}

/// One service's card.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CardView {
    pub id: String,
    pub name: String,
    pub workspace: String,
    pub provider: &'static str,
    pub provider_title: &'static str,
    pub mode: &'static str,
    pub enabled: bool,
    /// Its position in the workspace (0-based) and the workspace's size, for
    /// the move buttons.
    pub position: usize,
    pub siblings: usize,
    /// The status shown (after hysteresis); `None` for link-only and disabled services.
    pub status: Option<&'static str>,
    /// The status in a word, never colour alone: "Healthy", "Down", "Link only".
    pub word: String,
    /// A glyph that reads without colour (✓ ! × ? … ↗).
    pub glyph: &'static str,
    pub summary: String,
    /// The first few metric lines, shown in two columns.
    pub metrics: Vec<MetricView>,
    /// The rest of the facts (commit, branch, users affected…).
    pub details: Vec<MetricView>,
    /// "deploying api", while a deploy runs (never a colour change).
    pub activity: Option<String>,
    pub reason: Option<ReasonView>,
    /// The fix the card offers: "set-key" (the key was rejected or is
    /// missing from the keychain), "env" (set an environment variable), "edit".
    pub fix: Option<&'static str>,
    /// The key's name (never its value), and where it lives.
    pub key: Option<String>,
    pub key_source: Option<&'static str>,
    /// "updated 2 min ago" (with "— stale" when old); `None` for link-only.
    pub updated: Option<String>,
    pub updated_at: Option<String>,
    pub stale: bool,
    /// A check is running or queued: the card shows it is loading.
    pub polling: bool,
    pub muted: Option<String>,
    /// "since 09:12" on the user's clock: when the shown status began.
    pub since: Option<String>,
    pub flapping: bool,
    /// Where "Open ↗" goes (an http(s) URL).
    pub open_url: Option<String>,
    pub history: Option<HistoryView>,
    /// What the config says, for the edit dialog.
    pub settings: Settings,
}

/// A service's settings as the edit dialog shows them (key names only).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Settings {
    /// The provider's target fields ("site", "project"…).
    pub target: BTreeMap<String, String>,
    pub base_url: Option<String>,
    /// Only when set in the config (otherwise derived from the target).
    pub dashboard: Option<String>,
    pub refresh: Option<String>,
}

fn settings(s: &Service) -> Settings {
    Settings {
        target: s
            .target
            .values()
            .into_iter()
            .map(|(k, v)| (k.to_string(), c(&v)))
            .collect(),
        base_url: s.base_url.as_ref().map(|u| c(u.as_str())),
        dashboard: s.dashboard.as_ref().map(|u| c(u.as_str())),
        refresh: s.refresh.map(crate::model::format_duration),
    }
}

/// The 24-hour strip and sparkline.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryView {
    /// One letter per quarter hour, oldest first: h d x u l, or `.` unchecked.
    pub cells: String,
    /// `1` where a deploy ran in that quarter hour, else `0`; empty when none ran.
    pub deploys: String,
    /// The main number per quarter hour (`null` where none); `None` when the
    /// service has no main number.
    pub values: Option<Vec<Option<u64>>>,
    /// What the number is ("visitors now"); `None`: the service has none.
    pub label: Option<String>,
    /// The strip in words, for screen readers and tooltips.
    pub summary: String,
    /// When the first cell starts (RFC 3339).
    pub start: String,
    pub bucket_minutes: i64,
}

fn c(s: &str) -> String {
    clean(s).into_owned()
}

fn rfc3339(t: OffsetDateTime) -> Option<String> {
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// A status in one word.
pub fn word(s: Status) -> &'static str {
    match s {
        Status::Healthy => "Healthy",
        Status::Degraded => "Degraded",
        Status::Down => "Down",
        Status::Unknown => "Unknown",
        Status::Loading => "Checking…",
    }
}

/// Builds the page for a snapshot. `missing_keys` are the keychain names a
/// service uses that the keychain does not hold (their cards offer "Set key…").
pub fn page(
    app: &AppInfo,
    snap: &Snapshot,
    now: OffsetDateTime,
    missing_keys: &HashSet<String>,
) -> Page {
    let view = AppView {
        config: &app.config,
        config_error: app.config_error.as_deref(),
        demo: app.demo,
        autostart: false,
        zone: &app.zone,
        notice: None,
    };
    let state = live::menu_state(&view, snap, now);
    let mut counts = Counts::default();
    let (mut link, mut disabled) = (0, 0);
    let workspaces = state
        .workspaces
        .iter()
        .map(|ws| {
            let n = ws.services.len();
            let services: Vec<CardView> = ws
                .services
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let ev = snap.service(&v.service.id);
                    let mut cv = card_view(
                        &v.service,
                        v.card.as_ref(),
                        ev,
                        v.stale,
                        now,
                        app,
                        missing_keys,
                    );
                    cv.muted = v.muted.clone().map(|m| c(&m));
                    cv.position = i;
                    cv.siblings = n;
                    cv
                })
                .collect();
            let statuses: Vec<Status> = ws
                .services
                .iter()
                .filter(|v| v.service.enabled)
                .filter_map(|v| card::shown_status(&v.service, v.card.as_ref()))
                .collect();
            for v in &ws.services {
                if !v.service.enabled {
                    disabled += 1;
                } else if v.service.mode == Mode::Link {
                    link += 1;
                }
            }
            let wc = Counts::of(statuses.iter().copied());
            counts = Counts {
                healthy: counts.healthy + wc.healthy,
                degraded: counts.degraded + wc.degraded,
                down: counts.down + wc.down,
                unknown: counts.unknown + wc.unknown,
                loading: counts.loading + wc.loading,
            };
            WorkspaceView {
                name: c(&ws.name),
                worst: Status::worst(statuses).map(Status::as_str),
                headline: wc.headline(),
                muted: ws.muted.clone().map(|m| c(&m)),
                services,
            }
        })
        .collect::<Vec<_>>();
    let empty = workspaces.iter().all(|w| w.services.is_empty());
    Page {
        demo: app.demo,
        config_path: app.config_path.display().to_string(),
        config_error: app.config_error.clone(),
        engine_fault: snap.engine_fault.clone(),
        offline: snap.offline(),
        paused: state.refresh.is_none(),
        headline: menu::headline(&state),
        look: live::look(&state).name(),
        counts: CountsView {
            healthy: counts.healthy,
            degraded: counts.degraded,
            down: counts.down,
            unknown: counts.unknown,
            loading: counts.loading,
            link,
            disabled,
        },
        workspaces,
        empty,
    }
}

/// One service's card. `card` carries the confirmed status already.
pub fn card_view(
    service: &Service,
    card: Option<&Card>,
    engine: Option<&EngineView>,
    stale: bool,
    now: OffsetDateTime,
    app: &AppInfo,
    missing_keys: &HashSet<String>,
) -> CardView {
    let lines = card::lines(service, card, now, stale);
    let link_only = service.mode == Mode::Link;
    let status = if service.enabled && !link_only {
        Some(card.map(|c| c.status).unwrap_or(Status::Loading))
    } else {
        None
    };
    let (word_text, glyph) = match status {
        Some(s) => (word(s).to_string(), s.glyph()),
        None if !service.enabled => ("Disabled".to_string(), "–"),
        None => ("Link only".to_string(), "↗"),
    };
    let summary_line = lines.summary.clone();
    let metrics: Vec<MetricView> = card
        .filter(|_| !link_only)
        .map(|c| {
            c.metrics
                .iter()
                .filter(|m| format!("{}: {}", m.label, m.value) != summary_line)
                .map(|m| MetricView {
                    label: self::c(&m.label),
                    value: self::c(&m.value),
                })
                .collect()
        })
        .unwrap_or_default();
    let (metrics, mut details) = if metrics.len() > 4 {
        let mut m = metrics;
        let rest = m.split_off(4);
        (m, rest)
    } else {
        (metrics, Vec::new())
    };
    if let Some(card) = card.filter(|_| !link_only) {
        details.extend(card.details.iter().map(|m| MetricView {
            label: c(&m.label),
            value: c(&m.value),
        }));
    }
    let reason = card
        .filter(|c| c.status == Status::Unknown && !link_only)
        .and_then(|c| c.reason.as_ref());
    let fix = reason.and_then(|r| match (&service.key, r.kind) {
        (Some(KeyRef::Keychain(_)), ReasonKind::Auth) => Some("set-key"),
        (Some(KeyRef::Keychain(k)), ReasonKind::Config) if missing_keys.contains(k) => {
            Some("set-key")
        }
        (Some(KeyRef::Env(_)), ReasonKind::Auth | ReasonKind::Config) => Some("env"),
        (_, ReasonKind::Config) => Some("edit"),
        _ => None,
    });
    let open_url = if link_only {
        Some(service.dashboard_url())
    } else {
        card.and_then(|c| c.open_url().map(str::to_string))
            .or_else(|| Some(service.dashboard_url()))
    }
    .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let since = engine
        .filter(|_| status.is_some())
        .and_then(|e| e.since)
        .map(|t| format!("since {}", menu::clock(t, &app.zone)));
    let history = engine
        .filter(|_| !link_only)
        .map(|e| history_view(&e.timeline, now));
    CardView {
        id: c(&service.id.0),
        name: c(&service.name),
        workspace: c(&service.workspace),
        provider: service.provider().as_str(),
        provider_title: service.provider().title(),
        mode: service.mode.as_str(),
        enabled: service.enabled,
        position: 0,
        siblings: 1,
        status: status.map(Status::as_str),
        word: word_text,
        glyph,
        summary: if link_only {
            "Dashboard link only — not checked".into()
        } else if !service.enabled {
            "Disabled — not checked".into()
        } else {
            lines.summary
        },
        metrics,
        details,
        activity: card
            .filter(|c| c.in_progress && !link_only)
            .map(|c| {
                c.activity
                    .clone()
                    .unwrap_or_else(|| "deploy in progress".into())
            })
            .map(|a| self::c(&a)),
        reason: reason.map(|r| ReasonView {
            kind: r.kind.as_str(),
            message: c(&r.message),
        }),
        fix,
        key: service.key.as_ref().map(|k| c(&k.to_string())),
        key_source: service.key.as_ref().map(|k| match k {
            KeyRef::Keychain(_) => "keychain",
            KeyRef::Env(_) => "env",
        }),
        updated: if service.enabled { lines.updated } else { None },
        updated_at: card.and_then(|c| c.updated_at).and_then(rfc3339),
        stale,
        polling: engine.is_some_and(|e| e.polling),
        muted: None,
        since,
        flapping: engine.is_some_and(|e| e.flapping),
        open_url: open_url.map(|u| c(&u)),
        history,
        settings: settings(service),
    }
}

fn letter(b: &Option<Bucket>) -> char {
    match b.map(|b| b.worst) {
        None => '.',
        Some(Status::Healthy) => 'h',
        Some(Status::Degraded) => 'd',
        Some(Status::Down) => 'x',
        Some(Status::Unknown) => 'u',
        Some(Status::Loading) => 'l',
    }
}

/// The last 24 hours of a service, as the page draws them.
pub fn history_view(h: &crate::engine::history::History, now: OffsetDateTime) -> HistoryView {
    let window = h.window(now);
    let cells: String = window.iter().map(letter).collect();
    let ran = |b: &Option<Bucket>| b.is_some_and(|b| b.deploying);
    let deploys: String = if window.iter().any(ran) {
        window
            .iter()
            .map(|b| if ran(b) { '1' } else { '0' })
            .collect()
    } else {
        String::new()
    };
    let values = h
        .label()
        .map(|_| window.iter().map(|b| b.and_then(|b| b.value)).collect());
    let first = crate::engine::history::bucket_start(now) - BUCKET_SECS * (BUCKETS as i64 - 1);
    let quarter = std::time::Duration::from_secs(BUCKET_SECS as u64);
    let mut parts = Vec::new();
    for (ch, what) in [
        ('x', "down"),
        ('d', "degraded"),
        ('u', "unknown"),
        ('h', "healthy"),
    ] {
        let n = cells.chars().filter(|c| *c == ch).count() as u32;
        if n > 0 {
            parts.push(format!("{} {what}", crate::text::span(quarter * n)));
        }
    }
    let unchecked = cells.chars().filter(|c| *c == '.').count() as u32;
    let summary = if unchecked as usize == BUCKETS {
        "Last 24 hours: no checks yet".to_string()
    } else {
        if unchecked > 0 {
            parts.push(format!(
                "{} not checked",
                crate::text::span(quarter * unchecked)
            ));
        }
        format!("Last 24 hours: {}", parts.join(", "))
    };
    HistoryView {
        cells,
        deploys,
        values,
        label: h.label().map(c),
        summary,
        start: OffsetDateTime::from_unix_timestamp(first)
            .ok()
            .and_then(rfc3339)
            .unwrap_or_default(),
        bucket_minutes: BUCKET_SECS / 60,
    }
}

/// The look's name for the icon of a status (the page's favicon and marks).
pub fn look_of(s: Status) -> &'static str {
    Look::from_status(s).name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::history::History;
    use crate::engine::Zone;
    use crate::model::{Gauge, Metric, Reason};
    use std::path::PathBuf;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-08-22 12:07 UTC);

    fn app(text: &str) -> AppInfo {
        AppInfo {
            config: std::sync::Arc::new(
                crate::config::parse(text, std::path::Path::new("x")).unwrap(),
            ),
            config_error: None,
            demo: false,
            config_path: PathBuf::from("/c/config.toml"),
            zone: Zone::utc(),
        }
    }

    const CONFIG: &str = r#"
[[workspaces]]
name = "Acme <b>"

[[workspaces.services]]
name = "Shop"
provider = "railway"
project = "p1"
key = "acme-railway"

[[workspaces.services]]
name = "Docs"
provider = "netlify"
site = "docs"
mode = "link"

[[workspaces.services]]
name = "Web"
provider = "plausible"
site = "example.com"
key = "env:PLAUSIBLE"
enabled = false
"#;

    fn snap(app: &AppInfo, card: Card) -> Snapshot {
        let svc = app.config.services().next().unwrap().clone();
        let mut timeline = History::default();
        timeline.observe(NOW - time::Duration::minutes(30), &card);
        timeline.observe(NOW, &card);
        Snapshot {
            services: vec![std::sync::Arc::new(EngineView {
                service: svc,
                card: Some(card.clone()),
                stale: false,
                polling: true,
                status: Some(card.status),
                since: Some(datetime!(2026-08-22 11:02 UTC)),
                last_success: None,
                interval: None,
                muted: None,
                flapping: false,
                history: Vec::new(),
                timeline,
            })],
            ..Snapshot::default()
        }
    }

    #[test]
    fn the_page_counts_cards_and_says_what_each_is() {
        let app = app(CONFIG);
        let mut card = Card::loading();
        card.status = Status::Down;
        card.summary = "api crashed\u{1b}[2J".into();
        card.metrics = (0..6).map(|i| Metric::new(format!("m{i}"), "v")).collect();
        card.gauge = Some(Gauge {
            label: "x".into(),
            value: 7,
        });
        card.updated_at = Some(NOW);
        let p = page(&app, &snap(&app, card), NOW, &HashSet::new());
        assert_eq!(p.counts.down, 1);
        assert_eq!((p.counts.link, p.counts.disabled), (1, 1));
        assert_eq!(p.look, "down");
        assert!(!p.empty);
        let ws = &p.workspaces[0];
        assert_eq!(ws.name, "Acme <b>", "kept as text; the page escapes it");
        assert_eq!(ws.worst, Some("down"));
        let shop = &ws.services[0];
        assert_eq!((shop.status, shop.word.as_str()), (Some("down"), "Down"));
        assert_eq!(
            shop.summary, "api crashed\u{fffd}[2J",
            "controls neutralised"
        );
        assert_eq!(shop.metrics.len(), 4);
        assert_eq!(shop.details.len(), 2, "the rest go to details");
        assert!(shop.polling);
        assert_eq!(shop.since.as_deref(), Some("since 11:02"));
        assert_eq!((shop.position, shop.siblings), (0, 3));
        let h = shop.history.as_ref().unwrap();
        assert_eq!(h.cells.len(), BUCKETS);
        assert!(h.cells.ends_with("x.x"), "{}", h.cells);
        assert_eq!(h.values.as_ref().unwrap()[BUCKETS - 1], Some(7));
        assert_eq!(h.deploys, "", "no deploy ran");
        assert!(h.summary.contains("30 min down"), "{}", h.summary);
        let docs = &ws.services[1];
        assert_eq!((docs.status, docs.word.as_str()), (None, "Link only"));
        assert!(docs.open_url.as_deref().unwrap().starts_with("https://"));
        assert!(docs.history.is_none());
        let web = &ws.services[2];
        assert_eq!((web.status, web.word.as_str()), (None, "Disabled"));
        assert_eq!(web.key_source, Some("env"));
    }

    #[test]
    fn a_rejected_or_missing_key_offers_set_key() {
        let app = app(CONFIG);
        let rejected = Card::unknown(Reason::new(ReasonKind::Auth, "HTTP 401"));
        let p = page(&app, &snap(&app, rejected), NOW, &HashSet::new());
        let shop = &p.workspaces[0].services[0];
        assert_eq!(shop.fix, Some("set-key"));
        assert_eq!(shop.reason.as_ref().unwrap().kind, "auth");
        assert_eq!(shop.key.as_deref(), Some("acme-railway"));
        let missing = Card::unknown(Reason::new(ReasonKind::Config, "not in the keychain"));
        let keys = HashSet::from(["acme-railway".to_string()]);
        let p = page(&app, &snap(&app, missing.clone()), NOW, &keys);
        assert_eq!(p.workspaces[0].services[0].fix, Some("set-key"));
        let p = page(&app, &snap(&app, missing), NOW, &HashSet::new());
        assert_eq!(p.workspaces[0].services[0].fix, Some("edit"));
    }

    #[test]
    fn no_services_is_the_empty_state() {
        let app = app("");
        let p = page(&app, &Snapshot::default(), NOW, &HashSet::new());
        assert!(p.empty);
        assert_eq!(p.headline, "No services yet");
    }
}

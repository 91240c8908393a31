//! The `overwatch status` report: the documented JSON schema and its text rendering.

use serde::Serialize;
use time::OffsetDateTime;

use super::card;
use super::Counts;
use crate::model::{Card, Metric, Mode, Provider, Reason, Service, Status, Workspace};

/// The whole report (`overwatch status --json`). A stable interface: scripts read it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Worst of every checked service; `unknown` when nothing was checked.
    pub status: Status,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    pub workspaces: Vec<WorkspaceReport>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkspaceReport {
    pub name: String,
    /// Worst of its checked services; `null` when it has none.
    pub status: Option<Status>,
    pub services: Vec<ServiceReport>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceReport {
    pub id: String,
    pub name: String,
    pub provider: Provider,
    pub mode: Mode,
    /// `null` for link-only services.
    pub status: Option<Status>,
    pub in_progress: bool,
    /// What is in progress ("deploying api"), when `in_progress`.
    pub activity: Option<String>,
    pub summary: String,
    pub reason: Option<Reason>,
    pub metrics: Vec<Metric>,
    /// Facts beyond the metric lines (commit, branch, users affected); omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Metric>,
    pub dashboard_url: String,
    /// The provider's page about what the card reports (failed deploy, top issue); omitted when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl Report {
    /// Builds the report from workspaces and the card found for each service
    /// (`card_of` returns `None` for services that were not checked).
    pub fn build<'a>(
        workspaces: impl IntoIterator<Item = &'a Workspace>,
        card_of: impl Fn(&Service) -> Option<Card>,
        checked_at: OffsetDateTime,
    ) -> Report {
        let mut out = Vec::new();
        for ws in workspaces {
            let services: Vec<ServiceReport> = ws
                .services
                .iter()
                .filter(|s| s.enabled)
                .map(|s| service_report(s, card_of(s)))
                .collect();
            out.push(WorkspaceReport {
                name: ws.name.clone(),
                status: Status::worst(services.iter().filter_map(|s| s.status)),
                services,
            });
        }
        let status = Status::worst(out.iter().filter_map(|w| w.status)).unwrap_or(Status::Unknown);
        Report {
            status,
            checked_at,
            workspaces: out,
        }
    }

    /// Counts of the checked services.
    pub fn counts(&self) -> Counts {
        Counts::of(
            self.workspaces
                .iter()
                .flat_map(|w| w.services.iter().filter_map(|s| s.status)),
        )
    }

    /// The monitoring-plugin exit code of the whole report.
    pub(crate) fn exit_code(&self) -> i32 {
        self.status.exit_code()
    }

    /// The same lines the tray menu shows, for a terminal. Titles carry their
    /// status colour as ANSI styles; the writer keeps or strips them (`--color`, NO_COLOR).
    pub(crate) fn render_text(&self, services: &[&Service]) -> String {
        let top = paint(Some(self.status)).bold();
        let mut out = format!("{top}Overwatch:{top:#} {}\n", self.counts().headline());
        for ws in &self.workspaces {
            let counts = Counts::of(ws.services.iter().filter_map(|s| s.status));
            let glyph = ws.status.map(|s| s.glyph()).unwrap_or("↗");
            let st = paint(ws.status).bold();
            out.push_str(&format!(
                "\n{st}{glyph} {}{st:#} — {}\n",
                crate::text::clean(&ws.name),
                counts.headline()
            ));
            for sr in &ws.services {
                let Some(svc) = services.iter().find(|s| s.id.0 == sr.id) else {
                    continue;
                };
                let card = sr.status.map(|status| Card {
                    status,
                    reason: sr.reason.clone(),
                    in_progress: sr.in_progress,
                    activity: sr.activity.clone(),
                    summary: sr.summary.clone(),
                    metrics: sr.metrics.clone(),
                    details: sr.details.clone(),
                    dashboard_url: Some(sr.dashboard_url.clone()),
                    link: sr.link.clone(),
                    gauge: None,
                    updated_at: sr.updated_at,
                });
                let l = card::lines(svc, card.as_ref(), self.checked_at, false);
                let st = paint(sr.status);
                out.push_str(&format!("  {st}{}{st:#} — {}\n", l.title, l.summary));
                for m in &l.metrics {
                    out.push_str(&format!("      {m}\n"));
                }
                if let Some(a) = &l.activity {
                    out.push_str(&format!("      {a}\n"));
                }
                if let Some(u) = &l.updated {
                    out.push_str(&format!("      {u}\n"));
                }
                if svc.mode == Mode::Link {
                    out.push_str(&format!(
                        "      {}\n",
                        crate::text::clean(&sr.dashboard_url)
                    ));
                }
            }
        }
        out
    }
}

/// The terminal colour of a status (none for link-only services and loading).
fn paint(status: Option<Status>) -> anstyle::Style {
    use anstyle::AnsiColor;
    match status {
        Some(Status::Healthy) => AnsiColor::Green.on_default(),
        Some(Status::Degraded) => AnsiColor::Yellow.on_default(),
        Some(Status::Down) => AnsiColor::Red.on_default(),
        Some(Status::Unknown) => AnsiColor::Magenta.on_default(),
        Some(Status::Loading) | None => anstyle::Style::new(),
    }
}

fn service_report(s: &Service, card: Option<Card>) -> ServiceReport {
    let status = card::shown_status(s, card.as_ref());
    let card = card.unwrap_or_else(Card::loading);
    let link_only = s.mode == Mode::Link;
    ServiceReport {
        id: s.id.0.clone(),
        name: s.name.clone(),
        provider: s.provider(),
        mode: s.mode,
        status,
        in_progress: !link_only && card.in_progress,
        activity: if link_only { None } else { card.activity },
        summary: if link_only {
            "dashboard link".into()
        } else {
            card.summary
        },
        reason: if link_only { None } else { card.reason },
        metrics: if link_only { Vec::new() } else { card.metrics },
        details: if link_only { Vec::new() } else { card.details },
        dashboard_url: card.dashboard_url.unwrap_or_else(|| s.dashboard_url()),
        link: if link_only { None } else { card.link },
        updated_at: if link_only { None } else { card.updated_at },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NetlifyTarget;
    use crate::model::{ReasonKind, Target};
    use crate::secrets::KeyRef;
    use time::macros::datetime;

    fn ws() -> Workspace {
        let mut api = Service::example(
            "Acme",
            "API",
            Target::Netlify(NetlifyTarget { site: "a".into() }),
            Some(KeyRef::Env("T".into())),
        );
        api.id.0 = "acme/api".into();
        let mut link = api.clone();
        link.name = "Docs".into();
        link.id.0 = "acme/docs".into();
        link.mode = Mode::Link;
        let mut off = api.clone();
        off.name = "Old".into();
        off.id.0 = "acme/old".into();
        off.enabled = false;
        Workspace {
            name: "Acme".into(),
            services: vec![api, link, off],
        }
    }

    #[test]
    fn the_json_has_the_documented_shape() {
        let w = ws();
        let at = datetime!(2026-11-25 18:00 UTC);
        let r = Report::build(
            [&w],
            |s| {
                (s.name == "API")
                    .then(|| Card::unknown(Reason::new(ReasonKind::Timeout, "no answer")))
            },
            at,
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["status"], "unknown");
        assert_eq!(v["checked_at"], "2026-11-25T18:00:00Z");
        let svcs = v["workspaces"][0]["services"].as_array().unwrap();
        assert_eq!(svcs.len(), 2, "disabled services are left out");
        assert_eq!(svcs[0]["reason"]["kind"], "timeout");
        assert_eq!(svcs[0]["mode"], "api");
        assert_eq!(svcs[1]["mode"], "link");
        assert!(svcs[1]["status"].is_null());
        assert!(svcs[1]["reason"].is_null());
        assert_eq!(r.exit_code(), 3);
        for key in [
            "id",
            "name",
            "provider",
            "mode",
            "status",
            "in_progress",
            "summary",
            "reason",
            "metrics",
            "dashboard_url",
            "updated_at",
        ] {
            assert!(svcs[0].get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn nothing_checked_is_unknown() {
        let r = Report::build([], |_| None, datetime!(2026-11-25 18:00 UTC));
        assert_eq!(r.status, Status::Unknown);
        assert_eq!(r.exit_code(), 3);
    }
}

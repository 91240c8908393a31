//! The engine's snapshot as what people see: the menu model and the icon, for the tray and the dashboard — so every surface shows the same confirmed statuses and local times.

use std::time::Duration;

use time::OffsetDateTime;

use super::card;
use super::icon::Look;
use super::menu::{self, MenuState, Notify, ServiceView, WorkspaceView};
use crate::config::Config;
use crate::engine::state::{MuteTarget, MuteUntil};
use crate::engine::{Snapshot, Zone};

/// What the app knows besides the engine's snapshot.
#[derive(Debug, Clone)]
pub struct AppView<'a> {
    /// The config in force (the last good one, or the demo's).
    pub config: &'a Config,
    pub config_error: Option<&'a str>,
    pub demo: bool,
    pub autostart: bool,
    /// The user's time zone, for clock times.
    pub zone: &'a Zone,
    /// What the app could not do for a click (shown in the menu).
    pub notice: Option<&'a str>,
}

/// The menu model for a snapshot.
pub(crate) fn menu_state(app: &AppView<'_>, snap: &Snapshot, now: OffsetDateTime) -> MenuState {
    let mute_label = |m: &MuteUntil| match m {
        MuteUntil::Time(t) => format!("muted until {}", menu::clock(*t, app.zone)),
        MuteUntil::Recovered => "muted until it recovers".to_string(),
    };
    let workspaces = app
        .config
        .workspaces
        .iter()
        .map(|ws| WorkspaceView {
            name: ws.name.clone(),
            muted: snap
                .mutes
                .iter()
                .find(|m| matches!(&m.target, MuteTarget::Workspace(n) if crate::config::same_name(n, &ws.name)))
                .map(|m| mute_label(&m.until)),
            services: ws
                .services
                .iter()
                .map(|s| {
                    let v = snap.service(&s.id);
                    // Show the confirmed status (after hysteresis), so the colour
                    // changes when a notification would, not on one odd answer.
                    let card = v.and_then(|v| {
                        v.card.clone().map(|mut c| {
                            if let Some(st) = v.status {
                                c.status = st;
                            }
                            c
                        })
                    });
                    ServiceView {
                        service: s.clone(),
                        card,
                        stale: v.is_some_and(|v| v.stale),
                        muted: v.and_then(|v| v.muted.as_ref()).map(mute_label),
                        last_success: v.and_then(|v| v.last_success),
                    }
                })
                .collect(),
        })
        .collect();
    MenuState {
        workspaces,
        offline: snap.offline(),
        demo: app.demo,
        config_error: app.config_error.map(str::to_string),
        engine_fault: snap.engine_fault.clone(),
        notice: app.notice.map(str::to_string),
        refresh: if snap.paused {
            None
        } else {
            app.config.refresh
        },
        notify: match (app.config.notifications, snap.notifications_paused_until) {
            (false, _) => Notify::Off,
            (true, Some(t)) if t > now => Notify::PausedUntil(t),
            _ => Notify::On,
        },
        autostart: app.autostart,
        now,
        zone: app.zone.clone(),
    }
}

/// When the next "updated N min ago" label changes, so relative times stay
/// current without polling the network or ticking every second.
pub(crate) fn next_label_change(snap: &Snapshot, now: OffsetDateTime) -> Duration {
    snap.services
        .iter()
        .flat_map(|v| [v.card.as_ref().and_then(|c| c.updated_at), v.last_success])
        .flatten()
        .map(|t| card::next_age_change(t, now))
        .min()
        .unwrap_or(Duration::from_secs(3600))
        .clamp(Duration::from_secs(1), Duration::from_secs(3600))
}

/// The icon's look for a menu state: offline, else the worst status; the
/// neutral look when there is nothing to watch (no news is not bad news).
pub fn look(state: &MenuState) -> Look {
    if state.offline {
        return Look::Offline;
    }
    match menu::worst(state) {
        Some(s) => Look::from_status(s),
        None if !menu::has_services(state) => Look::Neutral,
        None => Look::Healthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::Mute;

    /// Workspace names compare in Unicode lower case everywhere (the config,
    /// the CLI, mutes): a mute on "ÄPI" covers the workspace "äpi".
    #[test]
    fn a_workspace_mute_matches_in_unicode_lower_case() {
        let config = crate::config::parse(
            "[[workspaces]]\nname = \"äpi\"\n",
            std::path::Path::new("x"),
        )
        .unwrap();
        let snap = Snapshot {
            mutes: vec![Mute {
                target: MuteTarget::Workspace("ÄPI".into()),
                until: MuteUntil::Recovered,
            }],
            ..Snapshot::default()
        };
        let zone = Zone::utc();
        let app = AppView {
            config: &config,
            config_error: None,
            demo: false,
            autostart: false,
            zone: &zone,
            notice: None,
        };
        let state = menu_state(&app, &snap, OffsetDateTime::now_utc());
        assert_eq!(
            state.workspaces[0].muted.as_deref(),
            Some("muted until it recovers")
        );
    }
}

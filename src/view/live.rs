//! The engine's snapshot as what people see: the menu model and the icon, for the tray and the dashboard — so every surface shows the same confirmed statuses and local times.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::card;
use super::icon::Look;
use super::menu::{self, MenuState, Notify, ServiceView, WorkspaceView};
use crate::config::Config;
use crate::engine::state::{MuteTarget, MuteUntil};
use crate::engine::{ServiceView as EngineView, Snapshot, Zone};
use crate::model::ServiceId;

/// What the app knows besides the engine's snapshot.
#[derive(Debug, Clone)]
pub struct AppView<'a> {
    /// The config in force (the last good one, or the demo's).
    pub config: &'a Arc<Config>,
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
    menu_state_with(app, snap, now, &mut Memo::default())
}

/// What the previous menu state was made of: a workspace whose services'
/// engine views are the same allocations as last time (the engine shares
/// unchanged ones), under the same config, is not made again.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    config: Option<Arc<Config>>,
    workspaces: Vec<WorkspaceMemo>,
    /// The menu's nodes, for [`menu::build_with`].
    pub nodes: menu::NodeMemo,
}

#[derive(Debug)]
struct WorkspaceMemo {
    views: Vec<Option<Arc<EngineView>>>,
    muted: Option<String>,
    made: Arc<WorkspaceView>,
}

/// [`menu_state`], making only the workspaces whose services changed.
pub(crate) fn menu_state_with(
    app: &AppView<'_>,
    snap: &Snapshot,
    now: OffsetDateTime,
    memo: &mut Memo,
) -> MenuState {
    let mute_label = |m: &MuteUntil| match m {
        MuteUntil::Time(t) => format!("muted until {}", menu::clock(*t, app.zone)),
        MuteUntil::Recovered => "muted until it recovers".to_string(),
    };
    if !memo
        .config
        .as_ref()
        .is_some_and(|c| Arc::ptr_eq(c, app.config))
    {
        memo.config = Some(app.config.clone());
        memo.workspaces.clear();
    }
    // The snapshot lists the services in config order unless the engine is
    // between two configs: then look them up by id.
    let in_order = snap.services.len() == app.config.services().count()
        && snap
            .services
            .iter()
            .zip(app.config.services())
            .all(|(v, s)| v.service.id == s.id);
    let by_id: HashMap<&ServiceId, &Arc<EngineView>> = if in_order {
        HashMap::new()
    } else {
        snap.services.iter().map(|v| (&v.service.id, v)).collect()
    };
    let mut next = 0;
    let mut workspaces = Vec::with_capacity(app.config.workspaces.len());
    for (wi, ws) in app.config.workspaces.iter().enumerate() {
        let views: Vec<Option<Arc<EngineView>>> = ws
            .services
            .iter()
            .map(|s| {
                let v = if in_order {
                    snap.services.get(next)
                } else {
                    by_id.get(&s.id).copied()
                };
                next += 1;
                v.cloned()
            })
            .collect();
        let muted = snap
            .mutes
            .iter()
            .find(|m| matches!(&m.target, MuteTarget::Workspace(n) if crate::config::same_name(n, &ws.name)))
            .map(|m| mute_label(&m.until));
        if let Some(m) = memo.workspaces.get(wi) {
            let same = m.muted == muted
                && m.views.len() == views.len()
                && m.views.iter().zip(&views).all(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                });
            if same {
                workspaces.push(m.made.clone());
                continue;
            }
        }
        let made = Arc::new(WorkspaceView {
            name: ws.name.clone(),
            muted: muted.clone(),
            services: ws
                .services
                .iter()
                .zip(&views)
                .map(|(s, v)| {
                    let v = v.as_deref();
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
        });
        let m = WorkspaceMemo {
            views,
            muted,
            made: made.clone(),
        };
        match memo.workspaces.get_mut(wi) {
            Some(slot) => *slot = m,
            None => memo.workspaces.push(m),
        }
        workspaces.push(made);
    }
    memo.workspaces.truncate(app.config.workspaces.len());
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
    card::next_time_change(
        snap.services
            .iter()
            .map(|v| (v.card.as_ref(), v.last_success)),
        now,
    )
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

    /// A plain app around `config`: not the demo, no error, no notice.
    fn app_view<'a>(config: &'a Arc<Config>, zone: &'a Zone) -> AppView<'a> {
        AppView {
            config,
            config_error: None,
            demo: false,
            autostart: false,
            zone,
            notice: None,
        }
    }

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
        let config = Arc::new(config);
        let app = app_view(&config, &zone);
        let state = menu_state(&app, &snap, OffsetDateTime::now_utc());
        assert_eq!(
            state.workspaces[0].muted.as_deref(),
            Some("muted until it recovers")
        );
    }

    /// Per poll result, only what changed is made again: the other
    /// workspaces' states and nodes are the previous ones (shared), and the
    /// menu's steps touch only the changed workspace. Relative times still
    /// move: a workspace is rebuilt once its "updated N min ago" would read
    /// differently, not before.
    #[test]
    fn a_poll_result_rebuilds_only_its_workspace_until_a_time_label_moves() {
        use crate::model::{Card, Status};
        let config = Arc::new(
            crate::config::parse(
                r#"
[[workspaces]]
name = "One"
[[workspaces.services]]
name = "a"
provider = "netlify"
site = "a"
key = "env:K"
[[workspaces]]
name = "Two"
[[workspaces.services]]
name = "b"
provider = "netlify"
site = "b"
key = "env:K"
"#,
                std::path::Path::new("x"),
            )
            .unwrap(),
        );
        let t0 = time::macros::datetime!(2026-07-15 08:00 UTC);
        let view = |i: usize, summary: &str| {
            let service = config.services().nth(i).unwrap().clone();
            Arc::new(EngineView {
                service,
                card: Some(Card {
                    summary: summary.into(),
                    updated_at: Some(t0),
                    status: Status::Healthy,
                    ..Card::loading()
                }),
                stale: false,
                polling: false,
                status: Some(Status::Healthy),
                since: None,
                last_success: Some(t0),
                interval: None,
                muted: None,
                flapping: false,
                history: Vec::new(),
                timeline: Default::default(),
            })
        };
        let (a, b) = (view(0, "live"), view(1, "live"));
        let snap1 = Snapshot {
            services: vec![a.clone(), b.clone()],
            ..Snapshot::default()
        };
        let zone = Zone::utc();
        let app = app_view(&config, &zone);
        let mut memo = Memo::default();
        let now = t0 + time::Duration::seconds(5);
        let s1 = menu_state_with(&app, &snap1, now, &mut memo);
        let m1 = menu::build_with(&s1, &mut memo.nodes);
        // "b" answers again: only workspace "Two" is made and built again.
        let snap2 = Snapshot {
            services: vec![a.clone(), view(1, "deploy failed")],
            ..Snapshot::default()
        };
        let later = now + time::Duration::seconds(10);
        let s2 = menu_state_with(&app, &snap2, later, &mut memo);
        assert!(Arc::ptr_eq(&s1.workspaces[0], &s2.workspaces[0]));
        assert!(!Arc::ptr_eq(&s1.workspaces[1], &s2.workspaces[1]));
        let m2 = menu::build_with(&s2, &mut memo.nodes);
        let ws = |m: &[menu::Node], name: &str| {
            m.iter()
                .find(|n| n.id == format!("ws:{name}"))
                .unwrap()
                .children
                .clone()
        };
        assert!(Arc::ptr_eq(&ws(&m1, "One"), &ws(&m2, "One")));
        let ops = menu::diff(&m1, &m2);
        assert!(!ops.is_empty());
        assert!(
            ops.iter().all(|o| match o {
                menu::Op::Set(c) => !c.id.contains("One") && !c.id.contains("/a"),
                _ => false,
            }),
            "{ops:?}"
        );
        // The menu says when it next needs building: when "updated 5 s ago"
        // would read "updated 1 min ago" (45 s after the answer).
        let wait = memo.nodes.next_change(later);
        assert_eq!(wait, std::time::Duration::from_secs(30));
        // Then the unchanged workspace is built again, with the new time.
        let s3 = menu_state_with(&app, &snap2, later + wait, &mut memo);
        assert!(Arc::ptr_eq(&s2.workspaces[0], &s3.workspaces[0]));
        let m3 = menu::build_with(&s3, &mut memo.nodes);
        assert!(!Arc::ptr_eq(&ws(&m2, "One"), &ws(&m3, "One")));
        let full = menu::build(&s3);
        assert_eq!(m3, full, "a memo build equals a build from scratch");
    }
}

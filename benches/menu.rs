//! Menu work: builds the menu model for 10 / 100 / 500 services and applies in-place updates through the tray's own update path (muda on GTK when a display is there), printing a markdown table.
//!
//! Run: `cargo bench --bench menu` (inside `scripts/session.sh` to include
//! the toolkit: real GTK menu items, attached to a registered tray icon whose
//! menu a D-Bus client has read, so libdbusmenu sends its property updates).

use std::sync::Arc;
use std::time::{Duration, Instant};

use overwatch::model::{Card, Metric, NetlifyTarget, Service, ServiceId, Status, Target};
use overwatch::secrets::KeyRef;
use overwatch::view::menu::{self, MenuState, Node, Notify, Op, ServiceView, WorkspaceView};
use time::OffsetDateTime;

const SIZES: [usize; 4] = [10, 100, 500, 1000];
const UPDATES: usize = 40;

fn state(n: usize, now: OffsetDateTime, tick: u64) -> MenuState {
    let updated = now - time::Duration::minutes(2);
    let workspaces = (0..n.div_ceil(10))
        .map(|w| {
            Arc::new(WorkspaceView {
                name: format!("Fleet {}", w + 1),
                muted: None,
                services: (w * 10..((w + 1) * 10).min(n))
                    .map(|i| {
                        let mut service = Service::example(
                            &format!("Fleet {}", w + 1),
                            &format!("S{i}"),
                            Target::Netlify(NetlifyTarget {
                                site: format!("fleet-{i}"),
                            }),
                            Some(KeyRef::Env("T".into())),
                        );
                        service.id = ServiceId(format!("fleet/s{i}"));
                        ServiceView {
                            service,
                            card: Some(Card {
                                status: Status::Healthy,
                                reason: None,
                                in_progress: false,
                                activity: None,
                                summary: format!("{} visitors today", 1000 + tick * 7 + i as u64),
                                metrics: vec![
                                    Metric::new("published", format!("{} min ago", 3 + tick)),
                                    Metric::new("last deploy", "ready 3 h ago"),
                                ],
                                details: Vec::new(),
                                dashboard_url: Some(format!("https://app.netlify.com/sites/s{i}")),
                                link: None,
                                gauge: None,
                                updated_at: Some(updated),
                            }),
                            stale: false,
                            muted: None,
                            last_success: Some(updated),
                        }
                    })
                    .collect(),
            })
        })
        .collect();
    MenuState {
        workspaces,
        offline: false,
        demo: false,
        config_error: None,
        engine_fault: None,
        notice: None,
        refresh: Some(Duration::from_secs(60)),
        notify: Notify::On,
        autostart: false,
        now,
        zone: overwatch::engine::Zone::utc(),
    }
}

fn count(nodes: &[Node]) -> usize {
    nodes.iter().map(|n| 1 + count(&n.children)).sum()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(target_os = "linux")]
mod toolkit {
    //! The GTK side: a registered tray icon with our menu, and a way to let
    //! GTK/libdbusmenu finish the work an update queued.
    use std::process::{Child, Command};
    use std::time::{Duration, Instant};

    pub fn available() -> bool {
        std::env::var_os("DISPLAY").is_some() && gtk::init().is_ok()
    }

    /// Runs pending GTK work (idle handlers, D-Bus signals) until none is left.
    pub fn pump() {
        while gtk::events_pending() {
            gtk::main_iteration_do(false);
        }
    }

    /// Pumps while `child` runs (it talks to us over D-Bus), up to `limit`.
    pub fn pump_while(mut child: Child, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            pump();
            if let Ok(Some(st)) = child.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        false
    }

    /// Reads the exported menu once over D-Bus (as a tray host does), so
    /// libdbusmenu sends property updates for its items from then on.
    pub fn read_layout() -> bool {
        let sni = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/sni.py");
        match Command::new("/usr/bin/python3")
            .arg(sni)
            .arg("layout")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            Ok(c) => pump_while(c, Duration::from_secs(20)),
            Err(_) => false,
        }
    }
}

fn main() {
    let t0 = OffsetDateTime::now_utc();
    #[cfg(target_os = "linux")]
    let gui = toolkit::available();
    #[cfg(not(target_os = "linux"))]
    let gui = false;

    println!("| services | menu items | update | labels changed | build model | diff | in-place apply (toolkit) | toolkit follow-up | **update total** | unchanged state |");
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for n in SIZES {
        let base = state(n, t0, 0);
        // Every card changes (a minute passes for everything) ...
        let all = state(n, t0 + time::Duration::minutes(1), 1);
        // ... or one poll result arrives (one card changes).
        let mut one = base.clone();
        if let Some(c) = Arc::make_mut(&mut one.workspaces[0]).services[0]
            .card
            .as_mut()
        {
            c.summary = "1 visitor today".into();
            c.metrics[0] = Metric::new("published", "just now");
        }
        let items = count(&menu::build(&base));
        let none = menu::diff(&menu::build(&base), &menu::build(&base));
        let same = if none.is_empty() {
            "Same: nothing applied".to_string()
        } else {
            format!("**{} steps**", none.len())
        };
        for (what, other) in [("every card", &all), ("one card", &one)] {
            let states = [&base, other];
            // Built as the tray builds them, one after the other: the
            // workspaces that did not change are the same nodes in both.
            let mut shared = menu::NodeMemo::default();
            let models: Vec<Vec<Node>> = states
                .iter()
                .map(|s| menu::build_with(s, &mut shared))
                .collect();
            let ops = menu::diff(&models[0], &models[1]);
            let labels = ops
                .iter()
                .filter(|o| matches!(o, Op::Set(c) if c.label.is_some()))
                .count();
            let changed = if menu::is_structural(&ops) {
                format!("{labels} + **inserts/removals**")
            } else {
                format!("{labels} (in place)")
            };
            let (mut build, mut diff) = (Vec::new(), Vec::new());
            // As the tray builds: the previous build's workspaces are reused
            // where their state is the same allocation (only the changed
            // workspace is built again for one poll result).
            let mut memo = menu::NodeMemo::default();
            let mut prev = menu::build_with(states[1], &mut memo);
            for k in 0..UPDATES {
                let t = Instant::now();
                let m = menu::build_with(states[k % 2], &mut memo);
                build.push(ms(t.elapsed()));
                // Against the previous build, as the tray diffs: unchanged
                // workspaces are the same nodes and are skipped.
                let t = Instant::now();
                let d = menu::diff(&prev, &m);
                diff.push(ms(t.elapsed()));
                std::hint::black_box(d);
                prev = m;
            }
            let (apply, follow) = if gui {
                toolkit_updates(&models)
            } else {
                (None, None)
            };
            let b = median(&mut build);
            let d = median(&mut diff);
            let fmt =
                |v: Option<f64>| v.map_or("n/a (no display)".into(), |x| format!("{x:.2} ms"));
            let total = b + apply.unwrap_or(d) + follow.unwrap_or(0.0);
            println!(
                "| {n} | {items} | {what} | {changed} | {b:.2} ms | {d:.2} ms | {} | {} | **{total:.2} ms** | {same} |",
                fmt(apply),
                fmt(follow),
            );
        }
    }
    println!();
    println!("Medians of {UPDATES} updates each, alternating two states. \"Every card\": each service's summary and a metric change (2 labels per service, what a minute passing does to a synchronised fleet); \"one card\": one poll result in a menu of that size (the tray renders on every result). \"In-place apply\" is the tray's own update path (diff + `set_text` on muda/GTK items) with every submenu built (as if a host had opened each one) and the menu exported by libdbusmenu to a tray host that has read it; \"toolkit follow-up\" is the GTK/libdbusmenu work it queues (property signals), run to completion. Total = build + apply + follow-up.");
}

#[cfg(target_os = "linux")]
fn toolkit_updates(models: &[Vec<Node>]) -> (Option<f64>, Option<f64>) {
    use overwatch::desktop::tray::{Applied, MenuRenderer};
    let mut r = MenuRenderer::new(&models[0]);
    // Every submenu built, as after a host has opened each one: the most
    // work an update can find (closed ones are skipped).
    r.open_everything();
    let items = count(&models[0]);
    let attach = std::env::var_os("MENU_BENCH_NO_TRAY").is_none();
    let tray = attach
        .then(|| {
            tray_icon::TrayIconBuilder::new()
                .with_id(format!("menu-bench-{items}"))
                .with_menu(Box::new(r.menu().clone()))
                .with_icon(
                    tray_icon::Icon::from_rgba(vec![255; 32 * 32 * 4], 32, 32).expect("icon"),
                )
                .build()
                .ok()
        })
        .flatten();
    toolkit::pump();
    let read = tray.is_some() && toolkit::read_layout();
    if !read {
        eprintln!("menu bench: no tray host read the menu ({items} items); timing GTK items only");
    }
    let (mut apply, mut follow) = (Vec::new(), Vec::new());
    for k in 1..=UPDATES {
        let next = models[k % 2].clone();
        let t = Instant::now();
        let what = r.update(next);
        apply.push(ms(t.elapsed()));
        if what == Applied::Reshaped {
            eprintln!("menu bench: a label-only update inserted or removed entries");
        }
        let t = Instant::now();
        toolkit::pump();
        follow.push(ms(t.elapsed()));
    }
    drop(tray);
    toolkit::pump();
    (Some(median(&mut apply)), Some(median(&mut follow)))
}

#[cfg(not(target_os = "linux"))]
fn toolkit_updates(_: &[Vec<Node>]) -> (Option<f64>, Option<f64>) {
    (None, None)
}

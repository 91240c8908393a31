//! `overwatch watch`: the engine without a tray — prints every notification-worthy event as a line (or a JSON object) as it happens, and sends it as a desktop notification unless `--no-notify`.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use tokio::sync::broadcast::error::RecvError;

use super::Ctx;
use crate::desktop::notifier::DesktopNotifier;
use crate::engine::{state, Engine, Notifier};
use crate::wiring::Wiring;

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// One JSON object per event line (at, workspace, service, provider, from, to, kind, title, body).
    #[arg(long)]
    pub json: bool,
    /// Print events only; send no desktop notifications.
    #[arg(long)]
    pub no_notify: bool,
}

pub fn run(ctx: &Ctx, args: WatchArgs) -> Result<i32> {
    let (path, config) = ctx.load_config()?;
    let polled = config.services().filter(|s| s.polled()).count();
    if polled == 0 {
        anyhow::bail!(
            "{} has no enabled API services to watch: add one with `overwatch service add`",
            path.display()
        );
    }
    let wiring = Arc::new(Wiring::system());
    let notifier: Option<Arc<dyn Notifier>> = if args.no_notify {
        None
    } else if !config.notifications {
        tracing::info!("notifications = false in the config: printing events only");
        None
    } else {
        Some(Arc::new(DesktopNotifier::new()))
    };
    let state_path = match state::default_path() {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!("{e}; state will not persist across restarts");
            None
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let opts = wiring.engine_options(&config, notifier, state_path)?;
        let handle = Engine::start(config, opts);
        let mut events = handle.events();
        let mut faults = handle.faults();
        eprintln!(
            "watching {} from {} (Ctrl-C to stop)",
            super::plural(polled, "service"),
            path.display()
        );
        let zone = wiring.clock().zone();
        let mut out = std::io::stdout();
        let stop = stop_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        // Muted and paused events are for the tray's history, not this stream.
                        if ev.silenced.is_some() {
                            continue;
                        }
                        let line = if args.json {
                            ev.json_line().to_string()
                        } else {
                            ev.text_line(&zone)
                        };
                        // A closed pipe (`overwatch watch | head`) ends the watch
                        // quietly; any other write error (a full disk) ends it
                        // loudly: events are being lost.
                        if let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush()) {
                            if e.kind() == std::io::ErrorKind::BrokenPipe {
                                break;
                            }
                            eprintln!("error: {}", super::StdoutError(e));
                            let _ = handle.shutdown().await;
                            return Ok(super::OUTPUT_FAILED);
                        }
                    }
                    Err(RecvError::Lagged(n)) => tracing::warn!("{n} events were dropped (output too slow)"),
                    Err(RecvError::Closed) => break,
                },
                _ = &mut stop => break,
                // The engine restarts itself, but a script reading this stream
                // must learn that it missed time: stop, loudly.
                r = faults.changed() => {
                    if r.is_err() {
                        break;
                    }
                    let fault = faults.borrow().clone();
                    if let Some(f) = fault {
                        eprintln!("error: {f}");
                        let _ = handle.shutdown().await;
                        return Ok(1);
                    }
                }
            }
        }
        let _ = handle.shutdown().await;
        Ok::<_, anyhow::Error>(0)
    })
}

/// Resolves on Ctrl-C (and, on Unix, SIGTERM), so the state is saved on the way out.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

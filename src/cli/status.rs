//! `overwatch status`: check every enabled service once, concurrently, and print the cards (text or JSON) with a monitoring-plugin exit code.

use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use time::OffsetDateTime;

use super::{print_json, Ctx};
use crate::config;
use crate::model::{Card, Reason, ReasonKind, Service};
use crate::providers::http::Http;
use crate::secrets::SecretStore;
use crate::view::report::Report;
use crate::wiring::Wiring;

/// Exit code for anything that stops the check itself (config error, no services).
const UNKNOWN: i32 = 3;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON for scripts (schema in the README).
    #[arg(long)]
    pub json: bool,
    /// Only this workspace.
    #[arg(short, long)]
    pub workspace: Option<String>,
}

pub fn run(ctx: &Ctx, args: StatusArgs) -> Result<i32> {
    let config = match ctx.config_path().and_then(|p| config::load(&p)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(UNKNOWN);
        }
    };
    let workspaces: Vec<_> = match &args.workspace {
        Some(name) => match config.workspace(name) {
            Some(w) => vec![w.clone()],
            None => {
                eprintln!("error: no workspace named `{name}`: see `overwatch workspace list`");
                return Ok(UNKNOWN);
            }
        },
        None => config.workspaces.clone(),
    };
    let services: Vec<Service> = workspaces
        .iter()
        .flat_map(|w| w.services.iter())
        .filter(|s| s.polled())
        .cloned()
        .collect();
    if workspaces.iter().all(|w| w.services.is_empty()) {
        eprintln!("no services to check: add one with `overwatch service add`");
        return Ok(UNKNOWN);
    }
    let wiring = Wiring::system();
    let store = wiring.store_for(&config);
    let http = match wiring.http_for(&config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(UNKNOWN);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cards = rt.block_on(check_all(http, store, services));
    let now = OffsetDateTime::now_utc();
    let report = Report::build(
        workspaces.iter(),
        |s| {
            cards
                .iter()
                .find(|(id, _)| *id == s.id.0)
                .map(|(_, c)| c.clone())
        },
        now,
    );
    let printed = if args.json {
        print_json(&report)
    } else {
        let all: Vec<&Service> = workspaces.iter().flat_map(|w| w.services.iter()).collect();
        super::out(report.render_text(&all)).map_err(Into::into)
    };
    match printed {
        Ok(()) => Ok(report.exit_code()),
        // A closed pipe (`overwatch status | head -1`): the checks' verdict
        // stands, so the exit code a script tests is still the status.
        Err(e)
            if e.downcast_ref::<super::StdoutError>()
                .is_some_and(super::StdoutError::closed) =>
        {
            Ok(report.exit_code())
        }
        // A full disk: the caller has no answer — "unknown", said on stderr.
        Err(e) => {
            eprintln!("error: {e}");
            Ok(super::OUTPUT_FAILED)
        }
    }
}

/// Checks every service concurrently: the HTTP layer lets at most
/// [`PER_HOST_IN_FLIGHT`](crate::providers::http::PER_HOST_IN_FLIGHT)
/// requests reach one host at once, so a large config is not hundreds of
/// connections to one provider.
async fn check_all(
    http: Http,
    store: Arc<dyn SecretStore>,
    services: Vec<Service>,
) -> Vec<(String, Card)> {
    let mut tasks = tokio::task::JoinSet::new();
    let ids: Vec<String> = services.iter().map(|s| s.id.0.clone()).collect();
    for svc in services {
        let (http, store) = (http.clone(), store.clone());
        tasks.spawn(async move {
            let result = http
                .check(&svc, store.as_ref(), OffsetDateTime::now_utc())
                .await;
            (svc.id.0.clone(), result.card)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        // A check never fails; a task can only end early if it panicked
        // outside the adapter (which `check` already guards), so skip it.
        if let Ok(pair) = joined {
            out.push(pair);
        }
    }
    for id in ids {
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((
                id,
                Card::unknown(Reason::new(
                    ReasonKind::BadResponse,
                    "internal error while checking this service (see the log)",
                )),
            ));
        }
    }
    out
}

//! `overwatch sim`: run the loopback simulator of the four providers, to try Overwatch without accounts.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::Ctx;
use crate::config;
use crate::sim::{self, Scenario, SimConfig};

/// The environment variable the demo config reads the simulator's token from.
pub const DEMO_TOKEN_ENV: &str = "OVERWATCH_DEMO_TOKEN";

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (default: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Also write a config that watches the simulated services to this file.
    #[arg(long, value_name = "PATH")]
    pub write_config: Option<PathBuf>,
    /// With --write-config: replace the file if it exists (it could be your real config).
    #[arg(long, requires = "write_config")]
    pub force: bool,
    /// Serve every target with this scenario instead of the demo timeline
    /// (healthy, deploy-failing, crash, deploying, error-spike, fatal,
    /// traffic-collapse, auth-failure, rate-limited, slow, garbage, server-error, story).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Delay every provider answer by this many milliseconds (a network round trip).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,
    /// With --write-config: a fleet of N services (the providers in turn) instead of the demo's eight.
    #[arg(long, value_name = "N")]
    pub services: Option<usize>,
    /// With --services: only these providers (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "railway,plausible,netlify,sentry"
    )]
    pub providers: Vec<String>,
    /// With --write-config: the config's refresh interval.
    #[arg(long, default_value = "10s")]
    pub refresh: String,
}

pub fn run(_ctx: &Ctx, args: SimArgs) -> Result<i32> {
    // Checked before the simulator starts: the path could be the real config,
    // and a demo config silently over it would stop watching the real services.
    if let Some(path) = &args.write_config {
        if std::fs::symlink_metadata(path).is_ok() && !args.force {
            anyhow::bail!(
                "{} already exists; it was left as it is (pass --force to replace it with the demo config)",
                path.display()
            );
        }
    }
    let mut cfg = SimConfig::demo();
    if let Some(name) = &args.scenario {
        let scenario: Scenario = name.parse().map_err(anyhow::Error::msg)?;
        for (_, s) in cfg.targets.iter_mut() {
            *s = scenario.clone();
        }
        cfg.fallback = scenario;
    }
    cfg.latency = std::time::Duration::from_millis(args.latency);
    let (services, refresh) = (args.services, args.refresh.clone());
    let providers = args
        .providers
        .iter()
        .map(|p| p.parse::<crate::model::Provider>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let write = args.write_config.clone();
    sim::serve_forever(args.port, cfg, move |base| {
        let _ = outln!(
            "simulator listening on {base} (token: {})",
            sim::DEFAULT_TOKEN
        );
        if let Some(path) = &write {
            let key = format!("env:{DEMO_TOKEN_ENV}");
            let text = match services {
                Some(n) => sim::fleet_config_toml(base, &key, &refresh, n, &providers),
                None => sim::demo_config_toml(base, &key, &refresh),
            };
            match config::write_atomic(path, text.as_bytes()).context("writing the demo config") {
                Ok(()) => {
                    let _ = outln!(
                        "wrote {}; try: {DEMO_TOKEN_ENV}={} overwatch --config {} status",
                        path.display(),
                        sim::DEFAULT_TOKEN,
                        path.display()
                    );
                }
                Err(e) => eprintln!("error: {e:#}"),
            }
        }
        let _ = outln!("press Ctrl-C to stop");
    })?;
    Ok(0)
}

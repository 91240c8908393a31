//! `overwatch config path|init|check`.

use anyhow::{bail, Result};
use clap::Subcommand;

use super::{plural, Ctx};
use crate::config;

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print the path of the config file in use.
    Path,
    /// Write the commented example config (never over an existing file).
    Init,
    /// Validate the config file and report every problem with its line.
    Check,
}

pub fn run(ctx: &Ctx, cmd: ConfigCmd) -> Result<i32> {
    let path = ctx.config_path()?;
    match cmd {
        ConfigCmd::Path => outln!("{}", path.display())?,
        ConfigCmd::Init => {
            if path.exists() {
                bail!(
                    "{} already exists; it was left as it is (delete it first to start over)",
                    path.display()
                );
            }
            config::write_atomic(&path, config::EXAMPLE.as_bytes())?;
            eprintln!(
                "wrote the example config to {}: edit it, or use `overwatch workspace` and `overwatch service`",
                path.display()
            );
        }
        ConfigCmd::Check => {
            let c = config::load(&path)?;
            {
                let services: Vec<_> = c.services().collect();
                let keys = c.key_refs();
                outln!(
                    "{} is valid: {}, {}, {} ({} refresh)",
                    path.display(),
                    plural(c.workspaces.len(), "workspace"),
                    plural(services.len(), "service"),
                    plural(keys.len(), "key"),
                    config::refresh_value(c.refresh)
                )?;
            }
        }
    }
    Ok(0)
}

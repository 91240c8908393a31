//! `overwatch watch`: the engine without a tray (being written).

use anyhow::Result;
use clap::Args;

use super::Ctx;

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// One JSON object per event line.
    #[arg(long)]
    pub json: bool,
    /// Print events only; send no desktop notifications.
    #[arg(long)]
    pub no_notify: bool,
}

pub fn run(_ctx: &Ctx, _args: WatchArgs) -> Result<i32> {
    anyhow::bail!("`overwatch watch` is not built yet")
}

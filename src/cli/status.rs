//! `overwatch status` (being written).

use anyhow::Result;
use clap::Args;

use super::Ctx;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Only this workspace.
    #[arg(short, long)]
    pub workspace: Option<String>,
}

pub fn run(_ctx: &Ctx, _args: StatusArgs) -> Result<i32> {
    Ok(3)
}

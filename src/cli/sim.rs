//! `overwatch sim` (being written).

use anyhow::Result;
use clap::Args;

use super::Ctx;

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (default: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

pub fn run(_ctx: &Ctx, _args: SimArgs) -> Result<i32> {
    Ok(0)
}

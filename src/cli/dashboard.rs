//! `overwatch dashboard`: open the running tray's dashboard page in the browser (or print a one-time sign-in link), or say how to start the tray.

use anyhow::{bail, Result};
use clap::Args;

use super::Ctx;
use crate::desktop::control::{self, Ask, AskError};

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Print a one-time sign-in link instead of opening the browser (it
    /// works once, within two minutes, in a browser on this machine).
    #[arg(long)]
    pub url: bool,
}

pub fn run(_ctx: &Ctx, args: DashboardArgs) -> Result<i32> {
    let dir = control::runtime_dir();
    let ask = if args.url { Ask::Url } else { Ask::Open };
    match control::ask(&dir, ask) {
        Ok(text) if args.url => {
            outln!("{text}")?;
            Ok(0)
        }
        Ok(text) => {
            eprintln!("{text}");
            Ok(0)
        }
        Err(AskError::NotRunning) => {
            // A tray that holds the lock but does not answer is another story.
            if crate::desktop::app::single_instance(&dir)?.is_none() {
                bail!(
                    "Overwatch is running but its tray did not answer at {}: quit it from its tray menu and start it again",
                    dir.join(control::SOCKET).display()
                );
            }
            eprintln!(
                "Overwatch is not running. Start it with `overwatch` (or `overwatch demo` to try it with demo data),\nthen open the dashboard from its tray menu (Open Overwatch…) or run `overwatch dashboard` again."
            );
            Ok(1)
        }
        Err(AskError::Failed(why)) => bail!("the dashboard could not be opened: {why}"),
    }
}

//! `overwatch workspace add|rename|remove|list`.

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use super::{plural, print_json, saved, Ctx};
use crate::config::Editor;

#[derive(Debug, Subcommand)]
pub enum WorkspaceCmd {
    /// Create an empty workspace.
    Add {
        /// The new workspace's name ("Acme").
        name: String,
    },
    /// Rename a workspace (its services keep their ids, state and mutes).
    Rename {
        /// The workspace's current name.
        from: String,
        /// Its new name.
        to: String,
    },
    /// Remove a workspace; one with services needs --force.
    Remove {
        /// The workspace to remove.
        name: String,
        /// Also remove the services it holds.
        #[arg(long)]
        force: bool,
    },
    /// List workspaces with their service counts.
    List {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Row {
    name: String,
    services: usize,
    enabled: usize,
}

pub fn run(ctx: &Ctx, cmd: WorkspaceCmd) -> Result<i32> {
    match cmd {
        WorkspaceCmd::Add { name } => {
            let mut ed = Editor::open(&ctx.config_path()?)?;
            ed.add_workspace(&name)?;
            ed.save()?;
            eprintln!("added workspace `{}` ({})", name.trim(), saved(ed.path()));
        }
        WorkspaceCmd::Rename { from, to } => {
            let mut ed = Editor::open(&ctx.config_path()?)?;
            ed.rename_workspace(&from, &to)?;
            ed.save()?;
            eprintln!(
                "renamed workspace `{from}` to `{}` ({})",
                to.trim(),
                saved(ed.path())
            );
        }
        WorkspaceCmd::Remove { name, force } => {
            let mut ed = Editor::open(&ctx.config_path()?)?;
            let n = ed.remove_workspace(&name, force)?;
            ed.save()?;
            eprintln!(
                "removed workspace `{name}`{} ({})",
                if n > 0 {
                    format!(" and its {}", plural(n, "service"))
                } else {
                    String::new()
                },
                saved(ed.path())
            );
        }
        WorkspaceCmd::List { json } => {
            let (_, config) = ctx.load_config()?;
            let rows: Vec<Row> = config
                .workspaces
                .iter()
                .map(|w| Row {
                    name: w.name.clone(),
                    services: w.services.len(),
                    enabled: w.services.iter().filter(|s| s.enabled).count(),
                })
                .collect();
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                eprintln!("No workspaces yet: `overwatch workspace add NAME` creates one.");
            } else {
                for r in rows {
                    let disabled = r.services - r.enabled;
                    outln!(
                        "{}  ({}{})",
                        r.name,
                        plural(r.services, "service"),
                        if disabled > 0 {
                            format!(", {disabled} disabled")
                        } else {
                            String::new()
                        }
                    )?;
                }
            }
        }
    }
    Ok(0)
}

//! The command line: argument definitions, logging, and dispatch to one file per subcommand.

/// `println!` that returns a [`StdoutError`] instead of panicking when
/// standard output is a closed pipe or a full disk.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::cli::out(format!("{}\n", format_args!($($t)*)))
    };
}

mod config_cmd;
mod dashboard;
mod prompt;
mod secret;
mod service;
mod sim;
mod status;
mod watch;
mod workspace;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::config::{self, Config, ConfigError};
use crate::secrets::SecretStore;

/// Watch Railway, Plausible, Netlify and Sentry services from one tray icon.
#[derive(Debug, Parser)]
#[command(name = "overwatch", version, about, long_about = None)]
pub struct Cli {
    /// Config file to use (default: the platform config dir; also OVERWATCH_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Never ask questions, even in a terminal (missing fields are errors).
    #[arg(long, global = true)]
    pub no_input: bool,

    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,
}

// Parsed once per run: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, rename, remove and list workspaces.
    #[command(subcommand)]
    Workspace(workspace::WorkspaceCmd),
    /// Add, edit, remove, enable, disable, move and list services.
    #[command(subcommand)]
    Service(service::ServiceCmd),
    /// Store, delete and list API keys in the OS keychain.
    #[command(subcommand)]
    Secret(secret::SecretCmd),
    /// Show, create or check the config file.
    #[command(subcommand)]
    Config(config_cmd::ConfigCmd),
    /// Check every service once and print its card (exit 0 healthy, 1 degraded, 2 down, 3 unknown).
    Status(status::StatusArgs),
    /// Run the engine in the terminal: print status changes as they happen and notify.
    Watch(watch::WatchArgs),
    /// Run the loopback simulator of the four providers' APIs (for trying Overwatch out).
    Sim(sim::SimArgs),
    /// Start the tray with built-in demo data (a simulator with a scripted timeline).
    Demo,
    /// Open the running tray's dashboard page in the browser (the grid of every service, add and edit).
    Dashboard(dashboard::DashboardArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    // The tray logs its start-up (backends, paths) by default; commands stay quiet.
    let tray_mode = matches!(cli.command, None | Some(Command::Demo));
    init_logging(cli.verbose + u8::from(tray_mode));
    match run(cli) {
        Ok(code) => code,
        // The reader went away (`overwatch service list | head -1`): what it
        // wanted it got; end quietly, as a command whose output was read.
        Err(e)
            if e.downcast_ref::<StdoutError>()
                .is_some_and(StdoutError::closed) =>
        {
            0
        }
        Err(e) if e.downcast_ref::<StdoutError>().is_some() => {
            eprintln!("error: {e}");
            OUTPUT_FAILED
        }
        Err(e) => {
            eprintln!("error: {}", render_error(&e));
            1
        }
    }
}

/// One line per cause, without repeating what the outer message already says.
fn render_error(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(&format!("\n  caused by: {c}"));
        }
    }
    out
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "warn,overwatch=info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

fn run(cli: Cli) -> Result<i32> {
    let ctx = Ctx {
        config_flag: cli.config.clone(),
        interactive: !cli.no_input
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal(),
    };
    match cli.command {
        Some(Command::Workspace(c)) => workspace::run(&ctx, c),
        Some(Command::Service(c)) => service::run(&ctx, c),
        Some(Command::Secret(c)) => secret::run(&ctx, c),
        Some(Command::Config(c)) => config_cmd::run(&ctx, c),
        Some(Command::Status(a)) => status::run(&ctx, a),
        Some(Command::Watch(a)) => watch::run(&ctx, a),
        Some(Command::Sim(a)) => sim::run(&ctx, a),
        Some(Command::Demo) => tray(&ctx, true),
        Some(Command::Dashboard(a)) => dashboard::run(&ctx, a),
        None => tray(&ctx, false),
    }
}

/// Starts the tray (the demo when asked, or when there is no config yet).
fn tray(ctx: &Ctx, demo: bool) -> Result<i32> {
    let config_path = ctx.config_path()?;
    crate::desktop::app::run(crate::desktop::app::AppOptions {
        config_path,
        demo,
        notifier: crate::desktop::notifier(),
    })
}

/// What every subcommand needs from the command line.
pub struct Ctx {
    config_flag: Option<PathBuf>,
    /// Questions may be asked (a terminal on both ends, no --no-input).
    pub interactive: bool,
}

impl Ctx {
    pub(crate) fn config_path(&self) -> Result<PathBuf, ConfigError> {
        config::resolve_path(self.config_flag.as_deref())
    }

    /// Loads and validates the config; a missing file is an empty config.
    pub(crate) fn load_config(&self) -> Result<(PathBuf, Config), ConfigError> {
        let path = self.config_path()?;
        match config::load(&path) {
            Ok(c) => Ok((path, c)),
            Err(ConfigError::NotFound { .. }) => Ok((path, Config::default())),
            Err(e) => Err(e),
        }
    }

    /// The OS keychain, or a store that explains why there is none.
    pub fn store(&self) -> std::sync::Arc<dyn SecretStore> {
        crate::desktop::keychain::open_store()
    }
}

/// The exit code when standard output cannot be written (a full disk): the
/// 0–3 contract's "unknown", since the caller did not get the answer.
pub const OUTPUT_FAILED: i32 = 3;

/// Standard output could not be written: a closed pipe, a full disk.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(pub std::io::Error);

impl StdoutError {
    /// The reader closed the pipe (EPIPE): not a failure to report.
    pub fn closed(&self) -> bool {
        self.0.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// Writes `text` to standard output and flushes it, so a full disk is noticed
/// here rather than lost when the process exits.
pub fn out(text: impl AsRef<str>) -> Result<(), StdoutError> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_ref().as_bytes())
        .and_then(|()| o.flush())
        .map_err(StdoutError)
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?)?;
    Ok(())
}

/// "1 service" / "2 services".
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Shown after an edit so people know which file changed.
pub fn saved(path: &Path) -> String {
    format!("saved {}", path.display())
}

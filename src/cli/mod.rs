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
mod generate;
mod prompt;
mod secret;
mod service;
mod sim;
mod status;
mod table;
mod watch;
mod workspace;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{self, Config, ConfigError};
use crate::secrets::SecretStore;

/// Watch Railway, Plausible, Netlify and Sentry services from one tray icon.
#[derive(Debug, Parser)]
#[command(
    name = "overwatch",
    version,
    about,
    long_about = "Watch Railway, Plausible, Netlify and Sentry services from one tray icon.\n\n\
        Without a subcommand, starts the tray (the demo when there is no config file yet). \
        The subcommands manage the config and the keys, and check the services from a terminal.",
    after_long_help = AFTER_LONG_HELP
)]
pub struct Cli {
    /// Config file to use (default: the platform config dir; also OVERWATCH_CONFIG).
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,

    /// Never ask questions, even in a terminal (missing fields are errors).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_input: bool,

    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(
        long,
        global = true,
        value_name = "WHEN",
        default_value = "auto",
        hide_possible_values = true,
        help_heading = GLOBAL
    )]
    pub color: clap::ColorChoice,

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
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell) on stdout.
    Completions(generate::CompletionsArgs),
    /// Write the man pages (overwatch.1, overwatch-service.1, …) into a directory, for packagers.
    Manpages(generate::ManpagesArgs),
    /// Open the running tray's dashboard page in the browser (the grid of every service, add and edit).
    Dashboard(dashboard::DashboardArgs),
}

/// The heading global flags are listed under, apart from each subcommand's own.
const GLOBAL: &str = "Global options";

/// The end of `--help` and of the main man page: files, environment, exit codes.
const AFTER_LONG_HELP: &str = "\
Files:
  The config file is config.toml in the platform config directory \
(~/.config/overwatch/ on Linux; `overwatch config path` prints it). \
API keys live in the OS keychain, or in environment variables named by `key = \"env:VAR\"`.

Environment:
  OVERWATCH_CONFIG    the config file to use (like --config)
  OVERWATCH_DATA_DIR  where the engine keeps its state (default: the platform data directory)
  NO_COLOR            no colours in the output (unless --color always)
  RUST_LOG            log filter for stderr (overrides -v)

Exit status:
  0 success (for `status`: all healthy), 1 an error (for `status`: degraded), \
2 a usage error (for `status`: down), 3 unknown (`status`) or output that could not be written.";

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    // The colour choice applies to clap's own help and errors too, so it is
    // read before clap parses (a bad value is then clap's usage error).
    let color = color_flag(std::env::args_os().skip(1)).unwrap_or(clap::ColorChoice::Auto);
    set_color(color);
    let cli = match Cli::command()
        .color(color)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
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

/// The value of the last `--color WHEN` / `--color=WHEN` before a `--`.
fn color_flag(args: impl Iterator<Item = std::ffi::OsString>) -> Option<clap::ColorChoice> {
    use clap::ValueEnum;
    let mut found = None;
    let mut args = args.map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = args.next() {
        let value = match a.as_str() {
            "--" => break,
            "--color" => args.next(),
            _ => a.strip_prefix("--color=").map(str::to_string),
        };
        if let Some(v) = value {
            found = clap::ColorChoice::from_str(&v, true).ok().or(found);
        }
    }
    found
}

/// Makes every later write to stdout/stderr through anstream follow `choice`
/// (auto: colour on a terminal unless NO_COLOR is set or TERM is dumb).
fn set_color(choice: clap::ColorChoice) {
    let c = match choice {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    };
    c.write_global();
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
        .with_ansi(anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never)
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
        Some(Command::Completions(a)) => generate::completions(a),
        Some(Command::Manpages(a)) => generate::manpages(a),
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
/// here rather than lost when the process exits. Colour styles in `text` are
/// kept or stripped by the `--color` choice (anstream).
pub fn out(text: impl AsRef<str>) -> Result<(), StdoutError> {
    use std::io::Write;
    let mut o = anstream::stdout().lock();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and every argument has a help line, so `--help`, the man
    /// pages and the completions' descriptions have no gaps.
    #[test]
    fn every_command_and_argument_has_a_help_line() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if cmd.get_about().is_none() {
                missing.push(format!("command `{path}`"));
            }
            for a in cmd.get_arguments() {
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("`{path}` argument `{}`", a.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&cmd, "overwatch", &mut missing);
        assert!(missing.is_empty(), "no help line: {missing:#?}");
    }

    /// Global flags are listed once, under their own heading, in every subcommand's help.
    #[test]
    fn global_flags_have_their_own_heading() {
        let mut cmd = Cli::command();
        cmd.build();
        let help = cmd
            .find_subcommand_mut("service")
            .and_then(|s| s.find_subcommand_mut("list"))
            .expect("service list")
            .render_help()
            .to_string();
        let global = help
            .find("Global options:")
            .expect("a Global options heading");
        for flag in ["--config", "--no-input", "--verbose", "--color"] {
            assert_eq!(help.matches(flag).count(), 1, "{flag} once in:\n{help}");
            assert!(
                help.find(flag).unwrap() > global,
                "{flag} under Global options"
            );
        }
        assert!(help.find("--json").unwrap() < global, "own flags first");
    }

    #[test]
    fn the_color_flag_is_read_before_parsing() {
        let args = |a: &[&str]| color_flag(a.iter().map(std::ffi::OsString::from));
        assert_eq!(args(&["status"]), None);
        assert_eq!(
            args(&["--color", "never", "status"]),
            Some(clap::ColorChoice::Never)
        );
        assert_eq!(
            args(&["status", "--color=always"]),
            Some(clap::ColorChoice::Always)
        );
        assert_eq!(args(&["--", "--color=always"]), None);
        assert_eq!(args(&["--color=bogus"]), None);
    }
}

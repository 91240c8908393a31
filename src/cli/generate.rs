//! `overwatch completions SHELL` and `overwatch manpages DIR`: shell completions and man pages generated from the clap definitions, so they always match the binary.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for: bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManpagesArgs {
    /// Directory to write the pages into (created if missing; existing pages are replaced).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// The script on stdout, e.g. `overwatch completions bash > /usr/share/bash-completion/completions/overwatch`.
pub fn completions(args: CompletionsArgs) -> Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "overwatch", &mut script);
    super::out(String::from_utf8_lossy(&script))?;
    Ok(0)
}

/// One page per command and subcommand (`overwatch-service-add.1`), as `man overwatch-service` expects.
pub fn manpages(args: ManpagesArgs) -> Result<i32> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let n = write_pages(&cmd, &args.dir, true)
        .with_context(|| format!("cannot write the man pages into {}", args.dir.display()))?;
    eprintln!("wrote {n} man pages to {}", args.dir.display());
    Ok(0)
}

/// Writes the page of `cmd` and of each visible subcommand; returns how many.
fn write_pages(cmd: &clap::Command, dir: &Path, root: bool) -> std::io::Result<usize> {
    let mut n = 0;
    for sub in cmd.get_subcommands() {
        n += write_pages(sub, dir, false)?;
    }
    let mut page = Vec::new();
    let file = if root {
        // The main page: the usual sections, with files, environment and exit
        // status as real man sections rather than clap's free-form help text.
        let man = clap_mangen::Man::new(cmd.clone().after_long_help(None::<&str>));
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
        man.render_subcommands_section(&mut page)?;
        page.extend_from_slice(ROOT_SECTIONS.as_bytes());
        man.render_version_section(&mut page)?;
        man.get_filename()
    } else {
        let man = clap_mangen::Man::new(cmd.clone());
        man.render(&mut page)?;
        man.get_filename()
    };
    std::fs::write(dir.join(file), page)?;
    Ok(n + 1)
}

/// FILES, ENVIRONMENT, EXIT STATUS and SEE ALSO of `man overwatch`, in roff.
const ROOT_SECTIONS: &str = r#".SH FILES
.TP
\fI~/.config/overwatch/config.toml\fR
The config file on Linux (\fB$XDG_CONFIG_HOME\fR is honoured; \fBoverwatch config path\fR prints the one in use).
It names API keys, never holds them: a key is an entry in the OS keychain, or \fBenv:VAR\fR.
.TP
\fI~/.local/share/overwatch/state.json\fR
What the engine last saw and what it told you, so a restart neither repeats nor forgets (\fB$XDG_DATA_HOME\fR is honoured).
.TP
\fI~/.config/autostart/overwatch.desktop\fR
Written by the tray's \(lqLaunch at login\(rq, and only then.
.SH ENVIRONMENT
.TP
\fBOVERWATCH_CONFIG\fR
The config file to use, like \fB\-\-config\fR.
.TP
\fBOVERWATCH_DATA_DIR\fR
Where the engine keeps its state.
.TP
\fBNO_COLOR\fR
No colours in the output, unless \fB\-\-color always\fR.
.TP
\fBRUST_LOG\fR
The log filter for standard error; overrides \fB\-v\fR.
.SH EXIT STATUS
\fBoverwatch status\fR follows the monitoring-plugin convention: 0 healthy, 1 degraded, 2 down, 3 unknown.
Other commands exit 0 on success, 1 on an error (said on standard error) and 2 on a usage error.
Every command exits 3 when its output cannot be written (a full disk).
.SH SEE ALSO
\fBoverwatch\-service\fR(1), \fBoverwatch\-secret\fR(1), \fBoverwatch\-status\fR(1), \fBoverwatch\-watch\fR(1)
"#;

//! No OpenGL in the tray: GTK's GL switch (`GDK_GL=disable`) set before GTK starts unless the user chose a setting, and kept out of the programs the tray opens.
//!
//! On X11, GTK 3 opens GLX while it opens the display (to pick visuals),
//! which maps Mesa — ≈ 56 MB resident with llvmpipe (linux-tray-notes P8) —
//! although a tray icon and a menu never draw with GL. GDK reads the switch
//! from its environment only, once, at start-up; so the tray process sets it
//! for itself, and removes it again from what it hands to a browser or an
//! editor it launches, which should run as the user would run them.

#[cfg(all(unix, not(target_os = "macos")))]
use std::sync::atomic::{AtomicBool, Ordering};

/// GDK's OpenGL switch.
pub const GL_ENV: &str = "GDK_GL";

/// This process set [`GL_ENV`] itself (so children must not inherit it).
#[cfg(all(unix, not(target_os = "macos")))]
static SET_HERE: AtomicBool = AtomicBool::new(false);

/// Turns GTK's OpenGL off for this process, unless the user set `GDK_GL`
/// (any value, even empty, is their choice). Must run before any other
/// thread exists: the tray calls it first thing, before its runtime and GTK.
pub(crate) fn disable_for_this_process() {
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os(GL_ENV).is_none() {
        // Single-threaded here (see above), so nothing reads the environment meanwhile.
        std::env::set_var(GL_ENV, "disable");
        SET_HERE.store(true, Ordering::Relaxed);
    }
}

/// Opens `target` with the desktop's handler and returns once a launcher has
/// taken it (or all failed).
pub(crate) fn open_now(target: &str) -> std::io::Result<()> {
    #[cfg(all(unix, not(target_os = "macos")))]
    if SET_HERE.load(Ordering::Relaxed) {
        return launch_without(open::commands(target), GL_ENV);
    }
    open::that_detached(target)
}

/// `open::that_detached`'s policy with one variable removed from the
/// launchers' environment: the launchers (`open::commands`) in order; one
/// that exits non-zero within 250 ms hands over to the next, one still
/// running then (or exiting 0) has taken the target. Each launcher runs in a
/// process group of its own, so a Ctrl-C meant for a terminal-started tray
/// does not reach the browser it opened.
#[cfg(all(unix, not(target_os = "macos")))]
fn launch_without(
    launchers: impl IntoIterator<Item = std::process::Command>,
    var: &str,
) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    const CHECK: Duration = Duration::from_millis(250);
    let mut first_exit: Option<std::io::Error> = None;
    let mut last_spawn: Option<std::io::Error> = None;
    for mut cmd in launchers {
        cmd.env_remove(var)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                last_spawn = Some(e);
                continue;
            }
        };
        let start = Instant::now();
        let exited = loop {
            match child.try_wait()? {
                Some(status) => break Some(status),
                None if start.elapsed() >= CHECK => break None,
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        match exited {
            // Still running: it has the target; reap it whenever it ends.
            None => {
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Some(s) if s.success() => return Ok(()),
            Some(s) => {
                first_exit.get_or_insert_with(|| {
                    std::io::Error::other(format!(
                        "{} exited with {s}",
                        cmd.get_program().to_string_lossy()
                    ))
                });
            }
        }
    }
    Err(first_exit
        .or(last_spawn)
        .unwrap_or_else(|| std::io::Error::other("no launcher to open it with")))
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// A launcher script that records its argument and whether `GDK_GL`
    /// reached it, then exits with `code`.
    fn launcher(dir: &Path, name: &str, code: i32) -> Command {
        let p = dir.join(name);
        let log = dir.join(format!("{name}.log"));
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"$1 GDK_GL=${{GDK_GL-unset}} KEPT=${{KEPT-unset}}\" >> '{}'\nexit {code}\n",
                log.display()
            ),
        )
        .unwrap();
        // Run through sh, not exec'd: a script just written can be "text file
        // busy" while another test thread forks.
        let mut c = Command::new("sh");
        c.arg(p);
        // What the tray's own environment would pass on.
        c.arg("https://example.test/")
            .env(GL_ENV, "disable")
            .env("KEPT", "yes");
        c
    }

    fn log(dir: &Path, name: &str) -> Option<String> {
        std::fs::read_to_string(dir.join(format!("{name}.log"))).ok()
    }

    #[test]
    fn the_launcher_runs_without_gdk_gl_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        launch_without([launcher(d, "first", 0), launcher(d, "second", 0)], GL_ENV).unwrap();
        assert_eq!(
            log(d, "first").as_deref(),
            Some("https://example.test/ GDK_GL=unset KEPT=yes\n")
        );
        assert_eq!(log(d, "second"), None, "the first launcher took it");
    }

    #[test]
    fn a_failing_launcher_hands_over_and_a_missing_one_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let missing = Command::new(d.join("not-installed"));
        launch_without(
            [
                missing,
                launcher(d, "no-handler", 3),
                launcher(d, "fallback", 0),
            ],
            GL_ENV,
        )
        .unwrap();
        assert!(log(d, "no-handler").is_some());
        assert_eq!(
            log(d, "fallback").as_deref(),
            Some("https://example.test/ GDK_GL=unset KEPT=yes\n")
        );
        // All fail: the first failure's exit is the error, not the missing program.
        let err = launch_without([launcher(d, "a", 4), launcher(d, "b", 5)], GL_ENV).unwrap_err();
        assert!(err.to_string().ends_with("exit status: 4"), "{err}");
    }
}

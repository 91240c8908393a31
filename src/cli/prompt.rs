//! Terminal questions for the interactive parts of `service add|edit` and `secret set`.

use anyhow::{Context, Result};
use dialoguer::{theme::ColorfulTheme, Confirm, Input, Password, Select};

fn theme() -> ColorfulTheme {
    // Every question starts here: from now on Ctrl-C leaves the terminal as it was.
    restore_terminal_on_interrupt();
    ColorfulTheme::default()
}

/// Makes Ctrl-C during a question restore the terminal before the process
/// ends: a hidden cursor (selections hide it) is shown again, and a terminal
/// left without echo (the hidden key prompt) gets its settings back. The
/// process then exits with 130, as a shell reports an interrupted command.
#[cfg(unix)]
fn restore_terminal_on_interrupt() {
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::{Once, OnceLock};

    static TTY: AtomicI32 = AtomicI32::new(-1);
    static SAVED: OnceLock<libc::termios> = OnceLock::new();
    static INSTALL: Once = Once::new();

    extern "C" fn on_interrupt(_: libc::c_int) {
        // Only async-signal-safe calls here: tcsetattr, write, _exit.
        const SHOW_CURSOR: &[u8] = b"\x1b[?25h\n";
        let fd = TTY.load(Ordering::Acquire);
        // SAFETY: `fd` is the terminal opened below and never closed; `saved`
        // was written before this handler was installed and is only read.
        unsafe {
            if let (true, Some(saved)) = (fd >= 0, SAVED.get()) {
                libc::tcsetattr(fd, libc::TCSANOW, saved);
            }
            libc::write(2, SHOW_CURSOR.as_ptr().cast(), SHOW_CURSOR.len());
            libc::_exit(130);
        }
    }

    INSTALL.call_once(|| {
        // SAFETY: plain libc calls on a path we own and on stack values; the
        // handler only uses async-signal-safe functions (see above).
        unsafe {
            let fd = libc::open(c"/dev/tty".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            if fd >= 0 {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(fd, &mut t) == 0 && SAVED.set(t).is_ok() {
                    TTY.store(fd, Ordering::Release);
                } else {
                    libc::close(fd);
                }
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        }
    });
}

#[cfg(not(unix))]
fn restore_terminal_on_interrupt() {}

/// Asks for a line of text, checked by `validate` before it is accepted.
pub fn text(
    prompt: &str,
    default: Option<&str>,
    validate: impl Fn(&str) -> Result<(), String> + 'static,
) -> Result<String> {
    let t = theme();
    let mut input = Input::<String>::with_theme(&t).with_prompt(prompt);
    if let Some(d) = default {
        input = input.default(d.to_string());
    }
    let v = input
        .validate_with(move |s: &String| validate(s.trim()))
        .interact_text()
        .context("no answer (input closed)")?;
    Ok(v.trim().to_string())
}

/// Asks for optional text; an empty answer is `None`.
pub(crate) fn optional(
    prompt: &str,
    validate: impl Fn(&str) -> Result<(), String> + 'static,
) -> Result<Option<String>> {
    let t = theme();
    let v = Input::<String>::with_theme(&t)
        .with_prompt(format!("{prompt} (optional, Enter to skip)"))
        .allow_empty(true)
        .validate_with(move |s: &String| {
            if s.trim().is_empty() {
                Ok(())
            } else {
                validate(s.trim())
            }
        })
        .interact_text()
        .context("no answer (input closed)")?;
    let v = v.trim().to_string();
    Ok(if v.is_empty() { None } else { Some(v) })
}

/// Picks one of `items`; returns its index.
pub fn select(prompt: &str, items: &[String], default: usize) -> Result<usize> {
    let t = theme();
    Select::with_theme(&t)
        .with_prompt(prompt)
        .items(items)
        .default(default)
        .interact()
        .context("no answer (input closed)")
}

/// Asks a yes/no question; Enter takes `default`.
pub(crate) fn confirm(prompt: &str, default: bool) -> Result<bool> {
    let t = theme();
    Confirm::with_theme(&t)
        .with_prompt(prompt)
        .default(default)
        .interact()
        .context("no answer (input closed)")
}

/// Reads a secret without echo.
pub(crate) fn password(prompt: &str) -> Result<String> {
    let t = theme();
    Password::with_theme(&t)
        .with_prompt(prompt)
        .interact()
        .context("no answer (input closed)")
}

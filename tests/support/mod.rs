//! Helpers shared by the integration test binaries (`tests/it`, `tests/hardening_faults.rs`): the private-session check, fixtures, simulator routes and temporary configs.

// Each binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::Write as _;

/// Set to `1` by `scripts/session.sh` once its private session is up.
pub const SESSION_MARKER: &str = "OVERWATCH_TEST_SESSION";

fn in_session() -> bool {
    std::env::var_os(SESSION_MARKER).is_some_and(|v| v == "1")
}

/// Prints why the current test did not run, on the real stderr: the test
/// harness captures `eprintln!` of passing tests, and a skip must be seen.
fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}

/// Whether the private desktop session of `make test` is here (`needs` says
/// which part of it the test uses). Outside it the test should return at once:
/// it prints a one-line reason, and the user's own keychain and notification
/// daemon are never touched. Inside it the test runs, and fails loudly if the
/// service it needs is missing. Use: `if !support::session("dunst") { return; }`
#[must_use]
pub fn session(needs: &str) -> bool {
    if in_session() {
        return true;
    }
    skip(&format!(
        "needs the private test session ({needs}): run `make test` or `scripts/session.sh cargo test`"
    ));
    false
}

/// Whether the program `name` is on the PATH. Inside the session a missing
/// tool is a failure of the test setup (`scripts/deps.sh` installs it), so this
/// answers true there and lets the test fail; outside it, the test skips.
#[must_use]
pub fn tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()));
    if found || in_session() {
        return true;
    }
    skip(&format!("needs `{name}` (installed by scripts/deps.sh)"));
    false
}

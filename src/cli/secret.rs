//! `overwatch secret set|delete|list`: API keys in the OS keychain, never printed.

use std::io::{IsTerminal, Read};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::Serialize;

use super::{print_json, prompt, Ctx};
use crate::secrets::{self, validate_key_name, KeyRef, Secret, SecretError, SecretStore};

#[derive(Debug, Subcommand)]
pub enum SecretCmd {
    /// Store a key: read from stdin when piped, else asked for without echo.
    Set {
        /// The key's name, as a service's `key` refers to it ("acme-railway").
        name: String,
    },
    /// Delete a key from the keychain.
    Delete {
        /// The key's name.
        name: String,
    },
    /// The keys the config refers to, found or missing (never their values).
    List {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Row {
    name: String,
    /// "keychain" or "env".
    source: &'static str,
    /// "found", "missing" or "unavailable".
    state: &'static str,
    /// Services that use it ("Acme/API").
    used_by: Vec<String>,
}

pub fn run(ctx: &Ctx, cmd: SecretCmd) -> Result<i32> {
    match cmd {
        SecretCmd::Set { name } => {
            if name.starts_with("env:") {
                bail!("`{name}` is an environment reference: set the variable in your environment instead");
            }
            validate_key_name(&name).map_err(anyhow::Error::msg)?;
            let store = ctx.store();
            let value = read_value(ctx, &name)?;
            store.set(&name, &value)?;
            eprintln!("stored key `{name}` in {}", store.backend());
            // Stored ahead of time is fine; a typo of the name the config uses is not.
            if let Some(w) = unused_key_warning(ctx, &name) {
                eprintln!("{w}");
            }
        }
        SecretCmd::Delete { name } => {
            validate_key_name(&name).map_err(anyhow::Error::msg)?;
            let store = ctx.store();
            if store.delete(&name)? {
                eprintln!("deleted key `{name}`");
            } else {
                bail!(
                    "there is no key `{name}` in {}: nothing was deleted",
                    store.backend()
                );
            }
        }
        SecretCmd::List { json } => {
            let (_, config) = ctx.load_config()?;
            let store = ctx.store();
            let mut rows: Vec<Row> = Vec::new();
            // Why the keychain could not be read, said once with what to do
            // (a row only has room for "unavailable").
            let mut problem: Option<String> = None;
            for key in config.key_refs() {
                let used_by = config
                    .services()
                    .filter(|s| s.key.as_ref() == Some(&key))
                    .map(|s| format!("{}/{}", s.workspace, s.name))
                    .collect();
                let state = match secrets::resolve(&key, store.as_ref()) {
                    Ok(_) => "found",
                    Err(SecretError::Missing { .. } | SecretError::EnvMissing { .. }) => "missing",
                    Err(e) => {
                        problem.get_or_insert_with(|| e.to_string());
                        "unavailable"
                    }
                };
                rows.push(Row {
                    name: key.to_string(),
                    source: match key {
                        KeyRef::Keychain(_) => "keychain",
                        KeyRef::Env(_) => "env",
                    },
                    state,
                    used_by,
                });
            }
            // Keys in the keychain that no service uses (left over, or set ahead of time).
            if let Ok(names) = store.list() {
                for n in names {
                    if !rows.iter().any(|r| r.source == "keychain" && r.name == n) {
                        rows.push(Row {
                            name: n,
                            source: "keychain",
                            state: "found",
                            used_by: Vec::new(),
                        });
                    }
                }
            }
            if json {
                print_json(&rows)?;
            } else {
                eprintln!("keychain: {}", store.backend());
                if rows.is_empty() {
                    eprintln!("No keys: the config refers to none and the keychain holds none for Overwatch.");
                }
                for r in &rows {
                    let used = if r.used_by.is_empty() {
                        "unused".to_string()
                    } else {
                        format!("used by {}", r.used_by.join(", "))
                    };
                    let hint = match (r.state, r.source) {
                        ("missing", "keychain") => {
                            format!(" — run `overwatch secret set {}`", r.name)
                        }
                        ("missing", _) => " — set the variable in the environment".to_string(),
                        ("unavailable", _) => " — the keychain could not be read".to_string(),
                        _ => String::new(),
                    };
                    outln!(
                        "{:<28} {:<8} {:<11} {}{}",
                        r.name,
                        r.source,
                        r.state,
                        used,
                        hint
                    )?;
                }
            }
            if let Some(p) = &problem {
                eprintln!("error: {p}");
            }
            if rows.iter().any(|r| r.state != "found") {
                return Ok(1);
            }
        }
    }
    Ok(0)
}

/// A warning when no service of the config uses keychain key `name`, naming
/// the ones it does use (so a typo shows); `None` when one uses it or the
/// config cannot be read (other commands report that).
fn unused_key_warning(ctx: &Ctx, name: &str) -> Option<String> {
    let (_, config) = ctx.load_config().ok()?;
    let wanted = KeyRef::Keychain(name.to_string());
    if config.services().any(|s| s.key.as_ref() == Some(&wanted)) {
        return None;
    }
    let used: Vec<String> = config
        .key_refs()
        .into_iter()
        .filter_map(|k| match k {
            KeyRef::Keychain(n) => Some(format!("`{n}`")),
            KeyRef::Env(_) => None,
        })
        .collect();
    Some(if used.is_empty() {
        format!("warning: no service uses key `{name}` yet: point one at it with `overwatch service add … --key {name}` (or `service edit SERVICE --key {name}`)")
    } else {
        format!(
            "warning: no service uses key `{name}` (the config uses {}): point a service at it with `overwatch service edit SERVICE --key {name}`",
            used.join(", ")
        )
    })
}

pub use crate::secrets::MAX_SECRET_BYTES;

/// The key's value: stdin when piped, else a no-echo prompt.
pub(crate) fn read_value(ctx: &Ctx, name: &str) -> Result<Secret> {
    let stdin = std::io::stdin();
    let value = if stdin.is_terminal() {
        if !ctx.interactive {
            bail!("no value for key `{name}`: pipe it on stdin, e.g. `printf %s \"$TOKEN\" | overwatch secret set {name}`");
        }
        prompt::password(&format!("Value for key `{name}` (input hidden)"))?
    } else {
        // One byte past the cap tells a value that fits from one that was cut.
        let mut s = String::new();
        stdin
            .lock()
            .take(MAX_SECRET_BYTES + 1)
            .read_to_string(&mut s)
            .context("reading the key from stdin")?;
        s
    };
    check_value(name, value).map(Secret::new)
}

/// Checks a key's value as read (see [`secrets::check_value`]).
fn check_value(name: &str, value: String) -> Result<String> {
    secrets::check_value(name, value).map_err(anyhow::Error::msg)
}

/// Stores a key, for the interactive `service add`.
pub(crate) fn store_new(ctx: &Ctx, store: &dyn SecretStore, name: &str) -> Result<()> {
    let value = read_value(ctx, name)?;
    store.set(name, &value)?;
    eprintln!("stored key `{name}` in {}", store.backend());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_not_cut_or_mangled() {
        let ok = |v: &str| check_value("k", v.to_string()).unwrap();
        let err = |v: String| check_value("k", v).unwrap_err().to_string();
        assert_eq!(ok("tok\n"), "tok");
        assert_eq!(ok("tok\r\n"), "tok");
        assert_eq!(ok("a\tb"), "a\tb");
        assert!(err("a\nb".into()).contains("a line break"));
        assert!(err("tok\n\n".into()).contains("a line break"));
        assert!(err("a\u{1b}b".into()).contains("U+001B"));
        assert!(err("\n".into()).contains("empty"));
        let long = "x".repeat(MAX_SECRET_BYTES as usize + 1);
        assert!(err(long).contains("longer than 64 KiB"));
        let fits = "x".repeat(MAX_SECRET_BYTES as usize);
        assert_eq!(ok(&fits).len(), MAX_SECRET_BYTES as usize);
    }
}

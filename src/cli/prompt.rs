//! Terminal questions for the interactive parts of `service add|edit` and `secret set`.

use anyhow::{Context, Result};
use dialoguer::{theme::ColorfulTheme, Confirm, Input, Password, Select};

fn theme() -> ColorfulTheme {
    ColorfulTheme::default()
}

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

//! `overwatch service add|edit|remove|list|enable|disable|move`.
//!
//! With flags, or without a terminal, nothing is asked: missing fields are an
//! error that names them. In a terminal, `add` and `edit` ask for what is missing.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use url::Url;

use super::{print_json, prompt, saved, secret, Ctx};
use crate::config::{self, Config, ConfigError, Editor, ServiceFields};
use crate::model::{parse_duration, Mode, Provider, Target};
use crate::providers::MapFields;
use crate::secrets::{KeyRef, SecretStore};

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// Add a service to a workspace (created if it does not exist).
    Add {
        /// Workspace to add it to.
        #[arg(short, long)]
        workspace: Option<String>,
        #[command(flatten)]
        fields: FieldArgs,
        /// Add it disabled (listed, not polled).
        #[arg(long)]
        disabled: bool,
    },
    /// Change fields of a service; `--name` renames it (its id stays).
    Edit {
        /// The service to edit.
        #[arg(value_name = "SERVICE")]
        service: String,
        #[arg(short, long)]
        workspace: Option<String>,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Remove a service.
    Remove {
        #[arg(value_name = "SERVICE")]
        service: String,
        #[arg(short, long)]
        workspace: Option<String>,
    },
    /// List services, optionally of one workspace.
    List {
        #[arg(short, long)]
        workspace: Option<String>,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Start polling a service again.
    Enable {
        #[arg(value_name = "SERVICE")]
        service: String,
        #[arg(short, long)]
        workspace: Option<String>,
    },
    /// Stop polling a service; it stays listed.
    Disable {
        #[arg(value_name = "SERVICE")]
        service: String,
        #[arg(short, long)]
        workspace: Option<String>,
    },
    /// Move a service to another position and/or workspace.
    Move {
        #[arg(value_name = "SERVICE")]
        service: String,
        #[arg(short, long)]
        workspace: Option<String>,
        /// Workspace to move it into.
        #[arg(long, value_name = "WORKSPACE")]
        to: Option<String>,
        /// 1-based position inside the workspace (default: last).
        #[arg(long)]
        position: Option<usize>,
    },
}

/// The service fields settable from the command line.
#[derive(Debug, Clone, Default, Args)]
pub struct FieldArgs {
    /// The service's id (default: derived from the workspace and name); its
    /// state and mutes follow it.
    #[arg(long)]
    pub id: Option<String>,
    /// Display name ("API").
    #[arg(long)]
    pub name: Option<String>,
    /// railway, plausible, netlify or sentry.
    #[arg(long)]
    pub provider: Option<String>,
    /// `api` (polled) or `link` (dashboard link only).
    #[arg(long)]
    pub mode: Option<String>,
    /// Keychain entry name, or env:VAR.
    #[arg(long)]
    pub key: Option<String>,
    /// The provider's target fields (`--project`, `--site`, …), one flag per
    /// field of every provider's spec.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Replaces the provider's API root (self-hosted, regional).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Dashboard URL to open (default derived from the target).
    #[arg(long)]
    pub dashboard: Option<String>,
    /// Refresh interval for this service ("5m").
    #[arg(long)]
    pub refresh: Option<String>,
    /// Allow sending the key over plain http to a non-loopback base_url.
    #[arg(long)]
    pub allow_insecure: bool,
}

/// One `--<field>` flag per target field of the registered providers, read
/// into a map by config key. Built from the provider specs at run time, so a
/// new provider's fields get flags without touching the CLI.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetArgs(pub BTreeMap<String, String>);

/// Every target field key with its flag help ("Railway: Project id; Sentry: Project").
fn target_flags() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, Vec<String>)> = Vec::new();
    for p in Provider::ALL {
        for f in p.spec().fields {
            let what = format!("{}: {}", p.title(), f.help);
            match out.iter_mut().find(|(k, _)| *k == f.key) {
                Some((_, v)) => v.push(what),
                None => out.push((f.key, vec![what])),
            }
        }
    }
    out.into_iter().map(|(k, v)| (k, v.join("; "))).collect()
}

impl clap::FromArgMatches for TargetArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut out = BTreeMap::new();
        for (key, _) in target_flags() {
            if let Some(v) = m.get_one::<String>(key) {
                out.insert(key.to_string(), v.clone());
            }
        }
        Ok(TargetArgs(out))
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for TargetArgs {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for (key, help) in target_flags() {
            // clap keeps `&'static str` names; the few flags live for the process.
            let long: &'static str = Box::leak(key.replace('_', "-").into_boxed_str());
            let value: &'static str = Box::leak(key.to_uppercase().into_boxed_str());
            cmd = cmd.arg(clap::Arg::new(key).long(long).value_name(value).help(help));
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[derive(Serialize)]
struct Row {
    id: String,
    workspace: String,
    name: String,
    provider: Provider,
    mode: Mode,
    target: String,
    key: Option<String>,
    enabled: bool,
    dashboard_url: String,
}

pub fn run(ctx: &Ctx, cmd: ServiceCmd) -> Result<i32> {
    match cmd {
        ServiceCmd::Add {
            workspace,
            fields,
            disabled,
        } => add(ctx, workspace, fields, disabled),
        ServiceCmd::Edit {
            service,
            workspace,
            fields,
        } => edit(ctx, &service, workspace.as_deref(), fields),
        ServiceCmd::Remove { service, workspace } => {
            let mut ed = Editor::open(&ctx.config_path()?)?;
            let (ws, name) = locate(&ed.config()?, &service, workspace.as_deref())?;
            ed.remove_service(&ws, &name)?;
            ed.save()?;
            eprintln!("removed `{name}` from `{ws}` ({})", saved(ed.path()));
            Ok(0)
        }
        ServiceCmd::Enable { service, workspace } => {
            set_enabled(ctx, &service, workspace.as_deref(), true)
        }
        ServiceCmd::Disable { service, workspace } => {
            set_enabled(ctx, &service, workspace.as_deref(), false)
        }
        ServiceCmd::Move {
            service,
            workspace,
            to,
            position,
        } => {
            if to.is_none() && position.is_none() {
                bail!("say where to: --to WORKSPACE and/or --position N");
            }
            let mut ed = Editor::open(&ctx.config_path()?)?;
            let (ws, name) = locate(&ed.config()?, &service, workspace.as_deref())?;
            ed.move_service(&ws, &name, to.as_deref(), position)?;
            let c = save(&mut ed)?;
            let dest = to.as_deref().unwrap_or(&ws);
            let pos = c
                .workspace(dest)
                .and_then(|w| {
                    w.services
                        .iter()
                        .position(|s| config::same_name(&s.name, &name))
                })
                .map(|i| i + 1)
                .unwrap_or(0);
            eprintln!(
                "moved `{name}` to position {pos} of `{dest}` ({})",
                saved(ed.path())
            );
            Ok(0)
        }
        ServiceCmd::List { workspace, json } => {
            let (_, config) = ctx.load_config()?;
            if let Some(w) = &workspace {
                if config.workspace(w).is_none() {
                    bail!("no workspace named `{w}`: see `overwatch workspace list`");
                }
            }
            let rows: Vec<Row> = config
                .services()
                .filter(|s| {
                    workspace
                        .as_ref()
                        .is_none_or(|w| config::same_name(&s.workspace, w))
                })
                .map(|s| Row {
                    id: s.id.to_string(),
                    workspace: s.workspace.clone(),
                    name: s.name.clone(),
                    provider: s.provider(),
                    mode: s.mode,
                    target: s.target.describe(),
                    key: s.key.as_ref().map(|k| k.to_string()),
                    enabled: s.enabled,
                    dashboard_url: s.dashboard_url(),
                })
                .collect();
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                eprintln!("No services yet: `overwatch service add` adds one.");
            } else {
                let mut last_ws = String::new();
                for r in rows {
                    if r.workspace != last_ws {
                        outln!("{}", r.workspace)?;
                        last_ws = r.workspace.clone();
                    }
                    let mut notes = Vec::new();
                    if r.mode == Mode::Link {
                        notes.push("link only".to_string());
                    } else if let Some(k) = &r.key {
                        notes.push(format!("key {k}"));
                    }
                    if !r.enabled {
                        notes.push("disabled".into());
                    }
                    outln!(
                        "  {:<20} {:<10} {:<40} {}",
                        r.name,
                        r.provider.as_str(),
                        r.target,
                        notes.join(", ")
                    )?;
                }
            }
            Ok(0)
        }
    }
}

fn set_enabled(ctx: &Ctx, service: &str, workspace: Option<&str>, on: bool) -> Result<i32> {
    let mut ed = Editor::open(&ctx.config_path()?)?;
    let (ws, name) = locate(&ed.config()?, service, workspace)?;
    ed.edit_service(
        &ws,
        &name,
        &ServiceFields {
            enabled: Some(on),
            ..Default::default()
        },
    )?;
    save(&mut ed)?;
    eprintln!(
        "{} `{name}` in `{ws}` ({})",
        if on { "enabled" } else { "disabled" },
        saved(ed.path())
    );
    Ok(0)
}

/// Saves, turning a whole-document validation failure into a plain "not saved".
fn save(ed: &mut Editor) -> Result<Config> {
    ed.save().map_err(|e| match e {
        ConfigError::Invalid { problems, .. } => anyhow!(
            "the change was not saved: {}",
            problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => other.into(),
    })
}

/// Finds a service by name, in one workspace or, when unambiguous, in any.
fn locate(config: &Config, service: &str, workspace: Option<&str>) -> Result<(String, String)> {
    if let Some(w) = workspace {
        let ws = config
            .workspace(w)
            .ok_or_else(|| anyhow!("no workspace named `{w}`: see `overwatch workspace list`"))?;
        let s = ws
            .services
            .iter()
            .find(|s| config::same_name(&s.name, service))
            .ok_or_else(|| anyhow!("workspace `{}` has no service named `{service}`", ws.name))?;
        return Ok((ws.name.clone(), s.name.clone()));
    }
    let found: Vec<_> = config
        .services()
        .filter(|s| config::same_name(&s.name, service))
        .collect();
    match found.as_slice() {
        [] => bail!("no service named `{service}`: see `overwatch service list`"),
        [s] => Ok((s.workspace.clone(), s.name.clone())),
        many => bail!(
            "`{service}` exists in several workspaces ({}): say which with --workspace",
            many.iter()
                .map(|s| s.workspace.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn check_url(s: &str, allow_insecure: bool) -> Result<(), String> {
    let u = Url::parse(s.trim()).map_err(|e| format!("`{s}` is not a valid URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(format!("`{s}` must be an http(s) URL like https://host"));
    }
    if u.scheme() == "http" && !crate::model::is_loopback(&u) && !allow_insecure {
        return Err(format!(
            "`{s}` is plain http to a non-local host: the API key would travel unencrypted; use https (or --allow-insecure)"
        ));
    }
    Ok(())
}

fn check_key(s: &str) -> Result<(), String> {
    s.parse::<KeyRef>().map(|_| ())
}

fn check_nonempty(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("this cannot be empty".into())
    } else {
        Ok(())
    }
}

/// Converts command-line flags into checked fields.
fn to_fields(a: &FieldArgs) -> Result<ServiceFields> {
    let provider = a
        .provider
        .as_deref()
        .map(|p| p.parse::<Provider>())
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let mode = a
        .mode
        .as_deref()
        .map(|m| m.parse::<Mode>())
        .transpose()
        .map_err(anyhow::Error::msg)?;
    for (flag, v) in [("--base-url", &a.base_url), ("--dashboard", &a.dashboard)] {
        if let Some(u) = v {
            check_url(u, a.allow_insecure || flag == "--dashboard")
                .map_err(|e| anyhow!("{flag}: {e}"))?;
        }
    }
    if let Some(k) = &a.key {
        check_key(k).map_err(|e| anyhow!("--key: {e}"))?;
    }
    if let Some(r) = &a.refresh {
        if !r.trim().eq_ignore_ascii_case("off") {
            parse_duration(r).map_err(|e| anyhow!("--refresh: {e}"))?;
        }
    }
    if let Some(n) = &a.name {
        check_nonempty(n).map_err(|e| anyhow!("--name: {e}"))?;
    }
    if let Some(id) = &a.id {
        check_nonempty(id).map_err(|e| anyhow!("--id: {e}"))?;
    }
    Ok(ServiceFields {
        id: a.id.as_ref().map(|i| i.trim().to_string()),
        name: a.name.clone(),
        provider,
        mode,
        key: a.key.clone(),
        target: a.target.0.clone(),
        base_url: a.base_url.clone(),
        dashboard: a.dashboard.clone(),
        enabled: None,
        refresh: a.refresh.clone(),
        allow_insecure: a.allow_insecure.then_some(true),
    })
}

/// Checks `values` as provider `p`'s target; each problem names its flag.
fn check_target(p: Provider, values: &BTreeMap<String, String>) -> Result<()> {
    let mut fields = MapFields::new(values);
    if Target::parse(p, &mut fields).is_some() && fields.problems.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = fields
        .problems
        .iter()
        .map(|(k, m)| format!("--{}: {m}", k.replace('_', "-")))
        .collect();
    bail!("{}", lines.join("\n"))
}

/// Flags given for fields the provider does not take.
fn foreign_target_flags(p: Provider, values: &BTreeMap<String, String>) -> Result<()> {
    let spec = p.spec();
    let foreign: Vec<String> = values
        .keys()
        .filter(|k| spec.field(k).is_none())
        .map(|k| format!("--{}", k.replace('_', "-")))
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    let takes: Vec<String> = spec.fields.iter().map(|f| f.flag()).collect();
    bail!(
        "{} {} not used by {p} services; {p} takes {}",
        foreign.join(", "),
        if foreign.len() == 1 { "is" } else { "are" },
        takes.join(", ")
    )
}

fn add(ctx: &Ctx, workspace: Option<String>, args: FieldArgs, disabled: bool) -> Result<i32> {
    let path = ctx.config_path()?;
    let mut ed = Editor::open(&path)?;
    let config = ed.config()?;
    let mut f = to_fields(&args)?;
    if disabled {
        f.enabled = Some(false);
    }
    let store_cell: std::cell::OnceCell<std::sync::Arc<dyn SecretStore>> =
        std::cell::OnceCell::new();
    let store = || store_cell.get_or_init(|| ctx.store());

    let workspace = match workspace {
        Some(w) => w,
        None if ctx.interactive => ask_workspace(&config)?,
        None => String::new(),
    };
    if ctx.interactive {
        if f.name.is_none() {
            let existing: Vec<String> = config
                .workspace(&workspace)
                .map(|w| w.services.iter().map(|s| s.name.to_lowercase()).collect())
                .unwrap_or_default();
            f.name = Some(prompt::text("Service name", None, move |s| {
                check_nonempty(s)?;
                if existing.contains(&s.to_lowercase()) {
                    return Err(format!("this workspace already has a service named `{s}`"));
                }
                Ok(())
            })?);
        }
        if f.provider.is_none() {
            let items: Vec<String> = Provider::ALL
                .iter()
                .map(|p| p.title().to_string())
                .collect();
            f.provider = Some(Provider::ALL[prompt::select("Provider", &items, 0)?]);
        }
        let p = f.provider.expect("asked above");
        for field in p.spec().fields {
            if f.target.contains_key(field.key) {
                continue;
            }
            let question = field.prompt(p.title());
            let answer = if field.required {
                prompt::text(&question, None, check_nonempty)?
            } else if !field.choices.is_empty() {
                let items: Vec<String> = field.choices.iter().map(|c| c.to_string()).collect();
                items[prompt::select(&question, &items, 0)?].clone()
            } else {
                prompt::text(&question, field.default, |_| Ok(()))?
            };
            // A default is not written out: the file stays as short as it can.
            if Some(answer.trim()) != field.default && !answer.trim().is_empty() {
                f.target.insert(field.key.to_string(), answer);
            }
        }
        if p.spec().self_hosted && f.base_url.is_none() {
            f.base_url = prompt::optional("Self-hosted or regional API base URL", |s| {
                check_url(s, false)
            })?;
        }
        if f.mode != Some(Mode::Link) && f.key.is_none() {
            f.key = Some(ask_key(ctx, store().as_ref(), &workspace, p)?);
        }
    }

    let mut missing = Vec::new();
    if workspace.trim().is_empty() {
        missing.push("--workspace".to_string());
    }
    if f.name.is_none() {
        missing.push("--name".into());
    }
    match f.provider {
        None => {
            let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
            missing.push(format!("--provider ({})", names.join(", ")));
        }
        Some(p) => {
            foreign_target_flags(p, &f.target)?;
            for field in p.spec().fields.iter().filter(|x| x.required) {
                if !f.target.contains_key(field.key) {
                    missing.push(field.flag());
                }
            }
        }
    }
    if f.mode != Some(Mode::Link) && f.key.is_none() {
        missing.push("--key (a keychain entry name, or env:VAR)".into());
    }
    if !missing.is_empty() {
        bail!(
            "service add is missing {}; pass them as flags (or run it in a terminal to be asked)",
            missing.join(", ")
        );
    }
    if let Some(p) = f.provider {
        check_target(p, &f.target)?;
    }

    let created = ed.ensure_workspace(&workspace)?;
    ed.add_service(&workspace, &f)?;
    let saved_config = save(&mut ed)?;
    let name = f.name.as_deref().unwrap_or_default().trim();
    if created {
        eprintln!("created workspace `{}`", workspace.trim());
    }
    eprintln!(
        "added `{name}` to `{}` ({})",
        workspace.trim(),
        saved(ed.path())
    );
    // Tell people now, not at the first poll, when the key is not there yet.
    if let Some(svc) = saved_config
        .workspace(&workspace)
        .and_then(|w| w.services.iter().find(|s| config::same_name(&s.name, name)))
    {
        if let (Some(KeyRef::Keychain(k)), Mode::Api) = (&svc.key, svc.mode) {
            if let Err(crate::secrets::SecretError::Missing { .. }) = store().get(k) {
                eprintln!(
                    "note: key `{k}` is not in the keychain yet: run `overwatch secret set {k}`"
                );
            }
        }
    }
    Ok(0)
}

fn ask_workspace(config: &Config) -> Result<String> {
    if config.workspaces.is_empty() {
        return prompt::text(
            "Workspace (it will be created)",
            Some("Personal"),
            check_nonempty,
        );
    }
    let mut items: Vec<String> = config.workspaces.iter().map(|w| w.name.clone()).collect();
    items.push("New workspace…".into());
    let i = prompt::select("Workspace", &items, 0)?;
    if i < config.workspaces.len() {
        Ok(config.workspaces[i].name.clone())
    } else {
        prompt::text("New workspace name", None, check_nonempty)
    }
}

/// Picks a key: one already in the keychain, an env reference, or a new one stored now.
fn ask_key(ctx: &Ctx, store: &dyn SecretStore, workspace: &str, p: Provider) -> Result<String> {
    let existing = store.list().unwrap_or_default();
    let mut items: Vec<String> = existing
        .iter()
        .map(|n| format!("{n} (in the keychain)"))
        .collect();
    let new_at = items.len();
    items.push("Store a new key in the keychain…".into());
    items.push("Use an environment variable (env:VAR)…".into());
    let i = prompt::select(
        &format!("API key for this {} service", p.title()),
        &items,
        if existing.is_empty() { new_at } else { 0 },
    )?;
    if i < new_at {
        return Ok(existing[i].clone());
    }
    if i == new_at {
        let suggested = format!(
            "{}-{}",
            config::derived_id(workspace, "x").0.trim_end_matches("/x"),
            p.as_str()
        );
        let name = prompt::text("Name for the new key", Some(&suggested), |s| {
            crate::secrets::validate_key_name(s)
        })?;
        secret::store_new(ctx, store, &name)?;
        return Ok(name);
    }
    let var = prompt::text(
        "Environment variable name",
        Some(&format!("{}_TOKEN", p.as_str().to_uppercase())),
        |s| format!("env:{s}").parse::<KeyRef>().map(|_| ()),
    )?;
    Ok(format!("env:{var}"))
}

fn edit(ctx: &Ctx, service: &str, workspace: Option<&str>, args: FieldArgs) -> Result<i32> {
    let mut ed = Editor::open(&ctx.config_path()?)?;
    let config = ed.config()?;
    let (ws, name) = locate(&config, service, workspace)?;
    let mut f = to_fields(&args)?;
    let current = config
        .workspace(&ws)
        .and_then(|w| w.services.iter().find(|s| s.name == name))
        .cloned()
        .ok_or_else(|| anyhow!("service `{name}` vanished while editing"))?;
    if f == ServiceFields::default() {
        if !ctx.interactive {
            bail!("nothing to change: pass the fields to set, e.g. --name, --key, --site (see `overwatch service edit --help`)");
        }
        // Walk through the fields with the current values as defaults.
        let new_name = prompt::text("Service name", Some(&current.name), check_nonempty)?;
        if new_name != current.name {
            f.name = Some(new_name);
        }
        let p = current.provider();
        let cur: BTreeMap<&str, String> = current.target.values().into_iter().collect();
        for field in p.spec().fields {
            let v = cur
                .get(field.key)
                .cloned()
                .or(field.default.map(str::to_string))
                .unwrap_or_default();
            let question = field.prompt(p.title());
            let answer = if field.required {
                prompt::text(&question, Some(&v), check_nonempty)?
            } else {
                prompt::text(&question, Some(&v), |_| Ok(()))?
            };
            if answer.trim() != v {
                f.target
                    .insert(field.key.to_string(), answer.trim().to_string());
            }
        }
        if current.mode == Mode::Api {
            let cur_key = current
                .key
                .as_ref()
                .map(|k| k.to_string())
                .unwrap_or_default();
            let k = prompt::text("Key (keychain name or env:VAR)", Some(&cur_key), check_key)?;
            if k != cur_key {
                f.key = Some(k);
            }
        }
        if f == ServiceFields::default() {
            eprintln!("nothing changed");
            return Ok(0);
        }
    }
    let p = f.provider.unwrap_or(current.provider());
    foreign_target_flags(p, &f.target)?;
    if p != current.provider() {
        // A new provider needs its own target; check before writing.
        let missing: Vec<String> = p
            .spec()
            .fields
            .iter()
            .filter(|x| x.required && !f.target.contains_key(x.key))
            .map(|x| x.flag())
            .collect();
        if !missing.is_empty() {
            bail!("switching `{name}` to {p} needs {}", missing.join(", "));
        }
        check_target(p, &f.target)?;
    } else {
        // The target as it will be: the current values with the new ones over them.
        let mut merged: BTreeMap<String, String> = current
            .target
            .values()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        for (k, v) in &f.target {
            if v.trim().is_empty() {
                merged.remove(k);
            } else {
                merged.insert(k.clone(), v.clone());
            }
        }
        check_target(p, &merged)?;
    }
    ed.edit_service(&ws, &name, &f)?;
    save(&mut ed)?;
    eprintln!(
        "updated `{}` in `{ws}` ({})",
        f.name.as_deref().unwrap_or(&name),
        saved(ed.path())
    );
    Ok(0)
}

//! The dashboard's edits: the add/edit dialog's form checked field by field, then applied through the config's `Editor` exactly as the CLI applies its flags (lock, whole-file validation, atomic write, comments kept); keys stored write-only; "Test connection" runs one check of the unsaved settings.
//!
//! Nothing here tells the engine about a change: the tray's file watcher
//! reloads the saved file as it does a hand edit. A config file that does
//! not validate is never written: every edit answers with its problems.

// The errors here are finished HTTP answers, made at most once per request:
// their size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{blocking, error, json, view, Inner};
use crate::config::{Config, ConfigError, Editor, ServiceFields};
use crate::model::{parse_duration, Mode, Provider, Target};
use crate::providers::spec::MapFields;
use crate::secrets::{self, KeyRef, Secret, SecretStore};

/// What the dialog needs to know of a provider, from its registry entry
/// (the page hard-codes no provider and no field).
fn provider_spec(p: Provider) -> serde_json::Value {
    let spec = p.spec();
    serde_json::json!({
        "id": spec.id,
        "title": spec.title,
        "key_help": spec.key_help,
        "self_hosted": spec.self_hosted,
        "fields": spec.fields.iter().map(|f| serde_json::json!({
            "key": f.key,
            "label": f.label,
            "help": f.help,
            "required": f.required,
            "default": f.default,
            "choices": f.choices,
        })).collect::<Vec<_>>(),
    })
}

/// Every registered provider, for the dialog.
pub fn provider_specs() -> Vec<serde_json::Value> {
    Provider::ALL.iter().map(|p| provider_spec(*p)).collect()
}

/// The key part of the form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyForm {
    /// "keychain" or "env".
    pub source: String,
    /// A keychain entry name, or an environment variable's name.
    pub name: String,
    /// A new value to store under `name` (keychain only); never sent back.
    #[serde(default)]
    pub value: Option<String>,
}

/// The dialog's form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceForm {
    /// The service edited, by id; `None` adds one.
    #[serde(default)]
    pub id: Option<String>,
    pub workspace: String,
    pub name: String,
    pub provider: String,
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub target: BTreeMap<String, String>,
    #[serde(default)]
    pub key: Option<KeyForm>,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub dashboard: String,
    #[serde(default)]
    pub refresh: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Problems by form field ("name", "target.site", "key", "key_value", "base_url"…);
/// "" is the form as a whole.
type FieldErrors = BTreeMap<String, String>;

fn invalid(message: &str, fields: FieldErrors) -> Response {
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &serde_json::json!({ "error": message, "fields": fields }),
    )
}

fn url_problem(s: &str, allow_insecure: bool) -> Option<String> {
    let u = match url::Url::parse(s.trim()) {
        Ok(u) => u,
        Err(e) => return Some(format!("not a valid URL ({e}): write it like https://host")),
    };
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Some("must be an http(s) URL like https://host".into());
    }
    if u.scheme() == "http" && !crate::model::is_loopback(&u) && !allow_insecure {
        return Some(
            "plain http to a non-local host would send the API key unencrypted: use https".into(),
        );
    }
    None
}

/// The form's own checks, field by field, before the config's validation.
fn check(form: &ServiceForm) -> Result<(Provider, Mode), FieldErrors> {
    let mut errs = FieldErrors::new();
    if form.workspace.trim().is_empty() {
        errs.insert("workspace".into(), "Choose or name a workspace".into());
    }
    if form.name.trim().is_empty() {
        errs.insert("name".into(), "A service needs a name".into());
    }
    let provider = match form.provider.parse::<Provider>() {
        Ok(p) => Some(p),
        Err(e) => {
            errs.insert("provider".into(), e);
            None
        }
    };
    let mode = if form.mode.trim().is_empty() {
        Mode::Api
    } else {
        match form.mode.parse::<Mode>() {
            Ok(m) => m,
            Err(e) => {
                errs.insert("mode".into(), e);
                Mode::Api
            }
        }
    };
    if let Some(p) = provider {
        // The provider's own reading of its fields: the config's rules, per field.
        let values: BTreeMap<String, String> = form
            .target
            .iter()
            .filter(|(k, _)| p.spec().field(k).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut fields = MapFields::new(&values);
        Target::parse(p, &mut fields);
        for (k, message) in fields.problems {
            errs.entry(format!("target.{k}")).or_insert(message);
        }
    }
    match (&form.key, mode) {
        (None, Mode::Api) => {
            errs.insert(
                "key".into(),
                "An API-mode service needs a key: pick one, or add a new one".into(),
            );
        }
        (Some(k), _) => match k.source.as_str() {
            "keychain" => {
                if let Err(e) = secrets::validate_key_name(k.name.trim()) {
                    errs.insert("key".into(), e);
                } else if let Some(v) = &k.value {
                    if let Err(e) = secrets::check_value(k.name.trim(), v.clone()) {
                        errs.insert("key_value".into(), e);
                    }
                }
            }
            "env" => {
                let r = format!("env:{}", k.name.trim()).parse::<KeyRef>();
                if let Err(e) = r {
                    errs.insert("key".into(), e);
                }
            }
            // A link-only service may come without one.
            "" if mode == Mode::Link => {}
            other => {
                errs.insert(
                    "key".into(),
                    format!("unknown key source `{other}`: keychain or env"),
                );
            }
        },
        (None, Mode::Link) => {}
    }
    for (field, v, insecure_ok) in [
        ("base_url", &form.base_url, false),
        ("dashboard", &form.dashboard, true),
    ] {
        if !v.trim().is_empty() {
            if let Some(p) = url_problem(v, insecure_ok) {
                errs.insert(field.into(), p);
            }
        }
    }
    let r = form.refresh.trim();
    if !r.is_empty() && !r.eq_ignore_ascii_case("off") {
        if let Err(e) = parse_duration(r) {
            errs.insert("refresh".into(), e);
        }
    }
    match (provider, errs.is_empty()) {
        (Some(p), true) => Ok((p, mode)),
        _ => Err(errs),
    }
}

/// The key reference the form names, as the config writes it.
fn key_ref(form: &ServiceForm) -> Option<String> {
    let k = form.key.as_ref()?;
    match k.source.as_str() {
        "keychain" => Some(k.name.trim().to_string()),
        "env" => Some(format!("env:{}", k.name.trim())),
        _ => None,
    }
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The form as the editor's fields (an empty target value, or a default,
/// removes that key).
fn fields(form: &ServiceForm, provider: Provider, mode: Mode) -> ServiceFields {
    ServiceFields {
        name: some(&form.name),
        provider: Some(provider),
        mode: Some(mode),
        key: key_ref(form),
        target: provider
            .spec()
            .fields
            .iter()
            .map(|f| {
                let v = form.target.get(f.key).map(|v| v.trim()).unwrap_or_default();
                // A default is left out of the file, as the CLI leaves it out.
                let v = if Some(v) == f.default { "" } else { v };
                (f.key.to_string(), v.to_string())
            })
            .collect(),
        base_url: some(&form.base_url),
        dashboard: some(&form.dashboard),
        refresh: some(&form.refresh),
        enabled: Some(form.enabled),
        ..ServiceFields::default()
    }
}

/// The form field a problem of the edited file is about: the key on its
/// line, else the first `key` its message names that is a form field.
fn field_of(text: &str, p: &crate::config::Problem, provider: Provider) -> String {
    let form_field = |k: &str| -> Option<String> {
        if provider.spec().field(k).is_some() {
            return Some(format!("target.{k}"));
        }
        match k {
            "name" | "provider" | "mode" | "base_url" | "dashboard" | "refresh" => {
                Some(k.to_string())
            }
            "key" => Some("key".into()),
            _ => None,
        }
    };
    let on_line = text
        .lines()
        .nth(p.line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .and_then(|k| form_field(&k));
    on_line
        .or_else(|| p.message.split('`').skip(1).step_by(2).find_map(form_field))
        .unwrap_or_default()
}

/// Where an edited service ends up, for messages and "Test connection".
struct Applied {
    editor: Editor,
    config: Config,
    workspace: String,
    name: String,
    created_workspace: bool,
}

/// Opens the config and applies the form, without saving. The error is a
/// finished answer (the form's fields, or the file's problem).
fn apply(path: &std::path::Path, form: &ServiceForm) -> Result<Applied, Response> {
    let (provider, mode) = check(form).map_err(|e| invalid("Some fields need attention", e))?;
    let mut ed = Editor::open(path).map_err(|e| broken(&e))?;
    let current = ed.config().map_err(|e| broken(&e))?;
    let f = fields(form, provider, mode);
    let ws = form.workspace.trim().to_string();
    let name = form.name.trim().to_string();
    let created = !current
        .workspaces
        .iter()
        .any(|w| crate::config::same_name(&w.name, &ws));
    let edit_err = |e: ConfigError| {
        let msg = e.to_string();
        let mut fields = FieldErrors::new();
        let field = if msg.contains("service named") {
            "name"
        } else if msg.contains("workspace") {
            "workspace"
        } else {
            ""
        };
        fields.insert(field.into(), msg.clone());
        invalid(&msg, fields)
    };
    match &form.id {
        None => {
            ed.ensure_workspace(&ws).map_err(edit_err)?;
            ed.add_service(&ws, &f).map_err(edit_err)?;
        }
        Some(id) => {
            let svc = current
                .services()
                .find(|s| s.id.0 == *id)
                .ok_or_else(|| {
                    error(
                        StatusCode::CONFLICT,
                        "this service is no longer in the config file (edited meanwhile?): reload the page",
                    )
                })?;
            let (old_ws, old_name) = (svc.workspace.clone(), svc.name.clone());
            ed.edit_service(&old_ws, &old_name, &f).map_err(edit_err)?;
            // Clearing an optional field in the dialog removes it from the file.
            for (k, v) in [
                ("base_url", &form.base_url),
                ("dashboard", &form.dashboard),
                ("refresh", &form.refresh),
            ] {
                if v.trim().is_empty() {
                    ed.clear_service_key(&old_ws, &name, k).map_err(edit_err)?;
                }
            }
            if mode == Mode::Link && form.key.is_none() {
                ed.clear_service_key(&old_ws, &name, "key")
                    .map_err(edit_err)?;
            }
            if !crate::config::same_name(&old_ws, &ws) {
                ed.ensure_workspace(&ws).map_err(edit_err)?;
                ed.move_service(&old_ws, &name, Some(&ws), None)
                    .map_err(edit_err)?;
            }
        }
    }
    let config = match ed.config() {
        Ok(c) => c,
        Err(e) => {
            let text = ed.preview_text();
            let mut fields = FieldErrors::new();
            for p in e.problems() {
                let f = field_of(&text, p, provider);
                fields
                    .entry(f)
                    .and_modify(|m: &mut String| {
                        m.push_str("; ");
                        m.push_str(&p.message);
                    })
                    .or_insert_with(|| p.message.clone());
            }
            if fields.is_empty() {
                fields.insert(String::new(), e.to_string());
            }
            return Err(invalid("The config would not be valid", fields));
        }
    };
    Ok(Applied {
        editor: ed,
        config,
        workspace: ws,
        name,
        created_workspace: created,
    })
}

/// A config file that cannot be edited: said with its file:line, never overwritten.
fn broken(e: &ConfigError) -> Response {
    json(
        StatusCode::CONFLICT,
        &serde_json::json!({
            "error": format!("{e}"),
            "broken": true,
            "problems": e.problems().iter().map(|p| serde_json::json!({
                "line": p.line, "column": p.column, "message": p.message,
            })).collect::<Vec<_>>(),
        }),
    )
}

/// Save (or, with `test`, check once without saving) the dialog's service.
pub(super) async fn save_service(inner: Arc<Inner>, body: &[u8], test: bool) -> Response {
    let form: ServiceForm = match serde_json::from_slice(body) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
    };
    let path = inner.source.app.borrow().config_path.clone();
    let new_value = form
        .key
        .as_ref()
        .filter(|k| k.source == "keychain")
        .and_then(|k| k.value.clone().map(|v| (k.name.trim().to_string(), v)));
    let f = form.clone();
    let applied = match blocking(move || apply(&path, &f)).await {
        Ok(Ok(a)) => a,
        Ok(Err(r)) | Err(r) => return r,
    };
    if test {
        return test_connection(inner, applied, new_value).await;
    }
    // The new key first: a service saved with a key that failed to store
    // would only fail at every check.
    let stored_in = if let Some((name, value)) = new_value {
        let store = inner.keychain();
        let value = match secrets::check_value(&name, value) {
            Ok(v) => Secret::new(v),
            Err(e) => return invalid(&e.clone(), FieldErrors::from([("key_value".into(), e)])),
        };
        let r = blocking(move || store.set(&name, &value).map(|()| store.backend())).await;
        match r {
            Ok(Ok(backend)) => Some(backend),
            Ok(Err(e)) => {
                let msg = format!("the key could not be stored: {e}; nothing was saved");
                return invalid(&msg, FieldErrors::from([("key_value".into(), msg.clone())]));
            }
            Err(r) => return r,
        }
    } else {
        None
    };
    let Applied {
        mut editor,
        workspace,
        name,
        created_workspace,
        ..
    } = applied;
    let saved = blocking(move || editor.save().map(|_| editor.path().to_path_buf())).await;
    let path = match saved {
        Ok(Ok(p)) => p,
        Ok(Err(e @ ConfigError::Invalid { .. })) => return broken(&e),
        Ok(Err(e)) => return error(StatusCode::CONFLICT, e.to_string()),
        Err(r) => return r,
    };
    if stored_in.is_some() {
        tokio::spawn(super::refresh_keychain(inner.clone()));
    }
    let mut message = format!(
        "{} `{name}` in `{workspace}` (saved {})",
        if form.id.is_some() {
            "Updated"
        } else {
            "Added"
        },
        path.display()
    );
    if created_workspace {
        message = format!("Created workspace `{workspace}`. {message}");
    }
    if let Some(b) = stored_in {
        message.push_str(&format!("; the key is stored in {b}"));
    }
    json(
        StatusCode::OK,
        &serde_json::json!({ "ok": true, "message": crate::text::clean(&message) }),
    )
}

/// Runs one check of the unsaved service, with the new key (if any) held in
/// memory only, and answers with the card it would show.
async fn test_connection(
    inner: Arc<Inner>,
    applied: Applied,
    new_value: Option<(String, String)>,
) -> Response {
    let Some(service) = applied
        .config
        .workspace(&applied.workspace)
        .and_then(|w| {
            w.services
                .iter()
                .find(|s| crate::config::same_name(&s.name, &applied.name))
        })
        .cloned()
    else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the service was not found after the edit",
        );
    };
    if service.mode == Mode::Link {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A link-only service is not checked: switch to API mode to test it",
        );
    }
    let wiring = inner.source.wiring.clone();
    let mut store: Arc<dyn SecretStore> = wiring.store_for(&applied.config);
    if let Some((name, value)) = new_value {
        let value = match secrets::check_value(&name, value) {
            Ok(v) => v,
            Err(e) => return invalid(&e.clone(), FieldErrors::from([("key_value".into(), e)])),
        };
        store = Arc::new(secrets::Overlay::new([(name, Secret::new(value))], store));
    }
    let http = match wiring.http_for(&applied.config) {
        Ok(h) => h,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    };
    // The same check the engine runs for a poll.
    let result = http.check(&service, &*store, wiring.clock().now()).await;
    let app = inner.source.app.borrow().clone();
    let card = view::card_view(
        &service,
        Some(&result.card),
        None,
        false,
        time::OffsetDateTime::now_utc(),
        &app,
        &Default::default(),
    );
    json(
        StatusCode::OK,
        &serde_json::json!({ "ok": result.card.status != crate::model::Status::Unknown, "card": card }),
    )
}

/// Stores a key's value in the keychain (write-only: the answer names the
/// key and the keychain, never the value) and re-checks the services using it.
pub(super) async fn set_key(inner: Arc<Inner>, body: &[u8]) -> Response {
    #[derive(Deserialize)]
    struct Req {
        name: String,
        value: String,
    }
    let req: Req = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad request: send a name and a value",
            )
        }
    };
    let name = req.name.trim().to_string();
    if let Err(e) = secrets::validate_key_name(&name) {
        return invalid(&e.clone(), FieldErrors::from([("name".into(), e)]));
    }
    let value = match secrets::check_value(&name, req.value) {
        Ok(v) => Secret::new(v),
        Err(e) => return invalid(&e.clone(), FieldErrors::from([("value".into(), e)])),
    };
    let config = inner.source.app.borrow().config.clone();
    let store = inner.keychain();
    let n = name.clone();
    let stored = blocking(move || store.set(&n, &value).map(|()| store.backend())).await;
    let backend = match stored {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return invalid(
                &format!("the key was not stored: {e}"),
                FieldErrors::from([("value".into(), format!("not stored: {e}"))]),
            )
        }
        Err(r) => return r,
    };
    tokio::spawn(super::refresh_keychain(inner.clone()));
    let users: Vec<_> = config
        .services()
        .filter(|s| matches!(&s.key, Some(KeyRef::Keychain(k)) if *k == name))
        .map(|s| s.id.clone())
        .collect();
    for id in &users {
        let _ = inner
            .source
            .engine
            .refresh(crate::engine::Scope::Service(id.clone()))
            .await;
    }
    json(
        StatusCode::OK,
        &serde_json::json!({
            "ok": true,
            "message": crate::text::clean(&format!(
                "Stored key `{name}` in {backend}{}",
                match users.len() {
                    0 => String::new(),
                    1 => "; checking the service that uses it".into(),
                    n => format!("; checking the {n} services that use it"),
                }
            )),
        }),
    )
}

/// The one-step edits: remove, enable/disable, move a service; add, rename,
/// remove a workspace.
pub(super) async fn simple(inner: Arc<Inner>, path: &str, body: &[u8]) -> Response {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Req {
        id: Option<String>,
        enabled: Option<bool>,
        /// 1-based position in the workspace.
        position: Option<usize>,
        to: Option<String>,
        name: Option<String>,
        new_name: Option<String>,
        force: bool,
    }
    let req: Req = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
    };
    let config_path = inner.source.app.borrow().config_path.clone();
    let op = path.to_string();
    let done = blocking(move || -> Result<String, Response> {
        let mut ed = Editor::open(&config_path).map_err(|e| broken(&e))?;
        let config = ed.config().map_err(|e| broken(&e))?;
        let find = |id: &Option<String>| {
            let id = id.as_deref().unwrap_or_default();
            config
                .services()
                .find(|s| s.id.0 == id)
                .map(|s| (s.workspace.clone(), s.name.clone()))
                .ok_or_else(|| {
                    error(
                        StatusCode::CONFLICT,
                        "this service is no longer in the config file (edited meanwhile?): reload the page",
                    )
                })
        };
        let name = || req.name.clone().unwrap_or_default();
        let e = |e: ConfigError| error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
        let message = match op.as_str() {
            "/api/service/remove" => {
                let (ws, n) = find(&req.id)?;
                ed.remove_service(&ws, &n).map_err(e)?;
                format!("Removed `{n}` from `{ws}`")
            }
            "/api/service/enable" => {
                let (ws, n) = find(&req.id)?;
                let on = req.enabled.unwrap_or(true);
                ed.edit_service(
                    &ws,
                    &n,
                    &ServiceFields {
                        enabled: Some(on),
                        ..ServiceFields::default()
                    },
                )
                .map_err(e)?;
                format!("{} `{n}`", if on { "Enabled" } else { "Disabled" })
            }
            "/api/service/move" => {
                let (ws, n) = find(&req.id)?;
                if req.to.is_none() && req.position.is_none() {
                    return Err(error(StatusCode::BAD_REQUEST, "say where to: a position or a workspace"));
                }
                ed.move_service(&ws, &n, req.to.as_deref(), req.position)
                    .map_err(e)?;
                format!("Moved `{n}`")
            }
            "/api/workspace/add" => {
                ed.add_workspace(&name()).map_err(e)?;
                format!("Added workspace `{}`", name().trim())
            }
            "/api/workspace/rename" => {
                let to = req.new_name.clone().unwrap_or_default();
                ed.rename_workspace(&name(), &to).map_err(e)?;
                format!("Renamed workspace `{}` to `{}`", name(), to.trim())
            }
            "/api/workspace/remove" => {
                let n = ed.remove_workspace(&name(), req.force).map_err(e)?;
                format!(
                    "Removed workspace `{}`{}",
                    name(),
                    match n {
                        0 => String::new(),
                        1 => " and its service".into(),
                        n => format!(" and its {n} services"),
                    }
                )
            }
            _ => return Err(error(StatusCode::NOT_FOUND, format!("no such action: {op}"))),
        };
        match ed.save() {
            Ok(_) => Ok(message),
            Err(e @ ConfigError::Invalid { .. }) => Err(invalid(
                &format!("the change was not saved: {}", e.problems().iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; ")),
                FieldErrors::new(),
            )),
            Err(e) => Err(error(StatusCode::CONFLICT, e.to_string())),
        }
    })
    .await;
    match done {
        Ok(Ok(message)) => json(
            StatusCode::OK,
            &serde_json::json!({ "ok": true, "message": crate::text::clean(&message) }),
        ),
        Ok(Err(r)) | Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ServiceForm {
        ServiceForm {
            workspace: "Acme".into(),
            name: "Shop".into(),
            provider: "railway".into(),
            mode: "api".into(),
            target: BTreeMap::from([("project".into(), "p1".into())]),
            key: Some(KeyForm {
                source: "keychain".into(),
                name: "acme-railway".into(),
                value: None,
            }),
            enabled: true,
            ..ServiceForm::default()
        }
    }

    #[test]
    fn the_form_is_checked_field_by_field() {
        assert!(check(&form()).is_ok());
        let mut f = form();
        f.name = " ".into();
        f.target.clear();
        f.key = None;
        f.base_url = "http://example.com".into();
        f.refresh = "soon".into();
        let errs = check(&f).unwrap_err();
        for k in ["name", "target.project", "key", "base_url", "refresh"] {
            assert!(errs.contains_key(k), "{k}: {errs:?}");
        }
        let mut f = form();
        f.key.as_mut().unwrap().value = Some("a\nb".into());
        assert!(check(&f).unwrap_err()["key_value"].contains("line break"));
        let mut f = form();
        f.target.insert("token_kind".into(), "root".into());
        assert!(check(&f).unwrap_err().contains_key("target.token_kind"));
        let mut f = form();
        f.mode = "link".into();
        f.key = None;
        assert!(check(&f).is_ok(), "a link needs no key");
    }

    #[test]
    fn a_problem_is_put_on_the_field_it_is_about() {
        let text = "[[workspaces]]\nname = \"A\"\n\n[[workspaces.services]]\nname = \"S\"\nsite = \"..\"\n";
        let p = crate::config::Problem {
            line: 6,
            column: 8,
            message: "`site` cannot be `..`".into(),
        };
        assert_eq!(field_of(text, &p, Provider::Netlify), "target.site");
        let p = crate::config::Problem {
            line: 4,
            column: 1,
            message: "service `S` (netlify) needs `site` = the Netlify site id".into(),
        };
        assert_eq!(field_of(text, &p, Provider::Netlify), "target.site");
        let p = crate::config::Problem {
            line: 2,
            column: 1,
            message: "something else".into(),
        };
        assert_eq!(field_of(text, &p, Provider::Netlify), "name");
    }
}

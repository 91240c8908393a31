//! The dashboard: a loopback-only web server the tray starts the first time its page is opened, serving the grid of cards live over Server-Sent Events and taking edits that go through the config's editor.
//!
//! The page is the design's popup as a local web page (the pattern
//! Syncthing uses): every workspace, every card, the 24-hour strips, and the
//! add/edit dialog. It reads the engine's snapshots and the tray's app state
//! ([`Source`]); an edit is written through [`crate::config::Editor`] (lock,
//! whole-file validation, atomic write, comments kept) and reaches the
//! engine by the same file reload as a hand edit — the page never talks to
//! the engine's internals, apart from a Refresh click.
//!
//! One handler takes every request and runs the gate first
//! ([`security`]): Host, then the session cookie, then Origin + CSRF + JSON
//! for changes, so no route can forget a check. Assets are embedded in the
//! binary ([`assets`]); nothing is fetched from elsewhere.

mod assets;
mod edit;
pub mod security;
pub mod view;

use std::collections::HashSet;
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::{oneshot, watch};

use crate::config::Config;
use crate::engine::{EngineHandle, Scope, Zone};
use crate::model::ServiceId;
use crate::secrets::{KeyRef, SecretStore};
use crate::wiring::Wiring;
use security::{Gate, Refusal};

/// The largest request body taken (a service form is well under 1 KiB; a key at most 64 KiB).
const MAX_BODY: usize = 256 * 1024;

/// What the tray knows besides the engine's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct AppInfo {
    /// The config in force (the last good one, or the demo's).
    pub config: Arc<Config>,
    /// Why the config file cannot be used, with its file:line.
    pub config_error: Option<String>,
    /// The demo's simulated services are shown.
    pub demo: bool,
    pub config_path: PathBuf,
    /// The user's time zone, for clock times.
    pub zone: Zone,
}

/// What the dashboard reads from and acts through.
#[derive(Clone)]
pub struct Source {
    pub engine: EngineHandle,
    /// The tray's state, updated whenever it changes (a reload, the demo starting).
    pub app: watch::Receiver<Arc<AppInfo>>,
    /// The process's wiring: the HTTP client and secret stores of "Test
    /// connection", the keychain new keys go to, the clock.
    pub wiring: Arc<Wiring>,
}

struct Inner {
    gate: Gate,
    source: Source,
    /// The OS keychain, opened on first use (listing names, storing keys).
    keychain_store: std::sync::OnceLock<Arc<dyn SecretStore>>,
    /// The keychain's entry names, when it could list them (`None`: not yet, or it cannot).
    keychain: Mutex<Option<Vec<String>>>,
    /// Bumped when `keychain` changes, so open pages redraw ("Set key…" buttons).
    keys_changed: watch::Sender<u64>,
}

/// A running dashboard server.
pub struct Server {
    inner: Arc<Inner>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Server {
    /// Binds a random port on 127.0.0.1 and serves until dropped.
    pub async fn start(source: Source) -> io::Result<Server> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            gate: Gate::new(addr.port()),
            source,
            keychain_store: std::sync::OnceLock::new(),
            keychain: Mutex::new(None),
            keys_changed: watch::channel(0).0,
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("the dashboard server stopped: {e}");
            }
        });
        tokio::spawn(refresh_keychain(inner.clone()));
        tracing::info!("dashboard listening on http://{addr}/");
        Ok(Server {
            inner,
            addr,
            shutdown: Some(tx),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// A URL that signs one browser in, once, within a few minutes.
    pub fn launch_url(&self) -> String {
        format!("{}?token={}", self.base_url(), self.inner.gate.mint())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Reads the keychain's entry names again (off the async threads: D-Bus).
async fn refresh_keychain(inner: Arc<Inner>) {
    let store = inner.keychain();
    let names = tokio::task::spawn_blocking(move || store.list().ok())
        .await
        .ok()
        .flatten();
    *inner.keychain.lock().unwrap_or_else(|e| e.into_inner()) = names;
    inner.keys_changed.send_modify(|n| *n += 1);
}

impl Inner {
    /// The OS keychain (the wiring's choice), opened once.
    fn keychain(&self) -> Arc<dyn SecretStore> {
        self.keychain_store
            .get_or_init(|| {
                let config = self.source.app.borrow().config.clone();
                self.source.wiring.keychain(&config)
            })
            .clone()
    }

    /// Keychain names the config uses that the keychain does not hold.
    fn missing_keys(&self, config: &Config) -> HashSet<String> {
        let names = self.keychain.lock().unwrap_or_else(|e| e.into_inner());
        let Some(names) = names.as_ref() else {
            return HashSet::new();
        };
        config
            .key_refs()
            .into_iter()
            .filter_map(|k| match k {
                KeyRef::Keychain(n) if !names.contains(&n) && n != crate::wiring::DEMO_KEY => {
                    Some(n)
                }
                _ => None,
            })
            .collect()
    }

    fn page(&self) -> view::Page {
        let app = self.source.app.borrow().clone();
        let snap = self.source.engine.subscribe().borrow().clone();
        let missing = self.missing_keys(&app.config);
        view::page(&app, &snap, OffsetDateTime::now_utc(), &missing)
    }
}

// ---- responses -----------------------------------------------------------------

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_string(),
    )
        .into_response()
}

/// `{"error": message}` with a status.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json(
        status,
        &serde_json::json!({ "error": crate::text::clean(&message.into()) }),
    )
}

/// A refusal: a small page for a browser's page load, JSON for the API.
fn refuse(path: &str, r: Refusal) -> Response {
    if path.starts_with("/api/") {
        return error(StatusCode::FORBIDDEN, r.message());
    }
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Overwatch</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/assets/app.css\"></head>\
         <body class=\"refused\"><main><h1>Overwatch</h1><p>{}</p></main></body></html>\n",
        crate::text::html(r.message())
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Runs blocking work (the config file, the keychain) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        )
    })
}

// ---- the one handler -------------------------------------------------------------

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut resp = route(inner, &method, &uri, &headers, body).await;
    security::harden(resp.headers_mut());
    resp
}

async fn route(
    inner: Arc<Inner>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    // DNS rebinding: a page on attacker.example resolved to 127.0.0.1 sends
    // its own name here. Refused before anything else is looked at.
    if !inner.gate.host_ok(headers) {
        return refuse(path, Refusal::WrongHost);
    }
    // The tray's launch link: a one-time token for a cookie, then the
    // address without the token.
    if path == "/" && *method == Method::GET {
        if let Some(token) = query_param(uri, "token") {
            if !inner.gate.redeem(&token) {
                return refuse(path, Refusal::BadToken);
            }
            let mut resp = StatusCode::SEE_OTHER.into_response();
            let h = resp.headers_mut();
            h.insert(header::LOCATION, HeaderValue::from_static("/"));
            if let Ok(v) = HeaderValue::from_str(&inner.gate.set_cookie()) {
                h.insert(header::SET_COOKIE, v);
            }
            return resp;
        }
    }
    // The page's code, style and images: the same for everyone, no data.
    if *method == Method::GET && path.starts_with("/assets/") {
        return assets::serve(path).unwrap_or_else(|| text(StatusCode::NOT_FOUND, "not found"));
    }
    if !inner.gate.has_session(headers) {
        return refuse(path, Refusal::NoSession);
    }
    if let Err(r) = inner.gate.change_ok(method, headers) {
        return refuse(path, r);
    }
    if body.len() > MAX_BODY {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large");
    }
    match (method.as_str(), path) {
        ("GET", "/") => assets::index(),
        ("GET", "/api/session") => json(
            StatusCode::OK,
            &serde_json::json!({
                "csrf": inner.gate.csrf(),
                "providers": edit::provider_specs(),
                "version": env!("CARGO_PKG_VERSION"),
            }),
        ),
        ("GET", "/api/state") => json(StatusCode::OK, &inner.page()),
        ("GET", "/api/events") => events(inner).into_response(),
        ("GET", "/api/keys") => keys(inner).await,
        ("POST", "/api/refresh") => refresh(inner, &body).await,
        ("POST", "/api/key/set") => edit::set_key(inner, &body).await,
        ("POST", "/api/service/save") => edit::save_service(inner, &body, false).await,
        ("POST", "/api/service/test") => edit::save_service(inner, &body, true).await,
        ("POST", p) if p.starts_with("/api/service/") || p.starts_with("/api/workspace/") => {
            edit::simple(inner, p, &body).await
        }
        _ => error(StatusCode::NOT_FOUND, format!("no such page: {path}")),
    }
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Changes arriving this close together are sent as one (the polls of a
/// round start and end in bursts).
const COALESCE: Duration = Duration::from_millis(200);

/// What changed between two pages, as the stream's `patch` event: the page
/// without its cards, and the cards that differ. `None` when the grid's
/// shape changed (a service or workspace added, moved, removed): then the
/// whole page is sent.
fn patch(old: &serde_json::Value, new: &serde_json::Value) -> Option<serde_json::Value> {
    type Shape = Vec<(String, Vec<String>)>;
    let shape = |v: &serde_json::Value| -> Option<Shape> {
        v["workspaces"]
            .as_array()?
            .iter()
            .map(|w| {
                let ids = w["services"]
                    .as_array()?
                    .iter()
                    .map(|c| c["id"].as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()?;
                Some((w["name"].as_str()?.to_string(), ids))
            })
            .collect()
    };
    if shape(old)? != shape(new)? {
        return None;
    }
    let mut cards = Vec::new();
    let (ow, nw) = (old["workspaces"].as_array()?, new["workspaces"].as_array()?);
    for (o, n) in ow.iter().zip(nw) {
        for (oc, nc) in o["services"]
            .as_array()?
            .iter()
            .zip(n["services"].as_array()?)
        {
            if oc != nc {
                cards.push(nc.clone());
            }
        }
    }
    let mut top = new.clone();
    for w in top["workspaces"].as_array_mut()? {
        w.as_object_mut()?.remove("services");
    }
    Some(serde_json::json!({ "top": top, "cards": cards }))
}

/// The page as a stream: the whole grid first, then whenever what it shows
/// changes — a new snapshot, a reload, a key stored, or an "updated N min
/// ago" label turning over — only what changed (see [`patch`]), and nothing
/// in between.
fn events(inner: Arc<Inner>) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    struct St {
        inner: Arc<Inner>,
        snap: watch::Receiver<Arc<crate::engine::Snapshot>>,
        app: watch::Receiver<Arc<AppInfo>>,
        keys: watch::Receiver<u64>,
        last: Option<serde_json::Value>,
        first: bool,
    }
    let st = St {
        snap: inner.source.engine.subscribe(),
        app: inner.source.app.clone(),
        keys: inner.keys_changed.subscribe(),
        inner,
        last: None,
        first: true,
    };
    let stream = futures_util::stream::unfold(st, |mut st| async move {
        loop {
            if !std::mem::take(&mut st.first) {
                let next = {
                    let snap = st.snap.borrow();
                    crate::view::live::next_label_change(&snap, OffsetDateTime::now_utc())
                };
                tokio::select! {
                    r = st.snap.changed() => if r.is_err() { return None },
                    r = st.app.changed() => {
                        if r.is_err() {
                            return None;
                        }
                        // A reload may use new key names: look again.
                        tokio::spawn(refresh_keychain(st.inner.clone()));
                    },
                    _ = st.keys.changed() => {},
                    _ = tokio::time::sleep(next) => {},
                }
                tokio::time::sleep(COALESCE).await;
                // What arrived meanwhile is in the page built now.
                st.snap.borrow_and_update();
                st.app.borrow_and_update();
                st.keys.borrow_and_update();
            }
            let Ok(page) = serde_json::to_value(st.inner.page()) else {
                continue;
            };
            if st.last.as_ref() == Some(&page) {
                continue;
            }
            let event = match st.last.as_ref().and_then(|old| patch(old, &page)) {
                Some(p) => Event::default().event("patch").data(p.to_string()),
                None => Event::default().event("state").data(page.to_string()),
            };
            st.last = Some(page);
            return Some((Ok(event), st));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(30)))
}

/// The key names the dialog offers (never a value): the keychain's, and the
/// ones the config refers to.
async fn keys(inner: Arc<Inner>) -> Response {
    let config = inner.source.app.borrow().config.clone();
    let store = inner.keychain();
    let demo = inner.source.app.borrow().demo;
    let listed = match blocking(move || (store.list(), store.backend())).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (list, backend) = listed;
    let problem = list.as_ref().err().map(|e| e.to_string());
    let names = list.unwrap_or_default();
    *inner.keychain.lock().unwrap_or_else(|e| e.into_inner()) =
        problem.is_none().then(|| names.clone());
    #[derive(Serialize)]
    struct Key {
        name: String,
        source: &'static str,
        /// In the keychain now (env keys: set in the tray's environment).
        present: bool,
        used_by: Vec<String>,
    }
    let mut out: Vec<Key> = names
        .iter()
        .map(|n| Key {
            name: n.clone(),
            source: "keychain",
            present: true,
            used_by: Vec::new(),
        })
        .collect();
    for k in config.key_refs() {
        let (name, source, present) = match &k {
            KeyRef::Keychain(n) if demo && n == crate::wiring::DEMO_KEY => continue,
            KeyRef::Keychain(n) => (n.clone(), "keychain", names.contains(n)),
            KeyRef::Env(v) => (
                format!("env:{v}"),
                "env",
                std::env::var_os(v).is_some_and(|x| !x.is_empty()),
            ),
        };
        let used_by = config
            .services()
            .filter(|s| s.key.as_ref() == Some(&k))
            .map(|s| format!("{} / {}", s.workspace, s.name))
            .collect();
        match out.iter_mut().find(|x| x.name == name) {
            Some(x) => x.used_by = used_by,
            None => out.push(Key {
                name,
                source,
                present,
                used_by,
            }),
        }
    }
    for k in out.iter_mut() {
        k.name = crate::text::clean(&k.name).into_owned();
        k.used_by = k
            .used_by
            .iter()
            .map(|u| crate::text::clean(u).into_owned())
            .collect();
    }
    json(
        StatusCode::OK,
        &serde_json::json!({ "keys": out, "keychain": backend, "problem": problem }),
    )
}

/// Refresh all, a workspace, or one service.
async fn refresh(inner: Arc<Inner>, body: &[u8]) -> Response {
    #[derive(serde::Deserialize)]
    struct Req {
        #[serde(default)]
        service: Option<String>,
        #[serde(default)]
        workspace: Option<String>,
    }
    let req: Req = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
    };
    let scope = match (req.service, req.workspace) {
        (Some(id), _) => Scope::Service(ServiceId(id)),
        (None, Some(w)) => Scope::Workspace(w),
        (None, None) => Scope::All,
    };
    match inner.source.engine.refresh(scope).await {
        Ok(out) => json(
            StatusCode::OK,
            &serde_json::json!({
                "started": out.started,
                "coalesced": out.coalesced,
                "waiting": out.waiting,
            }),
        ),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// A body from bytes, for the asset and page answers.
fn bytes_response(
    content_type: &'static str,
    cache: &'static str,
    body: impl Into<Body>,
) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        body.into(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(cards: &[(&str, &str)]) -> serde_json::Value {
        json!({
            "headline": "h",
            "workspaces": [{"name": "A", "worst": "down", "services":
                cards.iter().map(|(id, w)| json!({"id": id, "word": w})).collect::<Vec<_>>()}],
        })
    }

    #[test]
    fn a_patch_carries_only_the_cards_that_changed() {
        let old = page(&[("a/x", "Healthy"), ("a/y", "Healthy")]);
        let new = page(&[("a/x", "Healthy"), ("a/y", "Down")]);
        let p = patch(&old, &new).unwrap();
        assert_eq!(p["cards"], json!([{"id": "a/y", "word": "Down"}]));
        assert_eq!(
            p["top"]["workspaces"][0],
            json!({"name": "A", "worst": "down"})
        );
        assert_eq!(p["top"]["headline"], "h");
        // A service added or moved changes the grid's shape: the whole page goes.
        assert!(patch(&old, &page(&[("a/y", "Healthy"), ("a/x", "Healthy")])).is_none());
        assert!(patch(&old, &page(&[("a/x", "Healthy")])).is_none());
    }
}

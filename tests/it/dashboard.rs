//! The dashboard's server over plain HTTP, as an attacker on this machine or a hostile web page would reach it: the Host check, the launch token and cookie, Origin/CSRF on changes, secret values never in an answer; and its edits against a real config file (comments kept, a broken file never written).
//!
//! A real server on 127.0.0.1 with a real engine polling the simulator; the
//! requests are written by hand so that every header is exactly what a test
//! says (a browser would not let us forge `Host`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use overwatch::config;
use overwatch::engine::{Engine, EngineHandle, Zone};
use overwatch::secrets::{Secret, SecretError, SecretStore};
use overwatch::sim::{self, Scenario, SimConfig, SimHandle, TargetKey};
use overwatch::web::{AppInfo, Server, Source};
use overwatch::wiring::Wiring;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// The key value the simulator accepts here: it must never come back out.
const SECRET: &str = "tok-s3cret-9f2c71d0";

/// A keychain in memory.
#[derive(Default)]
struct Mem(Mutex<HashMap<String, String>>);

impl SecretStore for Mem {
    fn backend(&self) -> String {
        "test keychain".into()
    }
    fn get(&self, name: &str) -> Result<Secret, SecretError> {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .map(|v| Secret::new(v.clone()))
            .ok_or(SecretError::Missing { name: name.into() })
    }
    fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        self.0
            .lock()
            .unwrap()
            .insert(name.into(), value.expose().into());
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        Ok(self.0.lock().unwrap().remove(name).is_some())
    }
    fn list(&self) -> Result<Vec<String>, SecretError> {
        let mut v: Vec<String> = self.0.lock().unwrap().keys().cloned().collect();
        v.sort();
        Ok(v)
    }
}

const CONFIG: &str = r#"# My services — this comment must survive every edit.
refresh = "1s"

[[workspaces]]
name = "Acme" # the main one

# The shop's backend.
[[workspaces.services]]
name = "Shop"
provider = "railway"
project = "dash-shop"
key = "acme-railway"
base_url = "BASE"
"#;

struct Rig {
    _dir: tempfile::TempDir,
    path: PathBuf,
    _sim: SimHandle,
    server: Server,
    store: Arc<Mem>,
    _engine: EngineHandle,
    _app: watch::Sender<Arc<AppInfo>>,
    port: u16,
}

async fn rig() -> Rig {
    let sim = sim::start(
        SimConfig::default()
            .with_token(SECRET)
            .with_target(TargetKey::railway("dash-shop"), Scenario::Healthy)
            .with_target(TargetKey::netlify("dash-web"), Scenario::Healthy),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let base = sim.base_url().as_str().trim_end_matches('/').to_string();
    std::fs::write(&path, CONFIG.replace("BASE", &base)).unwrap();
    let config = config::load(&path).unwrap();
    let store = Arc::new(Mem::default());
    store.set("acme-railway", &Secret::new(SECRET)).unwrap();
    let s = store.clone();
    let wiring = Arc::new(
        Wiring::system()
            .with_store(move |_| s.clone() as Arc<dyn SecretStore>)
            .with_probe(None),
    );
    let engine = Engine::start(
        config.clone(),
        wiring.engine_options(&config, None, None).unwrap(),
    );
    let (app_tx, app_rx) = watch::channel(Arc::new(AppInfo {
        config: Arc::new(config),
        config_error: None,
        demo: false,
        config_path: path.clone(),
        zone: Zone::utc(),
    }));
    let server = Server::start(Source {
        engine: engine.clone(),
        app: app_rx,
        wiring,
    })
    .await
    .unwrap();
    let port = server.port();
    Rig {
        _dir: dir,
        path,
        _sim: sim,
        server,
        store,
        _engine: engine,
        _app: app_tx,
        port,
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    /// Everything that came back, for "never in any answer".
    fn all(&self) -> String {
        format!("{}\n{}", self.head, self.body)
    }
}

/// Sends a request exactly as written (HTTP/1.1, one per connection).
async fn raw(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    parse(&String::from_utf8_lossy(&out))
}

fn parse(text: &str) -> Resp {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Resp {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// The first Server-Sent Event of `/api/events` (the stream never ends by itself).
async fn first_event(port: u16, headers: &[(&str, &str)]) -> Resp {
    let mut req = "GET /api/events HTTP/1.1\r\n".to_string();
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&out);
            if let Some((_, body)) = text.split_once("\r\n\r\n") {
                if body.contains("\n\n") {
                    break;
                }
            }
        }
    })
    .await
    .expect("an event within 20 s");
    parse(&String::from_utf8_lossy(&out))
}

impl Rig {
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    fn launch_path(&self) -> String {
        let url = self.server.launch_url();
        url[url.find("/?").unwrap()..].to_string()
    }
    /// Signs in as the browser would: the launch link, then its cookie.
    async fn cookie(&self) -> String {
        let r = raw(
            self.port,
            "GET",
            &self.launch_path(),
            &[("Host", &self.host())],
            "",
        )
        .await;
        assert_eq!(r.status, 303, "{r:?}");
        let c = r.header("set-cookie").unwrap();
        c.split(';').next().unwrap().to_string()
    }
    async fn csrf(&self, cookie: &str) -> String {
        let r = self.get("/api/session", cookie).await;
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["csrf"].as_str().unwrap().to_string()
    }
    async fn get(&self, path: &str, cookie: &str) -> Resp {
        raw(
            self.port,
            "GET",
            path,
            &[("Host", &self.host()), ("Cookie", cookie)],
            "",
        )
        .await
    }
    /// A change as the page sends it.
    async fn post(&self, path: &str, cookie: &str, csrf: &str, body: &Value) -> Resp {
        raw(
            self.port,
            "POST",
            path,
            &[
                ("Host", &self.host()),
                ("Cookie", cookie),
                ("Origin", &self.origin()),
                ("Sec-Fetch-Site", "same-origin"),
                ("X-CSRF-Token", csrf),
                ("Content-Type", "application/json"),
            ],
            &body.to_string(),
        )
        .await
    }
    fn file(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_another_host_name_is_refused() {
    let rig = rig().await;
    let cookie = rig.cookie().await;
    let csrf = rig.csrf(&cookie).await;
    let before = rig.file();
    let other_port = format!("127.0.0.1:{}", rig.port + 1);
    let rebinding = format!("attacker.example:{}", rig.port);
    for host in [
        rebinding.as_str(),
        other_port.as_str(),
        "127.0.0.1",
        "[::1]",
    ] {
        for path in ["/", "/api/state", "/api/session", "/api/events"] {
            let r = raw(
                rig.port,
                "GET",
                path,
                &[("Host", host), ("Cookie", &cookie)],
                "",
            )
            .await;
            assert_eq!(r.status, 403, "{host} {path}: {r:?}");
            assert!(!r.body.contains(&csrf));
        }
        let r = raw(
            rig.port,
            "POST",
            "/api/workspace/add",
            &[
                ("Host", host),
                ("Cookie", &cookie),
                ("Origin", &rig.origin()),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
            r#"{"name":"Rebound"}"#,
        )
        .await;
        assert_eq!(r.status, 403, "{host}: {r:?}");
    }
    // A launch token is no use with the wrong Host either.
    let r = raw(
        rig.port,
        "GET",
        &rig.launch_path(),
        &[("Host", &rebinding)],
        "",
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(rig.file(), before, "nothing was written");
    // `localhost:PORT` is this server too.
    let r = raw(
        rig.port,
        "GET",
        "/api/state",
        &[
            ("Host", &format!("localhost:{}", rig.port)),
            ("Cookie", &cookie),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_launch_token_nothing_is_served_and_a_token_works_once() {
    let rig = rig().await;
    let host = rig.host();
    for path in [
        "/",
        "/api/state",
        "/api/session",
        "/api/keys",
        "/api/events",
    ] {
        let r = raw(rig.port, "GET", path, &[("Host", &host)], "").await;
        assert_eq!(r.status, 403, "{path}: {r:?}");
        assert!(r.body.contains("Open Overwatch"), "says how: {}", r.body);
        assert!(!r.body.contains("Shop"), "no data: {}", r.body);
    }
    // A made-up token, and a cookie that is not this run's.
    let r = raw(rig.port, "GET", "/?token=0123abcd", &[("Host", &host)], "").await;
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());
    let forged = format!("overwatch_{}={}", rig.port, "0".repeat(64));
    let r = rig.get("/api/state", &forged).await;
    assert_eq!(r.status, 403);

    let launch = rig.launch_path();
    let r = raw(rig.port, "GET", &launch, &[("Host", &host)], "").await;
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(
        r.header("location").as_deref(),
        Some("/"),
        "the token leaves the address bar"
    );
    let set = r.header("set-cookie").unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    let again = raw(rig.port, "GET", &launch, &[("Host", &host)], "").await;
    assert_eq!(again.status, 403, "a launch token works once");
    assert!(again.header("set-cookie").is_none());

    let cookie = set.split(';').next().unwrap();
    let page = rig.get("/", cookie).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script src=\"/assets/app.js\""));
    let state = rig.get("/api/state", cookie).await;
    assert_eq!(state.status, 200);
    assert_eq!(state.json()["workspaces"][0]["services"][0]["name"], "Shop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_strict_content_security_policy() {
    let rig = rig().await;
    let cookie = rig.cookie().await;
    for path in [
        "/",
        "/api/state",
        "/assets/app.js",
        "/assets/app.css",
        "/assets/status/down.png",
        "/assets/provider/railway.svg",
        "/nope",
    ] {
        let r = rig.get(path, &cookie).await;
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(r.header("referrer-policy").as_deref(), Some("no-referrer"));
    }
    let r = rig.get("/api/state", &cookie).await;
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_needs_this_origin_the_csrf_token_and_json() {
    let rig = rig().await;
    let cookie = rig.cookie().await;
    let csrf = rig.csrf(&cookie).await;
    let before = rig.file();
    let body = r#"{"name":"Forged"}"#;
    let host = rig.host();
    let origin = rig.origin();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "a cross-origin POST (a page on another site)",
            vec![
                ("Origin", "http://attacker.example"),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
        ),
        (
            "no Origin",
            vec![
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
        ),
        (
            "another local port's page",
            vec![
                ("Origin", "http://127.0.0.1:1"),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
        ),
        (
            "the browser says cross-site",
            vec![
                ("Origin", &origin),
                ("Sec-Fetch-Site", "cross-site"),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
        ),
        (
            "no CSRF token",
            vec![("Origin", &origin), ("Content-Type", "application/json")],
        ),
        (
            "a wrong CSRF token",
            vec![
                ("Origin", &origin),
                ("X-CSRF-Token", "0000"),
                ("Content-Type", "application/json"),
            ],
        ),
        (
            "a plain form post",
            vec![
                ("Origin", &origin),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
        ),
    ];
    for (what, extra) in cases {
        let mut h = vec![("Host", host.as_str()), ("Cookie", cookie.as_str())];
        h.extend(extra);
        let r = raw(rig.port, "POST", "/api/workspace/add", &h, body).await;
        assert_eq!(r.status, 403, "{what}: {r:?}");
    }
    // Everything right but the cookie.
    let r = raw(
        rig.port,
        "POST",
        "/api/workspace/add",
        &[
            ("Host", &host),
            ("Origin", &origin),
            ("X-CSRF-Token", &csrf),
            ("Content-Type", "application/json"),
        ],
        body,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(rig.file(), before, "no refused request wrote anything");

    let ok = rig
        .post(
            "/api/workspace/add",
            &cookie,
            &csrf,
            &serde_json::json!({"name": "Marketing"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let after = rig.file();
    assert!(after.contains("name = \"Marketing\""));
    assert!(after.contains("# My services — this comment must survive every edit."));
    assert!(after.contains("name = \"Acme\" # the main one"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_never_appear_in_any_answer() {
    let rig = rig().await;
    let cookie = rig.cookie().await;
    let csrf = rig.csrf(&cookie).await;
    let mut answers: Vec<Resp> = Vec::new();

    // Store a key from the page; it reaches the keychain.
    let r = rig
        .post(
            "/api/key/set",
            &cookie,
            &csrf,
            &serde_json::json!({"name": "acme-netlify", "value": SECRET}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("acme-netlify"));
    answers.push(r);
    assert_eq!(
        rig.store.get("acme-netlify").unwrap().expose(),
        SECRET,
        "stored in the keychain"
    );

    // Test a new service with a new key entered once, then save it.
    let base = rig
        ._sim
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let form = serde_json::json!({
        "workspace": "Acme", "name": "Web", "provider": "netlify", "mode": "api",
        "target": {"site": "dash-web"},
        "key": {"source": "keychain", "name": "acme-web", "value": SECRET},
        "base_url": base,
    });
    let r = rig.post("/api/service/test", &cookie, &csrf, &form).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["card"]["status"], "healthy", "{}", r.body);
    assert!(rig.store.get("acme-web").is_err(), "a test stores nothing");
    answers.push(r);
    // A key value the provider rejects: still not echoed.
    let mut bad = form.clone();
    bad["key"]["value"] = Value::from(format!("{SECRET}-wrong"));
    let r = rig.post("/api/service/test", &cookie, &csrf, &bad).await;
    assert_eq!(r.json()["card"]["reason"]["kind"], "auth", "{}", r.body);
    answers.push(r);
    let r = rig.post("/api/service/save", &cookie, &csrf, &form).await;
    assert_eq!(r.status, 200, "{r:?}");
    answers.push(r);
    assert_eq!(rig.store.get("acme-web").unwrap().expose(), SECRET);
    let file = rig.file();
    assert!(file.contains("key = \"acme-web\""), "{file}");
    assert!(
        !file.contains(SECRET),
        "the config holds names, never values"
    );

    // A value with a line break is refused, and not repeated back.
    let r = rig
        .post(
            "/api/key/set",
            &cookie,
            &csrf,
            &serde_json::json!({"name": "acme-x", "value": format!("{SECRET}\nmore")}),
        )
        .await;
    assert_eq!(r.status, 422, "{r:?}");
    answers.push(r);

    for path in [
        "/",
        "/api/session",
        "/api/state",
        "/api/keys",
        "/assets/app.js",
        "/nope",
    ] {
        answers.push(rig.get(path, &cookie).await);
    }
    answers.push(first_event(rig.port, &[("Host", &rig.host()), ("Cookie", &cookie)]).await);
    let keys = rig.get("/api/keys", &cookie).await.json();
    let names: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"acme-netlify") && names.contains(&"acme-web"),
        "{names:?}"
    );
    for a in &answers {
        assert!(!a.all().contains(SECRET), "a secret in an answer: {a:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_is_shown_with_its_line_and_never_written() {
    let rig = rig().await;
    let cookie = rig.cookie().await;
    let csrf = rig.csrf(&cookie).await;
    let broken = format!("{}\n[[workspaces]]\nname = \"B\"\nnope = 1\n", rig.file());
    std::fs::write(&rig.path, &broken).unwrap();
    for (path, body) in [
        ("/api/workspace/add", serde_json::json!({"name": "New"})),
        (
            "/api/service/save",
            serde_json::json!({"workspace": "Acme", "name": "X", "provider": "netlify",
                "target": {"site": "s"}, "key": {"source": "env", "name": "TOKEN"}}),
        ),
    ] {
        let r = rig.post(path, &cookie, &csrf, &body).await;
        assert_eq!(r.status, 409, "{path}: {r:?}");
        let v = r.json();
        assert_eq!(v["broken"], true);
        let err = v["error"].as_str().unwrap();
        assert!(
            err.contains("config.toml:") && err.contains("unknown key"),
            "{err}"
        );
        assert!(v["problems"][0]["line"].as_u64().unwrap() > 1);
    }
    assert_eq!(rig.file(), broken, "a broken file is never written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialogs_fields_are_checked_one_by_one_and_edits_keep_comments() {
    let rig = rig().await;
    let cookie = rig.cookie().await;
    let csrf = rig.csrf(&cookie).await;
    let before = rig.file();
    let r = rig
        .post(
            "/api/service/save",
            &cookie,
            &csrf,
            &serde_json::json!({"workspace": "Acme", "name": " ", "provider": "sentry",
                "target": {"org": "acme"}, "base_url": "ftp://x",
                "key": {"source": "keychain", "name": "has space"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{r:?}");
    let fields = &r.json()["fields"];
    for k in ["name", "target.project", "key", "base_url"] {
        assert!(fields[k].is_string(), "{k}: {fields}");
    }
    // A name already taken in the workspace: the config's own rule, on the field.
    let r = rig
        .post(
            "/api/service/save",
            &cookie,
            &csrf,
            &serde_json::json!({"workspace": "Acme", "name": "shop", "provider": "netlify",
                "target": {"site": "s"}, "key": {"source": "env", "name": "TOKEN"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{r:?}");
    assert!(r.json()["fields"]["name"]
        .as_str()
        .unwrap()
        .contains("already has"));
    assert_eq!(rig.file(), before);

    // The form shows a field's default; saved, a default is left out of the file.
    let r = rig
        .post(
            "/api/service/save",
            &cookie,
            &csrf,
            &serde_json::json!({"workspace": "Acme", "name": "Jobs", "provider": "railway",
                "target": {"project": "dash-jobs", "environment": "production", "token_kind": "account"},
                "key": {"source": "keychain", "name": "acme-railway"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let text = rig.file();
    assert!(text.contains("project = \"dash-jobs\""), "{text}");
    assert!(
        !text.contains("environment") && !text.contains("token_kind"),
        "{text}"
    );

    // Add to a new workspace, then edit: rename, move, clear a field.
    let r = rig
        .post(
            "/api/service/save",
            &cookie,
            &csrf,
            &serde_json::json!({"workspace": "Side", "name": "Blog", "provider": "plausible",
                "target": {"site": "blog.example"}, "key": {"source": "env", "name": "PLAUSIBLE_KEY"},
                "refresh": "5m"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("Created workspace `Side`"));
    let cfg = config::load(&rig.path).unwrap();
    let blog = cfg.services().find(|s| s.name == "Blog").unwrap().clone();
    assert_eq!(blog.refresh, Some(Duration::from_secs(300)));
    let r = rig
        .post(
            "/api/service/save",
            &cookie,
            &csrf,
            &serde_json::json!({"id": blog.id.0, "workspace": "Acme", "name": "Blog 2", "provider": "plausible",
                "target": {"site": "blog.example"}, "key": {"source": "env", "name": "PLAUSIBLE_KEY"},
                "refresh": ""}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let cfg = config::load(&rig.path).unwrap();
    let moved = cfg.services().find(|s| s.id == blog.id).unwrap();
    assert_eq!(
        (moved.workspace.as_str(), moved.name.as_str()),
        ("Acme", "Blog 2")
    );
    assert_eq!(moved.refresh, None, "a cleared field is removed");
    // Disable, move up, remove.
    for (path, body) in [
        (
            "/api/service/enable",
            serde_json::json!({"id": blog.id.0, "enabled": false}),
        ),
        (
            "/api/service/move",
            serde_json::json!({"id": blog.id.0, "position": 1}),
        ),
    ] {
        let r = rig.post(path, &cookie, &csrf, &body).await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }
    let cfg = config::load(&rig.path).unwrap();
    let acme = cfg.workspace("Acme").unwrap();
    assert_eq!(acme.services[0].name, "Blog 2");
    assert!(!acme.services[0].enabled);
    let text = rig.file();
    assert!(text.contains("# The shop's backend."), "{text}");
    assert!(text.contains("# My services — this comment must survive every edit."));
    let r = rig
        .post(
            "/api/service/remove",
            &cookie,
            &csrf,
            &serde_json::json!({"id": blog.id.0}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(config::load(&rig.path)
        .unwrap()
        .services()
        .all(|s| s.id != blog.id));
    // Workspaces: rename, and a removal that needs `force` with services in it.
    let r = rig
        .post(
            "/api/workspace/rename",
            &cookie,
            &csrf,
            &serde_json::json!({"name": "Side", "new_name": "Hobby"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = rig
        .post(
            "/api/workspace/remove",
            &cookie,
            &csrf,
            &serde_json::json!({"name": "Acme"}),
        )
        .await;
    assert_eq!(r.status, 422, "{r:?}");
    let r = rig
        .post(
            "/api/workspace/remove",
            &cookie,
            &csrf,
            &serde_json::json!({"name": "Hobby"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let names: Vec<String> = config::load(&rig.path)
        .unwrap()
        .workspaces
        .iter()
        .map(|w| w.name.clone())
        .collect();
    assert_eq!(names, ["Acme"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sends_the_grid_and_text_stays_text() {
    let rig = rig().await;
    let cookie = rig.cookie().await;
    let ev = first_event(rig.port, &[("Host", &rig.host()), ("Cookie", &cookie)]).await;
    assert_eq!(ev.status, 200, "{ev:?}");
    assert!(ev
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let data = ev
        .body
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let page: Value = serde_json::from_str(data).unwrap();
    assert_eq!(page["workspaces"][0]["name"], "Acme");
}

/// The 24-hour history is kept with the engine's state: a restart shows it
/// before the first check of the new run has answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_is_persisted_with_the_state() {
    let mut cfg = SimConfig::default()
        .with_token(SECRET)
        .with_target(TargetKey::railway("dash-shop"), Scenario::Healthy);
    // Slow enough answers that the restarted engine is seen before its first one.
    cfg.latency = Duration::from_millis(1500);
    let sim = sim::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let base = sim.base_url().as_str().trim_end_matches('/').to_string();
    std::fs::write(&path, CONFIG.replace("BASE", &base)).unwrap();
    let config = config::load(&path).unwrap();
    let store = Arc::new(Mem::default());
    store.set("acme-railway", &Secret::new(SECRET)).unwrap();
    let s = store.clone();
    let wiring = Arc::new(
        Wiring::system()
            .with_store(move |_| s.clone() as Arc<dyn SecretStore>)
            .with_probe(None),
    );
    let state = dir.path().join("state.json");
    // The first snapshot may not be published yet: no service reads as no history.
    let timeline = |e: &EngineHandle| {
        e.subscribe()
            .borrow()
            .services
            .first()
            .map(|s| s.timeline.clone())
            .unwrap_or_default()
    };
    let engine = Engine::start(
        config.clone(),
        wiring
            .engine_options(&config, None, Some(state.clone()))
            .unwrap(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while timeline(&engine).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no check answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = timeline(&engine);
    engine.shutdown().await.unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let line = saved["services"]["acme/shop"]["history"]["buckets"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(line.ends_with(" h"), "one compact line: {line}");

    let again = Engine::start(
        config.clone(),
        wiring.engine_options(&config, None, Some(state)).unwrap(),
    );
    // Wait for the restarted engine's first snapshot (not for an answer: the
    // sim takes 1.5 s, so what it shows comes from the state file).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while again.subscribe().borrow().services.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no snapshot");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        timeline(&again),
        before,
        "the history came back from the state file"
    );
    again.shutdown().await.unwrap();
}

/// `overwatch dashboard` without a running tray says how to start one.
#[test]
fn the_dashboard_command_without_a_tray_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("overwatch")
        .unwrap()
        .env("OVERWATCH_DATA_DIR", dir.path())
        .args(["dashboard"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Overwatch is not running"), "{err}");
    assert!(
        err.contains("`overwatch demo`") && err.contains("Open Overwatch…"),
        "{err}"
    );
}

//! The shared HTTP layer against real loopback servers, including misbehaving ones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use overwatch::model::{
    Mode, NetlifyTarget, PlausibleTarget, RailwayTarget, ReasonKind, SentryTarget, Service, Status,
    Target, TokenKind, Transport,
};
use overwatch::providers::http::{rate_limit_wait, Http, HttpOptions};
use overwatch::providers::{Auth, Method, Request};
use overwatch::secrets::{KeyRef, NoStore, Secret};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

const TOKEN: &str = "tok-very-secret-123";

/// What a raw server saw: the request head, lower-cased.
type Seen = Arc<Mutex<Vec<String>>>;

/// Reads one request head (and drops any body).
async fn read_head(sock: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut byte).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
    String::from_utf8_lossy(&buf).to_ascii_lowercase()
}

/// A one-answer-per-connection server: `answer(head, port)` gives the raw
/// response bytes. Returns its port and what it saw.
async fn serve<F>(answer: F) -> (u16, Seen)
where
    F: Fn(&str, u16) -> Vec<u8> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let head = read_head(&mut sock).await;
            log.lock().unwrap().push(head.clone());
            let bytes = answer(&head, port);
            let _ = sock.write_all(&bytes).await;
            let _ = sock.shutdown().await;
        }
    });
    (port, seen)
}

fn raw(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn http() -> Http {
    Http::new(HttpOptions::default()).unwrap()
}

fn get(url: &str, auth: Auth) -> Request {
    Request {
        tag: "test",
        method: Method::Get,
        url: Url::parse(url).unwrap(),
        auth,
        headers: Vec::new(),
        body: None,
    }
}

fn token() -> Secret {
    Secret::new(TOKEN)
}

fn assert_no_token(x: &impl std::fmt::Debug) {
    assert!(!format!("{x:?}").contains(TOKEN), "token leaked: {x:?}");
}

#[tokio::test]
async fn each_auth_kind_produces_its_header() {
    let (port, seen) = serve(|_, _| raw("200 OK", &[], b"{}")).await;
    let url = format!("http://127.0.0.1:{port}/x");
    let r = http()
        .send(&get(&url, Auth::Bearer), &token())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let r = http()
        .send(&get(&url, Auth::Header("Project-Access-Token")), &token())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let seen = seen.lock().unwrap();
    let tok = TOKEN.to_ascii_lowercase();
    assert!(seen[0].contains(&format!("authorization: bearer {tok}\r\n")));
    assert!(!seen[0].contains("project-access-token"));
    assert!(seen[1].contains(&format!("project-access-token: {tok}\r\n")));
    assert!(!seen[1].contains("authorization"));
    assert!(seen[0].contains("user-agent: overwatch/"));
    assert!(seen[0].contains("accept: application/json"));
}

#[tokio::test]
async fn post_bodies_are_sent_as_json() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut all = Vec::new();
        while !String::from_utf8_lossy(&all).contains("\"projectId\"") {
            let n = sock.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        sock.write_all(&raw("200 OK", &[], b"{}")).await.unwrap();
        String::from_utf8_lossy(&all).into_owned()
    });
    let mut req = get(&format!("http://127.0.0.1:{port}/graphql/v2"), Auth::Bearer);
    req.method = Method::Post;
    req.body = Some(serde_json::json!({"query": "{ x }", "variables": {"projectId": "p1"}}));
    let r = http().send(&req, &token()).await.unwrap();
    assert_eq!(r.status, 200);
    let text = got.await.unwrap().to_ascii_lowercase();
    assert!(text.starts_with("post /graphql/v2 "));
    assert!(text.contains("content-type: application/json"));
}

#[tokio::test]
async fn cross_origin_redirects_do_not_carry_the_token() {
    let (other, other_seen) = serve(|_, _| raw("200 OK", &[], b"{}")).await;
    let (port, _) = serve(move |_, _| {
        let to = format!("http://127.0.0.1:{other}/steal");
        raw("302 Found", &[("location", &to)], b"")
    })
    .await;
    let url = format!("http://127.0.0.1:{port}/start");
    for auth in [Auth::Bearer, Auth::Header("Project-Access-Token")] {
        let r = http().send(&get(&url, auth), &token()).await.unwrap();
        // The 3xx comes back as is; the adapter reports it as a bad response.
        assert_eq!(r.status, 302);
    }
    let seen = other_seen.lock().unwrap();
    assert!(seen.is_empty(), "the other origin was contacted: {seen:?}");
}

#[tokio::test]
async fn same_origin_redirects_are_followed_with_the_token() {
    let (port, seen) = serve(|head, port| {
        if head.starts_with("get /start ") {
            let to = format!("http://127.0.0.1:{port}/final");
            raw("301 Moved Permanently", &[("location", &to)], b"")
        } else {
            raw(
                "200 OK",
                &[("content-type", "application/json")],
                b"{\"ok\":1}",
            )
        }
    })
    .await;
    let url = format!("http://127.0.0.1:{port}/start");
    let r = http()
        .send(&get(&url, Auth::Header("Project-Access-Token")), &token())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"{\"ok\":1}");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].starts_with("get /final "));
    assert!(seen[1].contains(&format!(
        "project-access-token: {}",
        TOKEN.to_ascii_lowercase()
    )));
}

#[tokio::test]
async fn redirect_loops_stop_after_three() {
    let (port, seen) = serve(|head, port| {
        let n: u32 = head
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.trim_start_matches("/r").parse().ok())
            .unwrap_or(0);
        let to = format!("http://127.0.0.1:{port}/r{}", n + 1);
        raw("302 Found", &[("location", &to)], b"")
    })
    .await;
    let url = format!("http://127.0.0.1:{port}/r0");
    let r = http()
        .send(&get(&url, Auth::Bearer), &token())
        .await
        .unwrap();
    assert_eq!(r.status, 302);
    assert_eq!(
        seen.lock().unwrap().len(),
        4,
        "the original and 3 redirects"
    );
}

#[tokio::test]
async fn bodies_over_the_cap_are_bad_responses() {
    let big = vec![b'x'; 2048];
    let body = big.clone();
    let (port, _) = serve(move |head, _| {
        if head.starts_with("get /chunked ") {
            // No length announced: the cap must hold while reading.
            let mut out =
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n"
                    .to_vec();
            for _ in 0..4 {
                out.extend_from_slice(format!("{:x}\r\n", 1024).as_bytes());
                out.extend_from_slice(&body[..1024]);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
            out
        } else {
            raw("200 OK", &[], &body)
        }
    })
    .await;
    let small = Http::new(HttpOptions {
        max_body: 1024,
        ..HttpOptions::default()
    })
    .unwrap();
    for path in ["/sized", "/chunked"] {
        let url = format!("http://127.0.0.1:{port}{path}");
        let err = small
            .send(&get(&url, Auth::Bearer), &token())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ReasonKind::BadResponse, "{path}");
        assert_eq!(err.message, "response larger than 1 KiB");
    }
    // Under the default cap the same body is fine.
    let url = format!("http://127.0.0.1:{port}/sized");
    let r = http()
        .send(&get(&url, Auth::Bearer), &token())
        .await
        .unwrap();
    assert_eq!(r.body.len(), big.len());
}

#[tokio::test]
async fn html_and_empty_bodies_are_responses_for_the_adapter_to_judge() {
    let (port, _) = serve(|head, _| {
        if head.starts_with("get /html ") {
            raw(
                "403 Forbidden",
                &[("content-type", "text/html")],
                b"<!DOCTYPE html><title>Access denied</title>",
            )
        } else {
            raw("502 Bad Gateway", &[], b"")
        }
    })
    .await;
    let r = http()
        .send(
            &get(&format!("http://127.0.0.1:{port}/html"), Auth::Bearer),
            &token(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert!(r.body.starts_with(b"<!DOCTYPE html>"));
    let r = http()
        .send(
            &get(&format!("http://127.0.0.1:{port}/empty"), Auth::Bearer),
            &token(),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.body.len()), (502, 0));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // accept, then say nothing
        }
    });
    let quick = Http::new(HttpOptions {
        total_timeout: Duration::from_millis(300),
        ..HttpOptions::default()
    })
    .unwrap();
    let started = std::time::Instant::now();
    let err = quick
        .send(
            &get(&format!("http://127.0.0.1:{port}/"), Auth::Bearer),
            &token(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ReasonKind::Timeout);
    assert!(
        err.message.starts_with("no answer within 300 ms"),
        "{}",
        err.message
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_no_token(&err);
}

#[tokio::test]
async fn connection_refused_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = http()
        .send(
            &get(&format!("http://127.0.0.1:{port}/"), Auth::Bearer),
            &token(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ReasonKind::Unreachable);
    assert_eq!(err.facts.transport, Some(Transport::Refused));
    assert_eq!(
        err.message,
        format!("could not connect to 127.0.0.1:{port}: connection refused")
    );
}

#[tokio::test]
async fn tls_to_a_plain_server_is_a_tls_failure() {
    // A plain HTTP server answers the ClientHello with text, as a
    // misconfigured base_url (https to an http port) would.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock
                .write_all(&raw("400 Bad Request", &[], b"not tls"))
                .await;
            let _ = sock.shutdown().await;
        }
    });
    let err = http()
        .send(
            &get(&format!("https://127.0.0.1:{port}/"), Auth::Bearer),
            &token(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ReasonKind::Unreachable);
    assert_eq!(err.facts.transport, Some(Transport::Tls));
    assert!(err.message.contains("TLS"), "{}", err.message);
    assert_no_token(&err);
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_without_connecting() {
    let err = http()
        .send(&get("http://example.invalid/api", Auth::Bearer), &token())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ReasonKind::Config);
    assert_eq!(
        err.message,
        "refusing to send the API key over plain http to host example.invalid; use https or set allow_insecure = true"
    );
}

#[tokio::test]
async fn rate_limit_headers_become_waits() {
    let reset = OffsetDateTime::now_utc().unix_timestamp() + 120;
    let far = OffsetDateTime::now_utc().unix_timestamp() + 10 * 365 * 86400;
    let past = OffsetDateTime::now_utc().unix_timestamp() - 100;
    let (port, _) = serve(move |head, _| {
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let h = |k: &str, v: String| raw("429 Too Many Requests", &[(k, &v)], b"{}");
        match path.as_str() {
            "/retry-after" => h("retry-after", "37".into()),
            "/netlify" => h("x-ratelimit-reset", reset.to_string()),
            "/sentry" => h("x-sentry-rate-limit-reset", reset.to_string()),
            "/past" => h("x-ratelimit-reset", past.to_string()),
            "/far" => h("x-sentry-rate-limit-reset", far.to_string()),
            "/negative" => h("retry-after", "-5".into()),
            "/soon" => h("retry-after", "soon".into()),
            "/ok" => raw("200 OK", &[("retry-after", "37")], b"{}"),
            _ => raw(
                "429 Too Many Requests",
                &[],
                b"{\"error\":\"Too many API requests\"}",
            ),
        }
    })
    .await;
    let wait = |path: &'static str| async move {
        let url = format!("http://127.0.0.1:{port}{path}");
        let r = http()
            .send(&get(&url, Auth::Bearer), &token())
            .await
            .unwrap();
        rate_limit_wait(&r, OffsetDateTime::now_utc())
    };
    assert_eq!(wait("/retry-after").await, Some(Duration::from_secs(37)));
    let w = wait("/netlify").await.unwrap().as_secs();
    assert!((118..=121).contains(&w), "{w}");
    let w = wait("/sentry").await.unwrap().as_secs();
    assert!((118..=121).contains(&w), "{w}");
    // Nonsense headers fall back to the default wait for a 429.
    let default = Some(Duration::from_secs(60));
    for path in ["/past", "/far", "/negative", "/soon", "/plausible"] {
        assert_eq!(wait(path).await, default, "{path}");
    }
    assert_eq!(wait("/ok").await, None, "only a 429 asks for a wait");
}

fn service(target: Target, key: Option<KeyRef>) -> Service {
    Service::example("Acme", "shop", target, key)
}

fn railway() -> Target {
    Target::Railway(RailwayTarget {
        project: "3f2a9c1e".into(),
        environment: "production".into(),
        token_kind: TokenKind::Account,
    })
}

#[tokio::test]
async fn check_with_a_missing_env_key_names_the_variable() {
    let svc = service(
        railway(),
        Some(KeyRef::Env("OVERWATCH_HTTP_TEST_UNSET_VAR".into())),
    );
    let store = NoStore { why: "test".into() };
    let now = OffsetDateTime::now_utc();
    let r = http().check(&svc, &store, now).await;
    assert_eq!(r.card.status, Status::Unknown);
    let reason = r.card.reason.unwrap();
    assert_eq!(reason.kind, ReasonKind::Config);
    assert!(reason.message.contains("OVERWATCH_HTTP_TEST_UNSET_VAR"));
    assert_eq!(r.requests, 0);
    assert_eq!(r.card.updated_at, Some(now));
    assert_eq!(
        r.card.dashboard_url.as_deref(),
        Some("https://railway.com/project/3f2a9c1e")
    );
}

#[tokio::test]
async fn a_keychain_that_is_unavailable_is_a_config_reason() {
    let svc = service(railway(), Some(KeyRef::Keychain("acme-railway".into())));
    let store = NoStore {
        why: "no Secret Service".into(),
    };
    let r = http().check(&svc, &store, OffsetDateTime::now_utc()).await;
    let reason = r.card.reason.unwrap();
    assert_eq!(reason.kind, ReasonKind::Config);
    assert!(reason.message.contains("no Secret Service"));
}

#[tokio::test]
async fn a_panicking_adapter_gives_an_unknown_card_not_a_crash() {
    std::env::set_var("OVERWATCH_HTTP_TEST_KEY", TOKEN);
    let key = Some(KeyRef::Env("OVERWATCH_HTTP_TEST_KEY".into()));
    // The adapters are still stubs that panic; whatever they become, a panic
    // must stay inside the card.
    for target in [
        railway(),
        Target::Plausible(PlausibleTarget {
            site: "example.com".into(),
        }),
        Target::Netlify(NetlifyTarget { site: "x".into() }),
        Target::Sentry(SentryTarget {
            org: "acme".into(),
            project: "shop".into(),
        }),
    ] {
        let title = target.provider().title();
        let svc = service(target, key.clone());
        let store = NoStore { why: "test".into() };
        let r = http().check(&svc, &store, OffsetDateTime::now_utc()).await;
        if r.card.status != Status::Unknown {
            continue; // the adapter has been written meanwhile
        }
        let reason = r.card.reason.clone().unwrap();
        if reason.message.contains("internal error") {
            assert_eq!(reason.kind, ReasonKind::BadResponse);
            assert!(
                reason
                    .message
                    .starts_with(&format!("internal error in the {title} adapter")),
                "{}",
                reason.message
            );
        }
        assert_no_token(&r);
    }
}

#[tokio::test]
async fn link_mode_and_keyless_services_are_config() {
    let mut svc = service(railway(), None);
    svc.mode = Mode::Link;
    let store = NoStore { why: "test".into() };
    let r = http().check(&svc, &store, OffsetDateTime::now_utc()).await;
    assert_eq!(r.card.reason.unwrap().kind, ReasonKind::Config);
    svc.mode = Mode::Api;
    let r = http().check(&svc, &store, OffsetDateTime::now_utc()).await;
    let reason = r.card.reason.unwrap();
    assert_eq!(reason.kind, ReasonKind::Config);
    assert!(reason.message.contains("no API key"));
}

#[tokio::test]
async fn check_refuses_plain_http_to_a_remote_base_url() {
    std::env::set_var("OVERWATCH_HTTP_TEST_KEY2", TOKEN);
    let mut svc = service(
        Target::Plausible(PlausibleTarget {
            site: "example.com".into(),
        }),
        Some(KeyRef::Env("OVERWATCH_HTTP_TEST_KEY2".into())),
    );
    svc.base_url = Some(Url::parse("http://plausible.example.invalid").unwrap());
    let store = NoStore { why: "test".into() };
    let r = http().check(&svc, &store, OffsetDateTime::now_utc()).await;
    let reason = r.card.reason.unwrap();
    assert_eq!(reason.kind, ReasonKind::Config);
    assert!(reason.message.contains(
        "refusing to send the API key over plain http to host plausible.example.invalid"
    ));
    assert_eq!(r.requests, 0);
}

#[tokio::test]
async fn fixtures_and_scenarios_flow_through_the_sim_and_the_http_layer() {
    use overwatch::sim::{self, Canned, Scenario, SimConfig, TargetKey};
    let fixture = std::fs::read("tests/fixtures/netlify/error_429.json").unwrap();
    let reset = (OffsetDateTime::now_utc().unix_timestamp() + 90).to_string();
    let config = SimConfig::default()
        .with_target(
            TargetKey::railway("p1"),
            Scenario::RateLimited {
                reset_in: Duration::from_secs(37),
            },
        )
        .with_canned(
            Canned::new("GET", "/api/v1/sites/s1", 429, fixture.clone())
                .header("x-ratelimit-reset", &reset),
        );
    let sim = sim::start(config).await.unwrap();
    let sim_token = Secret::new(sim::DEFAULT_TOKEN);
    let url = sim.base_url().join("/api/v1/sites/s1").unwrap();
    let r = http()
        .send(&get(url.as_str(), Auth::Bearer), &sim_token)
        .await
        .unwrap();
    assert_eq!((r.status, &r.body), (429, &fixture));
    let w = rate_limit_wait(&r, OffsetDateTime::now_utc())
        .unwrap()
        .as_secs();
    assert!((88..=91).contains(&w), "{w}");

    let mut req = get(
        sim.base_url().join("/graphql/v2").unwrap().as_str(),
        Auth::Bearer,
    );
    req.method = Method::Post;
    req.body = Some(
        serde_json::json!({"query": "query { project(id: $projectId) { id } }", "variables": {"projectId": "p1"}}),
    );
    let r = http().send(&req, &sim_token).await.unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(
        rate_limit_wait(&r, OffsetDateTime::now_utc()),
        Some(Duration::from_secs(37))
    );
    assert_eq!(sim.request_count(), 2);
}

/// A burst of checks to one HTTPS host (the simulator behind TLS, its CA
/// trusted by this client only): where the host offers HTTP/2, every request
/// shares one connection and one handshake — the first request opens it
/// alone, the others follow on it; where it offers HTTP/1.1 only, the burst
/// opens about as many connections as the per-host limit. Either way at
/// most the per-host limit of requests are in flight at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_to_an_https_host_shares_one_http2_connection() {
    use crate::support::tls_sim;
    use overwatch::providers::http::PER_HOST_IN_FLIGHT;
    use overwatch::sim::{self, SimConfig};
    for h2 in [true, false] {
        let cfg = SimConfig {
            accept_any_target: true,
            latency: Duration::from_millis(100),
            ..SimConfig::default()
        };
        let tls = tls_sim::start(cfg, h2).await;
        let http = Http::new(HttpOptions {
            extra_root_certs: vec![tls.ca_pem.clone().into_bytes()],
            ..HttpOptions::default()
        })
        .unwrap();
        let store = Arc::new(overwatch::secrets::Overlay::new(
            [("t".to_string(), Secret::new(sim::DEFAULT_TOKEN))],
            Arc::new(NoStore { why: "test".into() }),
        ));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..3 * PER_HOST_IN_FLIGHT {
            let mut s = Service::example(
                "Acme",
                &format!("S{i}"),
                Target::Railway(RailwayTarget {
                    project: format!("p{i}"),
                    environment: "production".into(),
                    token_kind: TokenKind::Account,
                }),
                Some(KeyRef::Keychain("t".into())),
            );
            s.base_url = Some(tls.sim.base_url());
            let (http, store) = (http.clone(), store.clone());
            set.spawn(async move {
                http.check(&s, store.as_ref(), OffsetDateTime::now_utc())
                    .await
                    .card
            });
        }
        while let Some(card) = set.join_next().await {
            let card = card.unwrap();
            assert_eq!(card.status, Status::Healthy, "{card:?}");
        }
        let s = tls.counters.stats();
        let limit = PER_HOST_IN_FLIGHT as u64;
        assert_eq!(tls.sim.peak_in_flight(), limit, "h2 {h2}");
        if h2 {
            assert_eq!((s.connections, s.full, s.h2), (1, 1, 1), "{s:?}");
        } else {
            // About one connection per request in flight (later ones may
            // resume the first one's TLS session). A few more are possible:
            // a request that gets its turn just as an answer ends can find
            // that answer's connection not back in the client's pool yet.
            assert!(
                (limit..=limit + limit / 4).contains(&s.connections)
                    && s.full + s.resumed == s.connections
                    && s.h2 == 0,
                "{s:?}"
            );
        }
    }
}

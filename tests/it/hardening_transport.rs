//! Misbehaving servers and networks, through `Http::check` for all four providers at once: trickling, resets mid-body, broken framing, DNS failure and bad TLS certificates are each reported with the right reason, within the timeout, while a healthy neighbour keeps its card.
//!
//! Servers are raw `tokio` listeners on 127.0.0.1; certificates are made at
//! test time with `rcgen` and served by `tokio-rustls`. The DNS case runs the
//! real binary in a fresh network namespace (`unshare -n`), so the lookup of
//! a `.invalid` name fails on this machine and no query leaves it (the
//! configured resolver is not on loopback). Already covered elsewhere: a
//! server that accepts and never answers
//! (`providers_http::a_server_that_never_answers_times_out_for_every_provider`),
//! connection refused and TLS to a plain-text server (`http_layer`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use overwatch::model::{NetlifyTarget, ReasonKind, Status, Target};
use overwatch::providers::http::{Http, HttpOptions};
use overwatch::providers::PollResult;
use overwatch::sim::{self, Scenario, SimConfig, TargetKey};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::support::{service, store, targets};

/// Short, so the slow cases stay quick; every "within the timeout" check
/// allows this plus a generous margin for a loaded CI machine.
const TIMEOUT: Duration = Duration::from_millis(1500);

fn http_with(roots: Vec<Vec<u8>>) -> Http {
    Http::new(HttpOptions {
        total_timeout: TIMEOUT,
        connect_timeout: TIMEOUT,
        extra_root_certs: roots,
        ..HttpOptions::default()
    })
    .unwrap()
}

type Handler = Arc<dyn Fn(TcpStream) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A raw server on loopback: every connection goes to `handler`.
async fn raw_server(handler: Handler) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(handler(sock));
        }
    });
    port
}

async fn read_head(sock: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut b).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
}

/// Checks every provider against `base` and a healthy sim service at
/// the same time; returns their bad results, in `Provider::ALL` order. Fails if the neighbour lost
/// its card or any check outlived the timeout by far.
async fn check_all(http: &Http, base: &Url) -> Vec<PollResult> {
    let good_sim = sim::start(
        SimConfig::default().with_target(TargetKey::netlify("neighbour"), Scenario::Healthy),
    )
    .await
    .unwrap();
    let good = service(
        Target::Netlify(NetlifyTarget {
            site: "neighbour".into(),
        }),
        &good_sim.base_url(),
    );
    let now = OffsetDateTime::now_utc();
    let started = Instant::now();
    // One check per provider in the registry, all at once beside the neighbour.
    let mut bad = tokio::task::JoinSet::new();
    for (i, target) in targets().into_iter().enumerate() {
        let (http, svc) = (http.clone(), service(target, base));
        bad.spawn(async move { (i, http.check(&svc, &store(), now).await) });
    }
    let rg = http.check(&good, &store(), now).await;
    let mut out: Vec<(usize, PollResult)> = bad.join_all().await;
    out.sort_by_key(|(i, _)| *i);
    let out: Vec<PollResult> = out.into_iter().map(|(_, r)| r).collect();
    let took = started.elapsed();
    assert!(
        took < TIMEOUT + Duration::from_secs(10),
        "the checks took {took:?}, far past the {TIMEOUT:?} timeout"
    );
    assert_eq!(rg.card.status, Status::Healthy, "neighbour: {:?}", rg.card);
    for r in &out {
        assert!(
            !format!("{r:?}").contains(sim::DEFAULT_TOKEN),
            "token leaked: {r:?}"
        );
    }
    out
}

fn reason(r: &PollResult) -> (ReasonKind, &str) {
    assert_eq!(r.card.status, Status::Unknown, "{:?}", r.card);
    let reason = r.card.reason.as_ref().expect("unknown has a reason");
    (reason.kind, reason.message.as_str())
}

fn base(port: u16, scheme: &str) -> Url {
    Url::parse(&format!("{scheme}://127.0.0.1:{port}/")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_trickles_one_byte_at_a_time_times_out() {
    // Valid headers, then a body that never finishes arriving.
    let port = raw_server(Arc::new(|mut sock| {
        Box::pin(async move {
            read_head(&mut sock).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n";
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                if sock.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    }))
    .await;
    for r in check_all(&http_with(vec![]), &base(port, "http")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Timeout, "{msg}");
        assert_eq!(msg, format!("no answer within 1.5 s from 127.0.0.1:{port}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_trickles_its_headers_times_out() {
    let port = raw_server(Arc::new(|mut sock| {
        Box::pin(async move {
            read_head(&mut sock).await;
            for b in b"HTTP/1.1 200 OK\r\nx-slow: "
                .iter()
                .chain(b"a".repeat(1000).iter())
            {
                if sock.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }))
    .await;
    for r in check_all(&http_with(vec![]), &base(port, "http")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Timeout, "{msg}");
    }
}

/// Closes the socket with an RST rather than a FIN.
fn reset(sock: TcpStream) {
    let _ = sock.set_zero_linger();
    drop(sock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_mid_body_is_unreachable() {
    let port = raw_server(Arc::new(|mut sock| {
        Box::pin(async move {
            read_head(&mut sock).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{\"data\": {\"project\": ";
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            reset(sock);
        })
    }))
    .await;
    for r in check_all(&http_with(vec![]), &base(port, "http")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Unreachable, "{msg}");
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
        assert!(
            msg.contains("closed unexpectedly") || msg.contains("broke while reading"),
            "{msg}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_before_any_answer_is_unreachable() {
    let port = raw_server(Arc::new(|mut sock| {
        Box::pin(async move {
            read_head(&mut sock).await;
            reset(sock);
        })
    }))
    .await;
    for r in check_all(&http_with(vec![]), &base(port, "http")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Unreachable, "{msg}");
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_content_length_is_unreachable() {
    // A FIN (not an RST) after half the promised body.
    let port = raw_server(Arc::new(|mut sock| {
        Box::pin(async move {
            read_head(&mut sock).await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 400\r\n\r\n{\"data\":")
                .await;
            let _ = sock.shutdown().await;
        })
    }))
    .await;
    for r in check_all(&http_with(vec![]), &base(port, "http")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Unreachable, "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_chunked_framing_is_unreachable() {
    let port = raw_server(Arc::new(|mut sock| {
        Box::pin(async move {
            read_head(&mut sock).await;
            let _ = sock
                .write_all(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz-not-hex\r\n{}\r\n",
                )
                .await;
            let _ = sock.shutdown().await;
        })
    }))
    .await;
    for r in check_all(&http_with(vec![]), &base(port, "http")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Unreachable, "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_http_is_unreachable() {
    // What an SSH port (a wrong base_url port) says first.
    let port = raw_server(Arc::new(|mut sock| {
        Box::pin(async move {
            let _ = sock.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n").await;
            read_head(&mut sock).await;
            let _ = sock.shutdown().await;
        })
    }))
    .await;
    for r in check_all(&http_with(vec![]), &base(port, "http")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Unreachable, "{msg}");
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_headers_are_refused() {
    let port = raw_server(Arc::new(|mut sock| {
        Box::pin(async move {
            read_head(&mut sock).await;
            if sock.write_all(b"HTTP/1.1 200 OK\r\n").await.is_err() {
                return;
            }
            for i in 0..100_000 {
                let line = format!("x-h{i}: {}\r\n", "v".repeat(64));
                if sock.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        })
    }))
    .await;
    for r in check_all(&http_with(vec![]), &base(port, "http")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Unreachable, "{msg}");
    }
}

// ---- TLS ------------------------------------------------------------------

mod tls {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::TlsAcceptor;

    pub struct Ca {
        pub pem: String,
        issuer: Issuer<'static, KeyPair>,
    }

    pub fn ca(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::days(30);
        p.not_after = now + time::Duration::days(365);
        let cert = p.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(p, key),
        }
    }

    /// A server certificate for `names`, valid over `valid`, signed by `ca`
    /// (or by itself when `ca` is `None`).
    pub fn leaf(
        names: &[&str],
        valid: (OffsetDateTime, OffsetDateTime),
        ca: Option<&Ca>,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(DnType::CommonName, names[0]);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = valid.0;
        p.not_after = valid.1;
        let cert = match ca {
            Some(ca) => p.signed_by(&key, &ca.issuer).unwrap(),
            None => p.self_signed(&key).unwrap(),
        };
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    /// An HTTPS server on loopback answering every request with `body`.
    pub async fn serve(
        cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
        body: &'static [u8],
    ) -> u16 {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.0], cert.1)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that rejects the certificate aborts here.
                    let Ok(mut tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    let mut buf = vec![0u8; 8192];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        port
    }
}

fn valid_now() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (
        now - time::Duration::days(1),
        now + time::Duration::days(30),
    )
}

/// The control case: a certificate from a trusted CA for 127.0.0.1 gets
/// through, so the failures below are about the certificates, not the setup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_certificate_from_a_trusted_ca_is_accepted() {
    let ca = tls::ca("Overwatch test CA");
    let port = tls::serve(
        tls::leaf(&["127.0.0.1", "localhost"], valid_now(), Some(&ca)),
        b"{\"id\": \"x\"}",
    )
    .await;
    let http = http_with(vec![ca.pem.clone().into_bytes()]);
    let url = format!("https://127.0.0.1:{port}/anything");
    let req = overwatch::providers::Request {
        tag: "control",
        method: overwatch::providers::Method::Get,
        url: Url::parse(&url).unwrap(),
        auth: overwatch::providers::Auth::Bearer,
        headers: Vec::new(),
        body: None,
    };
    let r = http
        .send(&req, &overwatch::secrets::Secret::new("t"))
        .await
        .expect("the trusted certificate is accepted");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"{\"id\": \"x\"}");
}

async fn tls_case(
    cert: (
        rustls::pki_types::CertificateDer<'static>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ),
    roots: Vec<Vec<u8>>,
    expect: &str,
) {
    let port = tls::serve(cert, b"{}").await;
    for r in check_all(&http_with(roots), &base(port, "https")).await {
        let (kind, msg) = reason(&r);
        assert_eq!(kind, ReasonKind::Unreachable, "{msg}");
        assert!(
            msg.starts_with(&format!("TLS certificate problem with 127.0.0.1:{port}: ")),
            "{msg}"
        );
        assert!(msg.contains(expect), "expected `{expect}` in: {msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_is_refused_with_a_tls_reason() {
    let ca = tls::ca("Some trusted CA");
    tls_case(
        tls::leaf(&["127.0.0.1"], valid_now(), None),
        vec![ca.pem.into_bytes()],
        "not issued by an authority this machine trusts",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_refused_with_a_tls_reason() {
    let ca = tls::ca("Overwatch test CA");
    let now = OffsetDateTime::now_utc();
    tls_case(
        tls::leaf(
            &["127.0.0.1"],
            (
                now - time::Duration::days(400),
                now - time::Duration::days(35),
            ),
            Some(&ca),
        ),
        vec![ca.pem.clone().into_bytes()],
        "expired on",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_is_refused_with_a_tls_reason() {
    let ca = tls::ca("Overwatch test CA");
    tls_case(
        tls::leaf(&["api.other.example"], valid_now(), Some(&ca)),
        vec![ca.pem.clone().into_bytes()],
        "is for another host (api.other.example)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_not_valid_yet_is_refused_with_a_tls_reason() {
    let ca = tls::ca("Overwatch test CA");
    let now = OffsetDateTime::now_utc();
    tls_case(
        tls::leaf(
            &["127.0.0.1"],
            (
                now + time::Duration::days(10),
                now + time::Duration::days(100),
            ),
            Some(&ca),
        ),
        vec![ca.pem.clone().into_bytes()],
        "not valid before",
    )
    .await;
}

// ---- DNS ------------------------------------------------------------------

/// A `.invalid` host (RFC 6761: never resolves) checked by the real binary in
/// a network namespace of its own, where the resolver cannot be reached: the
/// lookup fails here, and no DNS query leaves the machine.
#[test]
fn a_host_that_does_not_resolve_is_unreachable_with_a_dns_reason() {
    let probe = std::process::Command::new("unshare")
        .args(["-n", "true"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "this test needs `unshare -n` (util-linux, run as root, as CI does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        r#"[[workspaces]]
name = "Acme"

[[workspaces.services]]
name = "Errors"
provider = "sentry"
org = "acme"
project = "shop"
key = "env:OW_DNS_TOKEN"
base_url = "https://sentry.overwatch-test.invalid/"
"#,
    )
    .unwrap();
    let out = std::process::Command::new("unshare")
        .arg("-n")
        .arg(env!("CARGO_BIN_EXE_overwatch"))
        .arg("--config")
        .arg(&config)
        .args(["status", "--json"])
        .env("OW_DNS_TOKEN", "dns-secret-token")
        .env("OVERWATCH_DATA_DIR", dir.path().join("data"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "unknown → exit 3: {stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let svc = &v["workspaces"][0]["services"][0];
    assert_eq!(svc["status"], "unknown");
    assert_eq!(svc["reason"]["kind"], "unreachable", "{svc}");
    let msg = svc["reason"]["message"].as_str().unwrap();
    assert_eq!(
        msg, "could not resolve sentry.overwatch-test.invalid:443: DNS lookup failed",
        "{svc}"
    );
    assert!(!stdout.contains("dns-secret-token"));
}

//! The simulator behind TLS on loopback, for the HTTPS test and benchmark: a test CA made at start (trusted only by the client configuration a test or benchmark builds from it, never by any shipped default), ALPN with or without HTTP/2, and counters of connections, handshakes and bytes on the wire.
//!
//! Shared by `tests/it/http_layer.rs` and `benches/engine.rs` (through `#[path]`).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use overwatch::sim::{self, SimConfig, SimHandle};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// What the TLS server saw, from its start.
#[derive(Debug, Default)]
pub struct Counters {
    /// TCP connections accepted.
    pub connections: AtomicU64,
    /// Handshakes done in full, and resumed from an earlier session.
    pub full: AtomicU64,
    pub resumed: AtomicU64,
    /// Connections that agreed on HTTP/2.
    pub h2: AtomicU64,
    /// Client to server, on the wire (TLS records, handshakes included).
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
}

/// A plain copy of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub connections: u64,
    pub full: u64,
    pub resumed: u64,
    pub h2: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Counters {
    pub fn stats(&self) -> Stats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            connections: g(&self.connections),
            full: g(&self.full),
            resumed: g(&self.resumed),
            h2: g(&self.h2),
            bytes_in: g(&self.bytes_in),
            bytes_out: g(&self.bytes_out),
        }
    }
}

impl std::ops::Sub for Stats {
    type Output = Stats;
    fn sub(self, o: Stats) -> Stats {
        Stats {
            connections: self.connections - o.connections,
            full: self.full - o.full,
            resumed: self.resumed - o.resumed,
            h2: self.h2 - o.h2,
            bytes_in: self.bytes_in - o.bytes_in,
            bytes_out: self.bytes_out - o.bytes_out,
        }
    }
}

/// A TCP stream that counts what passes.
struct Counted {
    inner: TcpStream,
    c: Arc<Counters>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        self.c.bytes_in.fetch_add(n, Ordering::Relaxed);
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = r {
            self.c.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Hands the simulator the connections whose TLS handshake is done.
struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(TlsStream<Counted>, SocketAddr)>,
    addr: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<Counted>;
    type Addr = SocketAddr;
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            None => std::future::pending().await,
        }
    }
    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// A CA (PEM) and a certificate for 127.0.0.1 and localhost signed by it.
fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let now = time::OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Overwatch test CA (loopback only)");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - time::Duration::days(1);
    ca.not_after = now + time::Duration::days(1);
    let ca_cert = ca.self_signed(&ca_key).expect("the CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("a server key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(1);
    let cert = leaf
        .signed_by(&key, &issuer)
        .expect("the server certificate");
    (
        ca_cert.pem(),
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// A running simulator behind TLS.
pub struct TlsSim {
    /// Its base URL is `https://127.0.0.1:PORT/`.
    pub sim: SimHandle,
    /// The CA to trust, as PEM.
    pub ca_pem: String,
    pub counters: Arc<Counters>,
}

/// Starts the simulator behind TLS on an ephemeral loopback port, offering
/// HTTP/2 and HTTP/1.1 (`h2`) or HTTP/1.1 only. Must be called in a runtime.
pub async fn start(config: SimConfig, h2: bool) -> TlsSim {
    let (ca_pem, cert, key) = certificates();
    let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("the server certificate");
    tls.alpn_protocols = if h2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let counters = Arc::new(Counters::default());
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("address");
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let c = counters.clone();
    tokio::spawn(async move {
        while let Ok((sock, peer)) = tcp.accept().await {
            let (acceptor, tx, c) = (acceptor.clone(), tx.clone(), c.clone());
            tokio::spawn(async move {
                let _ = sock.set_nodelay(true);
                c.connections.fetch_add(1, Ordering::Relaxed);
                let counted = Counted {
                    inner: sock,
                    c: c.clone(),
                };
                let Ok(tls) = acceptor.accept(counted).await else {
                    return;
                };
                let conn = tls.get_ref().1;
                match conn.handshake_kind() {
                    Some(rustls::HandshakeKind::Resumed) => &c.resumed,
                    _ => &c.full,
                }
                .fetch_add(1, Ordering::Relaxed);
                if conn.alpn_protocol() == Some(b"h2") {
                    c.h2.fetch_add(1, Ordering::Relaxed);
                }
                let _ = tx.send((tls, peer)).await;
            });
        }
    });
    let base = url::Url::parse(&format!("https://{addr}/")).expect("a URL");
    TlsSim {
        sim: sim::serve_on(TlsListener { rx, addr }, addr, base, config),
        ca_pem,
        counters,
    }
}

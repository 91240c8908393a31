//! The dashboard's gate: one-time launch tokens exchanged for a session cookie, the Host check against DNS rebinding, the Origin and CSRF checks on every change, and the headers every answer carries.
//!
//! The server listens on 127.0.0.1 only, but any local process and any web
//! page the user visits can reach that port. So:
//! - a page is only served to a browser holding the session cookie, which is
//!   only given for a launch token the tray put in the URL it opened (each
//!   token works once, for a few minutes; the address bar then drops it);
//! - a request whose `Host` is not `127.0.0.1:PORT` or `localhost:PORT` is
//!   refused before anything else (a rebinding attacker's name would be there);
//! - a change (any method but GET) also needs `Origin` to be this server and
//!   the session's CSRF token in a header, and a JSON body (which no plain
//!   cross-site form can send);
//! - answers carry a strict Content-Security-Policy (scripts and styles from
//!   this server only, nothing inline) and are never cached or framed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, Method};

/// How long a launch token works after the tray minted it.
pub const LAUNCH_TTL: Duration = Duration::from_secs(120);

/// Launch tokens kept at once (older ones are dropped).
const MAX_PENDING: usize = 16;

/// The Content-Security-Policy of every answer.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `bytes` random bytes from the OS, as lower-case hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS's generator failing means no secret can be made: nothing safe
    // to fall back to, and it does not happen on a working system.
    getrandom::getrandom(&mut buf).expect("the OS random number generator");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal strings, compared in a time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Host` is not this server (DNS rebinding, or a proxy).
    WrongHost,
    /// No session cookie (never opened from the tray, or an old one).
    NoSession,
    /// A launch token that is unknown, used, or expired.
    BadToken,
    /// A change without this server's `Origin`.
    CrossOrigin,
    /// A change without the session's CSRF token.
    NoCsrf,
    /// A change whose body is not declared as JSON.
    NotJson,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::WrongHost => "This address is not Overwatch's. Open the dashboard from the tray menu (Open Overwatch…) or with `overwatch dashboard`.",
            Refusal::NoSession => "Open the dashboard from the tray menu (Open Overwatch…) or with `overwatch dashboard`: it signs this browser in.",
            Refusal::BadToken => "This sign-in link has been used or has expired. Open the dashboard again from the tray menu (Open Overwatch…) or with `overwatch dashboard`.",
            Refusal::CrossOrigin => "Refused: the request did not come from the Overwatch page.",
            Refusal::NoCsrf => "Refused: the request did not carry the page's token. Reload the page.",
            Refusal::NotJson => "Refused: changes are sent as JSON.",
        }
    }
}

/// The secrets of one server run and the checks that use them.
pub struct Gate {
    port: u16,
    /// The cookie's value: whoever holds it is the user's browser.
    session: String,
    /// Sent by the page with every change; only a page served by us can read it.
    csrf: String,
    pending: Mutex<Vec<(String, Instant)>>,
}

impl Gate {
    pub fn new(port: u16) -> Gate {
        Gate {
            port,
            session: random_hex(32),
            csrf: random_hex(32),
            pending: Mutex::new(Vec::new()),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The cookie's name: per port, so two Overwatch servers (two users, or
    /// a restart) never overwrite each other's cookie on the shared host.
    pub fn cookie_name(&self) -> String {
        format!("overwatch_{}", self.port)
    }

    /// A new one-time launch token.
    pub fn mint(&self) -> String {
        let token = random_hex(32);
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        p.retain(|(_, at)| now.duration_since(*at) < LAUNCH_TTL);
        if p.len() >= MAX_PENDING {
            p.remove(0);
        }
        p.push((token.clone(), now));
        token
    }

    /// Uses up a launch token; whether it was good.
    pub fn redeem(&self, token: &str) -> bool {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        p.retain(|(_, at)| now.duration_since(*at) < LAUNCH_TTL);
        match p.iter().position(|(t, _)| same_secret(t, token)) {
            Some(i) => {
                p.remove(i);
                true
            }
            None => false,
        }
    }

    /// The `Set-Cookie` value that signs a browser in.
    pub fn set_cookie(&self) -> String {
        format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            self.cookie_name(),
            self.session
        )
    }

    /// The origins this server is reached at.
    fn origins(&self) -> [String; 2] {
        [
            format!("http://127.0.0.1:{}", self.port),
            format!("http://localhost:{}", self.port),
        ]
    }

    /// `Host` names this server exactly (DNS rebinding puts another name there).
    pub fn host_ok(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        host == format!("127.0.0.1:{}", self.port) || host == format!("localhost:{}", self.port)
    }

    /// The request carries this run's session cookie.
    pub fn has_session(&self, headers: &HeaderMap) -> bool {
        let name = self.cookie_name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .any(|(k, v)| k == name && same_secret(v, &self.session))
    }

    /// The checks a change (any method but GET and HEAD) needs beyond the
    /// session: this server's Origin, the CSRF token, a JSON body.
    pub fn change_ok(&self, method: &Method, headers: &HeaderMap) -> Result<(), Refusal> {
        if method == Method::GET || method == Method::HEAD {
            return Ok(());
        }
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        if !origin.is_some_and(|o| self.origins().iter().any(|x| x == o)) {
            return Err(Refusal::CrossOrigin);
        }
        // Browsers say where a request comes from; anything else but our
        // own page is refused even if the Origin were forged by a proxy.
        if let Some(site) = headers.get("sec-fetch-site").and_then(|s| s.to_str().ok()) {
            if site != "same-origin" {
                return Err(Refusal::CrossOrigin);
            }
        }
        let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
        if !csrf.is_some_and(|c| same_secret(c, &self.csrf)) {
            return Err(Refusal::NoCsrf);
        }
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| {
                c.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json {
            return Err(Refusal::NotJson);
        }
        Ok(())
    }
}

/// The headers every answer carries.
pub fn harden(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(headers, "content-security-policy", CSP);
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "x-frame-options", "DENY");
    set(headers, "cross-origin-opener-policy", "same-origin");
    set(headers, "cross-origin-resource-policy", "same-origin");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, "cache-control", "no-store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn tokens_work_once() {
        let g = Gate::new(4000);
        let t = g.mint();
        assert_eq!(t.len(), 64);
        assert_ne!(t, g.mint(), "every token is new");
        assert!(!g.redeem("nope"));
        assert!(g.redeem(&t));
        assert!(!g.redeem(&t), "a used token is gone");
    }

    #[test]
    fn only_this_servers_host_names_pass() {
        let g = Gate::new(4000);
        assert!(g.host_ok(&headers(&[("host", "127.0.0.1:4000")])));
        assert!(g.host_ok(&headers(&[("host", "LOCALHOST:4000")])));
        for bad in [
            "evil.example:4000",
            "127.0.0.1",
            "127.0.0.1:4001",
            "localhost.evil.example:4000",
            "[::1]:4000",
        ] {
            assert!(!g.host_ok(&headers(&[("host", bad)])), "{bad}");
        }
        assert!(!g.host_ok(&HeaderMap::new()));
    }

    #[test]
    fn the_session_cookie_is_this_runs_and_this_ports() {
        let g = Gate::new(4000);
        let cookie = g.set_cookie();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let pair = cookie.split(';').next().unwrap().to_string();
        assert!(g.has_session(&headers(&[("cookie", &format!("a=b; {pair}"))])));
        assert!(!g.has_session(&headers(&[("cookie", "overwatch_4000=00")])));
        let other = Gate::new(4001);
        assert!(!other.has_session(&headers(&[("cookie", &pair)])));
    }

    #[test]
    fn a_change_needs_origin_csrf_and_json() {
        let g = Gate::new(4000);
        let post = Method::POST;
        let good = [
            ("origin", "http://127.0.0.1:4000"),
            ("x-csrf-token", g.csrf()),
            ("content-type", "application/json"),
        ];
        assert_eq!(g.change_ok(&post, &headers(&good)), Ok(()));
        assert_eq!(g.change_ok(&Method::GET, &HeaderMap::new()), Ok(()));
        let mut h = good.to_vec();
        h[0].1 = "http://evil.example";
        assert_eq!(g.change_ok(&post, &headers(&h)), Err(Refusal::CrossOrigin));
        let mut h = good.to_vec();
        h.push(("sec-fetch-site", "cross-site"));
        assert_eq!(g.change_ok(&post, &headers(&h)), Err(Refusal::CrossOrigin));
        assert_eq!(
            g.change_ok(&post, &headers(&good[1..])),
            Err(Refusal::CrossOrigin)
        );
        let mut h = good.to_vec();
        h[1].1 = "forged";
        assert_eq!(g.change_ok(&post, &headers(&h)), Err(Refusal::NoCsrf));
        let mut h = good.to_vec();
        h[2].1 = "text/plain";
        assert_eq!(g.change_ok(&post, &headers(&h)), Err(Refusal::NotJson));
    }
}

//! Engine benchmarks that print markdown tables: poll cycles at scale against a simulator with injected latency, the first round of a large fleet, the same polls by `curl` (a loop and in parallel) against one `overwatch status --json`, HTTPS against the simulator behind TLS, and a soak against random faults.
//!
//! Run: `cargo bench --bench engine -- scale|first|curl|tls|soak|history [--cycles N] [--repeats N] [--services N] [--window S]`.
//! The simulator always runs as a separate process (`overwatch sim`, or this
//! benchmark's own `tls-sim` mode for HTTPS), so the figures of this process
//! are the engine's alone. Linux only (/proc, getrusage).

#[cfg(target_os = "linux")]
fn main() {
    imp::main();
}

#[cfg(target_os = "linux")]
#[path = "../tests/support/tls_sim.rs"]
mod tls_sim;

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the engine benchmarks read /proc: Linux only");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io::{BufRead, BufReader, Write};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use overwatch::config;
    use overwatch::engine::{Engine, EngineHandle, EngineOptions, Scope};
    use overwatch::model::Provider;
    use overwatch::providers::http::{Http, HttpOptions, PER_HOST_IN_FLIGHT};
    use overwatch::providers::{self, Context, Method, Step};
    use overwatch::secrets::{NoStore, SecretStore};
    use overwatch::sim;
    use url::Url;

    const BIN: &str = env!("CARGO_BIN_EXE_overwatch");
    const TOKEN_ENV: &str = "OW_BENCH_TOKEN";
    const LATENCY_MS: u64 = 100;
    /// Requests in flight to one host (the HTTP layer's limit, as in the tray).
    const LIMIT: usize = PER_HOST_IN_FLIGHT;

    struct Args {
        what: String,
        cycles: usize,
        repeats: usize,
        services: usize,
        /// Seconds of steady state the HTTPS benchmark watches.
        window: u64,
        /// `tls-sim`: offer HTTP/2 (ALPN h2) as well as HTTP/1.1.
        h2: bool,
        latency: u64,
    }

    fn args() -> Args {
        let mut a = Args {
            what: String::new(),
            cycles: 10_000,
            repeats: 3,
            services: 100,
            window: 90,
            h2: true,
            latency: LATENCY_MS,
        };
        let mut it = std::env::args().skip(1);
        while let Some(x) = it.next() {
            let mut num = |d: usize| it.next().and_then(|v| v.parse().ok()).unwrap_or(d);
            match x.as_str() {
                "--cycles" => a.cycles = num(a.cycles),
                "--repeats" => a.repeats = num(a.repeats),
                "--services" => a.services = num(a.services),
                "--window" => a.window = num(a.window as usize) as u64,
                "--latency" => a.latency = num(a.latency as usize) as u64,
                "--http1-only" => a.h2 = false,
                "--bench" => {}
                w if !w.starts_with('-') => a.what = w.to_string(),
                _ => {}
            }
        }
        a
    }

    pub fn main() {
        let a = args();
        std::env::set_var(TOKEN_ENV, sim::DEFAULT_TOKEN);
        match a.what.as_str() {
            "scale" => scale(&a),
            "first" => first(&a),
            "curl" => curl(&a),
            "tls" => tls::bench(&a),
            "tls-sim" => tls::serve(&a),
            "soak" => soak(&a),
            "history" => history(&a),
            _ => {
                eprintln!("usage: engine scale|first|curl|tls|soak|history [--cycles N] [--repeats N] [--services N] [--window S]")
            }
        }
    }

    // ---- measuring ----------------------------------------------------------

    /// CPU seconds (user + system) of this process or of its waited-for children.
    fn cpu(who: i32) -> f64 {
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage fills the struct we own.
        unsafe { libc::getrusage(who, &mut ru) };
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }

    fn self_cpu() -> f64 {
        cpu(libc::RUSAGE_SELF)
    }

    fn children_cpu() -> f64 {
        cpu(libc::RUSAGE_CHILDREN)
    }

    fn status_kb(field: &str) -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn fds() -> usize {
        std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
    }

    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    fn spread(v: &[f64]) -> String {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
        format!("{lo:.3}–{hi:.3}")
    }

    // ---- the simulator process --------------------------------------------

    struct SimProc {
        child: Child,
        base: Url,
    }

    impl SimProc {
        fn start(extra: &[&str]) -> SimProc {
            let mut child = Command::new(BIN)
                .arg("sim")
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start `overwatch sim`");
            let out = child.stdout.take().expect("piped stdout");
            let mut line = String::new();
            let mut reader = BufReader::new(out);
            reader
                .read_line(&mut line)
                .expect("read the simulator's first line");
            // Keep draining: a closed pipe would kill the simulator at its next line.
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            let base = line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .and_then(|w| Url::parse(w).ok())
                .expect("the simulator prints its base URL");
            SimProc { child, base }
        }
    }

    impl Drop for SimProc {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn fleet(base: &Url, n: usize, providers: &[Provider], refresh: &str) -> config::Config {
        let text = sim::fleet_config_toml(base, &format!("env:{TOKEN_ENV}"), refresh, n, providers);
        config::parse(&text, Path::new("(bench)")).expect("the fleet config validates")
    }

    fn runtime() -> tokio::runtime::Runtime {
        // As the tray builds it.
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    }

    fn store() -> Arc<dyn SecretStore> {
        Arc::new(NoStore {
            why: "benchmark".into(),
        })
    }

    /// Waits until `target` results have arrived and nothing is in flight.
    async fn settle(engine: &EngineHandle, target: u64) {
        let mut rx = engine.subscribe();
        loop {
            let idle = !rx.borrow_and_update().services.iter().any(|s| s.polling);
            if engine.polls_done() >= target && idle {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), rx.changed()).await;
        }
    }

    /// One full cycle: refresh everything, wait for every answer. Services a
    /// provider's 429 holds back are polled when their reset passes; a cycle
    /// in which all are held waits for at least one answer, so none is empty.
    async fn cycle(engine: &EngineHandle) -> usize {
        let before = engine.polls_done();
        let out = engine.refresh(Scope::All).await.expect("engine running");
        if std::env::var_os("OW_BENCH_DEBUG").is_some() {
            eprintln!("{out:?} offline={}", engine.subscribe().borrow().offline());
        }
        settle(engine, before + out.started.max(1) as u64).await;
        out.started
    }

    // ---- 2. poll cycle at scale -------------------------------------------

    fn scale(a: &Args) {
        let latency = LATENCY_MS.to_string();
        let sim = SimProc::start(&["--latency", &latency]);
        let rt = runtime();
        println!("| services | ideal (latency × ⌈N/{LIMIT}⌉) | cycle wall (median) | wall / ideal | CPU per service poll | engine wake-ups per poll | runs (wall s) |");
        println!("|---:|---:|---:|---:|---:|---:|---|");
        for n in [10usize, 100, 1000] {
            let cfg = fleet(&sim.base, n, &[Provider::Railway], "1h");
            let (mut walls, mut cpus, mut wakes) = (Vec::new(), Vec::new(), Vec::new());
            rt.block_on(async {
                let http = Http::new(HttpOptions::default()).expect("client");
                let engine = Engine::start(cfg, EngineOptions::new(http, store()));
                // The start-up round is a cycle too; measure the ones after it.
                settle(&engine, n as u64).await;
                for _ in 0..a.repeats {
                    let (c0, w0, t0) = (self_cpu(), engine.wakeups(), Instant::now());
                    let started = cycle(&engine).await;
                    walls.push(t0.elapsed().as_secs_f64());
                    cpus.push((self_cpu() - c0) / started.max(1) as f64);
                    wakes.push((engine.wakeups() - w0) as f64 / started.max(1) as f64);
                }
                let _ = engine.shutdown().await;
            });
            let ideal = LATENCY_MS as f64 / 1e3 * n.div_ceil(LIMIT) as f64;
            let wall = median(&mut walls.clone());
            println!(
                "| {n} | {ideal:.2} s | {wall:.2} s | **{:.3}×** | {:.0} µs | {:.2} | {} |",
                wall / ideal,
                median(&mut cpus) * 1e6,
                median(&mut wakes),
                spread(&walls),
            );
        }
        println!();
        println!("Railway services (one request, one round trip per poll) on one host, {LATENCY_MS} ms injected latency, at most {LIMIT} requests in flight to a host (the HTTP layer's per-host limit, as in the tray); {} cycles per size after the start-up round. CPU is this process's user+system time (the simulator is another process) divided by the polls.", a.repeats);
    }

    // ---- the first round of a large fleet -------------------------------------

    /// Latency of every answer in the first-round benchmark (a far API).
    const FIRST_LATENCY_MS: u64 = 300;

    /// GET of the simulator's `/_sim/stats`, over plain loopback HTTP.
    fn sim_stats(base: &Url) -> serde_json::Value {
        use std::io::Read;
        let addr = format!(
            "{}:{}",
            base.host_str().unwrap_or("127.0.0.1"),
            base.port().unwrap_or(80)
        );
        let mut sock = std::net::TcpStream::connect(addr).expect("connect to the simulator");
        sock.write_all(b"GET /_sim/stats HTTP/1.0\r\nHost: sim\r\n\r\n")
            .expect("ask for stats");
        let mut text = String::new();
        sock.read_to_string(&mut text).expect("read stats");
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(body).unwrap_or_default()
    }

    /// The most requests the simulator answered at once (one host here).
    fn peak(sim: &SimProc) -> u64 {
        sim_stats(&sim.base)["peak_in_flight"].as_u64().unwrap_or(0)
    }

    /// The engine's first round: from start until every service has answered.
    fn engine_first_round(cfg: &config::Config, n: usize, per_host: usize) -> f64 {
        let rt = runtime();
        rt.block_on(async {
            let http = Http::new(HttpOptions {
                per_host,
                ..HttpOptions::default()
            })
            .expect("client");
            let t0 = Instant::now();
            let engine = Engine::start(cfg.clone(), EngineOptions::new(http, store()));
            settle(&engine, n as u64).await;
            let wall = t0.elapsed().as_secs_f64();
            let _ = engine.shutdown().await;
            wall
        })
    }

    /// `overwatch watch`: from exec until it prints the start-up summary, which
    /// it does once every service has answered (each one needs attention).
    fn watch_first_round(toml: &Path, data: &Path) -> f64 {
        let _ = std::fs::remove_dir_all(data);
        let t0 = Instant::now();
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(toml)
            .args(["watch", "--json", "--no-notify"])
            .env("OVERWATCH_DATA_DIR", data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start `overwatch watch`");
        let out = child.stdout.take().expect("piped stdout");
        let mut wall = f64::NAN;
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if line.contains("\"kind\":\"summary\"") {
                wall = t0.elapsed().as_secs_f64();
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        wall
    }

    fn first(a: &Args) {
        let n = a.services;
        let latency = FIRST_LATENCY_MS.to_string();
        let dir = tempfile::tempdir().expect("a temp dir");
        // Every service's newest deploy failed: `watch` sums them up after its first round.
        let start_sim = || SimProc::start(&["--latency", &latency, "--scenario", "deploy-failing"]);
        // (name, per-host limit, walls, peaks) and each row's ideal.
        type Rows = Vec<(String, usize, Vec<f64>, Vec<u64>)>;
        let (mut rows, mut ideal): (Rows, Vec<f64>) = (Vec::new(), Vec::new());
        let lat = FIRST_LATENCY_MS as f64 / 1e3;
        let mut row = |name: &str, limit: usize, wall: f64, peak: u64| match rows
            .iter_mut()
            .find(|r| r.0 == name)
        {
            Some(r) => {
                r.2.push(wall);
                r.3.push(peak);
            }
            None => {
                rows.push((name.to_string(), limit, vec![wall], vec![peak]));
                ideal.push(lat * n.div_ceil(limit) as f64);
            }
        };
        for _ in 0..a.repeats {
            for (name, limit) in [
                ("Overwatch engine (the tray's and `watch`'s)", LIMIT),
                (
                    "before: 4 polls in flight in all (one host: the same as 4 per host)",
                    4,
                ),
                ("the engine with 8 per host (the limit before this one)", 8),
                ("the engine with 16 per host (`status`'s old total)", 16),
            ] {
                let sim = start_sim();
                let cfg = fleet(&sim.base, n, &[Provider::Railway], "1h");
                let wall = engine_first_round(&cfg, n, limit);
                row(name, limit, wall, peak(&sim));
            }
            let sim = start_sim();
            let toml = dir.path().join("fleet.toml");
            std::fs::write(
                &toml,
                sim::fleet_config_toml(
                    &sim.base,
                    &format!("env:{TOKEN_ENV}"),
                    "1h",
                    n,
                    &[Provider::Railway],
                ),
            )
            .expect("write the config");
            let wall = watch_first_round(&toml, &dir.path().join("data"));
            row(
                "`overwatch watch` (a process: exec to its start-up summary)",
                LIMIT,
                wall,
                peak(&sim),
            );
            let sim = start_sim();
            std::fs::write(
                &toml,
                sim::fleet_config_toml(
                    &sim.base,
                    &format!("env:{TOKEN_ENV}"),
                    "1h",
                    n,
                    &[Provider::Railway],
                ),
            )
            .expect("write the config");
            let (wall, _) = measure(
                Command::new(BIN)
                    .arg("--config")
                    .arg(&toml)
                    .args(["status", "--json"])
                    .env(TOKEN_ENV, sim::DEFAULT_TOKEN),
            );
            row(
                "`overwatch status --json` (a process: exec to exit)",
                LIMIT,
                wall,
                peak(&sim),
            );
        }
        println!("| {n} services on one host, {FIRST_LATENCY_MS} ms per answer | requests at once per host (limit) | most at once, seen by the simulator | ideal (⌈N / limit⌉ × latency) | first round (median) | **services per second** | runs (s) |");
        println!("|---|---:|---:|---:|---:|---:|---|");
        for ((name, limit, walls, peaks), ideal) in rows.iter_mut().zip(ideal) {
            let w = median(walls);
            println!(
                "| {name} | {limit} | {} | {ideal:.2} s | **{w:.2} s** | **{:.0}** | {} |",
                peaks.iter().max().unwrap_or(&0),
                n as f64 / w,
                spread(walls),
            );
        }
        println!();
        println!("Railway services (one request per check) against `overwatch sim --latency {FIRST_LATENCY_MS} --scenario deploy-failing` (a fresh simulator per run, so its count of requests at once is that run's), {} runs each. The engine rows run the engine in this process as the tray starts it (no menu); `watch` and `status` are the real binary, process start included.", a.repeats);
    }

    // ---- 3. against curl ----------------------------------------------------

    /// Writes one curl config per service: exactly the request Overwatch sends.
    fn curl_configs(cfg: &config::Config, dir: &Path) -> usize {
        let now = time::OffsetDateTime::now_utc();
        let mut n = 0;
        for s in cfg.services() {
            let Step::Fetch(reqs) = providers::plan(&Context { service: s, now }, &[]) else {
                continue;
            };
            for r in reqs {
                let mut text = format!("url = \"{}\"\nsilent\noutput = \"/dev/null\"\nheader = \"Authorization: Bearer {}\"\n", r.url, sim::DEFAULT_TOKEN);
                for (k, v) in &r.headers {
                    text.push_str(&format!("header = \"{k}: {v}\"\n"));
                }
                if r.method == Method::Post {
                    let body = r.body.as_ref().map(|b| b.to_string()).unwrap_or_default();
                    text.push_str("header = \"Content-Type: application/json\"\n");
                    text.push_str(&format!(
                        "data = \"{}\"\n",
                        body.replace('\\', "\\\\").replace('"', "\\\"")
                    ));
                }
                let path = dir.join(format!("{n:05}.curl"));
                std::fs::File::create(&path)
                    .and_then(|mut f| f.write_all(text.as_bytes()))
                    .expect("write a curl config");
                n += 1;
            }
        }
        n
    }

    /// Runs a command to completion: (wall s, CPU s of it and its children).
    fn measure(cmd: &mut Command) -> (f64, f64) {
        let c0 = children_cpu();
        let t0 = Instant::now();
        let st = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run");
        let wall = t0.elapsed().as_secs_f64();
        if !(st.success() || st.code().is_some_and(|c| c <= 3)) {
            eprintln!("warning: {cmd:?} exited with {st}");
        }
        (wall, children_cpu() - c0)
    }

    fn curl(a: &Args) {
        let n = a.services;
        let latency = LATENCY_MS.to_string();
        let sim = SimProc::start(&["--latency", &latency]);
        let dir = tempfile::tempdir().expect("a temp dir");
        let cfg = fleet(&sim.base, n, &[Provider::Railway], "1h");
        let requests = curl_configs(&cfg, dir.path());
        let toml = dir.path().join("fleet.toml");
        std::fs::write(
            &toml,
            sim::fleet_config_toml(
                &sim.base,
                &format!("env:{TOKEN_ENV}"),
                "1h",
                n,
                &[Provider::Railway],
            ),
        )
        .expect("write the config");
        let d = dir.path().display().to_string();
        let loop_cmd = format!("for f in {d}/*.curl; do curl -K \"$f\"; done");
        let par_cmd = format!("ls {d}/*.curl | xargs -P 16 -n 1 curl -K");
        let mut rows: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
            ("`curl` in a shell loop", vec![], vec![]),
            ("`curl` × 16 in parallel (`xargs -P 16`)", vec![], vec![]),
            ("`overwatch status --json` (one process)", vec![], vec![]),
            (
                "Overwatch engine, in the running tray (CPU only)",
                vec![],
                vec![],
            ),
        ];
        // The engine as the tray runs it: polls only, no process start.
        let rt = runtime();
        let http = rt.block_on(async { Http::new(HttpOptions::default()).expect("client") });
        let engine = {
            let _g = rt.enter();
            Engine::start(cfg.clone(), EngineOptions::new(http, store()))
        };
        rt.block_on(settle(&engine, n as u64));
        for _ in 0..a.repeats {
            let (w, c) = measure(Command::new("bash").arg("-c").arg(&loop_cmd));
            rows[0].1.push(w);
            rows[0].2.push(c);
            let (w, c) = measure(Command::new("bash").arg("-c").arg(&par_cmd));
            rows[1].1.push(w);
            rows[1].2.push(c);
            let (w, c) = measure(
                Command::new(BIN)
                    .arg("--config")
                    .arg(&toml)
                    .args(["status", "--json"])
                    .env(TOKEN_ENV, sim::DEFAULT_TOKEN),
            );
            rows[2].1.push(w);
            rows[2].2.push(c);
            let (c0, t0) = (self_cpu(), Instant::now());
            rt.block_on(cycle(&engine));
            rows[3].1.push(t0.elapsed().as_secs_f64());
            rows[3].2.push(self_cpu() - c0);
        }
        let _ = rt.block_on(engine.shutdown());
        let base_cpu = median(&mut rows[0].2.clone());
        let base_wall = median(&mut rows[0].1.clone());
        println!("| {n} services ({requests} requests) | wall (median) | CPU total (median) | CPU per service poll | CPU vs the curl loop | wall vs the curl loop |");
        println!("|---|---:|---:|---:|---:|---:|");
        for (name, walls, cpus) in rows.iter_mut() {
            let w = median(walls);
            let c = median(cpus);
            let vs = if c == base_cpu && w == base_wall {
                "1 (baseline)".to_string()
            } else {
                format!(
                    "**{:.3}×** ({:.0}× less)",
                    c / base_cpu,
                    base_cpu / c.max(1e-9)
                )
            };
            println!(
                "| {name} | {w:.2} s | {:.0} ms | {:.0} µs | {vs} | {:.3}× |",
                c * 1e3,
                c / n as f64 * 1e6,
                w / base_wall,
            );
        }
        println!();
        println!("Same simulator ({LATENCY_MS} ms latency per answer), same requests (the curl configs hold exactly what Overwatch's Railway adapter sends), {} runs each, interleaved. CPU of the shell/curl/status runs is that of the child and all its descendants (getrusage RUSAGE_CHILDREN); the engine's is this process's own. `status` and the tray's engine both send at most {LIMIT} requests at once to a host.", a.repeats);
    }

    // ---- HTTPS: the simulator behind TLS ----------------------------------------

    /// The simulator behind TLS (tests/support/tls_sim.rs) in a child process
    /// (`tls-sim`), so its CPU is not this process's. Its CA is trusted by this
    /// benchmark's clients only: `HttpOptions::extra_root_certs` for the
    /// engine, `curl --cacert`, `SSL_CERT_FILE` for the `status` process.
    mod tls {
        use std::io::{BufRead, BufReader, Write};
        use std::path::{Path, PathBuf};
        use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
        use std::time::{Duration, Instant};

        use url::Url;

        use super::*;
        use crate::tls_sim::{self, Stats};

        /// The child: `tls-sim --latency MS [--http1-only]`. Prints its base URL
        /// and the CA's PEM file, then a JSON line of counters per line read.
        pub fn serve(a: &Args) {
            let rt = runtime();
            let cfg = sim::SimConfig {
                accept_any_target: true,
                latency: Duration::from_millis(a.latency),
                ..sim::SimConfig::default()
            };
            let tls = rt.block_on(tls_sim::start(cfg, a.h2));
            let ca =
                std::env::temp_dir().join(format!("overwatch-bench-ca-{}.pem", std::process::id()));
            std::fs::write(&ca, &tls.ca_pem).expect("write the CA");
            println!("tls-sim {} {}", tls.sim.base_url(), ca.display());
            let _ = std::io::stdout().flush();
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
                let s = tls.counters.stats();
                println!(
                    "{}",
                    serde_json::json!({
                        "connections": s.connections, "full": s.full, "resumed": s.resumed,
                        "h2": s.h2, "bytes_in": s.bytes_in, "bytes_out": s.bytes_out,
                        "requests": tls.sim.request_count(),
                    })
                );
                let _ = std::io::stdout().flush();
            }
            let _ = std::fs::remove_file(&ca);
        }

        /// The parent's view of a `tls-sim` child.
        struct TlsSim {
            child: Child,
            stdin: ChildStdin,
            stdout: BufReader<ChildStdout>,
            base: Url,
            ca: PathBuf,
        }

        impl TlsSim {
            fn start(latency: u64, h2: bool) -> TlsSim {
                let mut cmd = Command::new(std::env::current_exe().expect("this benchmark"));
                cmd.args(["tls-sim", "--latency", &latency.to_string()]);
                if !h2 {
                    cmd.arg("--http1-only");
                }
                let mut child = cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start the TLS simulator");
                let stdin = child.stdin.take().expect("piped stdin");
                let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
                let mut line = String::new();
                stdout.read_line(&mut line).expect("its first line");
                let mut words = line.split_whitespace().skip(1);
                let base = Url::parse(words.next().expect("a URL")).expect("a URL");
                let ca = PathBuf::from(words.next().expect("the CA file"));
                TlsSim {
                    child,
                    stdin,
                    stdout,
                    base,
                    ca,
                }
            }

            /// The counters, and the provider requests the simulator answered.
            fn stats(&mut self) -> (Stats, u64) {
                self.stdin.write_all(b"stats\n").expect("ask");
                self.stdin.flush().expect("ask");
                let mut line = String::new();
                self.stdout.read_line(&mut line).expect("stats");
                let v: serde_json::Value = serde_json::from_str(&line).expect("JSON stats");
                let g = |k: &str| v[k].as_u64().unwrap_or(0);
                (
                    Stats {
                        connections: g("connections"),
                        full: g("full"),
                        resumed: g("resumed"),
                        h2: g("h2"),
                        bytes_in: g("bytes_in"),
                        bytes_out: g("bytes_out"),
                    },
                    g("requests"),
                )
            }
        }

        impl Drop for TlsSim {
            fn drop(&mut self) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let _ = std::fs::remove_file(&self.ca);
            }
        }

        struct Row {
            name: String,
            protocol: String,
            polls: u64,
            cpu: f64,
            d: Stats,
        }

        fn protocol(d: &Stats) -> String {
            match (d.connections, d.h2) {
                (0, _) => "(reused)".into(),
                (c, h) if h == c => "HTTP/2".into(),
                (_, 0) => "HTTP/1.1".into(),
                _ => "mixed".into(),
            }
        }

        /// The engine as the tray runs it, trusting the test CA: its first
        /// round, then `window` seconds of steady state at refresh 60 s.
        fn engine(sim: &mut TlsSim, n: usize, window: u64, label: &str, rows: &mut Vec<Row>) {
            let rt = runtime();
            let ca = std::fs::read(&sim.ca).expect("the CA");
            let cfg = fleet(&sim.base, n, &[Provider::Railway], "60s");
            let (s0, _) = sim.stats();
            let (c0, t0) = (self_cpu(), Instant::now());
            let engine = rt.block_on(async {
                let http = Http::new(HttpOptions {
                    extra_root_certs: vec![ca],
                    ..HttpOptions::default()
                })
                .expect("client");
                let engine = Engine::start(cfg, EngineOptions::new(http, store()));
                settle(&engine, n as u64).await;
                engine
            });
            let first_wall = t0.elapsed().as_secs_f64();
            let ((s1, _), c1, p1) = (sim.stats(), self_cpu(), engine.polls_done());
            let first = protocol(&(s1 - s0));
            rows.push(Row {
                name: format!("{label}: first round ({first_wall:.2} s)"),
                protocol: first.clone(),
                polls: p1,
                cpu: c1 - c0,
                d: s1 - s0,
            });
            std::thread::sleep(Duration::from_secs(window));
            let ((s2, _), c2, p2) = (sim.stats(), self_cpu(), engine.polls_done());
            let d = s2 - s1;
            rows.push(Row {
                name: format!("{label}: steady state, refresh 60 s ({window} s)"),
                protocol: if d.connections == 0 {
                    format!("{first}, kept open")
                } else {
                    protocol(&d)
                },
                polls: p2 - p1,
                cpu: c2 - c1,
                d,
            });
            let _ = rt.block_on(engine.shutdown());
        }

        /// One `curl` per poll, as a shell loop would run it, over the same endpoint.
        fn curl(sim: &mut TlsSim, n: usize, dir: &Path, rows: &mut Vec<Row>) {
            let cfg = fleet(&sim.base, n, &[Provider::Railway], "60s");
            let polls = curl_configs(&cfg, dir) as u64;
            let cmd = format!(
                "for f in {}/*.curl; do curl --cacert '{}' -K \"$f\"; done",
                dir.display(),
                sim.ca.display()
            );
            let (s0, _) = sim.stats();
            let (_, cpu) = measure(Command::new("bash").arg("-c").arg(&cmd));
            let d = sim.stats().0 - s0;
            rows.push(Row {
                name: "`curl` in a shell loop (one process per poll)".into(),
                protocol: protocol(&d),
                polls,
                cpu,
                d,
            });
        }

        /// `overwatch status --json` over TLS, trusting the CA through
        /// `SSL_CERT_FILE` (the standard variable the platform verifier reads).
        fn status(sim: &mut TlsSim, n: usize, dir: &Path, rows: &mut Vec<Row>) {
            let toml = dir.join("tls-fleet.toml");
            std::fs::write(
                &toml,
                sim::fleet_config_toml(
                    &sim.base,
                    &format!("env:{TOKEN_ENV}"),
                    "60s",
                    n,
                    &[Provider::Railway],
                ),
            )
            .expect("write the config");
            let (s0, r0) = sim.stats();
            let (_, cpu) = measure(
                Command::new(BIN)
                    .arg("--config")
                    .arg(&toml)
                    .args(["status", "--json"])
                    .env(TOKEN_ENV, sim::DEFAULT_TOKEN)
                    .env("SSL_CERT_FILE", &sim.ca),
            );
            let (s1, r1) = sim.stats();
            rows.push(Row {
                name: "`overwatch status --json` (one process)".into(),
                protocol: protocol(&(s1 - s0)),
                polls: r1 - r0,
                cpu,
                d: s1 - s0,
            });
        }

        pub fn bench(a: &Args) {
            let n = a.services;
            let dir = tempfile::tempdir().expect("a temp dir");
            let mut rows = Vec::new();
            {
                let mut sim = TlsSim::start(a.latency, true);
                curl(&mut sim, n, dir.path(), &mut rows);
                status(&mut sim, n, dir.path(), &mut rows);
                engine(
                    &mut sim,
                    n,
                    a.window,
                    "Overwatch engine, host offers HTTP/2",
                    &mut rows,
                );
            }
            {
                let mut sim = TlsSim::start(a.latency, false);
                engine(
                    &mut sim,
                    n,
                    a.window,
                    "Overwatch engine, host offers HTTP/1.1 only",
                    &mut rows,
                );
            }
            let base_cpu = rows[0].cpu / rows[0].polls.max(1) as f64;
            println!("| {n} Railway services over TLS, {} ms per answer | protocol | polls | CPU per poll | **CPU vs the curl loop** | connections | TLS handshakes full / resumed | **handshakes per 100 polls** | **bytes sent per poll** | bytes received per poll |", a.latency);
            println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (i, r) in rows.iter().enumerate() {
                let polls = r.polls.max(1) as f64;
                let per_poll = r.cpu / polls;
                let vs = if i == 0 {
                    "1 (baseline)".to_string()
                } else {
                    format!("**{:.3}×**", per_poll / base_cpu)
                };
                println!(
                    "| {} | {} | {} | {:.0} µs | {vs} | {} | {} / {} | **{:.1}** | **{:.0}** | {:.0} |",
                    r.name,
                    r.protocol,
                    r.polls,
                    per_poll * 1e6,
                    r.d.connections,
                    r.d.full,
                    r.d.resumed,
                    100.0 * (r.d.full + r.d.resumed) as f64 / polls,
                    r.d.bytes_in as f64 / polls,
                    r.d.bytes_out as f64 / polls,
                );
            }
            println!();
            println!("The simulator behind TLS 1.3 on 127.0.0.1 (tests/support/tls_sim.rs in this benchmark's `tls-sim` child: rustls on ring, a CA made at start and trusted only by this benchmark's clients), {} ms added to every answer; the server keeps idle connections open. Bytes are counted on the server's socket (TLS records, handshakes included): \"sent\" is client to server. CPU of curl and `status` is the child's and its descendants' (getrusage RUSAGE_CHILDREN), the engine's this process's own. Polls of `status` are the requests it sent. The steady-state rows watch the engine for {} s after its first round, at the default refresh (60 s ± 10 % jitter).", a.latency, a.window);
        }
    }

    // ---- 5. soak ------------------------------------------------------------

    fn soak(a: &Args) {
        let sim = SimProc::start(&["--scenario", "faults"]);
        let rt = runtime();
        let timeout = Duration::from_millis(30);
        let cfg = fleet(&sim.base, 8, &Provider::ALL, "1h");
        let every = (a.cycles / 10).max(1);
        println!("| cycles | polls | resident memory | open fds | tokio tasks alive | threads | elapsed |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        let t0 = Instant::now();
        let row = |cycles: usize, polls: u64, tasks: usize| {
            println!(
                "| {cycles} | {polls} | {:.1} MB | {} | {tasks} | {} | {:.0} s |",
                status_kb("VmRSS:") as f64 / 1024.0,
                fds(),
                status_kb("Threads:"),
                t0.elapsed().as_secs_f64()
            );
        };
        let services: Vec<_> = cfg.services().cloned().collect();
        let (start, end) = rt.block_on(async {
            let http = Http::new(HttpOptions {
                total_timeout: timeout,
                connect_timeout: timeout,
                ..HttpOptions::default()
            })
            .expect("client");
            let store = store();
            let tasks = || {
                tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
            };
            // The status path: every service checked at once, each in its own task.
            let cycle = || {
                let mut set = tokio::task::JoinSet::new();
                for svc in services.clone() {
                    let (http, store) = (http.clone(), store.clone());
                    set.spawn(async move {
                        http.check(&svc, store.as_ref(), time::OffsetDateTime::now_utc())
                            .await
                    });
                }
                async move { while set.join_next().await.is_some() {} }
            };
            // Warm-up (connection pool, allocator arenas), then the baseline.
            for _ in 0..every.min(200) {
                cycle().await;
            }
            let start = (status_kb("VmRSS:"), fds(), tasks());
            row(0, 0, tasks());
            for c in 1..=a.cycles {
                cycle().await;
                if c % every == 0 {
                    row(c, (c * services.len()) as u64, tasks());
                }
            }
            // Idle connections in the pool close on their own; measure after a pause.
            tokio::time::sleep(Duration::from_millis(500)).await;
            (start, (status_kb("VmRSS:"), fds(), tasks()))
        });
        println!();
        println!(
            "**Growth over {} cycles: resident memory {:+.2} MB ({} → {} kB), open fds {:+}, tasks alive {:+}.** Peak RSS {:.1} MB.",
            a.cycles,
            (end.0 as f64 - start.0 as f64) / 1024.0,
            start.0,
            end.0,
            end.1 as i64 - start.1 as i64,
            end.2 as i64 - start.2 as i64,
            status_kb("VmHWM:") as f64 / 1024.0
        );
        println!();
        println!("8 services (two per provider) against `overwatch sim --scenario faults`: per request 70 % healthy, 7.5 % each HTTP 5xx, garbage, 429 (reset 1 s) and an answer held 2 s (a timeout: the client's is {} ms). A cycle checks every service at once through the shared HTTP layer and adapters (the path `overwatch status` and every engine poll take), one task per check, and waits for all; the engine's scheduler is left out because it rightly holds a service back for the provider's 429 reset, which would stretch 10,000 cycles to hours.", timeout.as_millis());
    }

    // ---- the dashboard's 24-hour history ----------------------------------------

    /// The history ring's cost for N services after a full day of checks every
    /// minute: in the state file (as written) and in memory.
    fn history(a: &Args) {
        use overwatch::engine::history::{Bucket, History, BUCKETS};
        use overwatch::engine::state::{self, ServiceRecord, State};
        use overwatch::model::{Card, Gauge, ServiceId, Status};
        use time::OffsetDateTime;

        let n = a.services;
        let start = OffsetDateTime::now_utc() - time::Duration::hours(24);
        let mut with = State::default();
        let mut without = State::default();
        let t0 = Instant::now();
        let mut checks = 0u64;
        for i in 0..n {
            let mut h = History::default();
            // A check a minute for a day; a main number in the thousands,
            // a deploy now and then, an hour of trouble.
            for m in 0..24 * 60 {
                let mut c = Card::loading();
                c.status = match (m / 60 + i) % 24 {
                    3 => Status::Degraded,
                    9 => Status::Down,
                    _ => Status::Healthy,
                };
                c.in_progress = m % 180 < 4;
                c.gauge = (i % 2 == 0).then(|| Gauge {
                    label: "visitors now".into(),
                    value: 1000 + ((m * 37 + i * 11) % 4000) as u64,
                });
                h.observe(start + time::Duration::minutes(m as i64), &c);
                checks += 1;
            }
            assert_eq!(h.buckets().count(), BUCKETS);
            let id = ServiceId(format!("fleet-{}/s{i}", i / 10 + 1));
            let rec = ServiceRecord {
                target: format!("project fleet-{i}"),
                card: Some(Card::loading()),
                ..ServiceRecord::default()
            };
            without.services.insert(id.clone(), rec.clone());
            with.services
                .insert(id, ServiceRecord { history: h, ..rec });
        }
        let per_check = t0.elapsed().as_secs_f64() * 1e9 / checks as f64;
        let dir = tempfile::tempdir().unwrap();
        let size = |s: &State, name: &str| {
            let p = dir.path().join(name);
            state::save(&p, s).unwrap();
            std::fs::metadata(&p).unwrap().len()
        };
        let (a_bytes, b_bytes) = (size(&with, "with.json"), size(&without, "without.json"));
        let hist = a_bytes - b_bytes;
        let bucket = std::mem::size_of::<Bucket>();
        let mem: usize = with.services.values().map(|r| r.history.heap_bytes()).sum();
        println!("| services | buckets each | state file with histories | of which histories | per service | in memory (ring buffers) | cost of one check's bookkeeping |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {n} | {BUCKETS} (24 h of 15 min) | {:.1} KB | {:.1} KB | {} B | {:.1} KB ({} B a service; a bucket is {bucket} B) | {:.0} ns |",
            a_bytes as f64 / 1024.0,
            hist as f64 / 1024.0,
            hist / n as u64,
            mem as f64 / 1024.0,
            mem / n,
            per_check
        );
    }
}

//! Engine benchmarks that print markdown tables: poll cycles at scale against a simulator with injected latency, the same polls by `curl` (a loop and in parallel) against one `overwatch status --json`, and a soak against random faults.
//!
//! Run: `cargo bench --bench engine -- scale|curl|soak|history [--cycles N] [--repeats N] [--services N]`.
//! The simulator always runs as a separate `overwatch sim` process, so the
//! figures of this process are the engine's alone. Linux only (/proc, getrusage).

#[cfg(target_os = "linux")]
fn main() {
    imp::main();
}

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
    use overwatch::providers::http::{Http, HttpOptions};
    use overwatch::providers::{self, Context, Method, Step};
    use overwatch::secrets::{NoStore, SecretStore};
    use overwatch::sim;
    use url::Url;

    const BIN: &str = env!("CARGO_BIN_EXE_overwatch");
    const TOKEN_ENV: &str = "OW_BENCH_TOKEN";
    const LATENCY_MS: u64 = 100;
    /// The engine's concurrency limit (`EngineOptions::new`'s default, as in the tray).
    const LIMIT: usize = 4;

    struct Args {
        what: String,
        cycles: usize,
        repeats: usize,
        services: usize,
    }

    fn args() -> Args {
        let mut a = Args {
            what: String::new(),
            cycles: 10_000,
            repeats: 3,
            services: 100,
        };
        let mut it = std::env::args().skip(1);
        while let Some(x) = it.next() {
            let mut num = |d: usize| it.next().and_then(|v| v.parse().ok()).unwrap_or(d);
            match x.as_str() {
                "--cycles" => a.cycles = num(a.cycles),
                "--repeats" => a.repeats = num(a.repeats),
                "--services" => a.services = num(a.services),
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
            "curl" => curl(&a),
            "soak" => soak(&a),
            "history" => history(&a),
            _ => {
                eprintln!(
                    "usage: engine scale|curl|soak|history [--cycles N] [--repeats N] [--services N]"
                )
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
        println!("Railway services (one request, one round trip per poll), {LATENCY_MS} ms injected latency, the engine's concurrency limit {LIMIT}; {} cycles per size after the start-up round. CPU is this process's user+system time (the simulator is another process) divided by the polls.", a.repeats);
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
        println!("Same simulator ({LATENCY_MS} ms latency per answer), same requests (the curl configs hold exactly what Overwatch's Railway adapter sends), {} runs each, interleaved. CPU of the shell/curl/status runs is that of the child and all its descendants (getrusage RUSAGE_CHILDREN); the engine's is this process's own. `status` polls 16 at once, the tray's engine {LIMIT}.", a.repeats);
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

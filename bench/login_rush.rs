//! Memory under a rush of password logins (issue 10): the server's resident memory while 64
//! clients send 256 logins at once, and how soon it comes back down.
//!
//! ```sh
//! cargo bench --bench login_rush
//! BENCH_CLIENTS=128 BENCH_LOGINS=512 cargo bench --bench login_rush
//! BENCH_SERVER_BIN=/path/to/older/khongdee cargo bench --bench login_rush   # compare builds
//! ```
//!
//! The release `khongdee` binary built with this benchmark (or `BENCH_SERVER_BIN`) runs as a
//! child process on a free loopback port, with a temporary data directory and SQLite file that
//! it seeds with the demo data. Its token rate limit is raised (`KHONGDEE_RATE_LIMIT_TOKEN`) so
//! that every login of the rush is really hashed instead of refused with 429 after the first 20.
//! Once `/readyz` answers, the server's VmRSS (`/proc/PID/status`) is sampled every 50 ms:
//!
//! 1. idle, for a second;
//! 2. `BENCH_LOGINS` password logins with wrong passwords for a demo account, from
//!    `BENCH_CLIENTS` concurrent clients (each must answer 400 `invalid_grant`);
//! 3. the same number of logins with the right password (each must answer 200 with a token);
//! 4. afterwards, until the memory has stayed under the settled target for 5 s, or for 60 s,
//!    and once more 15 s after the rush, when the blocking pool's idle threads have retired.
//!
//! It prints idle, peak and settled RSS, the time to settle and logins/s, each beside its ratio
//! to its target (peak 250 MB, settled 150 MB within 60 s; 1 MB = 10^6 bytes) or, for logins/s,
//! to the ceiling of the machine's cores hashing without pause (cores / seconds per hash,
//! measured here). It exits with status 1 when a target is missed or a login got an unexpected
//! answer.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PEAK_TARGET_MB: f64 = 250.0;
const SETTLED_TARGET_MB: f64 = 150.0;
const SETTLE_WITHIN: Duration = Duration::from_secs(60);
/// Settled means under the target for this long without a break.
const SETTLED_FOR: Duration = Duration::from_secs(5);
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// A last look once the blocking pool's idle threads are gone.
const LATER: Duration = Duration::from_secs(15);
const USERNAME: &str = "demo-maesot-staff";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Resident memory of a process, in bytes; `None` once it is gone.
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field(&status, "VmRSS:").map(|kib| kib * 1024)
}

fn threads(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field(&status, "Threads:")
}

fn status_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The server child; killed when dropped, so that no run leaves it behind.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let binary = std::env::var("BENCH_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_khongdee").to_string());
    let dir = tempfile::tempdir().expect("temp dir");
    // A free loopback port: the OS picks one, the server binds it a moment later.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut command = Command::new(&binary);
    // Nothing from the caller's environment may change what is measured.
    for (name, _) in std::env::vars() {
        if name.starts_with("KHONGDEE_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let child = command
        .arg("serve")
        .env(
            "KHONGDEE_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        )
        .env("KHONGDEE_DATA_DIR", dir.path().join("data"))
        .env("KHONGDEE_BIND", format!("127.0.0.1:{port}"))
        .env("KHONGDEE_SEED_DEMO", "auto")
        .env("KHONGDEE_LOG", "warn")
        .env("KHONGDEE_LOG_FORMAT", "json")
        // Every login of the rush must reach the password check, not the rate limit.
        .env("KHONGDEE_RATE_LIMIT_TOKEN", "1000000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    println!("server: {binary} (pid {}), port {port}", child.id());
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

/// Samples the server's RSS every 50 ms on its own thread until stopped.
struct Sampler {
    samples: Arc<Mutex<Vec<(Instant, u64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (samples.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match rss_bytes(pid) {
                    Some(rss) => s.lock().expect("samples").push((Instant::now(), rss)),
                    None => break,
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        Sampler {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// Highest RSS sampled since `from`.
    fn peak_since(&self, from: Instant) -> u64 {
        let samples = self.samples.lock().expect("samples");
        samples
            .iter()
            .filter(|(t, _)| *t >= from)
            .map(|(_, rss)| *rss)
            .max()
            .unwrap_or(0)
    }

    fn last(&self) -> Option<(Instant, u64)> {
        self.samples.lock().expect("samples").last().copied()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Rush {
    elapsed: Duration,
    answers: Vec<(u16, String)>,
}

/// `logins` password logins from `clients` concurrent clients.
async fn rush(
    base: &str,
    clients: usize,
    logins: usize,
    password: impl Fn(usize) -> String,
) -> Rush {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let url = Arc::new(format!("{base}/v1/auth/token"));
    let passwords: Arc<Vec<String>> = Arc::new((0..logins).map(password).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url, passwords, next) =
                (client.clone(), url.clone(), passwords.clone(), next.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(password) = passwords.get(i) else {
                        break;
                    };
                    let res = client
                        .post(url.as_str())
                        .form(&[
                            ("grant_type", "password"),
                            ("username", USERNAME),
                            ("password", password.as_str()),
                        ])
                        .send()
                        .await;
                    seen.push(match res {
                        Ok(res) => {
                            let status = res.status().as_u16();
                            (status, res.text().await.unwrap_or_default())
                        }
                        Err(e) => (0, e.to_string()),
                    });
                }
                seen
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(logins);
    for task in futures_util::future::join_all(tasks).await {
        answers.extend(task.expect("client task"));
    }
    Rush {
        elapsed: started.elapsed(),
        answers,
    }
}

/// Problems with a rush's answers: each must have the expected status (and, for 200, a token).
fn check_answers(label: &str, rush: &Rush, expected: u16, problems: &mut Vec<String>) {
    let unexpected: Vec<_> = rush
        .answers
        .iter()
        .filter(|(status, body)| {
            *status != expected || (expected == 200 && !body.contains("\"access_token\""))
        })
        .collect();
    if let Some((status, body)) = unexpected.first() {
        problems.push(format!(
            "{label}: {} of {} logins answered other than {expected}, e.g. {status}: {}",
            unexpected.len(),
            rush.answers.len(),
            body.chars().take(200).collect::<String>()
        ));
    }
}

async fn wait_ready(client: &reqwest::Client, base: &str, server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the server exited before it was ready: {status}");
        }
        if let Ok(res) = client.get(format!("{base}/readyz")).send().await
            && res.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server was not ready in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seconds one password hash takes on this machine (the same code the server runs), the best
/// of five: other work on the machine only ever makes it slower.
fn seconds_per_hash() -> f64 {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            let _ = khongdee::auth::password::hash("a-password-to-time");
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let clients: usize = env_or("BENCH_CLIENTS", 64);
    let logins: usize = env_or("BENCH_LOGINS", 256);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let hash_secs = seconds_per_hash();
    let ceiling = cores as f64 / hash_secs;
    println!(
        "login rush: {logins} wrong-password logins, then {logins} right ones, from {clients} clients; \
         one hash takes {:.1} ms here, so {cores} cores hash at most {ceiling:.0}/s",
        hash_secs * 1000.0
    );

    let mut server = start_server();
    let pid = server.child.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let probe = reqwest::Client::new();
    let base = server.base.clone();
    runtime.block_on(wait_ready(&probe, &base, &mut server));

    let sampler = Sampler::start(pid);
    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_bytes(pid).expect("the server is running");
    let idle_threads = threads(pid).unwrap_or(0);

    let mut problems = Vec::new();
    let wrong_from = Instant::now();
    let wrong = runtime.block_on(rush(&base, clients, logins, |i| {
        format!("wrong-password-{i}")
    }));
    let wrong_peak = sampler.peak_since(wrong_from);
    let rush_threads = threads(pid).unwrap_or(0);
    check_answers("wrong passwords", &wrong, 400, &mut problems);
    if wrong.answers.iter().any(|(status, _)| *status == 429) {
        problems.push("the rate limit refused logins: they were not hashed".into());
    }

    let right_from = Instant::now();
    let right = runtime.block_on(rush(&base, clients, logins, |_| {
        khongdee::seed::DEMO_PASSWORD.to_string()
    }));
    let right_peak = sampler.peak_since(right_from);
    check_answers("right password", &right, 200, &mut problems);
    let rush_end = Instant::now();

    // Settled: under the target for SETTLED_FOR without a break, within SETTLE_WITHIN.
    let target = (SETTLED_TARGET_MB * 1e6) as u64;
    let mut under_since: Option<Instant> = None;
    let (settled, settle_time) = loop {
        std::thread::sleep(SAMPLE_EVERY);
        let Some((at, rss)) = sampler.last() else {
            break (0, None);
        };
        if at < rush_end {
            continue;
        }
        if rss <= target {
            let since = *under_since.get_or_insert(at);
            if at.duration_since(since) >= SETTLED_FOR {
                break (rss, Some(since.duration_since(rush_end)));
            }
        } else {
            under_since = None;
        }
        if at.duration_since(rush_end) >= SETTLE_WITHIN {
            break (rss, None);
        }
    };
    let settled_threads = threads(pid).unwrap_or(0);
    // The blocking pool's idle threads retire after 10 s; what stays after that is the floor.
    let later = rush_end + LATER;
    if let Some(wait) = later.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
    let later_rss = rss_bytes(pid).unwrap_or(0);
    let later_threads = threads(pid).unwrap_or(0);
    if let Ok(Some(status)) = server.child.try_wait() {
        problems.push(format!("the server exited during the run: {status}"));
    }
    drop(sampler);
    drop(server);

    let peak = wrong_peak.max(right_peak);
    let rate = |r: &Rush| r.answers.len() as f64 / r.elapsed.as_secs_f64();
    println!(
        "{:<28} {:>10} {:>8}  target or ceiling",
        "figure", "value", "ratio"
    );
    println!(
        "{:<28} {:>7.0} MB {:>8}  (threads {idle_threads})",
        "idle RSS",
        mb(idle),
        "",
    );
    println!(
        "{:<28} {:>7.0} MB {:>8.2}  peak <= {PEAK_TARGET_MB} MB (threads {rush_threads} after the first rush)",
        "peak RSS, wrong passwords",
        mb(wrong_peak),
        mb(wrong_peak) / PEAK_TARGET_MB,
    );
    println!(
        "{:<28} {:>7.0} MB {:>8.2}  peak <= {PEAK_TARGET_MB} MB",
        "peak RSS, right password",
        mb(right_peak),
        mb(right_peak) / PEAK_TARGET_MB,
    );
    println!(
        "{:<28} {:>7.0} MB {:>8.2}  settled <= {SETTLED_TARGET_MB} MB (threads {settled_threads})",
        "settled RSS",
        mb(settled),
        mb(settled) / SETTLED_TARGET_MB,
    );
    println!(
        "{:<28} {:>7.0} MB {:>8.2}  settled <= {SETTLED_TARGET_MB} MB (threads {later_threads})",
        format!("RSS {} s after the rush", LATER.as_secs()),
        mb(later_rss),
        mb(later_rss) / SETTLED_TARGET_MB,
    );
    match settle_time {
        Some(t) => println!(
            "{:<28} {:>8.1} s {:>8.2}  within {} s",
            "time to settle",
            t.as_secs_f64(),
            t.as_secs_f64() / SETTLE_WITHIN.as_secs_f64(),
            SETTLE_WITHIN.as_secs()
        ),
        None => println!(
            "{:<28} {:>10} {:>8}  within {} s",
            "time to settle",
            "never",
            "> 1",
            SETTLE_WITHIN.as_secs()
        ),
    }
    println!(
        "{:<28} {:>8.1}/s {:>8.2}  ceiling {ceiling:.0}/s",
        "logins/s, wrong passwords",
        rate(&wrong),
        rate(&wrong) / ceiling,
    );
    println!(
        "{:<28} {:>8.1}/s {:>8.2}  ceiling {ceiling:.0}/s",
        "logins/s, right password",
        rate(&right),
        rate(&right) / ceiling,
    );

    if mb(peak) > PEAK_TARGET_MB {
        problems.push(format!(
            "peak RSS {:.0} MB is over {PEAK_TARGET_MB} MB",
            mb(peak)
        ));
    }
    if settle_time.is_none() {
        problems.push(format!(
            "RSS was still {:.0} MB {} s after the rush (target {SETTLED_TARGET_MB} MB)",
            mb(settled),
            SETTLE_WITHIN.as_secs()
        ));
    }
    if settle_time.is_some() && mb(later_rss) > SETTLED_TARGET_MB {
        problems.push(format!(
            "RSS rose again to {:.0} MB after settling (target {SETTLED_TARGET_MB} MB)",
            mb(later_rss)
        ));
    }
    for problem in &problems {
        println!("!! {problem}");
    }
    if !problems.is_empty() {
        std::process::exit(1);
    }
}

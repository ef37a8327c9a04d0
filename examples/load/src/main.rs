//! `tracelet-load`: many devices sending batches to one or more collector replicas, as phones
//! would, optionally killing a replica mid-run; then counts in the database what was stored.
//!
//! Each device sends its batches one after the other (the SDK never has two in flight) with a
//! stable idempotency key; a batch that fails (connection cut, 5xx, timeout) is sent again,
//! to the next live replica, until one acknowledges it. Latency is per batch, from the request
//! to the answer that acknowledged it, retries included.

mod count;
mod replicas;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{Mutex, Semaphore};
use tracelet_protocol::wire::{IDEMPOTENCY_HEADER, INGEST_PATH, batch_id};

use replicas::{Replica, Storage, TOKEN};

/// Load test of the collector (protocol v1) with one or more replicas.
#[derive(Debug, Parser)]
#[command(name = "tracelet-load", version)]
struct Args {
    /// Collectors already running, comma-separated base URLs (http://127.0.0.1:8787).
    #[arg(long, value_delimiter = ',', conflicts_with = "spawn_replicas")]
    target: Vec<String>,
    /// Start this many collector processes; with --database-url they share PostgreSQL,
    /// without it one collector stores in a temporary SQLite file.
    #[arg(long)]
    spawn_replicas: Option<usize>,
    /// PostgreSQL of the spawned replicas, and where `stored` is counted.
    #[arg(long)]
    database_url: Option<String>,
    /// SQLite file of a --target collector, where `stored` is counted.
    #[arg(long)]
    sqlite_db: Option<PathBuf>,
    /// Ingest token of --target collectors.
    #[arg(long, default_value = TOKEN)]
    token: String,
    /// The collector binary to spawn; by default the one next to this binary.
    #[arg(long)]
    collector_bin: Option<PathBuf>,
    #[arg(long, default_value_t = 100)]
    devices: u64,
    #[arg(long, default_value_t = 10)]
    batches_per_device: u64,
    #[arg(long, default_value_t = 50)]
    fixes_per_batch: u64,
    /// Batches in flight at once over all devices (each device has at most one).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Batches each spawned replica stores at once (its --max-concurrent-ingest).
    #[arg(long, default_value_t = 8)]
    ingest_slots: usize,
    /// SIGKILL the first spawned replica this many seconds after the start.
    #[arg(long)]
    kill_replica_after: Option<f64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    backend: &'static str,
    replicas: usize,
    devices: u64,
    batches: u64,
    /// Fixes the tool delivered (every batch until acknowledged).
    sent: u64,
    /// Fixes of this run in the database, counted there.
    stored: Option<u64>,
    lost: Option<u64>,
    duplicates: Option<u64>,
    replicas_killed: u64,
    /// Requests that failed and were sent again.
    retries: u64,
    elapsed_s: f64,
    fixes_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    concurrency: usize,
    /// CPU time of the spawned collectors (user + system), and per fix.
    collector_cpu_s: Option<f64>,
    collector_cpu_us_per_fix: Option<f64>,
}

struct Shared {
    targets: Vec<String>,
    alive: Vec<AtomicBool>,
    client: reqwest::Client,
    token: String,
    permits: Semaphore,
    retries: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
    run: String,
    fixes_per_batch: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(report) => {
            let ok = report.lost == Some(0) && report.duplicates == Some(0);
            if ok || report.stored.is_none() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("tracelet-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<Report, String> {
    let mut spawned: Vec<Replica> = Vec::new();
    let mut scratch = None;
    let storage = match (&args.database_url, &args.sqlite_db) {
        (Some(url), _) => Some(Storage::Postgres(url.clone())),
        (None, Some(path)) => Some(Storage::Sqlite(path.clone())),
        (None, None) if args.spawn_replicas.is_some() => {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let path = dir.path().join("load.sqlite3");
            scratch = Some(dir);
            Some(Storage::Sqlite(path))
        }
        (None, None) => None,
    };
    let targets = match args.spawn_replicas {
        Some(n) => {
            if n == 0 {
                return Err("--spawn-replicas needs at least 1".into());
            }
            let storage = storage.as_ref().ok_or("no storage")?;
            if matches!(storage, Storage::Sqlite(_)) && n > 1 {
                return Err("SQLite serves one replica; give --database-url for more".into());
            }
            let bin = args
                .collector_bin
                .clone()
                .unwrap_or_else(replicas::default_collector_bin);
            for _ in 0..n {
                spawned.push(Replica::spawn(&bin, storage, args.ingest_slots).await?);
            }
            spawned
                .iter()
                .map(|r| format!("http://{}", r.addr))
                .collect()
        }
        None if args.target.is_empty() => {
            return Err("give --target URL[,URL...] or --spawn-replicas N".into());
        }
        None => args.target.clone(),
    };
    if args.kill_replica_after.is_some() && spawned.len() < 2 {
        return Err("--kill-replica-after needs --spawn-replicas 2 or more".into());
    }
    let run_id = format!(
        "load-{}-",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let shared = Arc::new(Shared {
        alive: targets.iter().map(|_| AtomicBool::new(true)).collect(),
        targets,
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?,
        token: args.token.clone(),
        permits: Semaphore::new(args.concurrency.max(1)),
        retries: AtomicU64::new(0),
        latencies_us: Mutex::new(Vec::new()),
        run: run_id.clone(),
        fixes_per_batch: args.fixes_per_batch.max(1),
    });
    let started = Instant::now();
    let mut devices = Vec::new();
    for d in 0..args.devices {
        let shared = Arc::clone(&shared);
        let batches = args.batches_per_device;
        devices.push(tokio::spawn(async move {
            send_device(&shared, d, batches).await
        }));
    }
    let mut killed = 0;
    let mut killed_cpu_s = 0.0;
    if let Some(after) = args.kill_replica_after {
        tokio::time::sleep(Duration::from_secs_f64(after)).await;
        if devices.iter().any(|d| !d.is_finished()) {
            shared.alive[0].store(false, Ordering::SeqCst);
            killed_cpu_s = spawned[0].cpu_seconds().unwrap_or(0.0);
            spawned[0].kill().await;
            killed = 1;
        } else {
            eprintln!("tracelet-load: the run ended before --kill-replica-after; nothing killed");
        }
    }
    for device in devices {
        device.await.map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let collector_cpu_s = (!spawned.is_empty())
        .then(|| killed_cpu_s + spawned.iter().filter_map(Replica::cpu_seconds).sum::<f64>());
    let counted = match &storage {
        Some(Storage::Postgres(url)) => Some(count::postgres(url, &run_id).await?),
        Some(Storage::Sqlite(path)) => Some(count::sqlite(path, &run_id)?),
        None => None,
    };
    drop(spawned);
    drop(scratch);
    let sent = args.devices * args.batches_per_device * shared.fixes_per_batch;
    let mut latencies = shared.latencies_us.lock().await.clone();
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    let report = Report {
        backend: match storage {
            Some(Storage::Postgres(_)) => "postgres",
            Some(Storage::Sqlite(_)) => "sqlite",
            None => "unknown",
        },
        replicas: shared.targets.len(),
        devices: args.devices,
        batches: args.devices * args.batches_per_device,
        sent,
        stored: counted.map(|c| c.stored),
        lost: counted.map(|c| sent.saturating_sub(c.stored)),
        duplicates: counted.map(|c| c.duplicates),
        replicas_killed: killed,
        retries: shared.retries.load(Ordering::Relaxed),
        elapsed_s: elapsed,
        fixes_per_s: sent as f64 / elapsed,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        max_ms: pick(1.0),
        concurrency: args.concurrency,
        collector_cpu_s,
        collector_cpu_us_per_fix: collector_cpu_s.map(|s| s * 1e6 / sent as f64),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        print_text(&report);
    }
    Ok(report)
}

fn print_text(r: &Report) {
    let opt = |v: Option<u64>| v.map_or("not counted".to_owned(), |v| v.to_string());
    println!(
        "{} x{}: {} devices, {} batches, sent {} fixes in {:.2} s = {:.0} fixes/s",
        r.backend, r.replicas, r.devices, r.batches, r.sent, r.elapsed_s, r.fixes_per_s
    );
    println!(
        "stored {}, lost {}, duplicates {}, replicas killed {}, retries {}",
        opt(r.stored),
        opt(r.lost),
        opt(r.duplicates),
        r.replicas_killed,
        r.retries
    );
    println!(
        "per batch: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} in flight)",
        r.p50_ms, r.p99_ms, r.max_ms, r.concurrency
    );
    if let (Some(cpu), Some(per_fix)) = (r.collector_cpu_s, r.collector_cpu_us_per_fix) {
        println!("collector CPU: {cpu:.2} s, {per_fix:.1} us per fix");
    }
}

/// One device: its batches in order, each until a replica acknowledges it.
async fn send_device(shared: &Shared, device: u64, batches: u64) {
    let name = format!("{}{device}", shared.run);
    let per = shared.fixes_per_batch;
    for n in 0..batches {
        let first_seq = n * per + 1;
        let (body, key) = batch_body(&name, first_seq, per, device);
        let _permit = shared.permits.acquire().await;
        let started = Instant::now();
        let mut attempt = 0u64;
        loop {
            let target = pick_target(shared, device + attempt);
            let url = format!("{}{INGEST_PATH}", shared.targets[target]);
            let answer = shared
                .client
                .post(&url)
                .bearer_auth(&shared.token)
                .header("content-type", "application/json")
                .header(IDEMPOTENCY_HEADER, &key)
                .body(body.clone())
                .send()
                .await;
            match answer {
                Ok(response) if response.status().is_success() => break,
                Ok(response)
                    if response.status().is_client_error()
                        && response.status().as_u16() != 408
                        && response.status().as_u16() != 429 =>
                {
                    // A refusal is a bug of this tool: report it and stop this device.
                    eprintln!("tracelet-load: {name}: refused with {}", response.status());
                    return;
                }
                _ => {
                    shared.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt.min(10))).await;
                }
            }
        }
        let took = started.elapsed().as_micros() as u64;
        shared.latencies_us.lock().await.push(took);
    }
}

/// The first live target from the device's own, so that devices spread over replicas and
/// move on when theirs dies.
fn pick_target(shared: &Shared, start: u64) -> usize {
    let n = shared.targets.len();
    (0..n)
        .map(|i| (start as usize + i) % n)
        .find(|&t| shared.alive[t].load(Ordering::Relaxed))
        .unwrap_or(start as usize % n)
}

/// A batch of `count` fixes of one device, walking a small circle around its own start.
fn batch_body(device: &str, first_seq: u64, count: u64, index: u64) -> (String, String) {
    const T0: i64 = 1_717_243_200_000;
    let base_la = -60.0 + (index % 120) as f64;
    let base_lo = -170.0 + ((index / 120) % 340) as f64;
    let fixes: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let seq = first_seq + i;
            let angle = seq as f64 / 50.0;
            json!({
                "t": T0 + seq as i64 * 1000,
                "la": base_la + 0.001 * angle.sin(),
                "lo": base_lo + 0.001 * angle.cos(),
                "ac": 5.0,
                "sp": 1.4,
            })
        })
        .collect();
    let stream = "load";
    let key = batch_id(stream, Some((first_seq, first_seq + count - 1)), None);
    let body = json!({
        "v": 1,
        "device": device,
        "stream": stream,
        "batch": key,
        "first_seq": first_seq,
        "fixes": fixes,
        "events": [],
    });
    (body.to_string(), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(targets: usize) -> Shared {
        Shared {
            targets: (0..targets).map(|i| format!("http://t{i}")).collect(),
            alive: (0..targets).map(|_| AtomicBool::new(true)).collect(),
            client: reqwest::Client::new(),
            token: TOKEN.into(),
            permits: Semaphore::new(1),
            retries: AtomicU64::new(0),
            latencies_us: Mutex::new(Vec::new()),
            run: "load-test-".into(),
            fixes_per_batch: 3,
        }
    }

    #[test]
    fn a_batch_carries_its_range_and_a_matching_idempotency_key() {
        let (body, key) = batch_body("load-1-7", 4, 3, 7);
        let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(key, "load:4-6");
        assert_eq!(value["batch"], key.as_str());
        assert_eq!(value["first_seq"], 4);
        assert_eq!(value["fixes"].as_array().map(Vec::len), Some(3));
        assert_eq!(value["fixes"][2]["t"], 1_717_243_200_000_i64 + 6_000);
    }

    #[test]
    fn devices_spread_over_targets_and_skip_a_killed_one() {
        let s = shared(3);
        assert_eq!(
            (pick_target(&s, 0), pick_target(&s, 1), pick_target(&s, 5)),
            (0, 1, 2)
        );
        s.alive[1].store(false, Ordering::SeqCst);
        assert_eq!(pick_target(&s, 1), 2);
        assert_eq!(pick_target(&s, 4), 2);
        assert_eq!(pick_target(&s, 0), 0);
    }
}

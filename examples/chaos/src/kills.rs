//! Scenario (a): SIGKILL the recording process at random moments.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tracelet_collector::{CollectorConfig, start};
use tracelet_core::jitter::Jitter;
use tracelet_core::{SystemClock, Tracker, TrackerConfig};

use crate::fixes::{fix, index_of};
use crate::{Args, ScenarioReport};

const TOKEN: &str = "chaos-token";
const DEVICE: &str = "chaos-kill";

pub async fn run(args: &Args) -> Result<ScenarioReport, Box<dyn std::error::Error>> {
    let collector = start(CollectorConfig::loopback(vec![TOKEN.into()])).await?;
    let queue_dir = tempfile::tempdir()?;
    let endpoint = collector.ingest_url();
    let dir = queue_dir.path().to_owned();
    let (kills, fixes, seed) = (args.kills, u64::from(args.fixes), args.seed);
    let accepted = tokio::task::spawn_blocking(move || {
        kill_loop(&endpoint, &dir, kills, fixes, seed).map_err(|e| e.to_string())
    })
    .await??;
    let rows = collector.fixes(DEVICE)?;
    let stored: BTreeSet<u64> = rows.iter().filter_map(|r| index_of(r.fix.t)).collect();
    let stats = collector.stats();
    collector.stop().await;
    Ok(ScenarioReport {
        fixes_accepted: accepted.len() as u64,
        stored_at_collector: rows.len() as u64,
        lost: accepted.difference(&stored).count() as u64,
        duplicates: rows.len() as u64 - stored.len() as u64,
        http_attempts: stats.batches + stats.rejected_requests,
    })
}

/// Runs killed children, then one that drains the queue; returns every index a child
/// reported as accepted.
fn kill_loop(
    endpoint: &str,
    dir: &Path,
    kills: u32,
    fixes: u64,
    seed: u64,
) -> Result<BTreeSet<u64>, Box<dyn std::error::Error>> {
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let mut rng = Jitter::new(seed);
    for _ in 0..kills {
        let mut child = spawn_child(endpoint, dir, fixes, "record")?;
        let stdout = child.stdout.take().ok_or("child has no stdout")?;
        let (first_line, first_seen) = mpsc::channel();
        let sink = Arc::clone(&accepted);
        let reader = std::thread::spawn(move || collect_lines(stdout, &sink, Some(first_line)));
        // Kill only once the child is recording, 1-10 ms in: mid-transaction, mid-upload.
        let _ = first_seen.recv_timeout(Duration::from_secs(10));
        std::thread::sleep(Duration::from_micros(1_000 + rng.up_to(9_000)));
        let _ = child.kill(); // SIGKILL on Unix
        child.wait()?;
        let _ = reader.join();
    }
    let mut child = spawn_child(endpoint, dir, fixes, "drain")?;
    let stdout = child.stdout.take().ok_or("child has no stdout")?;
    collect_lines(stdout, &accepted, None);
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("the draining child failed: {status}").into());
    }
    let accepted = accepted.lock().map_err(|_| "poisoned")?.clone();
    Ok(accepted)
}

fn spawn_child(
    endpoint: &str,
    dir: &Path,
    fixes: u64,
    mode: &str,
) -> Result<std::process::Child, Box<dyn std::error::Error>> {
    let spec = format!("{endpoint}\t{}\t{fixes}\t{mode}", dir.display());
    Ok(Command::new(std::env::current_exe()?)
        .arg("--child")
        .arg(spec)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()?)
}

fn collect_lines(
    stdout: std::process::ChildStdout,
    sink: &Mutex<BTreeSet<u64>>,
    mut first: Option<mpsc::Sender<()>>,
) {
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(index) = line.strip_prefix("A ").and_then(|i| i.parse::<u64>().ok()) {
            if let Ok(mut set) = sink.lock() {
                set.insert(index);
            }
            if let Some(tx) = first.take() {
                let _ = tx.send(());
            }
        }
    }
}

/// The child: resumes after the newest fix its queue ever stored, records up to the end of the
/// stream, printing `A <index>` once `record` returned; in drain mode it then uploads all.
pub fn run_child(spec: &str) -> Result<(), Box<dyn std::error::Error>> {
    let parts: Vec<&str> = spec.split('\t').collect();
    let [endpoint, dir, fixes, mode] = parts[..] else {
        return Err("bad child spec".into());
    };
    let fixes: u64 = fixes.parse()?;
    let mut config = TrackerConfig::new(endpoint, DEVICE, TOKEN, dir);
    config.upload.batch_trigger_count = 20;
    config.upload.max_delay_ms = 200;
    config.upload.min_backoff_ms = 20;
    config.upload.max_backoff_ms = 500;
    config.jitter_seed = Some(7);
    let tracker = Tracker::new(config, Arc::new(SystemClock))?;
    tracker.start()?;
    let start = tracker
        .last_recorded_time_ms()?
        .and_then(index_of)
        .map_or(0, |i| i + 1);
    let mut out = std::io::stdout().lock();
    for i in start..fixes {
        tracker.record(fix(i))?;
        writeln!(out, "A {i}")?;
        out.flush()?;
    }
    if mode == "drain" {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        for _ in 0..1_000 {
            match runtime.block_on(tracker.flush()) {
                Ok(report) if report.pending == 0 => return Ok(()),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        return Err("the queue did not drain".into());
    }
    Ok(())
}

//! Scenario (a): SIGKILL the recording process at random moments, and optionally wipe its queue
//! (as "clear data" or a reinstall would) every N accepted fixes while the device id stays.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
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
    let work_dir = tempfile::tempdir()?;
    let endpoint = collector.ingest_url();
    let dir = work_dir.path().to_owned();
    let plan = Plan {
        kills: args.kills,
        fixes: u64::from(args.fixes),
        seed: args.seed,
        wipe_every: args.wipe_queue_every,
    };
    let (accepted, wipes) = tokio::task::spawn_blocking(move || {
        kill_loop(&endpoint, &dir, &plan).map_err(|e| e.to_string())
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
        queue_wipes: wipes,
        streams: rows
            .iter()
            .map(|r| r.stream.as_str())
            .collect::<BTreeSet<_>>()
            .len() as u64,
    })
}

/// What scenario (a) does.
struct Plan {
    kills: u32,
    fixes: u64,
    seed: u64,
    /// Wipe the child's queue every this many accepted fixes; 0 never.
    wipe_every: u64,
}

/// The child's files under the scenario's directory: the queue, which a wipe deletes, and the
/// index of the last fix before the latest wipe, which survives it so that the child resumes
/// after that fix rather than recording the stream again.
fn queue_dir(base: &Path) -> PathBuf {
    base.join("queue")
}

fn wiped_through_file(base: &Path) -> PathBuf {
    base.join("wiped-through")
}

/// Runs killed children, then one that drains the queue; returns every index a child
/// reported as accepted, and how many times a child wiped its queue.
fn kill_loop(
    endpoint: &str,
    dir: &Path,
    plan: &Plan,
) -> Result<(BTreeSet<u64>, u64), Box<dyn std::error::Error>> {
    let accepted = Arc::new(Mutex::new(Lines::default()));
    let mut rng = Jitter::new(plan.seed);
    for _ in 0..plan.kills {
        let mut child = spawn_child(endpoint, dir, plan, "record")?;
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
    let mut child = spawn_child(endpoint, dir, plan, "drain")?;
    let stdout = child.stdout.take().ok_or("child has no stdout")?;
    collect_lines(stdout, &accepted, None);
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("the draining child failed: {status}").into());
    }
    let lines = accepted.lock().map_err(|_| "poisoned")?;
    Ok((lines.accepted.clone(), lines.wipes))
}

/// What the children reported: `A <index>` per accepted fix, `W` per wiped queue.
#[derive(Default)]
struct Lines {
    accepted: BTreeSet<u64>,
    wipes: u64,
}

fn spawn_child(
    endpoint: &str,
    dir: &Path,
    plan: &Plan,
    mode: &str,
) -> Result<std::process::Child, Box<dyn std::error::Error>> {
    let spec = format!(
        "{endpoint}\t{}\t{}\t{}\t{mode}",
        dir.display(),
        plan.fixes,
        plan.wipe_every
    );
    Ok(Command::new(std::env::current_exe()?)
        .arg("--child")
        .arg(spec)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()?)
}

fn collect_lines(
    stdout: std::process::ChildStdout,
    sink: &Mutex<Lines>,
    mut first: Option<mpsc::Sender<()>>,
) {
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(index) = line.strip_prefix("A ").and_then(|i| i.parse::<u64>().ok()) {
            if let Ok(mut lines) = sink.lock() {
                lines.accepted.insert(index);
            }
            if let Some(tx) = first.take() {
                let _ = tx.send(());
            }
        } else if line == "W"
            && let Ok(mut lines) = sink.lock()
        {
            lines.wipes += 1;
        }
    }
}

/// The child: resumes after the newest fix its queue ever stored (or the last fix before the
/// latest wipe), records up to the end of the stream, printing `A <index>` once `record`
/// returned; every `wipe_every` accepted fixes it drains the queue, deletes it and opens a
/// fresh one (printing `W`); in drain mode it then uploads all.
pub fn run_child(spec: &str) -> Result<(), Box<dyn std::error::Error>> {
    let parts: Vec<&str> = spec.split('\t').collect();
    let [endpoint, base, fixes, wipe_every, mode] = parts[..] else {
        return Err("bad child spec".into());
    };
    let base = Path::new(base);
    let fixes: u64 = fixes.parse()?;
    let wipe_every: u64 = wipe_every.parse()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut tracker = open_tracker(endpoint, base)?;
    let wiped_through = std::fs::read_to_string(wiped_through_file(base))
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let recorded = tracker.last_recorded_time_ms()?.and_then(index_of);
    let start = recorded.max(wiped_through).map_or(0, |i| i + 1);
    let mut out = std::io::stdout().lock();
    for i in start..fixes {
        tracker.record(fix(i))?;
        writeln!(out, "A {i}")?;
        out.flush()?;
        if wipe_every > 0 && (i + 1) % wipe_every == 0 && i + 1 < fixes {
            drain(&runtime, &tracker)?;
            write_atomically(&wiped_through_file(base), &i.to_string())?;
            drop(tracker);
            std::fs::remove_dir_all(queue_dir(base))?;
            writeln!(out, "W")?;
            out.flush()?;
            tracker = open_tracker(endpoint, base)?;
        }
    }
    if mode == "drain" {
        drain(&runtime, &tracker)?;
    }
    Ok(())
}

fn open_tracker(endpoint: &str, base: &Path) -> Result<Tracker, Box<dyn std::error::Error>> {
    let mut config = TrackerConfig::new(endpoint, DEVICE, TOKEN, queue_dir(base));
    config.upload.batch_trigger_count = 20;
    config.upload.max_delay_ms = 200;
    config.upload.min_backoff_ms = 20;
    config.upload.max_backoff_ms = 500;
    config.jitter_seed = Some(7);
    let tracker = Tracker::new(config, Arc::new(SystemClock))?;
    tracker.start()?;
    Ok(tracker)
}

/// Uploads until nothing is pending.
fn drain(
    runtime: &tokio::runtime::Runtime,
    tracker: &Tracker,
) -> Result<(), Box<dyn std::error::Error>> {
    for _ in 0..1_000 {
        match runtime.block_on(tracker.flush()) {
            Ok(report) if report.pending == 0 => return Ok(()),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    Err("the queue did not drain".into())
}

/// A kill must leave either the old or the new content, never a torn file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(temporary, path)
}

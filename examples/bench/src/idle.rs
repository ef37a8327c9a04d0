//! What a tracker costs while it can do nothing: fixes pending past the upload trigger and no
//! usable network (offline, or cellular with Wi-Fi-only uploads). Measured on the real clock:
//! process CPU time and the upload thread's wake-ups over a quiet window, once while the phone
//! still counts as moving (a stop timeout is due) and once stationary. Also the price of the
//! durability step before an upload (WAL sync and marker).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tracelet_core::config::UploadPolicy;
use tracelet_core::store::{Store, StoreLimits};
use tracelet_core::{Fix, NetworkState, SystemClock, Tracker, TrackerConfig};

use crate::cpu::process_cpu_time;

/// How long each quiet window lasts.
const WINDOW: Duration = Duration::from_secs(20);
/// Time for the uploader to act on the last change before a window starts.
const SETTLE: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub window_s: u64,
    /// The smallest CPU share the window can tell from zero (the kernel counts 10 ms ticks).
    pub cpu_resolution_percent: f64,
    pub pending_fixes: u64,
    /// Process CPU over the window while moving, as a share of one core.
    pub moving_cpu_percent: f64,
    pub moving_wakeups_per_hour: f64,
    pub stationary_cpu_percent: f64,
    pub stationary_wakeups_per_hour: f64,
    /// Median time of the step before an upload of new fixes: WAL fsync plus marker write
    /// (fsync, rename), on this machine's temporary directory.
    pub pre_upload_sync_ms: f64,
}

pub fn measure() -> Result<IdleReport, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut config = TrackerConfig::new(
        "http://127.0.0.1:9/v1/batches",
        "bench-idle",
        "token",
        dir.path(),
    );
    config.upload = UploadPolicy {
        batch_trigger_count: 100,
        unmetered_only: true,
        ..UploadPolicy::default()
    };
    let tracker = Tracker::new(config, Arc::new(SystemClock))?;
    tracker.start()?;
    // Cellular only, and uploads wait for Wi-Fi.
    tracker.set_network(NetworkState {
        connected: true,
        unmetered: false,
    });
    let now = now_ms();
    let pending = 150u64;
    for i in 0..pending {
        let i = i as i64;
        tracker.record(Fix::new(
            now - 150_000 + i * 1_000,
            48.85 + i as f64 * 1e-5,
            2.35,
            5.0,
        ))?;
    }
    let (moving_cpu_percent, moving_wakeups_per_hour) = quiet_window(&tracker);
    // Stationary: a stop timeout of a second ends the "moving" state at once.
    tracker.set_policy_parameter("stop_timeout_ms", 1_000.0)?;
    tracker.set_policy_parameter("still_timeout_ms", 1_000.0)?;
    tracker.tick();
    let deadline = Instant::now() + Duration::from_secs(30);
    while tracker.status().motion_state != Some(tracelet_core::policy::MotionState::Stationary)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
        tracker.tick();
    }
    let (stationary_cpu_percent, stationary_wakeups_per_hour) = quiet_window(&tracker);
    Ok(IdleReport {
        window_s: WINDOW.as_secs(),
        cpu_resolution_percent: round2(0.01 / WINDOW.as_secs_f64() * 100.0),
        pending_fixes: tracker.status().pending_count,
        moving_cpu_percent,
        moving_wakeups_per_hour,
        stationary_cpu_percent,
        stationary_wakeups_per_hour,
        pre_upload_sync_ms: pre_upload_sync_ms()?,
    })
}

/// CPU share and upload-thread wake-ups per hour over one window in which nothing happens,
/// after the rounds that the last change asked for have run.
fn quiet_window(tracker: &Tracker) -> (f64, f64) {
    std::thread::sleep(SETTLE);
    let rounds = tracker.uploader_rounds();
    let cpu = process_cpu_time();
    let started = Instant::now();
    std::thread::sleep(WINDOW);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_s = (process_cpu_time() - cpu).as_secs_f64();
    let wakeups = tracker.uploader_rounds() - rounds;
    (
        round2(cpu_s / elapsed * 100.0),
        round2(wakeups as f64 / elapsed * 3600.0),
    )
}

/// Times `mark_sending` for batches of 100 new fixes: what each upload pays for durability.
fn pre_upload_sync_ms() -> Result<f64, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path(), StoreLimits::default())?.store;
    let now = now_ms();
    let mut times = Vec::new();
    for round in 0..30u64 {
        let fixes: Vec<Fix> = (0..100)
            .map(|i| Fix::new(now + (round * 100 + i) as i64 * 1000, 48.85, 2.35, 5.0))
            .collect();
        let seqs = store.append(&fixes, now)?.seqs;
        let (first, last) = (seqs[0], seqs[seqs.len() - 1]);
        let started = Instant::now();
        store.mark_sending(Some((first, last)), None)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(round2(times[times.len() / 2]))
}

fn now_ms() -> i64 {
    use tracelet_core::Clock;
    SystemClock.now_ms()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

//! Durable enqueue: `record` returns only after the SQLite commit, so this is the rate at which
//! fixes become crash-safe.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tracelet_core::{Fix, ManualClock, Tracker, TrackerConfig};

use crate::cpu::process_cpu_time;

#[derive(Debug, Serialize)]
pub struct EnqueueReport {
    pub fixes: u32,
    pub single_fixes_per_s: f64,
    pub single_cpu_us_per_fix: f64,
    pub batch_fixes_per_s: f64,
    pub batch_cpu_us_per_fix: f64,
}

const START_MS: i64 = 1_700_000_000_000;

fn fix(i: u32) -> Fix {
    Fix {
        speed_mps: Some(12.5),
        bearing_deg: Some(90.0),
        altitude_m: Some(31.0),
        ..Fix::new(
            START_MS + i64::from(i) * 1000,
            37.0,
            -122.0 + f64::from(i) * 1e-4,
            4.0,
        )
    }
}

fn tracker(
    dir: &std::path::Path,
    clock: Arc<ManualClock>,
) -> Result<Tracker, Box<dyn std::error::Error>> {
    // An unroutable loopback port: uploads fail fast and never compete with the enqueue path;
    // the count trigger is set beyond the run so no upload is even attempted.
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "bench", "t", dir);
    config.upload.batch_trigger_count = u32::MAX;
    config.upload.max_delay_ms = i64::MAX / 4;
    let tracker = Tracker::new(config, clock)?;
    tracker.start()?;
    Ok(tracker)
}

pub fn measure(fixes: u32) -> Result<EnqueueReport, Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::new(START_MS + i64::from(fixes) * 1000));
    let single_dir = tempfile::tempdir()?;
    let single = tracker(single_dir.path(), clock.clone())?;
    let (cpu0, t0) = (process_cpu_time(), Instant::now());
    for i in 0..fixes {
        single.record(fix(i))?;
    }
    let (single_s, single_cpu) = (t0.elapsed().as_secs_f64(), process_cpu_time() - cpu0);
    drop(single);

    let batch_dir = tempfile::tempdir()?;
    let batched = tracker(batch_dir.path(), clock)?;
    let (cpu0, t0) = (process_cpu_time(), Instant::now());
    let mut i = 0;
    while i < fixes {
        let end = (i + 100).min(fixes);
        batched.record_batch((i..end).map(fix).collect())?;
        i = end;
    }
    let (batch_s, batch_cpu) = (t0.elapsed().as_secs_f64(), process_cpu_time() - cpu0);
    let n = f64::from(fixes);
    Ok(EnqueueReport {
        fixes,
        single_fixes_per_s: n / single_s,
        single_cpu_us_per_fix: single_cpu.as_secs_f64() * 1e6 / n,
        batch_fixes_per_s: n / batch_s,
        batch_cpu_us_per_fix: batch_cpu.as_secs_f64() * 1e6 / n,
    })
}

//! What a log call the level filters out costs on the fix path: the core's debug line in
//! `record_batch` while a tracker keeps info and above (the default). Time per call over many
//! calls, and the allocations counted by the counting global allocator (`main.rs`) over the
//! same calls, across every thread of the process.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use stats_alloc::Region;
use tracelet_core::{SystemClock, Tracker, TrackerConfig};

/// Calls per measurement: long enough that the clock's resolution does not matter.
const CALLS: u64 = 20_000_000;

#[derive(Debug, Serialize)]
pub struct LogCostReport {
    pub calls: u64,
    /// Nanoseconds per suppressed call (median of 5 runs).
    pub suppressed_ns_per_call: f64,
    /// Allocations over every suppressed call of every run.
    pub suppressed_allocations: u64,
}

pub fn measure() -> Result<LogCostReport, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config = TrackerConfig::new(
        "http://127.0.0.1:9/v1/batches",
        "bench-logs",
        "token",
        dir.path(),
    );
    // A live tracker installs the core's logger and sets the level (info by default).
    let tracker = Tracker::new(config, Arc::new(SystemClock))?;
    // Let its threads settle (the log's writer has stored "tracker opened", the uploader has
    // run its first round), so that the count below is the calls' own.
    tracker.log_records()?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut runs = Vec::with_capacity(5);
    let region = Region::new(crate::GLOBAL);
    for _ in 0..5 {
        let started = Instant::now();
        for i in 0..CALLS {
            // The same macro, level and arguments as the core's line on the fix path.
            log::debug!(
                target: "tracelet_core::tracker::recording",
                "recorded fixes: {} stored, {} filtered, {} invalid",
                black_box(i),
                black_box(0u64),
                black_box(0u64)
            );
        }
        runs.push(started.elapsed().as_nanos() as f64 / CALLS as f64);
    }
    let allocations = region.change().allocations as u64;
    runs.sort_by(f64::total_cmp);
    drop(tracker);
    Ok(LogCostReport {
        calls: CALLS * 5,
        suppressed_ns_per_call: runs[2],
        suppressed_allocations: allocations,
    })
}

/// The figure as a table row: name, value, target.
pub fn row(r: &LogCostReport) -> (&'static str, String, &'static str) {
    (
        "suppressed log call on the fix path (debug line, tracker at info): time / allocations",
        format!(
            "{:.2} ns / {} in {} calls",
            r.suppressed_ns_per_call, r.suppressed_allocations, r.calls
        ),
        "≤ 1 µs / 0",
    )
}

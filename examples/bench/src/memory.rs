//! Peak resident memory a tracker adds to a process: a child process runs the tracker at 1 Hz
//! for 10 minutes of virtual time and reports its peak RSS minus the peak before the tracker.

use std::process::Command;
use std::sync::Arc;

use serde::Serialize;
use tracelet_core::{Fix, ManualClock, Tracker, TrackerConfig};

#[derive(Debug, Serialize)]
pub struct MemoryReport {
    pub rss_extra_bytes: u64,
    pub virtual_seconds: u32,
}

/// Runs the measurement in a fresh child process, so nothing of the bench itself counts.
pub fn measure() -> Result<MemoryReport, Box<dyn std::error::Error>> {
    let output = Command::new(std::env::current_exe()?)
        .arg("--memory-child")
        .output()?;
    if !output.status.success() {
        return Err("the memory child failed".into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let rss_extra_bytes = text.trim().parse()?;
    Ok(MemoryReport {
        rss_extra_bytes,
        virtual_seconds: 600,
    })
}

/// In the child: prints the peak-RSS growth in bytes.
pub fn run_child() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let baseline = peak_rss_bytes();
    let start_ms = 1_700_000_000_000;
    let clock = Arc::new(ManualClock::new(start_ms));
    // An unreachable loopback endpoint: uploads fail fast and back off, as when offline.
    let config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "memory", "t", dir.path());
    let tracker = Tracker::new(config, clock.clone())?;
    tracker.start()?;
    for i in 0..600i64 {
        clock.set_ms(start_ms + i * 1000);
        let fix = Fix {
            speed_mps: Some(13.0),
            ..Fix::new(start_ms + i * 1000, 48.0 + i as f64 * 1e-4, 11.0, 5.0)
        };
        tracker.record(fix)?;
        tracker.tick();
    }
    drop(tracker);
    println!("{}", peak_rss_bytes().saturating_sub(baseline));
    Ok(())
}

/// `VmHWM` (peak resident set) from /proc/self/status, in bytes.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

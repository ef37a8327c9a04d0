//! Helpers shared by the end-to-end tests.

use std::sync::Arc;

use tracelet_collector::{CollectorConfig, RunningCollector};
use tracelet_core::{Fix, SystemClock, Tracker, TrackerConfig};

pub const TOKEN: &str = "e2e-token";

/// Starts the real collector on a free loopback port.
pub async fn start_collector() -> RunningCollector {
    tracelet_collector::start(CollectorConfig::loopback(vec![TOKEN.into()]))
        .await
        .expect("collector starts on loopback")
}

/// A tracker pointed at `collector`, storing its queue in `dir`, already started.
pub fn tracker_for(collector: &RunningCollector, device: &str, dir: &std::path::Path) -> Tracker {
    let config = TrackerConfig::new(collector.ingest_url(), device, TOKEN, dir);
    let tracker = Tracker::new(config, Arc::new(SystemClock)).expect("tracker configures");
    tracker.start().expect("tracker starts");
    tracker
}

/// A plausible walk: one fix per second heading north-east from a fixed point.
pub fn walk(start_ms: i64, count: usize) -> Vec<Fix> {
    (0..count)
        .map(|i| {
            let step = i as f64;
            Fix {
                speed_mps: Some(1.4),
                bearing_deg: Some(45.0),
                altitude_m: Some(30.0 + step * 0.01),
                ..Fix::new(
                    start_ms + i as i64 * 1000,
                    52.52 + step * 9e-6,
                    13.405 + step * 1.5e-5,
                    4.0 + (i % 7) as f64,
                )
            }
        })
        .collect()
}

pub fn now_ms() -> i64 {
    use tracelet_core::Clock;
    SystemClock.now_ms()
}

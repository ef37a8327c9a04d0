//! Scenario (b): a collector that fails in every way a real one can.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tracelet_collector::{ChaosConfig, ChaosCounts, CollectorConfig, start};
use tracelet_core::{SystemClock, Tracker, TrackerConfig};

use crate::fixes::{fix, index_of};
use crate::{Args, ScenarioReport};

const TOKEN: &str = "chaos-token";
const DEVICE: &str = "chaos-server";
/// A bound on attempts: each batch may need a few retries; a hot loop would blow far past it.
const MAX_ATTEMPTS_PER_BATCH: u64 = 10;

#[derive(Debug, Serialize)]
pub struct FaultReport {
    #[serde(flatten)]
    pub scenario: ScenarioReport,
    pub batches_delivered: u64,
    pub attempts_bounded: bool,
    pub faults: ChaosCounts,
}

pub async fn run(args: &Args) -> Result<FaultReport, Box<dyn std::error::Error>> {
    let chaos = ChaosConfig {
        seed: args.seed,
        server_error: 0.10,
        too_many_requests: 0.05,
        retry_after_s: 1,
        stall: 0.03,
        // Longer than the client's timeout below: the server stores after the client gave up.
        stall_ms: 1_500,
        reset_mid_body: 0.05,
        drop_after_commit: 0.05,
        unprocessable: 0.0,
    };
    let mut collector_config = CollectorConfig::loopback(vec![TOKEN.into()]);
    collector_config.chaos = Some(chaos);
    let collector = start(collector_config).await?;
    let queue_dir = tempfile::tempdir()?;

    let mut config = TrackerConfig::new(collector.ingest_url(), DEVICE, TOKEN, queue_dir.path());
    config.upload.batch_trigger_count = 100;
    config.upload.max_batch_fixes = 100;
    config.upload.request_timeout_ms = 1_000;
    config.upload.min_backoff_ms = 20;
    config.upload.max_backoff_ms = 400;
    // Retry-After is honoured but capped, to keep this run short.
    config.upload.max_retry_after_ms = 1_000;
    config.jitter_seed = Some(args.seed);
    let tracker = Tracker::new(config, Arc::new(SystemClock))?;
    tracker.start()?;

    let mut accepted = 0;
    for i in 0..u64::from(args.fixes) {
        tracker.record(fix(i))?;
        accepted += 1;
    }
    // Flushing ignores backoff; between rounds give the uploader's own retries a moment.
    let mut drained = false;
    for _ in 0..2_000 {
        if let Ok(report) = tracker.flush().await {
            if report.pending == 0 {
                drained = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if !drained {
        return Err("the queue did not drain under chaos".into());
    }
    let status = tracker.status();
    drop(tracker);

    let rows = collector.fixes(DEVICE)?;
    let stored: BTreeSet<u64> = rows.iter().filter_map(|r| index_of(r.fix.t)).collect();
    let expected: BTreeSet<u64> = (0..u64::from(args.fixes)).collect();
    let batches = u64::from(args.fixes).div_ceil(100);
    let faults = collector.chaos_counts();
    collector.stop().await;
    Ok(FaultReport {
        scenario: ScenarioReport {
            fixes_accepted: accepted,
            stored_at_collector: rows.len() as u64,
            lost: expected.difference(&stored).count() as u64,
            duplicates: rows.len() as u64 - stored.len() as u64,
            http_attempts: status.upload_attempts,
            queue_wipes: 0,
            streams: rows
                .iter()
                .map(|r| r.stream.as_str())
                .collect::<BTreeSet<_>>()
                .len() as u64,
        },
        batches_delivered: batches,
        attempts_bounded: status.upload_attempts <= batches * MAX_ATTEMPTS_PER_BATCH,
        faults,
    })
}

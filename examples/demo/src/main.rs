//! `tracelet-demo`: the SDK's main job on an embedded default. It starts the reference
//! collector on loopback, replays a real recorded drive through the real core (validation,
//! SQLite queue, gzip batches over HTTP) on a virtual clock, and prints what arrived.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use tracelet_collector::{CollectorConfig, start};
use tracelet_core::{ManualClock, Tracker, TrackerConfig, TrackerError};

const DEMO_TOKEN: &str = "tracelet-demo-token";
const DEMO_DEVICE: &str = "demo-pixel4";

/// Replay a real GPS trace through the Tracelet core into a local collector.
#[derive(Debug, Parser)]
#[command(name = "tracelet-demo", version)]
struct Args {
    /// Trace to replay (NMEA or a trace CSV); defaults to the bundled 29-minute GSDC drive.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Run to the end, print the summary and exit (for scripts and CI).
    #[arg(long)]
    headless: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let trace_path = args.trace.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/gsdc2020_mtv1/Pixel4_chipset.nmea")
    });
    let fixes = tracelet_replay::trace::load(&trace_path)?;
    let (Some(first), Some(last)) = (fixes.first(), fixes.last()) else {
        return Err("the trace holds no fixes".into());
    };
    let trace_span_s = (last.time_ms - first.time_ms) / 1000;

    let collector = start(CollectorConfig::loopback(vec![DEMO_TOKEN.into()])).await?;
    println!("collector listening on http://{}", collector.addr);

    let queue_dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(first.time_ms));
    let mut config = TrackerConfig::new(
        collector.ingest_url(),
        DEMO_DEVICE,
        DEMO_TOKEN,
        queue_dir.path(),
    );
    config.jitter_seed = Some(1);
    let tracker = Tracker::new(config, clock.clone())?;
    tracker.start()?;

    let started = Instant::now();
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    for fix in &fixes {
        // Virtual time: the clock reads each fix's own time as it arrives.
        clock.set_ms(fix.time_ms);
        match tracker.record(fix.clone()) {
            Ok(_) => {}
            Err(TrackerError::InvalidFix(reason)) => {
                *rejected.entry(reason.to_string()).or_default() += 1;
            }
            Err(other) => return Err(other.into()),
        }
    }
    let flush = tracker.flush().await?;
    let elapsed = started.elapsed();
    let status = tracker.status();
    let stats = collector.stats();
    let stored = collector.fixes(DEMO_DEVICE)?.len();

    println!();
    println!("trace              {}", trace_path.display());
    println!(
        "trace span         {} min {} s",
        trace_span_s / 60,
        trace_span_s % 60
    );
    println!("fixes in           {}", fixes.len());
    println!("fixes accepted     {}", status.accepted_total);
    println!("fixes rejected     {}", status.rejected_total);
    for (reason, count) in &rejected {
        println!("  {count:>6}  {reason}");
    }
    println!("uploads            {} batches", stats.batches);
    println!(
        "bytes on the wire  {} (gzip JSON bodies)",
        status.uploaded_bytes
    );
    if status.uploaded_total > 0 {
        println!(
            "bytes per fix      {:.1}",
            status.uploaded_bytes as f64 / status.uploaded_total as f64
        );
    }
    println!(
        "stored by server   {stored} (duplicates {})",
        stats.duplicates
    );
    println!("still queued       {}", flush.pending);
    println!("wall time          {:.2} s", elapsed.as_secs_f64());
    if !args.headless {
        println!("\n(pass --headless in scripts; the live map is not part of this build yet)");
    }
    drop(tracker);
    collector.stop().await;
    if stored as u64 != status.accepted_total {
        return Err("the collector does not hold every accepted fix".into());
    }
    Ok(())
}

//! `tracelet-chaos`: the delivery contract under faults.
//!
//! (a) Kills: a child process records a stream of fixes and prints each sequence it was told
//!     was accepted; the parent SIGKILLs it at random moments and restarts it, N times. With
//!     `--wipe-queue-every N` the child also deletes its queue every N accepted fixes, keeping
//!     its device id. At the end every fix reported as accepted must be at the collector exactly
//!     once.
//! (b) Server faults: the tracker uploads to a collector in chaos mode (503, 429 with
//!     Retry-After, stalls past the client timeout, resets mid-body, commit-then-drop). Every
//!     fix must arrive exactly once, with a bounded number of HTTP attempts.

mod fixes;
mod kills;
mod server_faults;

use clap::Parser;
use serde::Serialize;

/// Fault runner for the Tracelet delivery contract.
#[derive(Debug, Parser)]
#[command(name = "tracelet-chaos", version)]
pub struct Args {
    /// Times the recording child is killed with SIGKILL in scenario (a).
    #[arg(long, default_value_t = 50)]
    kills: u32,
    /// Fixes recorded in each scenario.
    #[arg(long, default_value_t = 10_000)]
    fixes: u32,
    /// Scenario (a): delete the child's queue directory (with nothing pending) every N accepted
    /// fixes, keeping the device id, as "clear data" or a reinstall would; 0 never.
    #[arg(long, default_value_t = 0)]
    wipe_queue_every: u64,
    /// Seed for kill timing, fault draws and backoff jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Internal: run as the recording child of scenario (a).
    #[arg(long, hide = true)]
    child: Option<String>,
}

/// What one scenario found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ScenarioReport {
    pub fixes_accepted: u64,
    pub stored_at_collector: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub http_attempts: u64,
    /// Times the queue was deleted and started afresh (scenario (a) with `--wipe-queue-every`).
    pub queue_wipes: u64,
    /// Distinct queue streams the collector stored fixes under.
    pub streams: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    fixes_accepted: u64,
    stored_at_collector: u64,
    lost: u64,
    duplicates: u64,
    kills: u32,
    http_attempts: u64,
    kill_scenario: ScenarioReport,
    server_fault_scenario: server_faults::FaultReport,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(spec) = &args.child {
        return kills::run_child(spec);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (kill, faults) = runtime.block_on(async {
        let kill = kills::run(&args).await?;
        let faults = server_faults::run(&args).await?;
        Ok::<_, Box<dyn std::error::Error>>((kill, faults))
    })?;
    let report = Report {
        fixes_accepted: kill.fixes_accepted + faults.scenario.fixes_accepted,
        stored_at_collector: kill.stored_at_collector + faults.scenario.stored_at_collector,
        lost: kill.lost + faults.scenario.lost,
        duplicates: kill.duplicates + faults.scenario.duplicates,
        kills: args.kills,
        http_attempts: kill.http_attempts + faults.scenario.http_attempts,
        kill_scenario: kill,
        server_fault_scenario: faults,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("scenario            accepted   stored   lost   dups   http attempts");
        for (name, s) in [
            ("(a) kills", &report.kill_scenario),
            ("(b) server faults", &report.server_fault_scenario.scenario),
        ] {
            println!(
                "{name:<18} {:>9} {:>8} {:>6} {:>6} {:>15}",
                s.fixes_accepted, s.stored_at_collector, s.lost, s.duplicates, s.http_attempts
            );
        }
        println!("kills: {}", report.kills);
        println!(
            "queue wipes: {} ({} streams at the collector)",
            report.kill_scenario.queue_wipes, report.kill_scenario.streams
        );
        println!("faults injected: {:?}", report.server_fault_scenario.faults);
    }
    if report.lost > 0 || report.duplicates > 0 {
        std::process::exit(1);
    }
    Ok(())
}

//! `tracelet-collector`: run the reference ingest server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tracelet_collector::{ChaosConfig, CollectorConfig, start};

/// Reference ingest server for Tracelet (protocol v1). Binds loopback by default.
#[derive(Debug, Parser)]
#[command(name = "tracelet-collector", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on the first line of stdout).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// SQLite file to store fixes in; omitted, fixes are kept in memory only.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Bearer token accepted on the ingest endpoint (repeatable).
    #[arg(long = "token", default_value = "tracelet-dev-token")]
    tokens: Vec<String>,
    /// Largest compressed request body accepted before answering 413.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Chaos mode: probability of answering 503 to an ingest request.
    #[arg(long, default_value_t = 0.0)]
    chaos_5xx: f64,
    /// Chaos mode: probability of answering 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    chaos_429: f64,
    /// Chaos mode: Retry-After sent with 429, seconds.
    #[arg(long, default_value_t = 1)]
    chaos_retry_after: u64,
    /// Chaos mode: probability of stalling a request before processing it.
    #[arg(long, default_value_t = 0.0)]
    chaos_stall: f64,
    /// Chaos mode: how long a stall lasts, milliseconds.
    #[arg(long, default_value_t = 35_000)]
    chaos_stall_ms: u64,
    /// Chaos mode: probability of resetting the connection in the middle of the request body.
    #[arg(long, default_value_t = 0.0)]
    chaos_reset: f64,
    /// Chaos mode: probability of storing a batch and then dropping the connection unanswered.
    #[arg(long, default_value_t = 0.0)]
    chaos_drop_after_commit: f64,
    /// Chaos mode: probability of answering 422 (a permanent refusal).
    #[arg(long, default_value_t = 0.0)]
    chaos_422: f64,
    /// Chaos mode: seed of the fault draws, for reproducible runs.
    #[arg(long, default_value_t = 1)]
    chaos_seed: u64,
}

fn chaos_config(args: &Args) -> Option<ChaosConfig> {
    let config = ChaosConfig {
        seed: args.chaos_seed,
        server_error: args.chaos_5xx,
        too_many_requests: args.chaos_429,
        retry_after_s: args.chaos_retry_after,
        stall: args.chaos_stall,
        stall_ms: args.chaos_stall_ms,
        reset_mid_body: args.chaos_reset,
        drop_after_commit: args.chaos_drop_after_commit,
        unprocessable: args.chaos_422,
    };
    config.injects_faults().then_some(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!("warning: serving plain HTTP on a non-loopback address; put TLS in front of it");
    }
    let chaos = chaos_config(&args);
    let collector = start(CollectorConfig {
        listen: args.listen,
        db_path: args.db,
        tokens: args.tokens,
        max_body_bytes: args.max_body_bytes,
        chaos,
    })
    .await?;
    // Tests and scripts read this line to learn the port.
    println!("tracelet-collector listening on http://{}", collector.addr);
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    collector.stop().await;
    Ok(())
}

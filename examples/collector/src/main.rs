//! `tracelet-collector`: run the reference ingest server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracelet_collector::{
    ChaosConfig, CollectorConfig, DEFAULT_MAX_BODY_BYTES, DEV_TOKEN, DecodeLimits, Limits,
    MapStyle, Postgis, start,
};

/// Reference ingest server for Tracelet (protocol v1). Binds loopback by default.
#[derive(Debug, Parser)]
#[command(name = "tracelet-collector", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on the first line of stdout).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// SQLite file to store fixes in; omitted, a temporary file deleted at exit.
    #[arg(long, conflicts_with = "database_url")]
    db: Option<PathBuf>,
    /// Store in PostgreSQL (`postgres://user:password@host:port/database`) instead of SQLite;
    /// any number of collectors may share one database. Also read from TRACELET_DATABASE_URL.
    #[arg(long, env = "TRACELET_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// With PostgreSQL: never use PostGIS, even when the server has it (plain columns).
    #[arg(long)]
    no_postgis: bool,
    /// Delete fixes and events received more than this many days ago (checked hourly).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    retain_days: Option<u32>,
    /// Bearer token accepted on the ingest endpoint, and only there (repeatable). The default
    /// is a development token, refused on non-loopback addresses.
    #[arg(long = "token", default_value = DEV_TOKEN)]
    tokens: Vec<String>,
    /// Bearer token of the read API, the live stream and the map; omitted, a random one is
    /// drawn and printed with the map's URL.
    #[arg(long)]
    read_token: Option<String>,
    /// Largest compressed request body accepted before answering 413.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Largest inflated (gzip-decoded) body; inflating stops there with 413.
    #[arg(long, default_value_t = DecodeLimits::default().max_inflated_bytes)]
    max_inflated_bytes: usize,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open. Milliseconds.
    #[arg(long, default_value_t = Limits::default().header_timeout.as_millis() as u64)]
    header_timeout_ms: u64,
    /// Longest pause between two chunks of a request body, milliseconds.
    #[arg(long, default_value_t = Limits::default().body_timeout.as_millis() as u64)]
    body_timeout_ms: u64,
    /// Time from a request's headers to its answer (408 after it), milliseconds.
    #[arg(long, default_value_t = Limits::default().request_timeout.as_millis() as u64)]
    request_timeout_ms: u64,
    /// Open connections at most; more wait in the listen backlog.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Batches decoded and stored at once.
    #[arg(long, default_value_t = Limits::default().max_concurrent_ingest)]
    max_concurrent_ingest: usize,
    /// Reads served at once.
    #[arg(long, default_value_t = Limits::default().max_concurrent_reads)]
    max_concurrent_reads: usize,
    /// Raster tiles the live map draws streets from, as a URL template with {z}, {x} and {y}
    /// (https, or http to a loopback tile server). Omitted, or when the tiles cannot be
    /// reached, the map draws on a blank background. The browser fetches the tiles directly.
    #[arg(long, value_parser = MapStyle::parse)]
    map_style: Option<MapStyle>,
    /// The credit the tile provider of --map-style requires, shown on the map as text.
    #[arg(long, requires = "map_style", default_value = "")]
    map_attribution: String,
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

fn limits(args: &Args) -> Limits {
    Limits {
        decode: DecodeLimits {
            max_inflated_bytes: args.max_inflated_bytes,
            ..DecodeLimits::default()
        },
        header_timeout: Duration::from_millis(args.header_timeout_ms),
        body_timeout: Duration::from_millis(args.body_timeout_ms),
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        max_connections: args.max_connections,
        max_concurrent_ingest: args.max_concurrent_ingest,
        max_concurrent_reads: args.max_concurrent_reads,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tracelet-collector: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if !args.listen.ip().is_loopback() {
        eprintln!("warning: serving plain HTTP on a non-loopback address; put TLS in front of it");
    }
    let chaos = chaos_config(&args);
    let limits = limits(&args);
    let generated_read_token = args.read_token.is_none();
    let collector = start(CollectorConfig {
        listen: args.listen,
        db_path: args.db,
        database_url: args.database_url,
        postgis: if args.no_postgis {
            Postgis::Never
        } else {
            Postgis::IfAvailable
        },
        retain_days: args.retain_days,
        tokens: args.tokens,
        read_token: args.read_token,
        max_body_bytes: args.max_body_bytes,
        limits,
        chaos,
        map_style: args
            .map_style
            .map(|style| style.with_attribution(args.map_attribution)),
    })
    .await?;
    // Tests and scripts read this line to learn the port.
    println!("tracelet-collector listening on http://{}", collector.addr);
    if generated_read_token {
        println!("read token: {}", collector.read_token());
        println!("live map: {}", collector.map_url());
    } else {
        println!(
            "live map: http://{}/map?access_token=<read token>",
            collector.addr
        );
    }
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    collector.stop().await;
    Ok(())
}

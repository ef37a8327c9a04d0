//! `tracelet-collector`: run the reference ingest server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tracelet_collector::{CollectorConfig, start};

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
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!("warning: serving plain HTTP on a non-loopback address; put TLS in front of it");
    }
    let collector = start(CollectorConfig {
        listen: args.listen,
        db_path: args.db,
        tokens: args.tokens,
        max_body_bytes: args.max_body_bytes,
    })
    .await?;
    // Tests and scripts read this line to learn the port.
    println!("tracelet-collector listening on http://{}", collector.addr);
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    collector.stop().await;
    Ok(())
}

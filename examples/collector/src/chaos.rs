//! Chaos mode: the collector misbehaves on purpose, with seeded randomness, so that the SDK's
//! delivery contract can be proven against the failures real servers and networks produce.
//!
//! HTTP-level faults (5xx, 429 with `Retry-After`, stalls) are decided in the ingest handler.
//! Connection-level faults (a reset in the middle of the request body; committing a batch and
//! then dropping the connection before the answer) need control of the socket, so in chaos
//! mode a small TCP proxy sits in front of the HTTP server and every answer closes its
//! connection, making each request a connection of its own.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracelet_protocol::jitter::Jitter;

/// Probabilities (0..=1) of each fault, per request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChaosConfig {
    pub seed: u64,
    pub server_error: f64,
    pub too_many_requests: f64,
    /// `Retry-After` sent with 429, in seconds.
    pub retry_after_s: u64,
    pub stall: f64,
    /// How long a stalled request hangs before it is processed (longer than a client timeout
    /// produces "stored after the client gave up").
    pub stall_ms: u64,
    pub reset_mid_body: f64,
    pub drop_after_commit: f64,
    /// Answer 422 (a permanent refusal the SDK must dead-letter, not retry).
    pub unprocessable: f64,
}

impl ChaosConfig {
    pub fn off(seed: u64) -> ChaosConfig {
        ChaosConfig {
            seed,
            server_error: 0.0,
            too_many_requests: 0.0,
            retry_after_s: 1,
            stall: 0.0,
            stall_ms: 0,
            reset_mid_body: 0.0,
            drop_after_commit: 0.0,
            unprocessable: 0.0,
        }
    }

    pub fn injects_faults(&self) -> bool {
        self.server_error > 0.0
            || self.too_many_requests > 0.0
            || self.stall > 0.0
            || self.unprocessable > 0.0
            || self.needs_proxy()
    }

    pub fn needs_proxy(&self) -> bool {
        self.reset_mid_body > 0.0 || self.drop_after_commit > 0.0
    }
}

/// What the ingest handler should do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpFault {
    None,
    ServerError,
    TooManyRequests { retry_after_s: u64 },
    Stall { ms: u64 },
    Unprocessable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectionFault {
    None,
    ResetMidBody,
    DropAfterCommit,
}

/// Counters of the faults injected, for the fault runner's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChaosCounts {
    pub server_errors: u64,
    pub too_many_requests: u64,
    pub stalls: u64,
    pub unprocessable: u64,
    pub resets: u64,
    pub drops_after_commit: u64,
    pub connections: u64,
}

pub struct Chaos {
    config: ChaosConfig,
    rng: Mutex<Jitter>,
    counts: Mutex<ChaosCounts>,
}

impl Chaos {
    pub fn new(config: ChaosConfig) -> Chaos {
        Chaos {
            config,
            rng: Mutex::new(Jitter::new(config.seed)),
            counts: Mutex::new(ChaosCounts::default()),
        }
    }

    pub fn config(&self) -> &ChaosConfig {
        &self.config
    }

    pub fn counts(&self) -> ChaosCounts {
        *crate::lock(&self.counts)
    }

    fn chance(&self, p: f64) -> bool {
        // 53 random bits give a uniform value in [0, 1).
        let draw = (crate::lock(&self.rng).next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        draw < p
    }

    pub fn http_fault(&self) -> HttpFault {
        let c = &self.config;
        let mut counts = crate::lock(&self.counts);
        if self.chance(c.server_error) {
            counts.server_errors += 1;
            HttpFault::ServerError
        } else if self.chance(c.too_many_requests) {
            counts.too_many_requests += 1;
            HttpFault::TooManyRequests {
                retry_after_s: c.retry_after_s,
            }
        } else if self.chance(c.stall) {
            counts.stalls += 1;
            HttpFault::Stall { ms: c.stall_ms }
        } else if self.chance(c.unprocessable) {
            counts.unprocessable += 1;
            HttpFault::Unprocessable
        } else {
            HttpFault::None
        }
    }

    fn connection_fault(&self) -> ConnectionFault {
        let mut counts = crate::lock(&self.counts);
        counts.connections += 1;
        if self.chance(self.config.reset_mid_body) {
            counts.resets += 1;
            ConnectionFault::ResetMidBody
        } else if self.chance(self.config.drop_after_commit) {
            counts.drops_after_commit += 1;
            ConnectionFault::DropAfterCommit
        } else {
            ConnectionFault::None
        }
    }
}

/// Accepts connections on `listener` and relays them to `upstream`, injecting connection faults.
pub async fn run_proxy(listener: TcpListener, upstream: SocketAddr, chaos: Arc<Chaos>) {
    while let Ok((client, _)) = listener.accept().await {
        let fault = chaos.connection_fault();
        tokio::spawn(async move {
            let _ = relay(client, upstream, fault).await;
        });
    }
}

async fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: ConnectionFault,
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    match fault {
        ConnectionFault::None => {
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        }
        ConnectionFault::ResetMidBody => {
            // Forward the start of the request (headers and part of the body), then reset both
            // sides: the server never sees a whole request and the client sees a reset.
            let mut buf = vec![0u8; 64 * 1024];
            let n = client.read(&mut buf).await?;
            server.write_all(&buf[..n / 2]).await?;
            reset(client);
            reset(server);
        }
        ConnectionFault::DropAfterCommit => {
            // Relay the request; the first byte of the answer means the batch is committed
            // (the collector stores before it answers). Then drop the client without it.
            {
                let (mut client_read, _client_write) = client.split();
                let (mut server_read, mut server_write) = server.split();
                let upload = tokio::io::copy(&mut client_read, &mut server_write);
                let mut first = [0u8; 1];
                tokio::select! {
                    _ = upload => {}
                    _ = server_read.read(&mut first) => {}
                }
            }
            reset(client);
        }
    }
    Ok(())
}

/// Closes with RST rather than FIN, as a crashed peer or a broken middlebox would.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Sleeps for a stall fault.
pub async fn stall(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

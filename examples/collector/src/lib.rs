//! Reference ingest server for Tracelet's protocol v1 (`docs/ingest-protocol.md`).
//!
//! It checks the bearer token, inflates gzip bodies, validates every field, stores each
//! (device, stream, sequence) and each (device, stream, event `s`) once in SQLite, and serves a small read API,
//! a live stream of stored fixes and events (server-sent events) and a live map page for
//! tests, the demo and front ends.

pub mod chaos;
mod db;
#[cfg(test)]
mod events_tests;
mod ingest;
mod live;
#[cfg(test)]
mod live_tests;
mod read;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use chaos::{ChaosConfig, ChaosCounts};
pub use db::{CollectorDb, DbError, DeviceSummary, EventRow, StoredBatch, StoredRow};

use chaos::Chaos;
use live::LiveFeed;

/// How the collector runs.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    pub listen: SocketAddr,
    /// SQLite file; `None` keeps everything in memory.
    pub db_path: Option<PathBuf>,
    /// Bearer tokens accepted on the ingest endpoint.
    pub tokens: Vec<String>,
    /// Largest request body accepted, compressed, before answering 413.
    pub max_body_bytes: usize,
    /// Injected faults; `None` for a well-behaved server.
    pub chaos: Option<ChaosConfig>,
}

impl CollectorConfig {
    pub fn loopback(tokens: Vec<String>) -> CollectorConfig {
        CollectorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_path: None,
            tokens,
            max_body_bytes: 8 * 1024 * 1024,
            chaos: None,
        }
    }
}

#[derive(Clone)]
struct AppState {
    db: Arc<Mutex<CollectorDb>>,
    tokens: Arc<Vec<String>>,
    /// Inflated bodies larger than this are refused too (a gzip bomb is small on the wire).
    max_inflated_bytes: usize,
    chaos: Option<Arc<Chaos>>,
    live: LiveFeed,
}

/// A collector serving in the background of the current tokio runtime.
pub struct RunningCollector {
    pub addr: SocketAddr,
    db: Arc<Mutex<CollectorDb>>,
    chaos: Option<Arc<Chaos>>,
    shutdown: Option<oneshot::Sender<()>>,
    /// Ends the live streams, which would otherwise hold a graceful shutdown open.
    stopping: watch::Sender<bool>,
    task: JoinHandle<()>,
    proxy: Option<JoinHandle<()>>,
}

impl RunningCollector {
    /// The URL the SDK should post batches to.
    pub fn ingest_url(&self) -> String {
        format!(
            "http://{}{}",
            self.addr,
            tracelet_protocol::wire::INGEST_PATH
        )
    }

    /// The live map page.
    pub fn map_url(&self) -> String {
        format!("http://{}/map", self.addr)
    }

    /// Every stored fix of a device, ordered by sequence number.
    pub fn fixes(&self, device: &str) -> Result<Vec<StoredRow>, DbError> {
        lock(&self.db).fixes(device, 0, u32::MAX)
    }

    /// Every stored event of a device, ordered by `s`.
    pub fn events(&self, device: &str) -> Result<Vec<EventRow>, DbError> {
        lock(&self.db).all_events(device)
    }

    /// Every device with fixes or events, as `GET /v1/devices` answers.
    pub fn devices(&self) -> Result<Vec<DeviceSummary>, DbError> {
        lock(&self.db).devices()
    }

    /// The device's fix with the latest time, as `GET /v1/devices/{device}/latest` answers.
    pub fn latest(&self, device: &str) -> Result<Option<StoredRow>, DbError> {
        lock(&self.db).latest(device)
    }

    pub fn stats(&self) -> db::Stats {
        lock(&self.db).stats()
    }

    /// Faults injected so far (all zero without chaos mode).
    pub fn chaos_counts(&self) -> ChaosCounts {
        self.chaos.as_ref().map(|c| c.counts()).unwrap_or_default()
    }

    pub async fn stop(mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.abort();
        }
        let _ = self.stopping.send(true);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds and starts serving; returns once the socket is listening.
pub async fn start(config: CollectorConfig) -> Result<RunningCollector, std::io::Error> {
    let db = match &config.db_path {
        Some(path) => CollectorDb::open(path),
        None => CollectorDb::in_memory(),
    }
    .map_err(std::io::Error::other)?;
    let db = Arc::new(Mutex::new(db));
    let chaos = config.chaos.map(|c| Arc::new(Chaos::new(c)));
    let (stopping, stopping_rx) = watch::channel(false);
    let state = AppState {
        db: Arc::clone(&db),
        tokens: Arc::new(config.tokens.clone()),
        max_inflated_bytes: config.max_body_bytes.saturating_mul(20),
        chaos: chaos.clone(),
        live: LiveFeed::new(stopping_rx),
    };
    let public = TcpListener::bind(config.listen).await?;
    let addr = public.local_addr()?;
    // With connection faults, a proxy owns the public port and the HTTP server hides behind it.
    let (listener, proxy) = match &chaos {
        Some(c) if c.config().needs_proxy() => {
            let inner = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let upstream = inner.local_addr()?;
            let proxy = tokio::spawn(chaos::run_proxy(public, upstream, Arc::clone(c)));
            (inner, Some(proxy))
        }
        _ => (public, None),
    };
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let mut app = router(state, config.max_body_bytes);
    if chaos.is_some() {
        // One request per connection, so that connection faults hit single requests.
        app = app.layer(axum::middleware::map_response(
            |mut response: axum::response::Response| async move {
                response.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
                response
            },
        ));
    }
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            })
            .await;
    });
    Ok(RunningCollector {
        addr,
        db,
        chaos,
        shutdown: Some(shutdown),
        stopping,
        task,
        proxy,
    })
}

fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route(tracelet_protocol::wire::INGEST_PATH, post(ingest::ingest))
        .route("/v1/devices", get(read::devices))
        .route("/v1/devices/{device}/fixes", get(read::fixes))
        .route("/v1/devices/{device}/latest", get(read::latest))
        .route("/v1/devices/{device}/track", get(read::track))
        .route("/v1/devices/{device}/events", get(read::events))
        .route("/v1/stats", get(read::stats))
        .route("/v1/stream", get(live::stream))
        .route("/", get(web::map_page))
        .route("/map", get(web::map_page))
        .route("/map.js", get(web::map_script))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

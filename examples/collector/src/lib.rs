//! Reference ingest server for Tracelet's protocol v1 (`docs/ingest-protocol.md`).
//!
//! It checks the bearer token, inflates gzip bodies, validates every field, stores each
//! (device, stream, sequence) and each (device, stream, event `s`) once, in SQLite (one
//! process) or PostgreSQL (any number of replicas; [`store`]), and serves a small read API,
//! a live stream of stored fixes and events (server-sent events) and a live map page for
//! tests, the demo and front ends. Reads need a read token of their own.
//!
//! Hostile clients are bounded: bodies are decoded within fixed budgets
//! ([`decode::DecodeLimits`]) on blocking threads behind a concurrency limit, and slow or idle
//! connections are closed by hyper's and tower-http's timeouts ([`Limits`]).

mod auth;
pub mod chaos;
mod check;
mod db;
pub mod decode;
mod errors;
#[cfg(test)]
mod events_tests;
mod fleet;
mod ingest;
#[cfg(test)]
mod limits_tests;
mod live;
#[cfg(test)]
mod live_tests;
mod map_style;
#[cfg(test)]
mod map_tests;
mod read;
mod server;
pub mod store;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;
use tower_http::timeout::TimeoutLayer;

pub use chaos::{ChaosConfig, ChaosCounts};
pub use check::{MAX_EVENTS_PER_BATCH, MAX_FIXES_PER_BATCH};
pub use db::{CollectorDb, DbError, DeviceSummary, EventRow, Stats, StoredBatch, StoredRow};
pub use decode::DecodeLimits;
pub use map_style::{MapStyle, MapStyleError};
pub use store::postgres::Postgis;
pub use store::{Area, DevicePosition};

use auth::Auth;
use chaos::Chaos;
use db::ReadPool;
use live::LiveFeed;
use store::Store;
use store::postgres::PgStore;
use store::sqlite::SqliteStore;

/// The ingest token `tracelet-collector` accepts when none is given. Fine on loopback; the
/// collector refuses to listen anywhere else with it.
pub const DEV_TOKEN: &str = "tracelet-dev-token";

/// How the collector runs.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    pub listen: SocketAddr,
    /// SQLite file; `None` stores in a temporary file deleted when the collector stops.
    /// Ignored when `database_url` is set.
    pub db_path: Option<PathBuf>,
    /// `postgres://…`: store in PostgreSQL instead of SQLite, so that several collectors
    /// (replicas) can share one database.
    pub database_url: Option<String>,
    /// Whether PostgreSQL's fleet queries use PostGIS when the server has it.
    pub postgis: Postgis,
    /// Delete fixes and events received more than this many days ago (checked hourly).
    pub retain_days: Option<u32>,
    /// Bearer tokens accepted on the ingest endpoint (and nowhere else).
    pub tokens: Vec<String>,
    /// Bearer token of the read API, the live stream and the map; `None` draws a random one
    /// ([`RunningCollector::read_token`]).
    pub read_token: Option<String>,
    /// Largest request body accepted, compressed, before answering 413.
    pub max_body_bytes: usize,
    pub limits: Limits,
    /// Injected faults; `None` for a well-behaved server.
    pub chaos: Option<ChaosConfig>,
    /// Tiles the live map draws streets from; `None` draws on a blank background.
    pub map_style: Option<MapStyle>,
}

/// What one client, and all of them together, may cost the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub decode: DecodeLimits,
    /// Time to send a request's headers; also how long an idle keep-alive connection stays.
    pub header_timeout: Duration,
    /// Longest pause between two chunks of a request body.
    pub body_timeout: Duration,
    /// Time from the request's headers to the answer's (408 after it).
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// Batches decoded and stored at once; more wait for a turn.
    pub max_concurrent_ingest: usize,
    /// Reads run at once; more wait for a turn.
    pub max_concurrent_reads: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            decode: DecodeLimits::default(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_concurrent_ingest: 4,
            max_concurrent_reads: 4,
        }
    }
}

/// Largest compressed body accepted by default.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

impl CollectorConfig {
    pub fn loopback(tokens: Vec<String>) -> CollectorConfig {
        CollectorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_path: None,
            database_url: None,
            postgis: Postgis::IfAvailable,
            retain_days: None,
            tokens,
            read_token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            limits: Limits::default(),
            chaos: None,
            map_style: None,
        }
    }
}

/// Why the collector did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "refusing to listen on {0} with the built-in development token; \
         pass --token with a secret of your own"
    )]
    DevTokenOnPublicAddress(SocketAddr),
    #[error("the read token must differ from every ingest token")]
    ReadTokenIsIngestToken,
    #[error("give at least one ingest token")]
    NoIngestToken,
}

/// Counters since the collector started, kept apart from the database so that reading them
/// never waits for a write.
#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    fixes_accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected_requests: AtomicU64,
    events_accepted: AtomicU64,
    events_duplicates: AtomicU64,
}

impl Counters {
    fn stored(&self, stored: &StoredBatch) {
        let add = |counter: &AtomicU64, n: u64| counter.fetch_add(n, Ordering::Relaxed);
        add(&self.batches, 1);
        add(&self.fixes_accepted, stored.rows.len() as u64);
        add(&self.duplicates, stored.duplicates);
        add(&self.events_accepted, stored.events.len() as u64);
        add(&self.events_duplicates, stored.event_duplicates);
    }

    fn rejected(&self) {
        self.rejected_requests.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Stats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            batches: get(&self.batches),
            fixes_accepted: get(&self.fixes_accepted),
            duplicates: get(&self.duplicates),
            rejected_requests: get(&self.rejected_requests),
            events_accepted: get(&self.events_accepted),
            events_duplicates: get(&self.events_duplicates),
        }
    }
}

#[derive(Clone)]
struct AppState {
    store: Arc<dyn Store>,
    /// The same store when it is SQLite: the synchronous reads of tests and tools.
    sqlite: Option<Arc<SqliteStore>>,
    /// The same store when it is PostgreSQL: the live stream's replay.
    pg: Option<Arc<PgStore>>,
    auth: Arc<Auth>,
    counters: Arc<Counters>,
    ingest_permits: Arc<Semaphore>,
    read_permits: Arc<Semaphore>,
    max_body_bytes: usize,
    limits: Limits,
    chaos: Option<Arc<Chaos>>,
    live: LiveFeed,
    /// The live map's HTML, with the tile settings filled in.
    map_page: Arc<str>,
}

/// A collector serving in the background of the current tokio runtime.
pub struct RunningCollector {
    pub addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    /// Ends the live streams, which would otherwise hold a graceful shutdown open.
    stopping: watch::Sender<bool>,
    task: JoinHandle<()>,
    proxy: Option<JoinHandle<()>>,
    /// The database's directory when no `db_path` was given; deleted on drop.
    _scratch: Option<tempfile::TempDir>,
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

    /// The live map page, with the read token that opens it.
    pub fn map_url(&self) -> String {
        format!(
            "http://{}/map?access_token={}",
            self.addr,
            self.read_token()
        )
    }

    /// The bearer token of the read API, the stream and the map.
    pub fn read_token(&self) -> &str {
        self.state.auth.read_token()
    }

    /// Every stored fix of a device, ordered by storage (SQLite only: it blocks; see
    /// [`RunningCollector::stored_fixes`]).
    pub fn fixes(&self, device: &str) -> Result<Vec<StoredRow>, DbError> {
        self.sqlite()?.read_now(|q| q.fixes(device, 0, u32::MAX))
    }

    /// Every stored event of a device, ordered by storage (SQLite only).
    pub fn events(&self, device: &str) -> Result<Vec<EventRow>, DbError> {
        self.sqlite()?.read_now(|q| q.all_events(device))
    }

    /// Every device with fixes or events, as `GET /v1/devices` answers (SQLite only).
    pub fn devices(&self) -> Result<Vec<DeviceSummary>, DbError> {
        self.sqlite()?.read_now(|q| q.devices("", u32::MAX))
    }

    /// The device's fix with the latest time, as `GET /v1/devices/{device}/latest` answers
    /// (SQLite only).
    pub fn latest(&self, device: &str) -> Result<Option<StoredRow>, DbError> {
        self.sqlite()?.read_now(|q| q.latest(device))
    }

    /// Every stored fix of a device, ordered by storage, on either backend.
    pub async fn stored_fixes(&self, device: &str) -> Result<Vec<StoredRow>, DbError> {
        self.state.store.fixes(device, 0, u32::MAX).await
    }

    /// Every stored event of a device, ordered by storage, on either backend.
    pub async fn stored_events(&self, device: &str) -> Result<Vec<EventRow>, DbError> {
        self.state.store.all_events(device).await
    }

    /// Every device, on either backend.
    pub async fn stored_devices(&self) -> Result<Vec<DeviceSummary>, DbError> {
        self.state.store.devices("", u32::MAX).await
    }

    /// Deletes what was received before `cutoff_ms`, as `--retain-days` does every hour.
    pub async fn delete_received_before(&self, cutoff_ms: i64) -> Result<u64, DbError> {
        let mut total = 0;
        loop {
            let n = self.state.store.delete_received_before(cutoff_ms).await?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// Whether the fleet queries run on PostGIS.
    pub fn uses_postgis(&self) -> bool {
        self.state.pg.as_ref().is_some_and(|pg| pg.uses_postgis())
    }

    fn sqlite(&self) -> Result<&SqliteStore, DbError> {
        self.state.sqlite.as_deref().ok_or(DbError::NotSqlite)
    }

    pub fn stats(&self) -> Stats {
        self.state.counters.snapshot()
    }

    /// Faults injected so far (all zero without chaos mode).
    pub fn chaos_counts(&self) -> ChaosCounts {
        self.state
            .chaos
            .as_ref()
            .map(|c| c.counts())
            .unwrap_or_default()
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

    /// The ingest lock, for tests that prove reads never wait for it.
    #[cfg(test)]
    fn ingest_lock(&self) -> &Mutex<CollectorDb> {
        self.state
            .sqlite
            .as_ref()
            .expect("an SQLite collector")
            .writer()
    }
}

/// Binds and starts serving; returns once the socket is listening.
pub async fn start(config: CollectorConfig) -> Result<RunningCollector, StartError> {
    if config.tokens.is_empty() {
        return Err(StartError::NoIngestToken);
    }
    if !config.listen.ip().is_loopback() && config.tokens.iter().any(|t| t == DEV_TOKEN) {
        return Err(StartError::DevTokenOnPublicAddress(config.listen));
    }
    let read_token = config.read_token.clone().unwrap_or_else(auth::random_token);
    if config.tokens.contains(&read_token) {
        return Err(StartError::ReadTokenIsIngestToken);
    }
    let limits = config.limits;
    let (stopping, stopping_rx) = watch::channel(false);
    let live = LiveFeed::new(stopping_rx.clone());
    let mut scratch = None;
    let (store, sqlite, pg): (Arc<dyn Store>, _, _) = match &config.database_url {
        Some(url) => {
            // A connection per concurrent ingest and read, and a few for the live feed.
            let connections = limits.max_concurrent_ingest + limits.max_concurrent_reads + 2;
            let pg = Arc::new(PgStore::connect(url, connections, config.postgis).await?);
            let start = pg.feed_now().await?;
            store::postgres::feed::spawn(Arc::clone(&pg), live.clone(), start, stopping_rx.clone());
            tokio::spawn(store::postgres::flush_notifications(
                Arc::clone(&pg),
                stopping_rx.clone(),
            ));
            (pg.clone(), None, Some(pg))
        }
        None => {
            let db_path = match &config.db_path {
                Some(path) => path.clone(),
                None => {
                    let dir = tempfile::tempdir()?;
                    let path = dir.path().join("collector.sqlite3");
                    scratch = Some(dir);
                    path
                }
            };
            let writer = CollectorDb::open(&db_path)?;
            let reads = ReadPool::new(&db_path, limits.max_concurrent_reads);
            let sqlite = Arc::new(SqliteStore::new(writer, reads));
            (sqlite.clone(), Some(sqlite), None)
        }
    };
    if let Some(days) = config.retain_days {
        tokio::spawn(retention(Arc::clone(&store), days, stopping_rx));
    }
    let chaos = config.chaos.map(|c| Arc::new(Chaos::new(c)));
    let state = AppState {
        store,
        sqlite,
        pg,
        auth: Arc::new(Auth::new(config.tokens.clone(), read_token)),
        counters: Arc::new(Counters::default()),
        ingest_permits: Arc::new(Semaphore::new(limits.max_concurrent_ingest.max(1))),
        read_permits: Arc::new(Semaphore::new(limits.max_concurrent_reads.max(1))),
        max_body_bytes: config.max_body_bytes,
        limits,
        chaos,
        live,
        map_page: web::render_map_page(config.map_style.as_ref()).into(),
    };
    let public = TcpListener::bind(config.listen).await?;
    let addr = public.local_addr()?;
    // With connection faults, a proxy owns the public port and the HTTP server hides behind it.
    let (listener, proxy) = match &state.chaos {
        Some(c) if c.config().needs_proxy() => {
            let inner = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let upstream = inner.local_addr()?;
            let proxy = tokio::spawn(chaos::run_proxy(public, upstream, Arc::clone(c)));
            (inner, Some(proxy))
        }
        _ => (public, None),
    };
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let mut app = router(state.clone());
    if state.chaos.is_some() {
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
    let task = tokio::spawn(server::serve(listener, app, limits, shutdown_rx));
    Ok(RunningCollector {
        addr,
        state,
        shutdown: Some(shutdown),
        stopping,
        task,
        proxy,
        _scratch: scratch,
    })
}

fn router(state: AppState) -> Router {
    // Everything that shows stored data needs the read token.
    let reads = Router::new()
        .route("/v1/devices", get(read::devices))
        .route("/v1/devices/{device}/fixes", get(read::fixes))
        .route("/v1/devices/{device}/latest", get(read::latest))
        .route("/v1/devices/{device}/track", get(read::track))
        .route("/v1/devices/{device}/events", get(read::events))
        .route("/v1/fleet", get(fleet::fleet))
        .route("/v1/positions", get(read::positions))
        .route("/v1/stats", get(read::stats))
        .route("/v1/stream", get(live::stream))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read::require_read,
        ));
    let mut router = Router::new();
    for (path, source) in web::SCRIPTS {
        router = router.route(path, get(move || async move { web::script(source) }));
    }
    router
        .route(tracelet_protocol::wire::INGEST_PATH, post(ingest::ingest))
        .merge(reads)
        .route("/", get(web::map_page))
        .route("/map", get(web::map_page))
        .route("/map/vendor/{package}/{file}", get(web::vendor_file))
        .route("/healthz", get(|| async { "ok" }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.limits.request_timeout,
        ))
        .layer(axum::middleware::map_response(errors::json_errors))
        .with_state(state)
}

/// How often retention looks for rows past their time.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Deletes rows received more than `days` ago, now and then every hour, until stopping.
async fn retention(store: Arc<dyn Store>, days: u32, mut stopping: watch::Receiver<bool>) {
    loop {
        let cutoff = ingest::now_ms() - i64::from(days) * 86_400_000;
        loop {
            match store.delete_received_before(cutoff).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    eprintln!("tracelet-collector: retention: {e}");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RETENTION_EVERY) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

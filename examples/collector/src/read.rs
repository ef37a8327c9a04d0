//! The read API used by tests, the demo and front ends.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tracelet_protocol::wire::EVENT_KINDS;

use crate::AppState;
use crate::db::{DbError, DeviceSummary, EventRow, StoredRow};
use crate::errors::error;
use crate::store::{Area, DbFuture, DevicePosition, TimeCursor};

const DEFAULT_PAGE: u32 = 1_000;
const MAX_PAGE: u32 = 10_000;
const DEFAULT_TRACK_POINTS: u32 = 10_000;
const MAX_TRACK_POINTS: u32 = 100_000;
const DEFAULT_EVENTS: u32 = 10_000;
const MAX_EVENTS: u32 = 100_000;

/// A stored fix as a map draws it: the fix, its sequence number, and whether the SDK kept it.
///
/// `kept` is true for every fix today: the core uploads only the fixes it keeps, so the
/// collector never sees a discarded one. The flag is in the API so that front ends can offer
/// a raw/kept switch now and need no change once an SDK uploads discarded fixes, flagged.
#[derive(Debug, Clone, Serialize)]
pub struct TrackPoint {
    #[serde(flatten)]
    pub row: StoredRow,
    pub kept: bool,
}

impl From<StoredRow> for TrackPoint {
    fn from(row: StoredRow) -> TrackPoint {
        TrackPoint { row, kept: true }
    }
}

#[derive(Debug, Deserialize)]
pub struct TrackQuery {
    from_ms: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
    to_ms: Option<i64>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct TrackPage {
    device: String,
    points: Vec<TrackPoint>,
    /// More fixes lie in the range: ask again with `after` = `next`.
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

#[derive(Debug, Serialize)]
struct Latest {
    device: String,
    #[serde(flatten)]
    point: TrackPoint,
}

#[derive(Debug, Deserialize)]
pub struct FixesQuery {
    /// The `cursor` of the last fix already received; 0 starts from the beginning.
    #[serde(default)]
    after: u64,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct FixesPage {
    device: String,
    fixes: Vec<StoredRow>,
    /// Pass as `after` for the next page; absent when this page was the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    since: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
    until: Option<i64>,
    /// One kind or several, comma-separated.
    kind: Option<String>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct EventsPage {
    device: String,
    events: Vec<EventRow>,
    /// More events lie in the range: ask again with `after` = `next`.
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DevicesQuery {
    /// The `next` of the previous page; empty starts from the beginning.
    #[serde(default)]
    after: String,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct DevicesPage {
    devices: Vec<DeviceSummary>,
    /// Pass as `after` for the next page; absent when this page was the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Runs one read behind the read concurrency limit. On SQLite it runs on a read-only
/// connection on a blocking thread and never touches the ingest lock.
async fn read_db<T>(state: &AppState, read: DbFuture<'_, T>) -> Result<T, Response> {
    let _permit = state
        .read_permits
        .acquire()
        .await
        .map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    read.await.map_err(db_failure)
}

/// A read whose answer is JSON, serialized on a blocking thread: a whole track is megabytes
/// of text, which would otherwise hold an async worker.
async fn read_json<T: Send + 'static, U: Serialize>(
    state: &AppState,
    read: DbFuture<'_, T>,
    shape: impl FnOnce(T) -> U + Send + 'static,
) -> Response {
    let rows = match read_db(state, read).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    match tokio::task::spawn_blocking(move || serde_json::to_vec(&shape(rows))).await {
        Ok(Ok(bytes)) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => internal(e),
        Err(_) => internal("read task failed"),
    }
}

fn db_failure(e: DbError) -> Response {
    error(e.status(), e)
}

/// The `after` of a track or events page: `"{t}:{cursor}"` from a previous page's `next`;
/// `None` when it is malformed.
fn time_cursor(after: Option<&str>, from_ms: i64) -> Option<TimeCursor> {
    match after {
        None => Some(TimeCursor::from_time(from_ms)),
        Some(text) => TimeCursor::parse(text).map(|c| c.max_with(from_ms)),
    }
}

fn bad_cursor() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "after is the next of a previous page",
    )
}

pub async fn fixes(
    State(state): State<AppState>,
    Path(device): Path<String>,
    Query(query): Query<FixesQuery>,
) -> Response {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    // One more than asked tells whether another page follows.
    let after = query.after;
    let read = state.store.fixes(&device, after, limit + 1);
    let name = device.clone();
    read_json(&state, read, move |mut fixes: Vec<StoredRow>| {
        let more = fixes.len() > limit as usize;
        fixes.truncate(limit as usize);
        let next = more.then(|| fixes.last().map(|f| f.cursor)).flatten();
        FixesPage {
            device: name,
            fixes,
            next,
        }
    })
    .await
}

pub async fn track(
    State(state): State<AppState>,
    Path(device): Path<String>,
    Query(query): Query<TrackQuery>,
) -> Response {
    let from_ms = query.from_ms.unwrap_or(i64::MIN);
    let to_ms = query.to_ms.unwrap_or(i64::MAX);
    if from_ms > to_ms {
        return error(StatusCode::BAD_REQUEST, "from_ms is after to_ms");
    }
    let Some(start) = time_cursor(query.after.as_deref(), from_ms) else {
        return bad_cursor();
    };
    let limit = query
        .limit
        .unwrap_or(DEFAULT_TRACK_POINTS)
        .clamp(1, MAX_TRACK_POINTS);
    // One more than asked tells whether the range holds more.
    let read = state.store.track(&device, start, to_ms, limit + 1);
    let name = device.clone();
    read_json(&state, read, move |mut rows: Vec<StoredRow>| {
        let truncated = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = truncated
            .then(|| rows.last().map(|r| time_key(r.fix.t, r.cursor)))
            .flatten();
        TrackPage {
            device: name,
            points: rows.into_iter().map(TrackPoint::from).collect(),
            truncated,
            next,
        }
    })
    .await
}

fn time_key(t: i64, cursor: u64) -> String {
    TimeCursor {
        t,
        cursor: i64::try_from(cursor).unwrap_or(i64::MAX),
    }
    .encode()
}

pub async fn events(
    State(state): State<AppState>,
    Path(device): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Response {
    let since = query.since.unwrap_or(i64::MIN);
    let until = query.until.unwrap_or(i64::MAX);
    if since > until {
        return error(StatusCode::BAD_REQUEST, "since is after until");
    }
    let Some(start) = time_cursor(query.after.as_deref(), since) else {
        return bad_cursor();
    };
    let kinds: Option<Vec<String>> = query
        .kind
        .as_deref()
        .map(|k| k.split(',').map(|k| k.trim().to_owned()).collect());
    if kinds
        .iter()
        .flatten()
        .any(|k| !EVENT_KINDS.contains(&k.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!("kind must be one or more of {}", EVENT_KINDS.join(", ")),
        );
    }
    let limit = query.limit.unwrap_or(DEFAULT_EVENTS).clamp(1, MAX_EVENTS);
    // One more than asked tells whether the range holds more.
    let read = state.store.events(&device, start, until, kinds, limit + 1);
    let name = device.clone();
    read_json(&state, read, move |mut events: Vec<EventRow>| {
        let truncated = events.len() > limit as usize;
        events.truncate(limit as usize);
        let next = truncated
            .then(|| events.last().map(|e| time_key(e.event.t, e.cursor)))
            .flatten();
        EventsPage {
            device: name,
            events,
            truncated,
            next,
        }
    })
    .await
}

pub async fn latest(State(state): State<AppState>, Path(device): Path<String>) -> Response {
    match read_db(&state, state.store.latest(&device)).await {
        Ok(Some(row)) => Json(Latest {
            device: device.clone(),
            point: row.into(),
        })
        .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "no fixes stored for this device"),
        Err(response) => response,
    }
}

pub async fn devices(State(state): State<AppState>, Query(query): Query<DevicesQuery>) -> Response {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let after = query.after;
    let read = state.store.devices(&after, limit + 1);
    read_json(&state, read, move |mut devices: Vec<DeviceSummary>| {
        let more = devices.len() > limit as usize;
        devices.truncate(limit as usize);
        let next = more
            .then(|| devices.last().map(|d| d.device.clone()))
            .flatten();
        DevicesPage { devices, next }
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct PositionsQuery {
    /// `min_lon,min_lat,max_lon,max_lat`.
    bbox: Option<String>,
    /// `lat,lon`, with `radius_m`.
    near: Option<String>,
    radius_m: Option<f64>,
    /// The `next` of the previous page; empty starts from the beginning.
    #[serde(default)]
    after: String,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct PositionsPage {
    positions: Vec<DevicePosition>,
    /// Pass as `after` for the next page; absent when this page was the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// `GET /v1/positions?bbox=…` or `?near=lat,lon&radius_m=R`: the latest position of every
/// device in the area, in device order, paged.
pub async fn positions(
    State(state): State<AppState>,
    Query(query): Query<PositionsQuery>,
) -> Response {
    let area = match Area::from_query(query.bbox.as_deref(), query.near.as_deref(), query.radius_m)
    {
        Ok(area) => area,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let after = query.after;
    let read = state.store.positions(area, &after, limit + 1);
    read_json(&state, read, move |mut positions: Vec<DevicePosition>| {
        let more = positions.len() > limit as usize;
        positions.truncate(limit as usize);
        let next = more
            .then(|| positions.last().map(|p| p.device.clone()))
            .flatten();
        PositionsPage { positions, next }
    })
    .await
}

pub async fn stats(State(state): State<AppState>) -> Response {
    Json(state.counters.snapshot()).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, e)
}

/// Lets a request through to the read API and the stream only with the read token or a map
/// session.
pub async fn require_read(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if state.auth.may_read(request.headers()) {
        next.run(request).await
    } else {
        unauthorized()
    }
}

/// 401 for reads, saying how to read.
pub fn unauthorized() -> Response {
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "missing or unknown read token: send Authorization: Bearer <read token>, \
         or open /map?access_token=<read token> in a browser",
    );
    response.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    response
}

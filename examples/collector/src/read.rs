//! The read API used by tests, the demo and front ends.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tracelet_protocol::wire::EVENT_KINDS;

use crate::AppState;
use crate::db::{DbError, DeviceSummary, EventRow, Queries, StoredRow};
use crate::errors::error;

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
    to_ms: Option<i64>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct TrackPage {
    device: String,
    points: Vec<TrackPoint>,
    /// More fixes lie in the range: ask again from the last point's `t`.
    truncated: bool,
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
    until: Option<i64>,
    /// One kind or several, comma-separated.
    kind: Option<String>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct EventsPage {
    device: String,
    events: Vec<EventRow>,
    /// More events lie in the range: ask again from the last event's `t`.
    truncated: bool,
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

/// Runs one read on a read-only connection, on a blocking thread, behind the read
/// concurrency limit. It never touches the ingest lock.
async fn read_db<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&Queries<'_>) -> Result<T, DbError> + Send + 'static,
) -> Result<T, Response> {
    let _permit = state
        .read_permits
        .acquire()
        .await
        .map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let pool = state.reads.clone();
    tokio::task::spawn_blocking(move || pool.read(read))
        .await
        .map_err(|_| internal("read task failed"))?
        .map_err(internal)
}

pub async fn fixes(
    State(state): State<AppState>,
    Path(device): Path<String>,
    Query(query): Query<FixesQuery>,
) -> Response {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    // One more than asked tells whether another page follows.
    let (name, after) = (device.clone(), query.after);
    let read = move |q: &Queries<'_>| q.fixes(&name, after, limit + 1);
    read_json(&state, read, move |mut fixes| {
        let more = fixes.len() > limit as usize;
        fixes.truncate(limit as usize);
        let next = more.then(|| fixes.last().map(|f| f.cursor)).flatten();
        FixesPage {
            device,
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
    let limit = query
        .limit
        .unwrap_or(DEFAULT_TRACK_POINTS)
        .clamp(1, MAX_TRACK_POINTS);
    // One more than asked tells whether the range holds more.
    let name = device.clone();
    let read = move |q: &Queries<'_>| q.track(&name, from_ms, to_ms, limit + 1);
    read_json(&state, read, move |mut rows| {
        let truncated = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        TrackPage {
            device,
            points: rows.into_iter().map(TrackPoint::from).collect(),
            truncated,
        }
    })
    .await
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
    let name = device.clone();
    let read = move |q: &Queries<'_>| {
        let kinds: Option<Vec<&str>> = kinds
            .as_ref()
            .map(|k| k.iter().map(String::as_str).collect());
        q.events(&name, since, until, kinds.as_deref(), limit + 1)
    };
    read_json(&state, read, move |mut events| {
        let truncated = events.len() > limit as usize;
        events.truncate(limit as usize);
        EventsPage {
            device,
            events,
            truncated,
        }
    })
    .await
}

pub async fn latest(State(state): State<AppState>, Path(device): Path<String>) -> Response {
    let name = device.clone();
    match read_db(&state, move |q| q.latest(&name)).await {
        Ok(Some(row)) => Json(Latest {
            device,
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
    let read = move |q: &Queries<'_>| q.devices(&after, limit + 1);
    read_json(&state, read, move |mut devices| {
        let more = devices.len() > limit as usize;
        devices.truncate(limit as usize);
        let next = more
            .then(|| devices.last().map(|d| d.device.clone()))
            .flatten();
        DevicesPage { devices, next }
    })
    .await
}

pub async fn stats(State(state): State<AppState>) -> Response {
    Json(state.counters.snapshot()).into_response()
}

/// A read whose answer is JSON, serialized on the blocking thread too: a whole track is
/// megabytes of text, which would otherwise hold an async worker.
async fn read_json<T, U: Serialize>(
    state: &AppState,
    read: impl FnOnce(&Queries<'_>) -> Result<T, DbError> + Send + 'static,
    shape: impl FnOnce(T) -> U + Send + 'static,
) -> Response
where
    T: Send + 'static,
{
    let json = read_db(state, move |q| Ok(serde_json::to_vec(&shape(read(q)?)))).await;
    match json {
        Ok(Ok(bytes)) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => internal(e),
        Err(response) => response,
    }
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

//! `POST /v1/batches`: authenticate, read the body within its limits, then decode and check it
//! on a blocking thread and store it, behind the ingest concurrency limit, so that memory is
//! bounded by (limit × one body's budget) and the async workers never parse.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracelet_protocol::wire::{BatchV1, IDEMPOTENCY_HEADER, IngestResponse};

use crate::AppState;
use crate::chaos::HttpFault;
use crate::check::{Refusal, check_batch};
use crate::decode::{self, BodyKind};
use crate::errors::error;
use crate::store::Backend;

pub async fn ingest(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let mut stall = None;
    if let Some(chaos) = &state.chaos {
        match chaos.http_fault() {
            HttpFault::None => {}
            HttpFault::ServerError => {
                return error(StatusCode::SERVICE_UNAVAILABLE, "chaos: injected 503");
            }
            HttpFault::TooManyRequests { retry_after_s } => {
                let mut response = error(StatusCode::TOO_MANY_REQUESTS, "chaos: injected 429");
                if let Ok(value) = retry_after_s.to_string().parse() {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            HttpFault::Unprocessable => {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "chaos: injected 422");
            }
            // Process afterwards: the batch may be stored after the client gave up waiting.
            HttpFault::Stall { ms } => stall = Some(ms),
        }
    }
    match receive(&state, &headers, body).await {
        Ok((kind, bytes)) => {
            let key = headers
                .get(IDEMPOTENCY_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // A task of its own: if the client goes away (or the request times out), the
            // batch is still decoded and stored, as a server that already read it would.
            let work = tokio::spawn(process(state.clone(), kind, bytes, key, stall));
            match work.await {
                Ok(Ok(response)) => (StatusCode::OK, Json(response)).into_response(),
                Ok(Err(refusal)) => refuse(&state, refusal),
                Err(_) => refuse(
                    &state,
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "ingest task failed".into(),
                    ),
                ),
            }
        }
        Err(refusal) => refuse(&state, refusal),
    }
}

/// The body, at most `max_body_bytes` of it, then the checks of the headers. The body is read
/// first even for a request that will be refused, so that the answer is not lost to a reset of
/// a connection closed with unread bytes.
async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(BodyKind, Bytes), Refusal> {
    let max = state.max_body_bytes;
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, max).await.map_err(|e| {
        let e = e.into_inner();
        if caused_by::<http_body_util::LengthLimitError>(&*e) {
            too_large()
        } else if caused_by::<tower_http::timeout::TimeoutError>(&*e) {
            (
                StatusCode::REQUEST_TIMEOUT,
                "the request body stopped arriving".into(),
            )
        } else {
            (
                StatusCode::BAD_REQUEST,
                "could not read the request body".into(),
            )
        }
    })?;
    if !state.auth.may_ingest(headers) {
        return Err((
            StatusCode::UNAUTHORIZED,
            "missing or unknown bearer token".into(),
        ));
    }
    let kind = BodyKind::from_headers(headers).map_err(|e| (e.status(), e.to_string()))?;
    Ok((kind, bytes))
}

/// Whether `T` is anywhere in the chain of `error`'s causes.
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<T>() {
            return true;
        }
        next = e.source();
    }
    false
}

async fn process(
    state: AppState,
    kind: BodyKind,
    body: Bytes,
    key: Option<String>,
    stall: Option<u64>,
) -> Result<IngestResponse, Refusal> {
    if let Some(ms) = stall {
        crate::chaos::stall(ms).await;
    }
    let _permit = state
        .ingest_permits
        .acquire()
        .await
        .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()))?;
    let limits = state.limits.decode;
    let batch =
        tokio::task::spawn_blocking(move || decode_checked(kind, &body, key.as_deref(), &limits))
            .await
            .map_err(|_| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ingest worker failed".into(),
                )
            })??;
    let batch = Arc::new(batch);
    let stored = state
        .store
        .store_batch(Arc::clone(&batch), now_ms())
        .await
        .map_err(|e| (e.status(), e.to_string()))?;
    state.counters.stored(&stored);
    let response = IngestResponse {
        accepted: stored.rows.len() as u64,
        duplicates: stored.duplicates,
        events_accepted: stored.events.len() as u64,
        events_duplicates: stored.event_duplicates,
    };
    // PostgreSQL's feed publishes what any replica stored (store::postgres::feed).
    if state.store.backend() == Backend::Sqlite {
        state.live.publish(&batch.device, stored.rows);
        state.live.publish_events(&batch.device, stored.events);
    }
    Ok(response)
}

/// Decode and check: the blocking part.
fn decode_checked(
    kind: BodyKind,
    body: &[u8],
    key: Option<&str>,
    limits: &decode::DecodeLimits,
) -> Result<BatchV1, Refusal> {
    let batch = decode::decode(kind, body, limits).map_err(|e| (e.status(), e.to_string()))?;
    check_batch(&batch, key)?;
    Ok(batch)
}

fn refuse(state: &AppState, (status, message): Refusal) -> Response {
    state.counters.rejected();
    let mut response = error(status, message);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

//! `POST /v1/batches`: authenticate, inflate, validate, store once.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::read::GzDecoder;
use std::collections::BTreeMap;

use tracelet_protocol::compact::{self, COMPACT_MEDIA_TYPE};
use tracelet_protocol::fix_rules::validate;
use tracelet_protocol::metadata::{MAX_ENTRIES, MAX_KEY_CHARS, MAX_MAP_BYTES, MAX_TRIP_ID_CHARS};
use tracelet_protocol::wire::{
    BatchV1, CONTENT_TYPE_JSON, EVENT_KINDS, ErrorResponse, IDEMPOTENCY_HEADER, IngestResponse,
    MAX_STREAM_CHARS, PROTOCOL_VERSION, WireEvent, WireFix, batch_id, is_valid_stream,
};

use crate::chaos::HttpFault;
use crate::{AppState, lock};

/// Largest number of fixes one batch may carry.
pub const MAX_FIXES_PER_BATCH: usize = 10_000;
/// Largest number of events one batch may carry (the SDK sends at most 100).
pub const MAX_EVENTS_PER_BATCH: usize = 1_000;
/// Largest sequence number (fix `seq` or event `s`) accepted: 2^62 - 1, so that every
/// sequence in a batch fits SQLite's signed 64-bit integers.
const MAX_SEQ: u64 = i64::MAX as u64 / 2;
/// Longest geofence or trip id, in characters (the SDK's limit for both).
const MAX_ID_CHARS: usize = MAX_TRIP_ID_CHARS;

pub async fn ingest(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(chaos) = &state.chaos {
        match chaos.http_fault() {
            HttpFault::None => {}
            HttpFault::ServerError => {
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "chaos: injected 503".into(),
                );
            }
            HttpFault::TooManyRequests { retry_after_s } => {
                let mut response =
                    refuse(StatusCode::TOO_MANY_REQUESTS, "chaos: injected 429".into());
                if let Ok(value) = retry_after_s.to_string().parse() {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            HttpFault::Unprocessable => {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "chaos: injected 422".into(),
                );
            }
            // Process afterwards: the batch may be stored after the client gave up waiting.
            HttpFault::Stall { ms } => crate::chaos::stall(ms).await,
        }
    }
    match accept(&state, &headers, &body) {
        Ok(response) => (StatusCode::OK, Json(response)).into_response(),
        Err((status, message)) => {
            lock(&state.db).count_rejected_request();
            (status, Json(ErrorResponse { error: message })).into_response()
        }
    }
}

type Refusal = (StatusCode, String);

fn accept(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<IngestResponse, Refusal> {
    authenticate(state, headers)?;
    let json = inflate(headers, body, state.max_inflated_bytes)?;
    let batch = decode(headers, &json)?;
    check_batch(&batch, headers)?;
    let stored = lock(&state.db)
        .store_batch_rows(&batch, now_ms())
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let response = IngestResponse {
        accepted: stored.rows.len() as u64,
        duplicates: stored.duplicates,
        events_accepted: stored.events.len() as u64,
        events_duplicates: stored.event_duplicates,
    };
    state.live.publish(&batch.device, stored.rows);
    state.live.publish_events(&batch.device, stored.events);
    Ok(response)
}

/// JSON or the compact binary encoding, chosen by `Content-Type`.
fn decode(headers: &HeaderMap, body: &[u8]) -> Result<BatchV1, Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(CONTENT_TYPE_JSON);
    if content_type.starts_with(COMPACT_MEDIA_TYPE) {
        return compact::decode(body)
            .map_err(|e| bad_request(format!("body is not a compact v1 batch: {e}")));
    }
    if !content_type.starts_with(CONTENT_TYPE_JSON) {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Type; use {CONTENT_TYPE_JSON} or {COMPACT_MEDIA_TYPE}"),
        ));
    }
    // serde's message may quote the offending value (a coordinate); report only where it is.
    serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "body is not a protocol v1 batch ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        Some(t) if state.tokens.iter().any(|known| known == t) => Ok(()),
        _ => Err((
            StatusCode::UNAUTHORIZED,
            "missing or unknown bearer token".into(),
        )),
    }
}

fn inflate(headers: &HeaderMap, body: &[u8], max_bytes: usize) -> Result<Vec<u8>, Refusal> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    match encoding {
        "gzip" => {
            let mut out = Vec::new();
            GzDecoder::new(body)
                .take(max_bytes as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| bad_request("body is not valid gzip".into()))?;
            if out.len() > max_bytes {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "inflated body is too large".into(),
                ));
            }
            Ok(out)
        }
        "identity" => Ok(body.to_vec()),
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Encoding {other:?}; use gzip or identity"),
        )),
    }
}

fn check_batch(batch: &BatchV1, headers: &HeaderMap) -> Result<(), Refusal> {
    if batch.v != PROTOCOL_VERSION {
        return Err(bad_request(format!(
            "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
            batch.v
        )));
    }
    let device_ok = (1..=128).contains(&batch.device.len())
        && batch
            .device
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if !device_ok {
        return Err(bad_request(
            "device must be 1-128 characters of [A-Za-z0-9._:-]".into(),
        ));
    }
    if !batch.stream.is_empty() && !is_valid_stream(&batch.stream) {
        return Err(bad_request(format!(
            "stream must be 1-{MAX_STREAM_CHARS} characters of [A-Za-z0-9_-]"
        )));
    }
    if batch.fixes.len() > MAX_FIXES_PER_BATCH {
        return Err(bad_request(format!(
            "a batch carries at most {MAX_FIXES_PER_BATCH} fixes"
        )));
    }
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(bad_request(format!(
            "a batch carries at most {MAX_EVENTS_PER_BATCH} events"
        )));
    }
    if batch.fixes.is_empty() && batch.events.is_empty() {
        return Err(bad_request(
            "a batch carries at least one fix or one event".into(),
        ));
    }
    let fix_range = if batch.fixes.is_empty() {
        if batch.first_seq != 0 {
            return Err(bad_request(
                "first_seq must be 0 when fixes is empty".into(),
            ));
        }
        None
    } else {
        if batch.first_seq == 0 || batch.first_seq > MAX_SEQ {
            return Err(bad_request("first_seq must be >= 1".into()));
        }
        Some((
            batch.first_seq,
            batch.first_seq + batch.fixes.len() as u64 - 1,
        ))
    };
    let mut previous = 0;
    for (index, event) in batch.events.iter().enumerate() {
        if event.s == 0 || event.s > MAX_SEQ {
            return Err(bad_request(format!(
                "events[{index}]: s must be >= 1 and < 2^62"
            )));
        }
        if event.s <= previous {
            return Err(bad_request(format!(
                "events[{index}]: s must be larger than the previous event's"
            )));
        }
        previous = event.s;
    }
    let event_range = batch
        .events
        .first()
        .zip(batch.events.last())
        .map(|(first, last)| (first.s, last.s));
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok());
    if key != Some(batch.batch.as_str()) {
        return Err(bad_request(format!(
            "the {IDEMPOTENCY_HEADER} header must equal the body's batch id"
        )));
    }
    if batch.batch != batch_id(&batch.stream, fix_range, event_range) {
        return Err(bad_request(
            "batch must be \"{stream}:\" followed by \"{first}-{last}\" of the fixes' \
             sequence numbers, \"e{first}-{last}\" of the events' s, or both joined by \".\""
                .into(),
        ));
    }
    for (index, wire) in batch.fixes.iter().enumerate() {
        // Device clocks may run ahead of ours: only the SDK checks against its own clock.
        validate(&wire.values(), i64::MAX / 2)
            .map_err(|e| bad_request(format!("fixes[{index}]: {e}")))?;
        check_smoothed(wire).map_err(|e| bad_request(format!("fixes[{index}]: {e}")))?;
        check_annotation(wire).map_err(|e| bad_request(format!("fixes[{index}]: {e}")))?;
    }
    for (index, event) in batch.events.iter().enumerate() {
        check_event(event).map_err(|e| bad_request(format!("events[{index}]: {e}")))?;
    }
    Ok(())
}

/// A fix's trip id and extras, against the SDK's caps.
fn check_annotation(wire: &WireFix) -> Result<(), String> {
    if let Some(trip) = &wire.tr {
        check_id(trip).map_err(|e| format!("tr: {e}"))?;
    }
    check_map(&wire.x).map_err(|e| format!("x: {e}"))
}

/// An event's kind, id, position and metadata. Messages name the field, never its value.
fn check_event(event: &WireEvent) -> Result<(), String> {
    if !EVENT_KINDS.contains(&event.k.as_str()) {
        return Err(format!("k must be one of {}", EVENT_KINDS.join(", ")));
    }
    match (&event.id, event.k == "device") {
        (Some(_), true) => return Err("a device event has no id".into()),
        (None, false) => return Err("id is required for this kind".into()),
        (Some(id), false) => check_id(id).map_err(|e| format!("id: {e}"))?,
        (None, true) => {}
    }
    if event.t < 0 {
        return Err("t must be >= 0".into());
    }
    match (event.la, event.lo) {
        (None, None) => {}
        (Some(la), Some(lo)) if (-90.0..=90.0).contains(&la) && (-180.0..=180.0).contains(&lo) => {}
        _ => return Err("la and lo come together, in range".into()),
    }
    check_map(&event.m).map_err(|e| format!("m: {e}"))
}

fn check_id(id: &str) -> Result<(), String> {
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_ID_CHARS {
        return Err(format!(
            "must have 1 to {MAX_ID_CHARS} characters, it has {chars}"
        ));
    }
    Ok(())
}

/// The caps of `tracelet_protocol::metadata` on metadata and extras maps.
fn check_map(map: &BTreeMap<String, String>) -> Result<(), String> {
    if map.len() > MAX_ENTRIES {
        return Err(format!("{} entries, the most is {MAX_ENTRIES}", map.len()));
    }
    if map
        .keys()
        .any(|k| k.is_empty() || k.chars().count() > MAX_KEY_CHARS)
    {
        return Err(format!(
            "a key is empty or longer than {MAX_KEY_CHARS} characters"
        ));
    }
    let bytes: usize = map.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > MAX_MAP_BYTES {
        return Err(format!(
            "{bytes} bytes of keys and values, the most is {MAX_MAP_BYTES}"
        ));
    }
    Ok(())
}

/// The smoothed position is optional, but all three fields or none, each in range.
fn check_smoothed(wire: &WireFix) -> Result<(), &'static str> {
    match (wire.sla, wire.slo, wire.sac) {
        (None, None, None) => Ok(()),
        (Some(la), Some(lo), Some(ac))
            if (-90.0..=90.0).contains(&la)
                && (-180.0..=180.0).contains(&lo)
                && ac.is_finite()
                && ac > 0.0 =>
        {
            Ok(())
        }
        _ => Err("sla, slo and sac come together, in range, with sac > 0"),
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(ErrorResponse { error: message })).into_response()
}

fn bad_request(message: String) -> Refusal {
    (StatusCode::BAD_REQUEST, message)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn headers(content_type: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(IDEMPOTENCY_HEADER, HeaderValue::from_static("1-1"));
        h
    }

    proptest! {
        /// Whatever arrives, decoding and checking give a batch or a 4xx refusal, never a
        /// panic, and refusals never echo the body.
        #[test]
        fn hostile_bodies_are_refused_cleanly(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            for content_type in [CONTENT_TYPE_JSON, "application/vnd.tracelet.batch+binary; v=1", "text/plain"] {
                let h = headers(content_type);
                match decode(&h, &body).and_then(|batch| check_batch(&batch, &h).map(|()| batch)) {
                    Ok(_) => {}
                    Err((status, _)) => prop_assert!(status.is_client_error()),
                }
            }
        }
    }
}

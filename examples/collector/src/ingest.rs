//! `POST /v1/batches`: authenticate, inflate, validate, store once.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::read::GzDecoder;
use tracelet_core::compact;
use tracelet_core::fix::validate;
use tracelet_core::protocol::{
    BatchV1, CONTENT_TYPE_JSON, ErrorResponse, IDEMPOTENCY_HEADER, IngestResponse, PROTOCOL_VERSION,
};

/// The compact encoding's media type, without parameters.
const COMPACT_MEDIA_TYPE: &str = "application/vnd.tracelet.batch+binary";

use crate::chaos::HttpFault;
use crate::{AppState, lock};

/// Largest number of fixes one batch may carry.
pub const MAX_FIXES_PER_BATCH: usize = 10_000;

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
    let (stored, duplicates) = lock(&state.db)
        .store_batch_rows(&batch, now_ms())
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let accepted = stored.len() as u64;
    state.live.publish(&batch.device, stored);
    Ok(IngestResponse {
        accepted,
        duplicates,
    })
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
    if batch.fixes.is_empty() || batch.fixes.len() > MAX_FIXES_PER_BATCH {
        return Err(bad_request(format!(
            "a batch carries 1 to {MAX_FIXES_PER_BATCH} fixes"
        )));
    }
    if batch.first_seq == 0 || batch.first_seq > i64::MAX as u64 / 2 {
        return Err(bad_request("first_seq must be >= 1".into()));
    }
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok());
    if key != Some(batch.batch.as_str()) {
        return Err(bad_request(format!(
            "the {IDEMPOTENCY_HEADER} header must equal the body's batch id"
        )));
    }
    for (index, wire) in batch.fixes.iter().enumerate() {
        // Device clocks may run ahead of ours: only the SDK checks against its own clock.
        validate(&wire.to_fix(), i64::MAX / 2)
            .map_err(|e| bad_request(format!("fixes[{index}]: {e}")))?;
        check_smoothed(wire).map_err(|e| bad_request(format!("fixes[{index}]: {e}")))?;
    }
    Ok(())
}

/// The smoothed position is optional, but all three fields or none, each in range.
fn check_smoothed(wire: &tracelet_core::protocol::WireFix) -> Result<(), &'static str> {
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

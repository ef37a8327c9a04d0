//! What a decoded batch must satisfy beyond its shape (`docs/ingest-protocol.md` section 7):
//! versions, ids, sequence numbers, the batch id, and every fix and event against the SDK's
//! rules. Messages name the field and the rule, never a value.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use tracelet_protocol::fix_rules::validate;
use tracelet_protocol::metadata::{MAX_ENTRIES, MAX_KEY_CHARS, MAX_MAP_BYTES, MAX_TRIP_ID_CHARS};
use tracelet_protocol::wire::{
    BatchV1, EVENT_KINDS, MAX_STREAM_CHARS, PROTOCOL_VERSION, WireEvent, WireFix, batch_id,
    is_valid_stream,
};

/// Largest number of fixes one batch may carry.
pub const MAX_FIXES_PER_BATCH: usize = 10_000;
/// Largest number of events one batch may carry (the SDK sends at most 100).
pub const MAX_EVENTS_PER_BATCH: usize = 1_000;
/// Longest device id.
pub const MAX_DEVICE_CHARS: usize = 128;
/// Longest provider name (`pr`); the SDK sends gps, fused, network or passive.
pub const MAX_PROVIDER_BYTES: usize = 16;
/// Largest sequence number (fix `seq` or event `s`) accepted: 2^62 - 1, so that every
/// sequence in a batch fits SQLite's signed 64-bit integers.
const MAX_SEQ: u64 = i64::MAX as u64 / 2;
/// Longest geofence or trip id, in characters (the SDK's limit for both).
const MAX_ID_CHARS: usize = MAX_TRIP_ID_CHARS;

pub type Refusal = (StatusCode, String);

/// Checks a decoded batch; `idempotency_key` is the request's header.
pub fn check_batch(batch: &BatchV1, idempotency_key: Option<&str>) -> Result<(), Refusal> {
    if batch.v != PROTOCOL_VERSION {
        return Err(bad_request(format!(
            "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
            batch.v
        )));
    }
    let device_ok = (1..=MAX_DEVICE_CHARS).contains(&batch.device.len())
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
        return Err(too_large(format!(
            "a batch carries at most {MAX_FIXES_PER_BATCH} fixes"
        )));
    }
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(too_large(format!(
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
    if idempotency_key != Some(batch.batch.as_str()) {
        return Err(bad_request(
            "the Idempotency-Key header must equal the body's batch id".into(),
        ));
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
        if wire
            .pr
            .as_ref()
            .is_some_and(|pr| pr.is_empty() || pr.len() > MAX_PROVIDER_BYTES)
        {
            return Err(bad_request(format!(
                "fixes[{index}]: pr must have 1 to {MAX_PROVIDER_BYTES} bytes"
            )));
        }
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

fn bad_request(message: String) -> Refusal {
    (StatusCode::BAD_REQUEST, message)
}

fn too_large(message: String) -> Refusal {
    (StatusCode::PAYLOAD_TOO_LARGE, message)
}

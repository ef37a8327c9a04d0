//! The JSON wire types of ingest protocol v1, shared by the SDK and every receiver.
//! The normative description is `docs/ingest-protocol.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fix_rules::FixValues;

/// Version carried in every body; the collector refuses other values with 400.
pub const PROTOCOL_VERSION: u32 = 1;
/// Path of the ingest endpoint relative to the collector's root.
pub const INGEST_PATH: &str = "/v1/batches";
pub const CONTENT_TYPE_JSON: &str = "application/json";
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The provider names `pr` may carry; a receiver refuses others.
pub const PROVIDER_NAMES: [&str; 4] = ["gps", "fused", "network", "passive"];

/// Longest stream id a receiver accepts, in characters.
pub const MAX_STREAM_CHARS: usize = 64;

/// One upload: a run of consecutive sequence numbers from one queue (stream) of one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchV1 {
    pub v: u32,
    /// Device id from the tracker's configuration.
    pub device: String,
    /// The queue the sequence numbers belong to: a random id drawn when the queue database was
    /// created (or found to be a restored copy). Empty for senders older than stream ids, whose
    /// numbers all belong to one legacy stream per device.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stream: String,
    /// Batch id, equal to the `Idempotency-Key` header ([`batch_id`]).
    pub batch: String,
    /// Sequence number of `fixes[0]`; `fixes[i]` has `first_seq + i`. 0 when `fixes` is empty.
    pub first_seq: u64,
    /// May be empty when `events` is not.
    pub fixes: Vec<WireFix>,
    /// Geofence, trip and device events (the extension of v1 for #10); omitted when none.
    /// Numbered by their own per-device sequence `s`, which makes them idempotent like fixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<WireEvent>,
}

/// The kinds of [`WireEvent`], by their wire names.
pub const EVENT_KINDS: [&str; 6] = ["enter", "exit", "dwell", "trip_start", "trip_end", "device"];

/// One event. `id` names the geofence (enter, exit, dwell) or the trip (trip_start,
/// trip_end); `device` events carry the device's metadata and no id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    /// Per-device event sequence number, from 1, never reused.
    pub s: u64,
    /// UTC milliseconds since the Unix epoch: the time of the fix that caused a geofence event,
    /// or when the app started/ended the trip or set the metadata.
    pub t: i64,
    /// One of [`EVENT_KINDS`].
    pub k: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where the device was (1e-7 degrees) for geofence events: the fix that decided them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub la: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lo: Option<f64>,
    /// The geofence's, the trip's or the device's metadata; omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub m: BTreeMap<String, String>,
}

/// One fix with short field names; optional fields are omitted when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFix {
    /// UTC milliseconds since the Unix epoch.
    pub t: i64,
    /// Latitude and longitude in degrees, rounded to 1e-7 (about 1 cm).
    pub la: f64,
    pub lo: f64,
    /// Horizontal accuracy in metres, rounded to 0.1 m.
    pub ac: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub al: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub va: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sa: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub be: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ba: Option<f64>,
    /// Provider name: gps, fused, network, passive; omitted when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<String>,
    /// Present and true only for mock-location fixes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mk: bool,
    /// The filter's smoothed latitude and longitude (1e-7 degrees) and its accuracy (0.1 m),
    /// present only when the app asked for smoothed positions in the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sac: Option<f64>,
    /// The trip the fix belongs to (`startTrip`), when one was running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tr: Option<String>,
    /// The app's per-fix extras in force when the fix was recorded; omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub x: BTreeMap<String, String>,
}

/// The collector's answer to an accepted batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestResponse {
    /// Fixes stored for the first time.
    pub accepted: u64,
    /// Fixes whose (device, stream, sequence) was already stored.
    pub duplicates: u64,
    /// Events stored for the first time; omitted when 0 (always so for a batch without events).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub events_accepted: u64,
    /// Events whose (device, stream, `s`) was already stored; omitted when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub events_duplicates: u64,
}

/// The body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: String,
}

/// The batch id: `{first}-{last}` for the fixes, `e{first}-{last}` for the events, joined by
/// `.` when there are both, prefixed by `{stream}:` when the batch has a stream. A pure function
/// of the contents, so a retry repeats it.
pub fn batch_id(stream: &str, fixes: Option<(u64, u64)>, events: Option<(u64, u64)>) -> String {
    let ranges = match (fixes, events) {
        (Some((f1, f2)), Some((e1, e2))) => format!("{f1}-{f2}.e{e1}-{e2}"),
        (Some((f1, f2)), None) => format!("{f1}-{f2}"),
        (None, Some((e1, e2))) => format!("e{e1}-{e2}"),
        (None, None) => String::new(),
    };
    if stream.is_empty() {
        ranges
    } else {
        format!("{stream}:{ranges}")
    }
}

/// A stream id a receiver accepts: 1 to [`MAX_STREAM_CHARS`] characters of `[A-Za-z0-9_-]`
/// (the SDK sends 32 lowercase hex digits: 128 random bits).
pub fn is_valid_stream(stream: &str) -> bool {
    (1..=MAX_STREAM_CHARS).contains(&stream.len())
        && stream
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl WireFix {
    /// What the validation rules look at ([`crate::fix_rules::validate`]).
    pub fn values(&self) -> FixValues {
        FixValues {
            time_ms: self.t,
            latitude_deg: self.la,
            longitude_deg: self.lo,
            horizontal_accuracy_m: self.ac,
            altitude_m: self.al,
            vertical_accuracy_m: self.va,
            speed_mps: self.sp,
            speed_accuracy_mps: self.sa,
            bearing_deg: self.be,
            bearing_accuracy_deg: self.ba,
            gnss_timed: self.pr.as_deref() == Some("gps"),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `value` rounded to a multiple of `1 / scale`: the wire's precision (1e7 for degrees, 10 for
/// tenths of a metre, 100 for hundredths).
pub fn round_to(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids_name_the_stream_and_both_ranges() {
        assert_eq!(batch_id("", Some((7, 9)), None), "7-9");
        assert_eq!(
            batch_id("ab12", Some((7, 9)), Some((1, 2))),
            "ab12:7-9.e1-2"
        );
        assert_eq!(batch_id("ab12", None, Some((3, 3))), "ab12:e3-3");
        assert!(is_valid_stream("0123456789abcdef0123456789abcdef"));
        for bad in ["", "a:b", "ünï", &"a".repeat(65)] {
            assert!(!is_valid_stream(bad), "{bad}");
        }
    }
}

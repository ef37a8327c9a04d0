//! Ingest protocol v1: the JSON wire types shared by the SDK and the reference collector.
//! The normative description is `docs/ingest-protocol.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fix::{Fix, Provider};
use crate::store::{StoredEvent, StoredFix};

/// Version carried in every body; the collector refuses other values with 400.
pub const PROTOCOL_VERSION: u32 = 1;
/// Path of the ingest endpoint relative to the collector's root.
pub const INGEST_PATH: &str = "/v1/batches";
pub const CONTENT_TYPE_JSON: &str = "application/json";
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

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

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn round_to(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}

impl WireFix {
    pub fn from_fix(fix: &Fix) -> WireFix {
        let tenth = |v: Option<f64>| v.map(|x| round_to(x, 10.0));
        WireFix {
            t: fix.time_ms,
            la: round_to(fix.latitude_deg, 1e7),
            lo: round_to(fix.longitude_deg, 1e7),
            // Rounding must not turn a valid fix into one the server refuses: accuracy stays
            // above zero and a bearing of 359.97 wraps to 0 rather than becoming 360.
            ac: round_to(fix.horizontal_accuracy_m, 10.0).max(0.1),
            al: tenth(fix.altitude_m),
            va: tenth(fix.vertical_accuracy_m),
            sp: fix.speed_mps.map(|x| round_to(x, 100.0)),
            sa: tenth(fix.speed_accuracy_mps),
            be: tenth(fix.bearing_deg).map(|b| if b >= 360.0 { 0.0 } else { b }),
            ba: tenth(fix.bearing_accuracy_deg),
            pr: match fix.provider {
                Provider::Unknown => None,
                p => Some(p.wire_name().to_owned()),
            },
            mk: fix.is_mock,
            sla: None,
            slo: None,
            sac: None,
            tr: None,
            x: BTreeMap::new(),
        }
    }

    /// A queued fix, with its smoothed position when one was kept.
    pub fn from_stored(stored: &StoredFix) -> WireFix {
        let mut wire = WireFix::from_fix(&stored.fix);
        if let Some(s) = stored.smoothed {
            wire.sla = Some(round_to(s.latitude_deg, 1e7));
            wire.slo = Some(round_to(s.longitude_deg, 1e7));
            wire.sac = Some(round_to(s.accuracy_m, 10.0).max(0.1));
        }
        wire.tr.clone_from(&stored.annotation.trip_id);
        wire.x = stored.annotation.extras.iter().cloned().collect();
        wire
    }

    /// Back to a `Fix` (the collector and tests use this). The monotonic clock is not sent.
    pub fn to_fix(&self) -> Fix {
        Fix {
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
            provider: self
                .pr
                .as_deref()
                .map_or(Provider::Unknown, Provider::from_wire_name),
            is_mock: self.mk,
            elapsed_realtime_ns: None,
        }
    }
}

impl WireEvent {
    pub fn from_stored(stored: &StoredEvent) -> WireEvent {
        let event = &stored.event;
        WireEvent {
            s: stored.seq,
            t: event.time_ms,
            k: event.kind.wire_name().to_owned(),
            id: event.subject.clone(),
            la: event.position.map(|p| round_to(p.0, 1e7)),
            lo: event.position.map(|p| round_to(p.1, 1e7)),
            m: event.metadata.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_are_omitted_and_names_are_short() {
        let fix = Fix::new(1_700_000_000_123, 37.422_578_123, -122.081_678_9, 4.56);
        let json = serde_json::to_string(&WireFix::from_fix(&fix)).unwrap();
        assert_eq!(
            json,
            r#"{"t":1700000000123,"la":37.4225781,"lo":-122.0816789,"ac":4.6}"#
        );
    }

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

    #[test]
    fn rounding_keeps_valid_fixes_valid() {
        let fix = Fix {
            bearing_deg: Some(359.97),
            ..Fix::new(1_700_000_000_000, 1.0, 2.0, 0.01)
        };
        let back = WireFix::from_fix(&fix).to_fix();
        assert_eq!(back.bearing_deg, Some(0.0));
        assert_eq!(back.horizontal_accuracy_m, 0.1);
        assert_eq!(crate::fix::validate(&back, 1_700_000_000_000), Ok(()));
    }

    #[test]
    fn round_trip_keeps_every_field_to_wire_precision() {
        let fix = Fix {
            altitude_m: Some(12.34),
            speed_mps: Some(3.217),
            bearing_deg: Some(359.9),
            provider: Provider::Fused,
            is_mock: true,
            ..Fix::new(1_700_000_000_000, 1.0, 2.0, 3.0)
        };
        let wire: WireFix =
            serde_json::from_str(&serde_json::to_string(&WireFix::from_fix(&fix)).unwrap())
                .unwrap();
        let back = wire.to_fix();
        assert_eq!(back.altitude_m, Some(12.3));
        assert_eq!(back.speed_mps, Some(3.22));
        assert_eq!(back.provider, Provider::Fused);
        assert!(back.is_mock);
    }
}

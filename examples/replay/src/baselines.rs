//! Baseline policies, simulated beside the core in the same run (not through the core):
//!
//! - `naive`: GNSS at 1 Hz all day, one upload per fix: what an app developer writes by hand.
//! - `peer-default`: the common SDK default: a 10 m distance filter; stationary after
//!   5 minutes without moving [`PEER_STILL_RADIUS_M`], then GNSS off behind a 150 m
//!   stationary geofence until the OS reports its exit; one upload per fix.
//! - `oracle`: knows when the phone truly moves: GNSS at 1 Hz exactly then, one upload per
//!   15 minutes of movement and one at each stop. The reference limit.
//!
//! Upload sizes come from the core's own encoder (gzip'd JSON), so bytes compare fairly.

use serde_json::json;
use tracelet_core::Fix;
use tracelet_core::filter::Activity;
use tracelet_core::geodesy::distance_m;
use tracelet_core::policy::{Priority, SamplingRequest, StationaryGeofence};
use tracelet_core::store::StoredFix;
use tracelet_core::upload::{Encoding, encode_batch};

/// A stream id of the SDK's length (32 hex digits), so that baseline bodies weigh what real
/// ones do.
const BASELINE_STREAM: &str = "0123456789abcdef0123456789abcdef";

use crate::geo::Point;
use crate::subject::{Outcome, Subject, Upload};
use crate::truth::Interval;

pub const PEER_DISTANCE_FILTER_M: f64 = 10.0;
pub const PEER_STOP_TIMEOUT_MS: i64 = 5 * 60_000;
/// Movement smaller than this does not reset the peer's stop timer (its `stationaryRadius`).
pub const PEER_STILL_RADIUS_M: f64 = 25.0;
pub const PEER_GEOFENCE_RADIUS_M: f64 = 150.0;
pub const ORACLE_UPLOAD_EVERY_MOVING_MS: i64 = 15 * 60_000;
/// "GNSS off": no requests of our own, and no heartbeat worth the name.
const IDLE_INTERVAL_MS: i64 = 3_600_000;

fn gnss_1hz(min_distance_m: f64) -> SamplingRequest {
    SamplingRequest {
        priority: Priority::HighAccuracy,
        interval_ms: 1_000,
        fastest_interval_ms: 1_000,
        min_distance_m,
        max_batch_delay_ms: 0,
        stationary_geofence: None,
    }
}

fn gnss_off(geofence: Option<StationaryGeofence>) -> SamplingRequest {
    SamplingRequest {
        priority: Priority::Passive,
        interval_ms: IDLE_INTERVAL_MS,
        fastest_interval_ms: 60_000,
        min_distance_m: 0.0,
        max_batch_delay_ms: 0,
        stationary_geofence: geofence,
    }
}

/// Stores fixes and uploads them, as a hand-written tracker would.
#[derive(Default)]
struct Recorder {
    stored: Vec<Fix>,
    pending: Vec<StoredFix>,
    uploads: Vec<Upload>,
    /// The size of a one-fix batch: computed once, since gzip'ing tens of thousands of single
    /// fixes would dominate the run time and they differ by a byte or two.
    single_fix_bytes: Option<u64>,
}

impl Recorder {
    fn store(&mut self, fixes: Vec<Fix>) {
        for fix in fixes {
            let seq = self.stored.len() as u64 + 1;
            self.stored.push(fix.clone());
            self.pending.push(StoredFix {
                seq,
                fix,
                smoothed: None,
                annotation: Default::default(),
            });
        }
    }

    fn upload(&mut self, now_ms: i64) {
        if self.pending.is_empty() {
            return;
        }
        let bytes = match (self.pending.len(), self.single_fix_bytes) {
            (1, Some(bytes)) => bytes,
            (n, _) => {
                let bytes = encode_batch(
                    "replay-device",
                    BASELINE_STREAM,
                    &self.pending,
                    &[],
                    &Default::default(),
                    Encoding::Json,
                )
                .map_or(0, |b| b.body.len() as u64);
                if n == 1 {
                    self.single_fix_bytes = Some(bytes);
                }
                bytes
            }
        };
        self.uploads.push(Upload {
            time_ms: now_ms,
            bytes,
            fixes: self.pending.len() as u64,
        });
        self.pending.clear();
    }

    fn outcome(mut self, now_ms: i64, extra: serde_json::Value) -> Outcome {
        self.upload(now_ms);
        let n = self.stored.len() as u64;
        Outcome {
            fixes_accepted: n,
            fixes_rejected: 0,
            fixes_stored: n,
            track: self
                .stored
                .iter()
                .map(|f| Point {
                    time_ms: f.time_ms,
                    lat: f.latitude_deg,
                    lon: f.longitude_deg,
                })
                .collect(),
            uploads: self.uploads,
            extra: extra.as_object().cloned().unwrap_or_default(),
            odometer: Vec::new(),
            geofence_events: Vec::new(),
        }
    }
}

#[derive(Default)]
pub struct Naive {
    recorder: Recorder,
}

impl Subject for Naive {
    fn name(&self) -> String {
        "naive".into()
    }
    fn request(&self) -> SamplingRequest {
        gnss_1hz(0.0)
    }
    fn stationary(&self) -> bool {
        false
    }
    fn on_fixes(&mut self, fixes: Vec<Fix>, now_ms: i64) -> Result<(), String> {
        for fix in fixes {
            self.recorder.store(vec![fix]);
            self.recorder.upload(now_ms);
        }
        Ok(())
    }
    fn on_activity(&mut self, _: Activity, _: i64) -> Result<(), String> {
        Ok(())
    }
    fn on_geofence_exit(&mut self, _: i64) -> Result<(), String> {
        Ok(())
    }
    fn tick(&mut self, _: i64) -> Result<(), String> {
        Ok(())
    }
    fn finish(self: Box<Self>, now_ms: i64) -> Result<Outcome, String> {
        Ok(self.recorder.outcome(
            now_ms,
            json!({"policy": "GNSS 1 Hz always on, one upload per fix"}),
        ))
    }
}

#[derive(Default)]
pub struct PeerDefault {
    recorder: Recorder,
    /// Where the phone last moved from, and when.
    anchor: Option<(f64, f64, i64)>,
    geofence: Option<StationaryGeofence>,
}

impl Subject for PeerDefault {
    fn name(&self) -> String {
        "peer-default".into()
    }
    fn request(&self) -> SamplingRequest {
        match self.geofence {
            Some(g) => gnss_off(Some(g)),
            None => gnss_1hz(PEER_DISTANCE_FILTER_M),
        }
    }
    fn stationary(&self) -> bool {
        self.geofence.is_some()
    }
    fn on_fixes(&mut self, fixes: Vec<Fix>, now_ms: i64) -> Result<(), String> {
        for fix in fixes {
            let moved = self.anchor.is_none_or(|(lat, lon, _)| {
                distance_m(lat, lon, fix.latitude_deg, fix.longitude_deg) > PEER_STILL_RADIUS_M
            });
            if moved && self.geofence.is_none() {
                self.anchor = Some((fix.latitude_deg, fix.longitude_deg, now_ms));
            }
            self.recorder.store(vec![fix]);
            self.recorder.upload(now_ms);
        }
        Ok(())
    }
    fn on_activity(&mut self, _: Activity, _: i64) -> Result<(), String> {
        Ok(())
    }
    fn on_geofence_exit(&mut self, now_ms: i64) -> Result<(), String> {
        self.geofence = None;
        self.anchor = None;
        let _ = now_ms;
        Ok(())
    }
    fn tick(&mut self, now_ms: i64) -> Result<(), String> {
        if let (None, Some((lat, lon, since))) = (self.geofence, self.anchor) {
            if now_ms - since >= PEER_STOP_TIMEOUT_MS {
                self.geofence = Some(StationaryGeofence {
                    latitude_deg: lat,
                    longitude_deg: lon,
                    radius_m: PEER_GEOFENCE_RADIUS_M,
                });
            }
        }
        Ok(())
    }
    fn finish(self: Box<Self>, now_ms: i64) -> Result<Outcome, String> {
        Ok(self.recorder.outcome(
            now_ms,
            json!({"policy": {
                "distance_filter_m": PEER_DISTANCE_FILTER_M,
                "stop_timeout_ms": PEER_STOP_TIMEOUT_MS,
                "still_radius_m": PEER_STILL_RADIUS_M,
                "geofence_radius_m": PEER_GEOFENCE_RADIUS_M,
                "upload": "one per fix",
            }}),
        ))
    }
}

pub struct Oracle {
    recorder: Recorder,
    moving: Vec<Interval>,
    was_moving: bool,
    moving_ms: i64,
    moving_at_last_upload_ms: i64,
}

impl Oracle {
    pub fn new(moving: Vec<Interval>) -> Oracle {
        Oracle {
            recorder: Recorder::default(),
            moving,
            was_moving: false,
            moving_ms: 0,
            moving_at_last_upload_ms: 0,
        }
    }

    fn moving_at(&self, t: i64) -> bool {
        let i = self.moving.partition_point(|m| m.end_ms <= t);
        self.moving.get(i).is_some_and(|m| m.contains(t))
    }
}

impl Subject for Oracle {
    fn name(&self) -> String {
        "oracle".into()
    }
    fn request(&self) -> SamplingRequest {
        if self.was_moving {
            gnss_1hz(0.0)
        } else {
            gnss_off(None)
        }
    }
    fn stationary(&self) -> bool {
        !self.was_moving
    }
    fn on_fixes(&mut self, fixes: Vec<Fix>, _: i64) -> Result<(), String> {
        // GNSS runs only while moving; the heartbeat of "off" is not wanted.
        let keep: Vec<Fix> = fixes
            .into_iter()
            .filter(|f| f.provider != tracelet_core::fix::Provider::Network)
            .collect();
        self.recorder.store(keep);
        Ok(())
    }
    fn on_activity(&mut self, _: Activity, _: i64) -> Result<(), String> {
        Ok(())
    }
    fn on_geofence_exit(&mut self, _: i64) -> Result<(), String> {
        Ok(())
    }
    fn tick(&mut self, now_ms: i64) -> Result<(), String> {
        let moving = self.moving_at(now_ms);
        if moving {
            self.moving_ms += 1_000;
            if self.moving_ms - self.moving_at_last_upload_ms >= ORACLE_UPLOAD_EVERY_MOVING_MS {
                self.recorder.upload(now_ms);
                self.moving_at_last_upload_ms = self.moving_ms;
            }
        } else if self.was_moving {
            self.recorder.upload(now_ms);
            self.moving_at_last_upload_ms = self.moving_ms;
        }
        self.was_moving = moving;
        Ok(())
    }
    fn finish(self: Box<Self>, now_ms: i64) -> Result<Outcome, String> {
        Ok(self.recorder.outcome(
            now_ms,
            json!({"policy": {
                "gnss": "1 Hz exactly while truly moving",
                "upload_every_moving_ms": ORACLE_UPLOAD_EVERY_MOVING_MS,
                "upload_at_each_stop": true,
            }}),
        ))
    }
}

//! What the app receives for every accepted fix: a [`Location`], delivered to its
//! [`LocationListener`] after the fix is committed, and kept as the last known location across
//! restarts.
//!
//! A location is the fix as stored: inside a privacy zone that coarsens, the zone's centre
//! (`crate::privacy`), never the raw position.

use serde::{Deserialize, Serialize};

use crate::fix::Provider;
use crate::policy::MotionState;

/// One accepted fix, with what the tracker knows about it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "uniffi", uniffi(name = "TraceletLocation"))]
pub struct Location {
    /// The queue's sequence number of the stored fix.
    pub seq: u64,
    /// UTC time of the fix, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The stored (raw) position.
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    /// 68 % radius, metres.
    pub accuracy_m: f64,
    /// The filter's smoothed position and its accuracy, when it has one.
    pub smoothed_latitude_deg: Option<f64>,
    pub smoothed_longitude_deg: Option<f64>,
    pub smoothed_accuracy_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub altitude_m: Option<f64>,
    pub provider: Provider,
    pub is_mock: bool,
    /// The motion policy's state after this fix.
    pub motion_state: MotionState,
    /// The trip the app had started when the fix was recorded.
    pub trip_id: Option<String>,
    /// The odometer after this fix, and its uncertainty (one standard deviation), metres.
    pub odometer_m: f64,
    pub odometer_uncertainty_m: f64,
}

/// Receives a [`Location`] for every accepted fix, in order, on the thread that recorded it,
/// after the fix is committed and no lock is held. Must return quickly and must not call back
/// into the tracker synchronously.
pub trait LocationListener: Send + Sync {
    fn on_location(&self, location: Location);
}

/// The persisted form (a meta value): plain names for the enums.
#[derive(Serialize, Deserialize)]
struct Stored {
    seq: u64,
    time_ms: i64,
    lat: f64,
    lon: f64,
    accuracy_m: f64,
    smoothed: Option<(f64, f64, f64)>,
    speed_mps: Option<f64>,
    bearing_deg: Option<f64>,
    altitude_m: Option<f64>,
    provider: String,
    is_mock: bool,
    motion: String,
    trip_id: Option<String>,
    odometer_m: f64,
    odometer_uncertainty_m: f64,
}

impl Location {
    pub(crate) fn to_json(&self) -> String {
        let smoothed = match (
            self.smoothed_latitude_deg,
            self.smoothed_longitude_deg,
            self.smoothed_accuracy_m,
        ) {
            (Some(a), Some(b), Some(c)) => Some((a, b, c)),
            _ => None,
        };
        let stored = Stored {
            seq: self.seq,
            time_ms: self.time_ms,
            lat: self.latitude_deg,
            lon: self.longitude_deg,
            accuracy_m: self.accuracy_m,
            smoothed,
            speed_mps: self.speed_mps,
            bearing_deg: self.bearing_deg,
            altitude_m: self.altitude_m,
            provider: self.provider.wire_name().to_owned(),
            is_mock: self.is_mock,
            motion: motion_name(self.motion_state).to_owned(),
            trip_id: self.trip_id.clone(),
            odometer_m: self.odometer_m,
            odometer_uncertainty_m: self.odometer_uncertainty_m,
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// The persisted location; `None` for a value this version cannot read.
    pub(crate) fn from_json(text: &str) -> Option<Location> {
        let s: Stored = serde_json::from_str(text).ok()?;
        Some(Location {
            seq: s.seq,
            time_ms: s.time_ms,
            latitude_deg: s.lat,
            longitude_deg: s.lon,
            accuracy_m: s.accuracy_m,
            smoothed_latitude_deg: s.smoothed.map(|v| v.0),
            smoothed_longitude_deg: s.smoothed.map(|v| v.1),
            smoothed_accuracy_m: s.smoothed.map(|v| v.2),
            speed_mps: s.speed_mps,
            bearing_deg: s.bearing_deg,
            altitude_m: s.altitude_m,
            provider: Provider::from_wire_name(&s.provider),
            is_mock: s.is_mock,
            motion_state: match s.motion.as_str() {
                "stationary" => MotionState::Stationary,
                "stopping" => MotionState::Stopping,
                _ => MotionState::Moving,
            },
            trip_id: s.trip_id,
            odometer_m: s.odometer_m,
            odometer_uncertainty_m: s.odometer_uncertainty_m,
        })
    }
}

fn motion_name(state: MotionState) -> &'static str {
    match state {
        MotionState::Moving => "moving",
        MotionState::Stopping => "stopping",
        MotionState::Stationary => "stationary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_survives_its_persisted_form() {
        let location = Location {
            seq: 42,
            time_ms: 1_700_000_000_000,
            latitude_deg: 48.5,
            longitude_deg: 11.25,
            accuracy_m: 4.0,
            smoothed_latitude_deg: Some(48.5),
            smoothed_longitude_deg: Some(11.25),
            smoothed_accuracy_m: Some(3.0),
            speed_mps: Some(1.5),
            bearing_deg: None,
            altitude_m: Some(500.0),
            provider: Provider::Gps,
            is_mock: true,
            motion_state: MotionState::Stopping,
            trip_id: Some("trip-1".into()),
            odometer_m: 1234.5,
            odometer_uncertainty_m: 12.0,
        };
        assert_eq!(Location::from_json(&location.to_json()), Some(location));
        assert_eq!(Location::from_json("garbage"), None);
    }
}

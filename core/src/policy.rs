//! What the core asks of the OS location API. The motion state machine that chooses between
//! requests grows here; the platform layers only apply what they are given.

/// How hard the OS should work for a fix, from most to least power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// GNSS: best accuracy, highest power.
    HighAccuracy,
    /// Wi-Fi and cell, GNSS when cheap: about 100 m.
    Balanced,
    /// Cell towers: about 1-10 km.
    LowPower,
    /// No requests of our own; take fixes other apps caused.
    Passive,
}

/// A circle the OS watches for the device to leave, so that GNSS can be off while still.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StationaryGeofence {
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub radius_m: f64,
}

/// The sampling the core wants from the OS right now.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingRequest {
    pub priority: Priority,
    /// Desired interval between fixes.
    pub interval_ms: i64,
    /// Fixes may arrive this often when another app asks for more.
    pub fastest_interval_ms: i64,
    /// The OS may skip fixes closer than this to the previous one.
    pub min_distance_m: f64,
    /// The OS may hold fixes back this long and deliver them in one batch (saves wake-ups).
    pub max_batch_delay_ms: i64,
    pub stationary_geofence: Option<StationaryGeofence>,
}

impl SamplingRequest {
    /// The fixed request used until the motion state machine decides otherwise: GNSS at
    /// 0.2 Hz with a 10 m distance filter and up to a minute of hardware batching.
    pub fn moving_balanced() -> SamplingRequest {
        SamplingRequest {
            priority: Priority::HighAccuracy,
            interval_ms: 5_000,
            fastest_interval_ms: 1_000,
            min_distance_m: 10.0,
            max_batch_delay_ms: 60_000,
            stationary_geofence: None,
        }
    }

    /// True when every field is in the range the platform layers can apply.
    pub fn is_valid(&self) -> bool {
        self.interval_ms > 0
            && self.fastest_interval_ms > 0
            && self.fastest_interval_ms <= self.interval_ms
            && self.min_distance_m.is_finite()
            && self.min_distance_m >= 0.0
            && self.max_batch_delay_ms >= 0
            && self.stationary_geofence.is_none_or(|g| {
                g.latitude_deg.abs() <= 90.0
                    && g.longitude_deg.abs() <= 180.0
                    && g.radius_m.is_finite()
                    && g.radius_m > 0.0
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_request_is_valid() {
        assert!(SamplingRequest::moving_balanced().is_valid());
    }

    #[test]
    fn a_fastest_interval_above_the_interval_is_invalid() {
        let mut r = SamplingRequest::moving_balanced();
        r.fastest_interval_ms = r.interval_ms + 1;
        assert!(!r.is_valid());
    }
}

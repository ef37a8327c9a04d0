//! The `Fix` record handed over by the OS, and its validation.
//!
//! Validation never panics and never echoes coordinates: location history is personal data, so
//! an error names the field and the rule, not the value.

pub use tracelet_protocol::fix_rules::{
    FixError, FixValues, MAX_ACCURACY_M, MAX_FUTURE_SKEW_MS, MAX_GNSS_AHEAD_MS,
    MAX_REPORTED_SPEED_MPS, MIN_PLAUSIBLE_TIME_MS, REORDER_WINDOW_MS,
};

/// Where a fix came from, as reported by the OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Provider {
    Gps,
    Fused,
    Network,
    Passive,
    Unknown,
}

impl Provider {
    /// The short wire name used by ingest protocol v1.
    pub fn wire_name(self) -> &'static str {
        match self {
            Provider::Gps => "gps",
            Provider::Fused => "fused",
            Provider::Network => "network",
            Provider::Passive => "passive",
            Provider::Unknown => "unknown",
        }
    }

    pub fn from_wire_name(name: &str) -> Provider {
        match name {
            "gps" => Provider::Gps,
            "fused" => Provider::Fused,
            "network" => Provider::Network,
            "passive" => Provider::Passive,
            _ => Provider::Unknown,
        }
    }
}

/// One position report from the OS.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Fix {
    /// UTC time of the fix, milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    /// Horizontal accuracy (68 % radius), metres. Required.
    pub horizontal_accuracy_m: f64,
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub altitude_m: Option<f64>,
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub vertical_accuracy_m: Option<f64>,
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub speed_mps: Option<f64>,
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub speed_accuracy_mps: Option<f64>,
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub bearing_deg: Option<f64>,
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub bearing_accuracy_deg: Option<f64>,
    pub provider: Provider,
    /// Set by the OS when a mock-location app produced the fix.
    #[cfg_attr(feature = "uniffi", uniffi(default = false))]
    pub is_mock: bool,
    /// Monotonic time since boot, nanoseconds (Android `elapsedRealtimeNanos`), where given.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub elapsed_realtime_ns: Option<i64>,
}

impl Fix {
    /// What the validation rules look at.
    pub fn values(&self) -> FixValues {
        FixValues {
            time_ms: self.time_ms,
            latitude_deg: self.latitude_deg,
            longitude_deg: self.longitude_deg,
            horizontal_accuracy_m: self.horizontal_accuracy_m,
            altitude_m: self.altitude_m,
            vertical_accuracy_m: self.vertical_accuracy_m,
            speed_mps: self.speed_mps,
            speed_accuracy_mps: self.speed_accuracy_mps,
            bearing_deg: self.bearing_deg,
            bearing_accuracy_deg: self.bearing_accuracy_deg,
            gnss_timed: self.provider == Provider::Gps,
        }
    }

    /// A fix with only the required fields; the rest can be filled in with struct update syntax.
    pub fn new(time_ms: i64, latitude_deg: f64, longitude_deg: f64, accuracy_m: f64) -> Fix {
        Fix {
            time_ms,
            latitude_deg,
            longitude_deg,
            horizontal_accuracy_m: accuracy_m,
            altitude_m: None,
            vertical_accuracy_m: None,
            speed_mps: None,
            speed_accuracy_mps: None,
            bearing_deg: None,
            bearing_accuracy_deg: None,
            provider: Provider::Unknown,
            is_mock: false,
            elapsed_realtime_ns: None,
        }
    }
}

/// Checks one fix against the rules every later stage relies on (the protocol's, so that the
/// server accepts whatever the SDK stored).
pub fn validate(fix: &Fix, now_ms: i64) -> Result<(), FixError> {
    tracelet_protocol::fix_rules::validate(&fix.values(), now_ms)
}

/// Whether a fix stamped `fix_time_ms`, arriving when the newest fix seen so far was stamped
/// `newest_ms`, shows that the clock stamping fixes went back (a user or the network set it):
/// the fix is far older than the newest, and the newest lies ahead of the device clock. A late
/// fix from batching is within [`REORDER_WINDOW_MS`]; a stale one from a cache is older than the
/// newest while the newest agrees with the device clock. The filter and the geofences both start
/// following the new timeline then, instead of refusing every later fix as out of order.
pub fn time_went_back(newest_ms: i64, fix_time_ms: i64, wall_now_ms: i64) -> bool {
    fix_time_ms < newest_ms.saturating_sub(REORDER_WINDOW_MS)
        && newest_ms > wall_now_ms.saturating_add(MAX_FUTURE_SKEW_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000_000;

    fn good() -> Fix {
        Fix::new(NOW, 48.85, 2.35, 5.0)
    }

    #[test]
    fn accepts_a_plain_fix() {
        assert_eq!(validate(&good(), NOW), Ok(()));
    }

    #[test]
    fn refuses_nan_latitude_without_echoing_it() {
        let fix = Fix {
            latitude_deg: f64::NAN,
            ..good()
        };
        let err = validate(&fix, NOW).unwrap_err();
        assert_eq!(err, FixError::NotFinite { field: "latitude" });
        assert!(!err.to_string().contains("NaN"));
    }

    #[test]
    fn refuses_out_of_range_coordinates() {
        let lat = Fix {
            latitude_deg: 90.5,
            ..good()
        };
        let lon = Fix {
            longitude_deg: -180.01,
            ..good()
        };
        assert_eq!(validate(&lat, NOW), Err(FixError::LatitudeOutOfRange));
        assert_eq!(validate(&lon, NOW), Err(FixError::LongitudeOutOfRange));
    }

    #[test]
    fn refuses_zero_negative_and_absurd_accuracy() {
        for acc in [0.0, -1.0, 1e9] {
            let fix = Fix {
                horizontal_accuracy_m: acc,
                ..good()
            };
            assert_eq!(validate(&fix, NOW), Err(FixError::BadAccuracy), "{acc}");
        }
    }

    #[test]
    fn refuses_times_before_2000_and_far_in_the_future() {
        let old = Fix {
            time_ms: 0,
            ..good()
        };
        let future = Fix {
            time_ms: NOW + MAX_FUTURE_SKEW_MS + 1,
            ..good()
        };
        assert_eq!(validate(&old, NOW), Err(FixError::TimeTooOld));
        assert_eq!(validate(&future, NOW), Err(FixError::TimeInFuture));
    }

    #[test]
    fn refuses_negative_speed_and_bad_bearing() {
        let speed = Fix {
            speed_mps: Some(-0.1),
            ..good()
        };
        let bearing = Fix {
            bearing_deg: Some(360.0),
            ..good()
        };
        assert_eq!(
            validate(&speed, NOW),
            Err(FixError::Negative { field: "speed" })
        );
        assert_eq!(validate(&bearing, NOW), Err(FixError::BearingOutOfRange));
    }

    proptest! {
        /// Any combination of values either validates or yields an error; accepted fixes keep
        /// every invariant later stages rely on.
        #[test]
        fn validation_is_total_and_sound(
            lat in proptest::num::f64::ANY,
            lon in proptest::num::f64::ANY,
            acc in proptest::num::f64::ANY,
            speed in proptest::option::of(proptest::num::f64::ANY),
            bearing in proptest::option::of(proptest::num::f64::ANY),
            time_ms in proptest::num::i64::ANY,
        ) {
            let fix = Fix { speed_mps: speed, bearing_deg: bearing, ..Fix::new(time_ms, lat, lon, acc) };
            if validate(&fix, NOW).is_ok() {
                prop_assert!(lat.abs() <= 90.0 && lon.abs() <= 180.0);
                prop_assert!(acc > 0.0 && acc.is_finite());
                prop_assert!(speed.is_none_or(|s| (0.0..=MAX_REPORTED_SPEED_MPS).contains(&s)));
                prop_assert!(time_ms <= NOW + MAX_FUTURE_SKEW_MS);
            }
        }
    }
}

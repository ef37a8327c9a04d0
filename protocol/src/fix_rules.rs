//! The rules a fix must meet, shared by the SDK (before it stores a fix) and every receiver
//! (before it stores a batch), so that both refuse the same values.
//!
//! Errors name the field and the rule, never the value: location history is personal data.

use thiserror::Error;

/// Earliest plausible fix time: 2000-01-01T00:00:00Z. Older values are uninitialised clocks.
pub const MIN_PLAUSIBLE_TIME_MS: i64 = 946_684_800_000;
/// How far a fix may lie in the future of the injected clock before it is refused.
pub const MAX_FUTURE_SKEW_MS: i64 = 10 * 60 * 1000;
/// How far ahead of the device clock a fix stamped by the satellite receiver may be. Android's
/// GPS provider reports GNSS time, which is right when the device clock is not (set by hand,
/// never synced): such fixes are accepted up to this far ahead. Other providers stamp fixes with
/// the device clock, so anything ahead of it by more than [`MAX_FUTURE_SKEW_MS`] is broken.
pub const MAX_GNSS_AHEAD_MS: i64 = 30 * 24 * 3600 * 1000;
/// Fixes arrive out of order only within the OS's batching, a few minutes at most. One older
/// than the newest fix by more than this is not a late fix but a sign that the clock stamping
/// the fixes was set back (the SDK's `fix::time_went_back`).
pub const REORDER_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Largest speed any phone reports honestly (a jet is ~300 m/s); larger is a broken value.
pub const MAX_REPORTED_SPEED_MPS: f64 = 1_000.0;
/// Largest horizontal accuracy worth storing at all (beyond this it is not a position).
pub const MAX_ACCURACY_M: f64 = 100_000.0;

/// The measured values of one fix, as the rules see them: the SDK's `Fix` and the wire's
/// `WireFix` both lend theirs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixValues {
    /// UTC milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub horizontal_accuracy_m: f64,
    pub altitude_m: Option<f64>,
    pub vertical_accuracy_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub speed_accuracy_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub bearing_accuracy_deg: Option<f64>,
    /// Stamped by the satellite receiver (Android's GPS provider reports GNSS time), which may
    /// rightly lead a device clock that was never synced.
    pub gnss_timed: bool,
}

/// Why a fix was refused. Carries field names and rules only, never coordinates.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FixError {
    #[error("{field} is not a finite number")]
    NotFinite { field: &'static str },
    #[error("latitude is outside [-90, 90]")]
    LatitudeOutOfRange,
    #[error("longitude is outside [-180, 180]")]
    LongitudeOutOfRange,
    #[error("horizontal accuracy must be > 0 and <= {MAX_ACCURACY_M} m")]
    BadAccuracy,
    #[error("{field} must not be negative")]
    Negative { field: &'static str },
    #[error("bearing must be in [0, 360)")]
    BearingOutOfRange,
    #[error("speed is above {MAX_REPORTED_SPEED_MPS} m/s")]
    SpeedImplausible,
    #[error("fix time is before 2000-01-01")]
    TimeTooOld,
    #[error(
        "fix time is ahead of the clock by more than {} s ({} days for GNSS-timed fixes)",
        MAX_FUTURE_SKEW_MS / 1000,
        MAX_GNSS_AHEAD_MS / 86_400_000
    )]
    TimeInFuture,
}

/// Checks one fix against the rules every later stage relies on: the SDK before it stores a
/// fix, a receiver before it stores a batch.
pub fn validate(fix: &FixValues, now_ms: i64) -> Result<(), FixError> {
    finite("latitude", fix.latitude_deg)?;
    finite("longitude", fix.longitude_deg)?;
    finite("horizontal_accuracy", fix.horizontal_accuracy_m)?;
    for (field, value) in [
        ("altitude", fix.altitude_m),
        ("vertical_accuracy", fix.vertical_accuracy_m),
        ("speed", fix.speed_mps),
        ("speed_accuracy", fix.speed_accuracy_mps),
        ("bearing", fix.bearing_deg),
        ("bearing_accuracy", fix.bearing_accuracy_deg),
    ] {
        if let Some(v) = value {
            finite(field, v)?;
        }
    }
    if !(-90.0..=90.0).contains(&fix.latitude_deg) {
        return Err(FixError::LatitudeOutOfRange);
    }
    if !(-180.0..=180.0).contains(&fix.longitude_deg) {
        return Err(FixError::LongitudeOutOfRange);
    }
    if !(fix.horizontal_accuracy_m > 0.0 && fix.horizontal_accuracy_m <= MAX_ACCURACY_M) {
        return Err(FixError::BadAccuracy);
    }
    for (field, value) in [
        ("vertical_accuracy", fix.vertical_accuracy_m),
        ("speed", fix.speed_mps),
        ("speed_accuracy", fix.speed_accuracy_mps),
        ("bearing_accuracy", fix.bearing_accuracy_deg),
    ] {
        if value.is_some_and(|v| v < 0.0) {
            return Err(FixError::Negative { field });
        }
    }
    if fix.speed_mps.is_some_and(|v| v > MAX_REPORTED_SPEED_MPS) {
        return Err(FixError::SpeedImplausible);
    }
    if fix.bearing_deg.is_some_and(|b| !(0.0..360.0).contains(&b)) {
        return Err(FixError::BearingOutOfRange);
    }
    if fix.time_ms < MIN_PLAUSIBLE_TIME_MS {
        return Err(FixError::TimeTooOld);
    }
    let allowed_ahead = if fix.gnss_timed {
        MAX_GNSS_AHEAD_MS
    } else {
        MAX_FUTURE_SKEW_MS
    };
    if fix.time_ms > now_ms.saturating_add(allowed_ahead) {
        return Err(FixError::TimeInFuture);
    }
    Ok(())
}

fn finite(field: &'static str, value: f64) -> Result<(), FixError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(FixError::NotFinite { field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn values(time_ms: i64, gnss_timed: bool) -> FixValues {
        FixValues {
            time_ms,
            latitude_deg: 48.85,
            longitude_deg: 2.35,
            horizontal_accuracy_m: 5.0,
            altitude_m: None,
            vertical_accuracy_m: None,
            speed_mps: None,
            speed_accuracy_mps: None,
            bearing_deg: None,
            bearing_accuracy_deg: None,
            gnss_timed,
        }
    }

    #[test]
    fn errors_name_the_field_never_the_value() {
        let bad = FixValues {
            speed_mps: Some(f64::NAN),
            ..values(NOW, false)
        };
        let error = validate(&bad, NOW).unwrap_err();
        assert_eq!(error, FixError::NotFinite { field: "speed" });
        assert!(!error.to_string().contains("48.85"));
    }

    #[test]
    fn only_gnss_timed_fixes_may_lead_the_clock_by_more_than_the_skew() {
        let ahead = NOW + MAX_FUTURE_SKEW_MS + 60_000;
        assert_eq!(
            validate(&values(ahead, false), NOW),
            Err(FixError::TimeInFuture)
        );
        assert_eq!(validate(&values(ahead, true), NOW), Ok(()));
        let too_far = NOW + MAX_GNSS_AHEAD_MS + 1;
        assert_eq!(
            validate(&values(too_far, true), NOW),
            Err(FixError::TimeInFuture)
        );
    }
}

//! Recording under approximate-only permission.
//!
//! Android's coarse location and iOS's reduced accuracy report positions kilometres wide
//! (Android snaps them to a grid about 2 km across and hands one over at most every 10 minutes;
//! iOS reports 1-20 km). Every one of them fails the precise filter's accuracy gate, which used
//! to leave tracking "on" with nothing stored. The decision made here: store them, because
//! "which town, when" is still worth having, but sparsely (a stop cannot be told from a drive at
//! that accuracy, so the motion policy is not fed them and GNSS is never asked for).

use crate::filter::RejectReason;
use crate::fix::Fix;
use crate::policy::{Priority, SamplingRequest};

/// Coarser than this is not a position worth storing (iOS reports up to about 20 km).
pub const MAX_ACCURACY_M: f64 = 25_000.0;
/// At most one approximate fix per this interval: Android delivers coarse fixes no more often,
/// and more of the same grid cell adds nothing.
pub const MIN_INTERVAL_MS: i64 = 10 * 60_000;

/// What the OS is asked for while only approximate location is granted: a cheap network fix
/// every [`MIN_INTERVAL_MS`], never GNSS, no stationary geofence (it would need precise
/// location on both platforms).
pub fn sampling_request() -> SamplingRequest {
    SamplingRequest {
        priority: Priority::LowPower,
        interval_ms: MIN_INTERVAL_MS,
        fastest_interval_ms: MIN_INTERVAL_MS,
        min_distance_m: 0.0,
        max_batch_delay_ms: 0,
        stationary_geofence: None,
    }
}

/// Judges approximate fixes: in time order, not absurdly vague, one per interval.
#[derive(Debug, Clone, Default)]
pub struct ApproximateGate {
    last_kept_ms: Option<i64>,
}

impl ApproximateGate {
    /// `Ok` to store the (already validated) fix, or why not.
    pub fn judge(&mut self, fix: &Fix) -> Result<(), RejectReason> {
        if fix.horizontal_accuracy_m > MAX_ACCURACY_M {
            return Err(RejectReason::AccuracyTooLow);
        }
        if let Some(last) = self.last_kept_ms {
            if fix.time_ms == last {
                return Err(RejectReason::Duplicate);
            }
            if fix.time_ms < last {
                return Err(RejectReason::OutOfOrder);
            }
            if fix.time_ms - last < MIN_INTERVAL_MS {
                // The fix stored moments ago already says where the phone is, at this accuracy.
                return Err(RejectReason::Superseded);
            }
        }
        self.last_kept_ms = Some(fix.time_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn coarse(t_s: i64, accuracy_m: f64) -> Fix {
        Fix::new(T0 + t_s * 1000, 48.1, 11.5, accuracy_m)
    }

    #[test]
    fn a_two_kilometre_fix_every_ten_minutes_is_stored() {
        let mut gate = ApproximateGate::default();
        for i in 0..6 {
            assert_eq!(gate.judge(&coarse(i * 600, 2_000.0)), Ok(()));
        }
    }

    #[test]
    fn fixes_in_between_are_superseded_and_order_is_kept() {
        let mut gate = ApproximateGate::default();
        assert_eq!(gate.judge(&coarse(0, 2_000.0)), Ok(()));
        assert_eq!(
            gate.judge(&coarse(0, 2_000.0)),
            Err(RejectReason::Duplicate)
        );
        assert_eq!(
            gate.judge(&coarse(-5, 2_000.0)),
            Err(RejectReason::OutOfOrder)
        );
        assert_eq!(
            gate.judge(&coarse(60, 1_500.0)),
            Err(RejectReason::Superseded)
        );
        assert_eq!(gate.judge(&coarse(600, 1_500.0)), Ok(()));
    }

    #[test]
    fn absurdly_vague_fixes_are_refused() {
        let mut gate = ApproximateGate::default();
        assert_eq!(
            gate.judge(&coarse(0, 30_000.0)),
            Err(RejectReason::AccuracyTooLow)
        );
        assert_eq!(gate.judge(&coarse(1, 20_000.0)), Ok(()));
    }

    #[test]
    fn the_request_never_asks_for_gnss_and_is_valid() {
        let r = sampling_request();
        assert!(r.is_valid());
        assert_eq!(r.priority, Priority::LowPower);
        assert!(r.stationary_geofence.is_none());
    }
}

//! The odometer: distance along the accepted, filtered track, with an estimate of its own
//! uncertainty.
//!
//! Summing the distances between consecutive fixes counts every metre of noise: a phone lying on
//! a table with 5 m fixes "travels" kilometres a day. So distance is counted from an *anchor*
//! (the last counted position), never fix to fix, and only once the phone has provably left it:
//!
//! 1. **Accuracy-scaled gate.** A fix is away from the anchor only when their distance exceeds
//!    [`GATE_PER_ACCURACY`] times the combined accuracy of both (68 % radii added in quadrature),
//!    at least [`MIN_GATE_M`]. Noise of the reported size almost never crosses it.
//! 2. **Confirmation.** One fix beyond the gate is only a candidate; the next fix must be beyond
//!    the gate too and at least as far along the candidate's direction (less the noise of both).
//!    A lone outlier, or white noise, is not movement; a departure is.
//! 3. **Speed veto.** A fix whose receiver says it stands still (Doppler speed under
//!    [`STILL_SPEED_MPS`]) is never movement, unless its distance from the previous fix shows a
//!    speed above [`VETO_OVERRIDE_MPS`] (a phone reporting a constant 0 must not stop the
//!    odometer while driving).
//! 4. **Motion state.** While the motion policy holds the phone to be stopping or stationary,
//!    nothing is counted; movement it missed is counted as soon as it knows better, because
//!    the anchor stays where it was.
//!
//! Holding back loses nothing: the anchor stays put, and when movement is confirmed the whole
//! displacement from the anchor is counted. What is lost is only the bend of a path between
//! two counted positions (a chord instead of an arc) and the last uncounted stretch.
//!
//! Uncertainty (one standard deviation): every counted step carries the noise of its two ends
//! (per-axis variances from the 68 % radii), summed as if independent, an upper estimate since
//! the errors of consecutive steps partly cancel; added to it in quadrature is
//! [`PATH_SHAPE_FRACTION`] of the distance counted since the last reset, for what positions
//! cannot tell: the bends between counted positions, and sideways noise adding length.
//!
//! The state is small and serialisable: the tracker persists it with every stored fix, in the
//! same transaction, so a restarted app resumes counting where it stopped.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::filter::ACCURACY_68_PER_SIGMA;
use crate::geodesy::{LocalPlane, distance_m};
use crate::policy::MotionState;

/// Distance from the anchor, in combined 68 % radii, beyond which a fix is away from it.
/// 3.0 radii are 4.5 standard deviations of the displacement per axis: noise of the reported
/// size alone exceeds it with a probability under 1e-4, so that a phone whose accuracy is
/// optimistic by half still stays under it almost always. A wide gate costs a moving phone
/// nothing (the anchor keeps the displacement) and makes the counted chords longer, which keeps
/// sideways noise from adding length.
pub const GATE_PER_ACCURACY: f64 = 3.0;
/// Smallest gate, metres: below this no phone's accuracy claim is to be trusted.
pub const MIN_GATE_M: f64 = 5.0;
/// A Doppler speed under this means the receiver sees no movement, m/s (walking is 1.0+).
pub const STILL_SPEED_MPS: f64 = 0.5;
/// A step from the previous fix faster than this (beyond its noise) overrides a reported
/// standstill, m/s.
pub const VETO_OVERRIDE_MPS: f64 = 3.0;
/// A fix this many times more accurate than the anchor and within its gate replaces it, so that
/// a coarse first fix does not spoil every later distance.
pub const REFINE_ACCURACY_RATIO: f64 = 2.0;

/// Share of the counted distance that the path's unseen shape may add or take away. On the GSDC
/// drive the three presets, sampling from 1 Hz to sparse, read between -1.1 % and +0.9 % of the
/// truth.
pub const PATH_SHAPE_FRACTION: f64 = 0.01;

/// What the odometer reads: metres travelled and the uncertainty of that figure (one standard
/// deviation, metres).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OdometerReading {
    pub meters: f64,
    pub uncertainty_m: f64,
}

/// A reset value the odometer refuses; nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OdometerError {
    #[error("the odometer value must be a finite number of metres, 0 or more")]
    InvalidValue,
    #[error("storage failure: {0}")]
    Storage(String),
}

/// One accepted fix as the odometer sees it: the filtered position and its accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub lat: f64,
    pub lon: f64,
    /// 68 % radius, metres.
    pub accuracy_m: f64,
    pub time_ms: i64,
}

/// The odometer's whole state, persisted as one JSON value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Odometer {
    total_m: f64,
    variance_m2: f64,
    /// Counted since the last reset (the reset value itself is the app's, without uncertainty).
    #[serde(default)]
    counted_m: f64,
    /// Where counting continues from.
    anchor: Option<Mark>,
    /// Beyond the anchor's gate, waiting for the next fix to confirm it.
    candidate: Option<Mark>,
    /// The previous fix, for the speed veto's override.
    previous: Option<Mark>,
}

impl Odometer {
    pub fn reading(&self) -> OdometerReading {
        OdometerReading {
            meters: self.total_m,
            uncertainty_m: self
                .variance_m2
                .sqrt()
                .hypot(PATH_SHAPE_FRACTION * self.counted_m),
        }
    }

    /// Sets the reading (an app's own start value, or 0); counting goes on from the anchor.
    pub fn reset(&mut self, meters: f64) -> Result<(), OdometerError> {
        if !(meters.is_finite() && meters >= 0.0) {
            return Err(OdometerError::InvalidValue);
        }
        self.total_m = meters;
        self.variance_m2 = 0.0;
        self.counted_m = 0.0;
        Ok(())
    }

    /// Forgets where the phone was (tracking starts again: what happened while it was off is
    /// not counted), keeping the reading.
    pub fn forget_position(&mut self) {
        self.anchor = None;
        self.candidate = None;
        self.previous = None;
    }

    /// Takes one accepted fix, with the motion state the policy holds after it; returns the
    /// reading after it.
    pub fn observe(
        &mut self,
        mark: Mark,
        speed_mps: Option<f64>,
        motion: MotionState,
    ) -> OdometerReading {
        let previous = self.previous.replace(mark);
        let Some(anchor) = self.anchor else {
            self.anchor = Some(mark);
            return self.reading();
        };
        let reports_still = speed_mps.is_some_and(|s| s < STILL_SPEED_MPS)
            && previous.is_none_or(|p| step_speed_mps(&p, &mark) <= VETO_OVERRIDE_MPS);
        let away = distance_m(anchor.lat, anchor.lon, mark.lat, mark.lon) > gate_m(&anchor, &mark);
        if reports_still || motion != MotionState::Moving || !away {
            self.candidate = None;
            if !away && mark.accuracy_m * REFINE_ACCURACY_RATIO <= anchor.accuracy_m {
                self.anchor = Some(mark);
            }
            return self.reading();
        }
        match self.candidate.take() {
            Some(candidate) if confirms(&anchor, &candidate, &mark) => {
                self.count(&anchor, &candidate);
                self.anchor = Some(candidate);
                // The confirming fix may itself be a step beyond the new anchor.
                let away_again = distance_m(candidate.lat, candidate.lon, mark.lat, mark.lon)
                    > gate_m(&candidate, &mark);
                if away_again {
                    self.candidate = Some(mark);
                }
            }
            _ => self.candidate = Some(mark),
        }
        self.reading()
    }

    fn count(&mut self, from: &Mark, to: &Mark) {
        let step = distance_m(from.lat, from.lon, to.lat, to.lon);
        self.total_m += step;
        self.counted_m += step;
        self.variance_m2 += sigma_sq(from) + sigma_sq(to);
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The persisted state; a value this version cannot read starts a fresh odometer rather than
    /// failing the tracker.
    pub fn from_json(text: &str) -> Odometer {
        serde_json::from_str::<Odometer>(text)
            .ok()
            .filter(|o| o.total_m.is_finite() && o.total_m >= 0.0 && o.variance_m2 >= 0.0)
            .unwrap_or_default()
    }
}

/// Per-axis variance of a position with this 68 % radius.
fn sigma_sq(mark: &Mark) -> f64 {
    let sigma = mark.accuracy_m / ACCURACY_68_PER_SIGMA;
    sigma * sigma
}

fn gate_m(a: &Mark, b: &Mark) -> f64 {
    (GATE_PER_ACCURACY * a.accuracy_m.hypot(b.accuracy_m)).max(MIN_GATE_M)
}

/// Speed between two fixes beyond what their noise explains, m/s (0 when no time passed).
fn step_speed_mps(a: &Mark, b: &Mark) -> f64 {
    let dt_s = (b.time_ms - a.time_ms) as f64 / 1000.0;
    if dt_s <= 0.0 {
        return 0.0;
    }
    let d = distance_m(a.lat, a.lon, b.lat, b.lon) - a.accuracy_m.hypot(b.accuracy_m);
    d.max(0.0) / dt_s
}

/// The fix after a candidate confirms it when it is away from the anchor too and got at least
/// as far in the candidate's direction, less the noise of both.
fn confirms(anchor: &Mark, candidate: &Mark, mark: &Mark) -> bool {
    if distance_m(anchor.lat, anchor.lon, mark.lat, mark.lon) <= gate_m(anchor, mark) {
        return false;
    }
    let plane = LocalPlane::new(anchor.lat, anchor.lon);
    let (ce, cn) = plane.to_local(candidate.lat, candidate.lon);
    let (me, mn) = plane.to_local(mark.lat, mark.lon);
    let reach = ce.hypot(cn);
    if reach == 0.0 {
        return false;
    }
    let along = (me * ce + mn * cn) / reach;
    along >= reach - candidate.accuracy_m.hypot(mark.accuracy_m)
}

#[cfg(test)]
mod tests;

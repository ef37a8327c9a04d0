//! The phone's true path at 1 Hz, built from the trace (or from `--truth`), with the recorded
//! fix of each second where the trace has one.
//!
//! Sparse traces (e-mission: a fix every ~30 s during trips, none during stops) are
//! interpolated along the recorded path. Across a long gap the phone is held where it was and
//! only leaves in time to reach the next fix at a plausible speed, because a gap in such a
//! trace means "the recording app saw no movement", not "the phone crept across town".

use tracelet_core::Fix;

use crate::geo::{Point, position_at};

/// Recorded fixes vaguer than this are not used as waypoints of the true path (they are still
/// offered to the OS as recorded, since real bad fixes are part of the test).
pub const MAX_WAYPOINT_ACCURACY_M: f64 = 100.0;
/// A waypoint implying a faster move than this from the previous one is a jump, not a path.
pub const MAX_WAYPOINT_SPEED_MPS: f64 = 70.0;
/// Gaps longer than this are held in place before moving on.
pub const HOLD_GAP_MS: i64 = 60_000;
/// Speed assumed to leave a held position when the trace says nothing better (walking).
pub const DEFAULT_LEAVE_SPEED_MPS: f64 = 1.4;
/// Synthesized GNSS fixes never claim worse accuracy than this.
pub const MAX_SYNTH_ACCURACY_M: f64 = 50.0;

/// One simulated second.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Where the phone truly is.
    pub truth: Point,
    /// Speed along the true path, m/s.
    pub speed_mps: f64,
    /// Accuracy the trace recorded around this time (capped), for synthesized fixes.
    pub accuracy_m: f64,
    /// The recorded fix of this second, if the trace has one.
    pub recorded: Option<Fix>,
}

#[derive(Debug, Clone)]
pub struct Timeline {
    pub samples: Vec<Sample>,
    /// Seconds of the trace itself (the rest is the tail after its last fix).
    pub trace_samples: usize,
}

/// Builds the timeline from `start` to the last fix plus `tail_ms` of rest.
pub fn build(fixes: &[Fix], truth: Option<&[Point]>, tail_ms: i64) -> Option<Timeline> {
    let waypoints = waypoints(fixes);
    let path: Vec<Point> = match truth {
        Some(points) if !points.is_empty() => points.to_vec(),
        _ => held_path(&waypoints),
    };
    let start = fixes.first()?.time_ms.min(path.first()?.time_ms);
    let last = fixes.last()?.time_ms.max(path.last()?.time_ms);
    let trace_samples = usize::try_from((last - start) / 1000 + 1).ok()?;
    let total = trace_samples + usize::try_from(tail_ms.max(0) / 1000).ok()?;
    let mut recorded = fixes.iter().peekable();
    let mut samples = Vec::with_capacity(total);
    for k in 0..total {
        let t = start + k as i64 * 1000;
        let truth = position_at(&path, t)?;
        let ahead = position_at(&path, t + 1000)?;
        // The recorded fix of (t - 1 s, t]; earlier ones in the window were duplicates.
        let mut this_second = None;
        while let Some(f) = recorded.next_if(|f| f.time_ms <= t) {
            if f.time_ms > t - 1000 && this_second.is_none() {
                this_second = Some(f.clone());
            }
        }
        samples.push(Sample {
            speed_mps: truth.distance_to(&ahead),
            accuracy_m: accuracy_near(&waypoints, t),
            recorded: this_second.filter(|_| k < trace_samples),
            truth,
        });
    }
    Some(Timeline {
        samples,
        trace_samples,
    })
}

/// Recorded fixes trusted as positions of the true path: one per time, plausible accuracy and
/// speed.
fn waypoints(fixes: &[Fix]) -> Vec<Fix> {
    let mut out: Vec<Fix> = Vec::new();
    for f in fixes {
        // NaN accuracy is not a waypoint either.
        if f.horizontal_accuracy_m.is_nan() || f.horizontal_accuracy_m > MAX_WAYPOINT_ACCURACY_M {
            continue;
        }
        if let Some(prev) = out.last() {
            let dt_s = (f.time_ms - prev.time_ms) as f64 / 1000.0;
            let d = tracelet_core::geodesy::distance_m(
                prev.latitude_deg,
                prev.longitude_deg,
                f.latitude_deg,
                f.longitude_deg,
            );
            if dt_s <= 0.0 || d / dt_s > MAX_WAYPOINT_SPEED_MPS {
                continue;
            }
        }
        out.push(f.clone());
    }
    out
}

/// The waypoints as a path, holding position across long gaps.
fn held_path(waypoints: &[Fix]) -> Vec<Point> {
    let point = |f: &Fix, time_ms: i64| Point {
        time_ms,
        lat: f.latitude_deg,
        lon: f.longitude_deg,
    };
    let mut path = Vec::with_capacity(waypoints.len() * 2);
    for (i, f) in waypoints.iter().enumerate() {
        if let Some(prev) = i.checked_sub(1).map(|j| &waypoints[j]) {
            let gap = f.time_ms - prev.time_ms;
            if gap > HOLD_GAP_MS {
                let leave_speed = f
                    .speed_mps
                    .filter(|s| *s > 0.5)
                    .or_else(|| segment_speed(waypoints, i))
                    .unwrap_or(DEFAULT_LEAVE_SPEED_MPS);
                let d = point(prev, 0).distance_to(&point(f, 0));
                let travel_ms = (d / leave_speed * 1000.0) as i64;
                let leave = (f.time_ms - travel_ms).max(prev.time_ms);
                path.push(point(prev, leave));
            }
        }
        path.push(point(f, f.time_ms));
    }
    path
}

/// Speed from waypoint `i` to the next one, if that is a short, moving hop.
fn segment_speed(waypoints: &[Fix], i: usize) -> Option<f64> {
    let (a, b) = (waypoints.get(i)?, waypoints.get(i + 1)?);
    let dt_s = (b.time_ms - a.time_ms) as f64 / 1000.0;
    if dt_s <= 0.0 || dt_s * 1000.0 > HOLD_GAP_MS as f64 {
        return None;
    }
    let d = tracelet_core::geodesy::distance_m(
        a.latitude_deg,
        a.longitude_deg,
        b.latitude_deg,
        b.longitude_deg,
    );
    Some(d / dt_s).filter(|s| *s > 0.5)
}

fn accuracy_near(waypoints: &[Fix], t: i64) -> f64 {
    let i = waypoints.partition_point(|f| f.time_ms <= t);
    let before = i.checked_sub(1).and_then(|j| waypoints.get(j));
    let nearest = match (before, waypoints.get(i)) {
        (Some(a), Some(b)) if b.time_ms - t < t - a.time_ms => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    nearest
        .map_or(MAX_SYNTH_ACCURACY_M, |f| f.horizontal_accuracy_m)
        .clamp(1.0, MAX_SYNTH_ACCURACY_M)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(t_s: i64, north_m: f64) -> Fix {
        Fix::new(t_s * 1000, 48.0 + north_m / 111_195.0, 11.0, 10.0)
    }

    #[test]
    fn a_long_gap_is_held_then_travelled_at_the_next_speed() {
        // Walk 30 m in 20 s, then nothing for 10 minutes, then 140 m further.
        let fixes = vec![fix(0, 0.0), fix(20, 30.0), fix(620, 170.0), fix(640, 198.0)];
        let tl = build(&fixes, None, 0).unwrap();
        assert_eq!(tl.samples.len(), 641);
        let north = |k: usize| (tl.samples[k].truth.lat - 48.0) * 111_195.0;
        // Still held at 30 m five minutes into the gap; leaves ~100 s before the next fix.
        assert!((north(320) - 30.0).abs() < 0.5);
        assert!((north(515) - 30.0).abs() < 2.0, "{}", north(515));
        assert!(tl.samples[20].recorded.is_some());
        assert!(tl.samples[21].recorded.is_none());
    }

    #[test]
    fn vague_fixes_and_jumps_are_not_waypoints() {
        let mut vague = fix(10, 5_000.0);
        vague.horizontal_accuracy_m = 900.0;
        let jump = fix(11, 9_000.0);
        let w = waypoints(&[fix(0, 0.0), vague, jump, fix(20, 20.0)]);
        assert_eq!(w.len(), 2);
    }
}

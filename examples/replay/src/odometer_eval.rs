//! The odometer scored: its reading against the ground truth's distance over the phone's
//! recording window, and what it gained while the phone truly stood still.

use serde_json::{Value, json};

use crate::geo::Point;
use crate::truth::Interval;

/// The odometer after one accepted fix: the fix's time and the reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub time_ms: i64,
    pub meters: f64,
    pub uncertainty_m: f64,
}

/// Length of the true path between `start_ms` and `end_ms` (both inclusive), metres.
pub fn truth_distance_m(path: &[Point], start_ms: i64, end_ms: i64) -> f64 {
    path.windows(2)
        .filter(|w| w[0].time_ms >= start_ms && w[1].time_ms <= end_ms)
        .map(|w| w[0].distance_to(&w[1]))
        .sum()
}

/// The complement of `moving` within `[start_ms, end_ms)`: all of the phone's rest, including
/// before the first trip (unlike the stops the policy is scored on).
pub fn rest(moving: &[Interval], start_ms: i64, end_ms: i64) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut cursor = start_ms;
    for m in moving {
        if m.start_ms > cursor {
            out.push(Interval {
                start_ms: cursor,
                end_ms: m.start_ms.min(end_ms),
            });
        }
        cursor = cursor.max(m.end_ms);
    }
    if end_ms > cursor {
        out.push(Interval {
            start_ms: cursor,
            end_ms,
        });
    }
    out
}

/// The parts of `stops` (the ground truth's) where the simulated phone's true path stood still
/// too: a trace's own movement just outside a ground-truth trip is movement, not jitter.
pub fn still_within(stops: &[Interval], still: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for a in stops {
        for b in still {
            let start_ms = a.start_ms.max(b.start_ms);
            let end_ms = a.end_ms.min(b.end_ms);
            if end_ms > start_ms {
                out.push(Interval { start_ms, end_ms });
            }
        }
    }
    out
}

/// Metres the odometer gained on fixes taken inside the stops, and the stops' hours.
pub fn stationary_growth(readings: &[Reading], stops: &[Interval]) -> (f64, f64) {
    let mut gained = 0.0;
    let mut previous = 0.0;
    for r in readings {
        if stops.iter().any(|s| s.contains(r.time_ms)) {
            gained += r.meters - previous;
        }
        previous = r.meters;
    }
    let hours = stops.iter().map(Interval::len_ms).sum::<i64>() as f64 / 3_600_000.0;
    (gained, hours)
}

fn round(v: f64, decimals: i32) -> Value {
    let k = 10f64.powi(decimals);
    json!((v * k).round() / k)
}

/// The report's odometer figures. `truth_m`: the true distance, where a ground-truth path was
/// given.
pub fn to_json(readings: &[Reading], truth_m: Option<f64>, stops: &[Interval]) -> Value {
    let last = readings.last().copied().unwrap_or(Reading {
        time_ms: 0,
        meters: 0.0,
        uncertainty_m: 0.0,
    });
    let (gained, hours) = stationary_growth(readings, stops);
    json!({
        "odometer_m": round(last.meters, 1),
        "odometer_uncertainty_m": round(last.uncertainty_m, 1),
        "truth_distance_m": truth_m.map(|t| round(t, 1)),
        "odometer_error_pct": truth_m
            .filter(|t| *t > 0.0)
            .map(|t| round((last.meters - t) / t * 100.0, 2)),
        "odometer_stationary_m": round(gained, 1),
        "stationary_h": round(hours, 2),
        "odometer_stationary_m_per_h": if hours > 0.0 { round(gained / hours, 1) } else { Value::Null },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_counted_only_inside_stops() {
        let r = |t: i64, m: f64| Reading {
            time_ms: t,
            meters: m,
            uncertainty_m: 0.0,
        };
        let readings = [r(0, 0.0), r(10, 100.0), r(20, 110.0), r(30, 300.0)];
        let stops = [Interval {
            start_ms: 15,
            end_ms: 25,
        }];
        let (gained, _) = stationary_growth(&readings, &stops);
        assert_eq!(gained, 10.0);
    }
}

//! Figures of merit: path error against the truth, stops and departures against the true
//! ones, and uploads per hour of movement.

use crate::geo::{Point, distance_to_segment, percentile, position_at};
use crate::subject::Upload;
use crate::truth::Interval;

/// Stored fixes this far from a truth point in time still count as "the track around it".
const TRACK_WINDOW_MS: i64 = 120_000;
/// Slack beyond the stop timeout within which a stop must be detected (the target).
pub const STOP_SLACK_MS: i64 = 30_000;

/// Distance from each reference point to the stored track polyline near it in time. Before
/// the first and after the last stored fix the track's ends stand in for it.
pub fn path_errors(reference: &[Point], track: &[Point]) -> Vec<f64> {
    if track.is_empty() {
        return Vec::new();
    }
    reference
        .iter()
        .map(|p| {
            let lo = track.partition_point(|q| q.time_ms < p.time_ms - TRACK_WINDOW_MS);
            let hi = track.partition_point(|q| q.time_ms <= p.time_ms + TRACK_WINDOW_MS);
            // Always include the segment that brackets p in time.
            let lo = lo.min(
                track
                    .partition_point(|q| q.time_ms <= p.time_ms)
                    .saturating_sub(1),
            );
            let hi = (hi + 1).min(track.len()).max(lo + 1);
            let window = &track[lo..hi];
            if window.len() == 1 {
                return p.distance_to(&window[0]);
            }
            window
                .windows(2)
                .map(|w| distance_to_segment(p, &w[0], &w[1]))
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

/// When the subject went stationary and when it resumed moving.
#[derive(Debug, Default, Clone)]
pub struct Transitions {
    pub stopped_at: Vec<i64>,
    pub resumed_at: Vec<i64>,
}

#[derive(Debug, Default, Clone)]
pub struct StopScore {
    pub true_stops: usize,
    /// True stops long enough to be detected (longer than timeout + slack).
    pub detectable: usize,
    pub detected_in_time: usize,
    pub latencies_s: Vec<f64>,
    /// Stationary transitions outside every true stop (a jam taken for a stop).
    pub false_stops: usize,
    /// Metres from the true departure point to where the subject resumed moving sampling.
    pub departure_m: Vec<f64>,
}

pub fn score_stops(
    stops: &[Interval],
    transitions: &Transitions,
    timeout_ms: i64,
    truth: &[Point],
) -> StopScore {
    let mut score = StopScore {
        true_stops: stops.len(),
        ..StopScore::default()
    };
    for stop in stops {
        if stop.len_ms() < timeout_ms + STOP_SLACK_MS {
            continue;
        }
        score.detectable += 1;
        let detected = transitions
            .stopped_at
            .iter()
            .find(|&&t| stop.start_ms <= t && t <= stop.start_ms + timeout_ms + STOP_SLACK_MS);
        if let Some(&t) = detected {
            score.detected_in_time += 1;
            score.latencies_s.push((t - stop.start_ms) as f64 / 1000.0);
        }
        // Departure: only when the subject was stationary as the phone left.
        let stationary_at_departure = last_before(&transitions.stopped_at, stop.end_ms)
            > last_before(&transitions.resumed_at, stop.end_ms);
        let resumed = transitions.resumed_at.iter().find(|&&t| t >= stop.end_ms);
        if let (true, Some(&t)) = (stationary_at_departure, resumed) {
            if let (Some(from), Some(to)) = (position_at(truth, stop.end_ms), position_at(truth, t))
            {
                score.departure_m.push(from.distance_to(&to));
            }
        }
    }
    score.false_stops = transitions
        .stopped_at
        .iter()
        .filter(|&&t| !stops.iter().any(|s| s.contains(t)))
        .count();
    score
}

fn last_before(times: &[i64], t: i64) -> Option<i64> {
    times.iter().copied().filter(|&x| x <= t).max()
}

/// Uploads that started while the phone truly moved, per hour of movement.
pub fn uploads_per_hour_moving(uploads: &[Upload], moving: &[Interval]) -> Option<f64> {
    let moving_ms: i64 = moving.iter().map(Interval::len_ms).sum();
    if moving_ms <= 0 {
        return None;
    }
    let n = uploads
        .iter()
        .filter(|u| moving.iter().any(|m| m.contains(u.time_ms)))
        .count();
    Some(n as f64 / (moving_ms as f64 / 3_600_000.0))
}

pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t_s: i64, north_m: f64) -> Point {
        Point {
            time_ms: t_s * 1000,
            lat: 48.0 + north_m / 111_195.0,
            lon: 11.0,
        }
    }

    #[test]
    fn path_error_is_distance_to_the_polyline() {
        let track = vec![p(0, 0.0), p(100, 1000.0)];
        let (lat, lon) = crate::geo::offset(48.0 + 500.0 / 111_195.0, 11.0, 12.0, 0.0);
        let reference = vec![Point {
            time_ms: 50_000,
            lat,
            lon,
        }];
        let e = path_errors(&reference, &track);
        assert!((e[0] - 12.0).abs() < 0.1, "{e:?}");
    }

    #[test]
    fn stops_are_scored_with_latency_and_departure() {
        let truth = vec![p(0, 0.0), p(100, 1000.0), p(700, 1000.0), p(800, 2000.0)];
        let stops = vec![Interval {
            start_ms: 100_000,
            end_ms: 700_000,
        }];
        let transitions = Transitions {
            stopped_at: vec![290_000],
            resumed_at: vec![705_000],
        };
        let s = score_stops(&stops, &transitions, 180_000, &truth);
        assert_eq!((s.detectable, s.detected_in_time, s.false_stops), (1, 1, 0));
        assert_eq!(s.latencies_s, vec![190.0]);
        assert!((s.departure_m[0] - 50.0).abs() < 0.5);
    }

    #[test]
    fn uploads_count_per_moving_hour() {
        let moving = vec![Interval {
            start_ms: 0,
            end_ms: 1_800_000,
        }];
        let u = |t| Upload {
            time_ms: t,
            bytes: 1,
            fixes: 1,
        };
        let r = uploads_per_hour_moving(&[u(10), u(20), u(2_000_000)], &moving);
        assert_eq!(r, Some(4.0));
    }
}

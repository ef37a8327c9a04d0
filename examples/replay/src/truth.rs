//! Ground truth: where the phone really was (a `--truth` CSV) and when it really moved
//! (e-mission trips, or speed along the truth or the trace).

use std::path::Path;

use serde_json::Value;

use crate::geo::Point;
use crate::trace::{self, TraceError};

/// Stationary periods shorter than this are not stops (a red light, a queue).
pub const MIN_STOP_MS: i64 = 60_000;
/// Moving faster than this (over a 5 s window) counts as moving.
pub const MOVING_SPEED_MPS: f64 = 0.8;
/// Moving runs shorter than this inside a stop are noise.
const MIN_MOVE_MS: i64 = 10_000;

/// A closed-open time interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Interval {
    pub fn len_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }

    pub fn contains(&self, t: i64) -> bool {
        self.start_ms <= t && t < self.end_ms
    }
}

/// Truth positions from a CSV with `utc_ms,lat_deg,lon_deg` (or any layout `trace.rs` reads).
pub fn load_points(path: &Path) -> Result<Vec<Point>, TraceError> {
    Ok(trace::load(path)?
        .into_iter()
        .map(|f| Point {
            time_ms: f.time_ms,
            lat: f.latitude_deg,
            lon: f.longitude_deg,
        })
        .collect())
}

/// Trips (moving intervals) from an e-mission `ground_truth.json`.
pub fn load_trips(path: &Path) -> Result<Vec<Interval>, TraceError> {
    let text = std::fs::read_to_string(path)?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| TraceError::Parse {
        line: e.line(),
        reason: "not an e-mission ground truth document".into(),
    })?;
    let trips = doc["data"].as_array().ok_or(TraceError::UnknownFormat)?;
    let mut out: Vec<Interval> = trips
        .iter()
        .filter_map(|trip| {
            let p = &trip["properties"];
            let start = p["start_ts"].as_f64()?;
            let end = p["end_ts"].as_f64()?;
            (end > start).then(|| Interval {
                start_ms: (start * 1000.0).round() as i64,
                end_ms: (end * 1000.0).round() as i64,
            })
        })
        .collect();
    out.sort_by_key(|i| i.start_ms);
    Ok(out)
}

/// Moving intervals from a 1 Hz-ish path by speed, with short stops merged into the trips
/// around them and short moves merged into the stops around them.
pub fn moving_from_path(path: &[Point]) -> Vec<Interval> {
    let mut runs: Vec<(bool, Interval)> = Vec::new();
    for (i, p) in path.iter().enumerate() {
        let a = &path[i.saturating_sub(2)];
        let b = &path[(i + 2).min(path.len() - 1)];
        let dt_s = (b.time_ms - a.time_ms) as f64 / 1000.0;
        let moving = dt_s > 0.0 && a.distance_to(b) / dt_s > MOVING_SPEED_MPS;
        let end = path.get(i + 1).map_or(p.time_ms + 1000, |n| n.time_ms);
        match runs.last_mut() {
            Some((m, run)) if *m == moving => run.end_ms = end,
            _ => runs.push((
                moving,
                Interval {
                    start_ms: p.time_ms,
                    end_ms: end,
                },
            )),
        }
    }
    // A short run takes the state of its neighbours; then neighbours of one state join.
    for (moving, run) in &mut runs {
        let short = if *moving {
            run.len_ms() < MIN_MOVE_MS
        } else {
            run.len_ms() < MIN_STOP_MS
        };
        if short {
            *moving = !*moving;
        }
    }
    let mut merged: Vec<Interval> = Vec::new();
    for run in runs.into_iter().filter(|(m, _)| *m).map(|(_, r)| r) {
        match merged.last_mut() {
            Some(last) if last.end_ms >= run.start_ms => last.end_ms = run.end_ms,
            _ => merged.push(run),
        }
    }
    merged
}

/// The stops between (and after) moving intervals within `[start, end)`, at least
/// [`MIN_STOP_MS`] long.
pub fn stops_between(moving: &[Interval], start_ms: i64, end_ms: i64) -> Vec<Interval> {
    let mut stops = Vec::new();
    let mut cursor = start_ms;
    for m in moving {
        if m.start_ms > cursor {
            stops.push(Interval {
                start_ms: cursor,
                end_ms: m.start_ms,
            });
        }
        cursor = cursor.max(m.end_ms);
    }
    if end_ms > cursor {
        stops.push(Interval {
            start_ms: cursor,
            end_ms,
        });
    }
    // The phone at rest before the first trip is not a stop the policy must detect.
    stops.retain(|s| s.start_ms > start_ms && s.len_ms() >= MIN_STOP_MS);
    stops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(speeds: &[(i64, f64)]) -> Vec<Point> {
        let mut out = Vec::new();
        let (mut t, mut north) = (0, 0.0);
        for &(seconds, speed) in speeds {
            for _ in 0..seconds {
                out.push(Point {
                    time_ms: t * 1000,
                    lat: 48.0 + north / 111_195.0,
                    lon: 11.0,
                });
                t += 1;
                north += speed;
            }
        }
        out
    }

    #[test]
    fn a_red_light_is_not_a_stop_but_a_parking_is() {
        let p = path(&[(120, 10.0), (30, 0.0), (120, 10.0), (300, 0.0), (60, 1.4)]);
        let moving = moving_from_path(&p);
        assert_eq!(moving.len(), 2, "{moving:?}");
        let stops = stops_between(&moving, 0, 630_000);
        assert_eq!(stops.len(), 1);
        assert!((stops[0].start_ms - 270_000).abs() <= 3_000);
    }

    #[test]
    fn the_emission_ground_truth_has_seven_trips() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/emission/shankari_2016-independence_day.ground_truth.json");
        let trips = load_trips(&p).unwrap();
        assert_eq!(trips.len(), 7);
        assert_eq!(
            stops_between(&trips, trips[0].start_ms, trips[6].end_ms).len(),
            6
        );
    }
}

/// A stay at a place from e-mission's ground truth: where, when the phone arrived (the trip's
/// end) and when it left (`None` for the last place of the day).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Visit {
    pub lat: f64,
    pub lon: f64,
    pub arrive_ms: i64,
    pub leave_ms: Option<i64>,
}

/// The places the trips of an e-mission `ground_truth.json` end at, in time order, plus the
/// place the first trip starts from (arrival unknown: before the recording, so `arrive_ms` is
/// the first trip's start and it is not counted as an arrival by the geofence evaluation).
pub fn load_visits(path: &Path) -> Result<(Vec<Visit>, Option<Visit>), TraceError> {
    let text = std::fs::read_to_string(path)?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| TraceError::Parse {
        line: e.line(),
        reason: "not an e-mission ground truth document".into(),
    })?;
    let trips = doc["data"].as_array().ok_or(TraceError::UnknownFormat)?;
    let ms = |v: &Value| v.as_f64().map(|s| (s * 1000.0).round() as i64);
    let place = |trip: &Value, kind: &str| -> Option<(f64, f64, Option<i64>, Option<i64>)> {
        let feature = trip["features"]
            .as_array()?
            .iter()
            .find(|f| f["properties"]["feature_type"] == kind)?;
        let c = feature["geometry"]["coordinates"].as_array()?;
        let p = &feature["properties"];
        Some((
            c[1].as_f64()?,
            c[0].as_f64()?,
            ms(&p["enter_ts"]),
            ms(&p["exit_ts"]),
        ))
    };
    let mut visits = Vec::new();
    let mut origin = None;
    let mut sorted: Vec<&Value> = trips.iter().collect();
    sorted.sort_by_key(|t| ms(&t["properties"]["start_ts"]).unwrap_or(0));
    for (i, trip) in sorted.iter().enumerate() {
        if i == 0
            && let Some((lat, lon, _, leave)) = place(trip, "start_place")
        {
            origin = Some(Visit {
                lat,
                lon,
                arrive_ms: ms(&trip["properties"]["start_ts"]).unwrap_or(0),
                leave_ms: leave,
            });
        }
        if let Some((lat, lon, enter, leave)) = place(trip, "end_place") {
            let arrive_ms = enter
                .or_else(|| ms(&trip["properties"]["end_ts"]))
                .ok_or(TraceError::UnknownFormat)?;
            visits.push(Visit {
                lat,
                lon,
                arrive_ms,
                leave_ms: leave,
            });
        }
    }
    Ok((visits, origin))
}

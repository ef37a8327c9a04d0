//! `--geofences FILE`: how well the core's geofence events match where the phone really
//! stopped. Also builds the geofence file for a day from its e-mission ground truth
//! (`--make-geofences`).
//!
//! Definitions (the README's geofence targets use them):
//! - an **arrival** is a ground-truth visit whose place lies inside at least one geofence;
//! - it is **detected** when one of those geofences fires Enter between 10 minutes before the
//!   arrival (the phone is within 100 m before the trip's recorded end) and the departure;
//! - the **enter latency** is that Enter's time minus the arrival's, signed (negative: it fired
//!   while the phone was still rolling in);
//! - an Enter/Exit pair is **false** when the true path contradicts it: it was never inside the
//!   geofence within [`TRUTH_SLACK_MS`] of the Enter, or never outside within that slack of the
//!   Exit (a flap during a stay).

use serde_json::{Value, json};
use tracelet_core::GeofenceTransition;
use tracelet_core::geofence::{Geofence, PreparedShape};

use crate::geo::{Point, percentile};
use crate::truth::Visit;

/// An Enter this long before the recorded arrival still counts for it.
pub const EARLY_ENTER_MS: i64 = 10 * 60_000;
/// Time allowed between the truth and an event when judging the event false.
pub const TRUTH_SLACK_MS: i64 = 120_000;

/// One event from the core, as the replay saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredEvent {
    pub transition: GeofenceTransition,
    pub id: String,
    pub time_ms: i64,
}

/// One geofence per distinct place of the day: places closer than `radius_m` to a geofence
/// already made (the same station visited twice) share it, at the first visit's position.
pub fn geofences_for_visits(visits: &[Visit], radius_m: f64) -> Vec<Geofence> {
    let mut fences: Vec<Geofence> = Vec::new();
    for visit in visits {
        let p = Point {
            time_ms: 0,
            lat: visit.lat,
            lon: visit.lon,
        };
        let near = fences.iter().any(|f| match f.shape {
            tracelet_core::geofence::GeofenceShape::Circle {
                center_lat,
                center_lon,
                ..
            } => {
                let c = Point {
                    time_ms: 0,
                    lat: center_lat,
                    lon: center_lon,
                };
                c.distance_to(&p) < radius_m
            }
            _ => false,
        });
        if !near {
            let id = format!("place-{}", fences.len() + 1);
            fences.push(Geofence::circle(id, visit.lat, visit.lon, radius_m));
        }
    }
    fences
}

/// The geofence file text for `fences` (the format `parse_geofence_file` reads).
pub fn geofence_file(fences: &[Geofence]) -> Result<String, String> {
    let objects: Result<Vec<Value>, String> = fences
        .iter()
        .map(|f| {
            let text = f.to_json().map_err(|e| e.to_string())?;
            serde_json::from_str(&text).map_err(|e| e.to_string())
        })
        .collect();
    serde_json::to_string_pretty(&objects?).map_err(|e| e.to_string())
}

struct Prepared<'a> {
    fence: &'a Geofence,
    shape: PreparedShape,
}

impl Prepared<'_> {
    fn contains(&self, lat: f64, lon: f64) -> bool {
        self.shape.signed_distance_m(lat, lon) <= 0.0
    }

    /// True if the path is inside (or, with `inside = false`, outside) at some second of
    /// `[from, to]`.
    fn path_ever(&self, path: &[Point], from: i64, to: i64, inside: bool) -> bool {
        let start = path.partition_point(|p| p.time_ms < from);
        path[start..]
            .iter()
            .take_while(|p| p.time_ms <= to)
            .any(|p| self.contains(p.lat, p.lon) == inside)
    }
}

/// Scores the events against the visits and the true 1 Hz path.
pub fn evaluate(
    fences: &[Geofence],
    events: &[FiredEvent],
    visits: &[Visit],
    path: &[Point],
    duration_ms: i64,
) -> Value {
    let prepared: Vec<Prepared> = fences
        .iter()
        .filter_map(|fence| {
            PreparedShape::new(&fence.shape)
                .ok()
                .map(|shape| Prepared { fence, shape })
        })
        .collect();
    let by_id = |id: &str| prepared.iter().find(|p| p.fence.id == id);

    // Arrivals and their latency.
    let mut arrivals = 0;
    let mut latencies_s = Vec::new();
    let mut missed = Vec::new();
    for visit in visits {
        let covering: Vec<&str> = prepared
            .iter()
            .filter(|p| p.contains(visit.lat, visit.lon))
            .map(|p| p.fence.id.as_str())
            .collect();
        if covering.is_empty() {
            continue;
        }
        arrivals += 1;
        let until = visit.leave_ms.unwrap_or(i64::MAX);
        let enter = events.iter().find(|e| {
            e.transition == GeofenceTransition::Enter
                && covering.contains(&e.id.as_str())
                && e.time_ms >= visit.arrive_ms - EARLY_ENTER_MS
                && e.time_ms <= until
        });
        match enter {
            Some(e) => latencies_s.push((e.time_ms - visit.arrive_ms) as f64 / 1000.0),
            None => missed.push(visit.arrive_ms),
        }
    }

    // Enter/Exit pairs judged against the truth.
    let mut pairs = 0;
    let mut false_pairs = Vec::new();
    for (i, enter) in events.iter().enumerate() {
        if enter.transition != GeofenceTransition::Enter {
            continue;
        }
        let Some(fence) = by_id(&enter.id) else {
            continue;
        };
        pairs += 1;
        let exit = events[i + 1..]
            .iter()
            .find(|e| e.id == enter.id && e.transition == GeofenceTransition::Exit);
        let phantom_enter = !fence.path_ever(
            path,
            enter.time_ms - TRUTH_SLACK_MS,
            enter.time_ms + TRUTH_SLACK_MS,
            true,
        );
        let phantom_exit = exit.is_some_and(|x| {
            !fence.path_ever(
                path,
                x.time_ms - TRUTH_SLACK_MS,
                x.time_ms + TRUTH_SLACK_MS,
                false,
            )
        });
        if phantom_enter || phantom_exit {
            false_pairs.push(json!({
                "id": enter.id,
                "enter_ms": enter.time_ms,
                "exit_ms": exit.map(|x| x.time_ms),
                "why": if phantom_enter { "never inside near the enter" } else { "never outside near the exit" },
            }));
        }
    }
    let hours = duration_ms as f64 / 3_600_000.0;
    let count = |t: GeofenceTransition| events.iter().filter(|e| e.transition == t).count();
    let detected = latencies_s.len();
    json!({
        "geofence_events": events.len(),
        "enter_events": count(GeofenceTransition::Enter),
        "exit_events": count(GeofenceTransition::Exit),
        "dwell_events": count(GeofenceTransition::Dwell),
        "geofences": fences.len(),
        "arrivals": arrivals,
        "arrivals_entered": detected,
        "arrivals_entered_pct": if arrivals == 0 { Value::Null } else { json!((1000.0 * detected as f64 / arrivals as f64).round() / 10.0) },
        "arrivals_missed_ms": missed,
        "enter_latency_p50_s": percentile(&latencies_s, 50.0).map(|v| (v * 10.0).round() / 10.0),
        "enter_latency_s": latencies_s.iter().map(|v| (v * 10.0).round() / 10.0).collect::<Vec<_>>(),
        "enter_exit_pairs": pairs,
        "false_events": false_pairs.len(),
        "false_pairs_per_10h": if hours > 0.0 { json!((100.0 * false_pairs.len() as f64 * 10.0 / hours).round() / 100.0) } else { Value::Null },
        "false_pairs": false_pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_471_000_000_000;

    fn visit(lat: f64, arrive_s: i64, leave_s: Option<i64>) -> Visit {
        Visit {
            lat,
            lon: 0.0,
            arrive_ms: T + arrive_s * 1000,
            leave_ms: leave_s.map(|s| T + s * 1000),
        }
    }

    fn event(transition: GeofenceTransition, id: &str, s: i64) -> FiredEvent {
        FiredEvent {
            transition,
            id: id.into(),
            time_ms: T + s * 1000,
        }
    }

    /// Stays at lat 0 (0..1000 s), drives to lat 0.1 (arrives 2000 s), stays to the end.
    fn path() -> Vec<Point> {
        (0..4000)
            .map(|s| {
                let lat = match s {
                    0..1000 => 0.0,
                    1000..2000 => (s - 1000) as f64 / 1000.0 * 0.1,
                    _ => 0.1,
                };
                Point {
                    time_ms: T + s * 1000,
                    lat,
                    lon: 0.0,
                }
            })
            .collect()
    }

    #[test]
    fn places_closer_than_the_radius_share_one_geofence() {
        let visits = [
            visit(0.0, 0, None),
            visit(0.0005, 10, None),
            visit(0.1, 20, None),
        ];
        let fences = geofences_for_visits(&visits, 100.0);
        let ids: Vec<&str> = fences.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, vec!["place-1", "place-2"]);
        let text = geofence_file(&fences).unwrap();
        assert_eq!(
            tracelet_core::geofence::parse_geofence_file(&text).unwrap(),
            fences
        );
    }

    #[test]
    fn a_timely_enter_is_an_arrival_with_its_latency_and_a_phantom_is_false() {
        let fences = geofences_for_visits(&[visit(0.0, 0, None), visit(0.1, 0, None)], 100.0);
        let visits = [visit(0.1, 2000, None)];
        let events = [
            event(GeofenceTransition::Exit, "place-1", 1010),
            event(GeofenceTransition::Enter, "place-2", 2030),
            // The phone sat at lat 0.1 the whole time: this exit-enter is a flap.
            event(GeofenceTransition::Exit, "place-2", 3000),
            event(GeofenceTransition::Enter, "place-2", 3010),
            // Never near place-1 after 1000 s.
            event(GeofenceTransition::Enter, "place-1", 3500),
        ];
        let report = evaluate(&fences, &events, &visits, &path(), 4_000_000);
        assert_eq!(report["arrivals"], 1);
        assert_eq!(report["arrivals_entered"], 1);
        assert_eq!(report["enter_latency_p50_s"], 30.0);
        assert_eq!(report["false_events"], 2);
        assert_eq!(
            report["false_pairs"][0]["why"],
            "never outside near the exit"
        );
        assert_eq!(report["false_pairs"][1]["id"], "place-1");
    }

    #[test]
    fn an_enter_after_the_departure_does_not_count() {
        let fences = geofences_for_visits(&[visit(0.1, 0, None)], 100.0);
        let visits = [visit(0.1, 2000, Some(2500))];
        let events = [event(GeofenceTransition::Enter, "place-1", 2600)];
        let report = evaluate(&fences, &events, &visits, &path(), 4_000_000);
        assert_eq!(report["arrivals_entered"], 0);
        assert_eq!(report["arrivals_missed_ms"][0], T + 2_000_000);
    }
}

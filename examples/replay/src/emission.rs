//! e-mission time series: the original JSON (`background/location`,
//! `background/motion_activity`, ...) and the flattened `*.events.csv` beside it.
//!
//! Motion activity is sampled every ~30 s by the recording app; the replay wants transitions,
//! as the Android Activity Transition API delivers them, so samples are reduced to changes.

use serde_json::Value;
use tracelet_core::Fix;
use tracelet_core::filter::Activity;
use tracelet_core::fix::Provider;

use crate::trace::TraceError;

/// Samples below this confidence (percent) are ignored, as activity APIs do.
pub const MIN_ACTIVITY_CONFIDENCE: u32 = 50;

/// One activity transition delivered to the tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityEvent {
    pub time_ms: i64,
    pub activity: Activity,
}

/// e-mission's `MotionTypes` (shared by its Android and iOS clients).
fn activity_from_code(code: i64) -> Activity {
    match code {
        0 => Activity::Vehicle,
        1 => Activity::Bicycle,
        2 | 7 | 8 => Activity::OnFoot,
        3 => Activity::Still,
        // 4 unknown, 5 tilting, 9 none.
        _ => Activity::Unknown,
    }
}

/// Reduces periodic samples `(time, code, confidence)` to transitions between known activities.
pub fn transitions(mut samples: Vec<(i64, i64, u32)>) -> Vec<ActivityEvent> {
    samples.sort_by_key(|s| s.0);
    let mut out: Vec<ActivityEvent> = Vec::new();
    for (time_ms, code, confidence) in samples {
        let activity = activity_from_code(code);
        if activity == Activity::Unknown || confidence < MIN_ACTIVITY_CONFIDENCE {
            continue;
        }
        if out.last().is_none_or(|last| last.activity != activity) {
            out.push(ActivityEvent { time_ms, activity });
        }
    }
    out
}

/// Parses the JSON time series into location fixes and activity transitions.
pub fn parse_json(text: &str) -> Result<(Vec<Fix>, Vec<ActivityEvent>), TraceError> {
    let entries: Vec<Value> = serde_json::from_str(text).map_err(|e| TraceError::Parse {
        line: e.line(),
        reason: "not an e-mission JSON array".into(),
    })?;
    let mut fixes = Vec::new();
    let mut samples = Vec::new();
    for entry in &entries {
        let data = &entry["data"];
        let time_ms = data["ts"].as_f64().map(|s| (s * 1000.0).round() as i64);
        match entry["metadata"]["key"].as_str() {
            Some("background/location") => {
                let (Some(t), Some(lat), Some(lon)) = (
                    time_ms,
                    data["latitude"].as_f64(),
                    data["longitude"].as_f64(),
                ) else {
                    continue;
                };
                let Some(accuracy) = data["accuracy"].as_f64() else {
                    continue;
                };
                let non_negative = |key: &str| data[key].as_f64().filter(|v| *v >= 0.0);
                fixes.push(Fix {
                    altitude_m: data["altitude"].as_f64(),
                    vertical_accuracy_m: non_negative("vaccuracy"),
                    speed_mps: non_negative("sensed_speed"),
                    bearing_deg: non_negative("heading").filter(|b| *b < 360.0),
                    elapsed_realtime_ns: data["elapsedRealtimeNanos"].as_i64(),
                    provider: Provider::Fused,
                    ..Fix::new(t, lat, lon, accuracy)
                });
            }
            Some("background/motion_activity") => {
                if let (Some(t), Some(code)) = (time_ms, data["type"].as_i64()) {
                    let confidence = data["confidence"].as_u64().unwrap_or(0);
                    samples.push((t, code, u32::try_from(confidence).unwrap_or(100)));
                }
            }
            _ => {}
        }
    }
    Ok((fixes, transitions(samples)))
}

/// Parses the `motion_activity` rows of a flattened `*.events.csv`
/// (`ts_unix_s,fmt_time,kind,value1,value2` with value1 the code and value2 the confidence).
pub fn parse_events_csv(text: &str) -> Vec<ActivityEvent> {
    let samples = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.get(2) != Some(&"motion_activity") {
                return None;
            }
            let t = (cells.first()?.parse::<f64>().ok()? * 1000.0).round() as i64;
            let code = cells.get(3)?.parse::<i64>().ok()?;
            let confidence = cells.get(4)?.parse::<f64>().ok()?;
            Some((t, code, confidence.clamp(0.0, 100.0) as u32))
        })
        .collect();
    transitions(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_become_transitions() {
        let csv = "ts_unix_s,fmt_time,kind,value1,value2\n\
                   1.0,x,motion_activity,3,90\n2.0,x,motion_activity,3,95\n\
                   3.0,x,battery_pct,50,AC\n4.0,x,motion_activity,0,30\n\
                   5.0,x,motion_activity,0,80\n6.0,x,motion_activity,4,100\n";
        let events = parse_events_csv(csv);
        assert_eq!(
            events,
            vec![
                ActivityEvent {
                    time_ms: 1000,
                    activity: Activity::Still
                },
                ActivityEvent {
                    time_ms: 5000,
                    activity: Activity::Vehicle
                },
            ]
        );
    }

    #[test]
    fn json_locations_and_activities_are_read() {
        let json = r#"[
          {"metadata":{"key":"background/location"},"data":{"ts":1.5,"latitude":37.0,"longitude":-122.0,"accuracy":12.0,"sensed_speed":-1,"heading":-1}},
          {"metadata":{"key":"background/filtered_location"},"data":{"ts":1.5,"latitude":37.0,"longitude":-122.0,"accuracy":12.0}},
          {"metadata":{"key":"background/motion_activity"},"data":{"ts":2.0,"type":2,"confidence":100}}
        ]"#;
        let (fixes, activities) = parse_json(json).unwrap();
        assert_eq!(fixes.len(), 1);
        assert_eq!(fixes[0].time_ms, 1500);
        assert_eq!(fixes[0].speed_mps, None);
        assert_eq!(activities[0].activity, Activity::OnFoot);
        assert!(parse_json("{").is_err());
    }
}

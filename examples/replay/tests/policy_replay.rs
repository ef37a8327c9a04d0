//! Replays the shared e-mission day (7 trips) and checks the report's stops, and that a run
//! is reproducible.

use std::path::PathBuf;

use tracelet_replay::replay::{self, PolicyKind, ReplayOptions};

fn options(kind: PolicyKind) -> ReplayOptions {
    ReplayOptions {
        trace: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/emission/shankari_2016-independence_day.locations.csv"),
        kind,
        preset: "balanced".into(),
        policy: None,
        truth: None,
        collector: false,
        seed: 7,
        tail_s: 600,
    }
}

#[test]
fn the_emission_day_has_seven_stops_and_the_oracle_finds_them_all() {
    let report = replay::run(&options(PolicyKind::Oracle)).expect("replay runs");
    let json = report.to_json();
    // 6 stops between the 7 trips, and the rest after the last one.
    assert_eq!(json["stops_true"], 7);
    assert_eq!(json["stops_detected"], 7);
    assert_eq!(json["stops_false"], 0);
    // One upload per stop and one per 15 minutes of movement (4.2 h moving).
    let uploads = json["uploads"].as_u64().unwrap_or(0);
    assert!((7..=7 + 17).contains(&uploads), "{uploads}");
}

#[test]
fn the_core_detects_stops_on_the_emission_day_and_a_run_is_reproducible() {
    let first = replay::run(&options(PolicyKind::Core))
        .expect("replay runs")
        .to_json();
    let second = replay::run(&options(PolicyKind::Core))
        .expect("replay runs")
        .to_json();
    assert_eq!(first, second);
    assert_eq!(first["stops_true"], 7);
    let detected = first["stops_detected"].as_u64().unwrap_or(0);
    assert!(detected >= 4, "core detected {detected} of 7 stops in time");
    assert!(first["fixes_synthesized"].as_u64().unwrap_or(0) > 0);
    assert!(first["activity_transitions"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn the_naive_baseline_uploads_every_fix() {
    let json = replay::run(&options(PolicyKind::Naive))
        .expect("replay runs")
        .to_json();
    assert_eq!(json["uploads"], json["fixes_stored"]);
    assert_eq!(json["gnss_on_s"], json["duration_s"]);
}

//! The shared e-mission day under the permissions real users give (issue 20): "while in use"
//! with the app in the background, and approximate location only. Both must record something
//! and tell the app what it records: no silent dead state.

use std::path::PathBuf;

use tracelet_replay::os_mode::OsMode;
use tracelet_replay::replay::{self, PolicyKind, ReplayOptions};

fn run(os_mode: OsMode) -> serde_json::Value {
    replay::run(&ReplayOptions {
        trace: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/emission/shankari_2016-independence_day.locations.csv"),
        kind: PolicyKind::Core,
        preset: "balanced".into(),
        policy: None,
        truth: None,
        collector: false,
        seed: 1,
        tail_s: 600,
        geofences: Vec::new(),
        clock_steps: Vec::new(),
        offline: false,
        os_mode,
    })
    .expect("replay runs")
    .to_json()
}

#[test]
fn when_in_use_in_the_background_keeps_recording_every_trip_without_regions() {
    let json = run(OsMode::WhenInUseBackground);
    let subject = &json["subject"];
    // No region can wake the app: the OS reported no geofence exit at all...
    assert_eq!(json["geofence_exits"], 0);
    // ...yet every stop was found and every departure noticed, because the platform kept
    // coarse updates while still instead of stopping them.
    assert_eq!(json["stops_detected"], 7, "{json}");
    assert!(
        subject["coarse_fallback_s"].as_u64().unwrap() > 3_600,
        "{json}"
    );
    assert!(
        subject["motion_changes"]["fix_outside_radius"]
            .as_u64()
            .unwrap()
            >= 6
    );
    assert!(json["fixes_stored"].as_u64().unwrap() > 2_000, "{json}");
    // The app was told that nothing wakes it in the background.
    assert_eq!(
        subject["app_told_access"],
        serde_json::json!([{"mode": "precise", "background_wake": false}])
    );
}

#[test]
fn approximate_only_stores_coarse_fixes_and_says_so() {
    let json = run(OsMode::ApproximateOnly);
    let subject = &json["subject"];
    // About one 2 km fix per 10 minutes over the 10-hour day, all stored, none refused.
    let stored = json["fixes_stored"].as_u64().unwrap();
    assert!((55..=65).contains(&stored), "{json}");
    assert_eq!(json["fixes_rejected"], 0);
    // Never GNSS, and uploads wait for company instead of one radio wake-up per fix.
    assert_eq!(json["gnss_on_s"], 0);
    assert!(json["uploads"].as_u64().unwrap() <= 10, "{json}");
    assert_eq!(subject["recording_mode"], "approximate");
    assert_eq!(
        subject["app_told_access"],
        serde_json::json!([{"mode": "approximate", "background_wake": false}])
    );
}

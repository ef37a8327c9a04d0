//! Geofence figures: the cost of choosing the OS regions among 10,000 geofences, and the
//! e-mission day's geofence events scored against its ground truth (as `tracelet-replay
//! --geofences` does).

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use tracelet_core::geofence::synthetic::fleet_sites;
use tracelet_core::geofence::{
    ANDROID_MAX_REGIONS, GeofenceEngine, IOS_MAX_REGIONS, parse_geofence_file,
};
use tracelet_replay::replay::{self, PolicyKind, ReplayOptions};

#[derive(Debug, Serialize)]
pub struct GeofenceReport {
    /// Median time of one region choice among 10,000 geofences, iOS limit (20).
    pub region_choice_10k_ios_us: f64,
    /// The same with Android's limit (100).
    pub region_choice_10k_android_us: f64,
    pub emission_arrivals: u64,
    pub emission_arrivals_entered_pct: f64,
    pub emission_enter_latency_p50_s: Option<f64>,
    pub emission_false_pairs_per_10h: f64,
    pub emission_geofence_events: u64,
}

const EMISSION: &str = "tests/data/emission/shankari_2016-independence_day.locations.csv";
const EMISSION_FENCES: &str = "tests/data/emission/shankari_2016-independence_day.geofences.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Median wall time of `runs` region choices from points moving across the fleet's area.
fn region_choice_us(engine: &GeofenceEngine, limit: usize, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|i| {
            let lat = 48.85 + (i % 100) as f64 * 1e-3;
            let started = Instant::now();
            let request = engine.region_request(lat, 2.35, limit);
            let elapsed = started.elapsed().as_secs_f64() * 1e6;
            std::hint::black_box(request);
            elapsed
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

pub fn measure() -> Result<GeofenceReport, Box<dyn std::error::Error>> {
    let mut engine = GeofenceEngine::default();
    for fence in fleet_sites(10_000, 48.85, 2.35) {
        engine.add(fence)?;
    }
    let ios = region_choice_us(&engine, IOS_MAX_REGIONS, 2_000);
    let android = region_choice_us(&engine, ANDROID_MAX_REGIONS, 2_000);

    let fences = parse_geofence_file(&std::fs::read_to_string(root().join(EMISSION_FENCES))?)?;
    let report = replay::run(&ReplayOptions {
        trace: root().join(EMISSION),
        kind: PolicyKind::Core,
        preset: "balanced".into(),
        policy: None,
        truth: None,
        collector: false,
        seed: 1,
        tail_s: 600,
        geofences: fences,
        clock_steps: Vec::new(),
        offline: false,
        os_mode: tracelet_replay::os_mode::OsMode::Full,
    })?
    .to_json();
    let num = |key: &str| report[key].as_f64();
    Ok(GeofenceReport {
        region_choice_10k_ios_us: ios,
        region_choice_10k_android_us: android,
        emission_arrivals: report["arrivals"].as_u64().unwrap_or(0),
        emission_arrivals_entered_pct: num("arrivals_entered_pct").unwrap_or(0.0),
        emission_enter_latency_p50_s: num("enter_latency_p50_s"),
        emission_false_pairs_per_10h: num("false_pairs_per_10h").unwrap_or(0.0),
        emission_geofence_events: report["geofence_events"].as_u64().unwrap_or(0),
    })
}

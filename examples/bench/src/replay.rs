//! Replay figures: every preset and baseline on each bundled trace, and the filter's accuracy,
//! through the same library code as `tracelet-replay`.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use tracelet_core::filter::FilterConfig;
use tracelet_replay::filter_eval::{self, EvalOptions};
use tracelet_replay::replay::{self, PolicyKind, ReplayOptions};

#[derive(Debug, Serialize)]
pub struct PolicyRow {
    pub trace: String,
    pub policy: String,
    pub energy_j: f64,
    pub gnss_on_s: f64,
    pub uploads_per_hour_moving: f64,
    pub path_error_p95_m: f64,
    pub stops_detected: f64,
    /// True stops at least as long as the stop timeout (shorter ones are red lights).
    pub stops_detectable: f64,
    pub stops_true: f64,
    pub departure_detection_median_m: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct FilterRow {
    pub case: String,
    pub raw_p50_m: f64,
    pub raw_p95_m: f64,
    pub filtered_p50_m: f64,
    pub filtered_p95_m: f64,
    pub outlier_recall: Option<f64>,
    pub false_rejection_rate: Option<f64>,
    pub max_stuck_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ReplayReport {
    pub policies: Vec<PolicyRow>,
    pub filter: Vec<FilterRow>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const GSDC: &str = "tests/data/gsdc2020_mtv1/Pixel4_chipset.nmea";
const GSDC_TRUTH: &str = "tests/data/gsdc2020_mtv1/span_groundtruth_1hz.csv";
const EMISSION: &str = "tests/data/emission/shankari_2016-independence_day.locations.csv";

pub fn measure() -> Result<ReplayReport, Box<dyn std::error::Error>> {
    let runs: [(&str, &str, Option<&str>); 2] = [
        ("e-mission day", EMISSION, None),
        ("GSDC drive", GSDC, Some(GSDC_TRUTH)),
    ];
    let policies = [
        ("efficient", PolicyKind::Core, "efficient"),
        ("balanced", PolicyKind::Core, "balanced"),
        ("continuous", PolicyKind::Core, "continuous"),
        ("naive", PolicyKind::Naive, "balanced"),
        ("peer-default", PolicyKind::PeerDefault, "balanced"),
        ("oracle", PolicyKind::Oracle, "balanced"),
    ];
    let mut rows = Vec::new();
    for (trace_name, trace, truth) in runs {
        for (name, kind, preset) in policies {
            let report = replay::run(&ReplayOptions {
                trace: root().join(trace),
                kind,
                preset: preset.into(),
                policy: None,
                truth: truth.map(|t| root().join(t)),
                collector: false,
                seed: 1,
                tail_s: 600,
                geofences: Vec::new(),
                clock_steps: Vec::new(),
                offline: false,
                os_mode: tracelet_replay::os_mode::OsMode::Full,
            })?
            .to_json();
            rows.push(PolicyRow {
                trace: trace_name.into(),
                policy: name.into(),
                energy_j: num(&report, "energy_j"),
                gnss_on_s: num(&report, "gnss_on_s"),
                uploads_per_hour_moving: num(&report, "uploads_per_hour_moving"),
                path_error_p95_m: num(&report, "path_error_p95_m"),
                stops_detected: num(&report, "stops_detected"),
                stops_detectable: num(&report, "stops_detectable"),
                stops_true: num(&report, "stops_true"),
                departure_detection_median_m: report["departure_detection_median_m"].as_f64(),
            });
        }
    }
    Ok(ReplayReport {
        policies: rows,
        filter: filter_rows()?,
    })
}

fn filter_rows() -> Result<Vec<FilterRow>, Box<dyn std::error::Error>> {
    let fixes = tracelet_replay::trace::load(&root().join(GSDC))?;
    let truth = tracelet_replay::truth::load_points(&root().join(GSDC_TRUTH))?;
    let cases: [(&str, Option<f64>, Option<u64>); 3] = [
        ("GSDC drive, clean", None, None),
        ("GSDC drive + sigma 8 m noise", Some(8.0), None),
        ("GSDC drive + injected faults (seed 1)", None, Some(1)),
    ];
    let mut rows = Vec::new();
    for (case, noise, faults) in cases {
        let v = filter_eval::run(
            fixes.clone(),
            &EvalOptions {
                config: FilterConfig::balanced(),
                preset: "balanced".into(),
                truth: Some(truth.clone()),
                add_noise_m: noise,
                accuracy_m: None,
                fault_seed: faults,
            },
        );
        rows.push(FilterRow {
            case: case.into(),
            raw_p50_m: num(&v, "raw_p50_m"),
            raw_p95_m: num(&v, "raw_p95_m"),
            filtered_p50_m: num(&v, "filtered_p50_m"),
            filtered_p95_m: num(&v, "filtered_p95_m"),
            outlier_recall: faults.and(v["outlier_recall"].as_f64()),
            false_rejection_rate: faults.and(v["false_rejection_rate"].as_f64()),
            max_stuck_s: faults.and(v["max_stuck_s"].as_f64()),
        });
    }
    Ok(rows)
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

//! The replay report: one JSON object with every figure and the constants behind it.

use serde_json::{Value, json};

use crate::energy::{EnergyModel, Radio};
use crate::geo::percentile;
use crate::metrics::{self, StopScore};
use crate::sim_os::{
    BALANCED_ACCURACY_M, GEOFENCE_EXIT_LATENCY_MS, GNSS_NOISE_TAU_S, NETWORK_ACCURACY_M, OsCounters,
};
use crate::subject::Outcome;
use crate::truth::Interval;

pub struct RunFigures {
    pub duration_s: u64,
    pub trace_s: u64,
    pub seed: u64,
    pub os: OsCounters,
    pub outcome: Outcome,
    /// Seconds under each priority, in `replay::PRIORITIES` order.
    pub priority_s: [u64; 4],
    pub location_j: f64,
    pub radio: Radio,
    pub model: EnergyModel,
    pub path_errors: Vec<f64>,
    pub reference_source: &'static str,
    pub moving: Vec<Interval>,
    pub moving_source: &'static str,
    pub stops: StopScore,
    pub stop_timeout_ms: i64,
    pub activities_in_trace: u64,
}

pub struct Report {
    pub policy: String,
    pub trace: String,
    /// The `--geofences` evaluation (`geofence_eval::evaluate`), when asked for.
    pub geofences: Option<Value>,
    /// The odometer's figures (`odometer_eval::to_json`).
    pub odometer: Value,
    pub figures: RunFigures,
}

fn round(v: f64, decimals: i32) -> Value {
    let k = 10f64.powi(decimals);
    json!((v * k).round() / k)
}

fn round_opt(v: Option<f64>, decimals: i32) -> Value {
    v.map_or(Value::Null, |v| round(v, decimals))
}

impl Report {
    pub fn energy_j(&self) -> f64 {
        self.figures.location_j + self.figures.radio.energy_j
    }

    pub fn to_json(&self) -> Value {
        let f = &self.figures;
        let o = &f.outcome;
        let moving_s: i64 = f.moving.iter().map(Interval::len_ms).sum::<i64>() / 1000;
        let wire_bytes: u64 = o.uploads.iter().map(|u| u.bytes).sum();
        let s = &f.stops;
        let counts = json!({
            "policy": self.policy,
            "trace": self.trace,
            "seed": f.seed,
            "duration_s": f.duration_s,
            "trace_s": f.trace_s,
            "moving_s": moving_s,
            "moving_source": f.moving_source,
            "fixes_offered": f.os.offered,
            "fixes_delivered": f.os.delivered,
            "fixes_synthesized": f.os.synthesized,
            "fixes_accepted": o.fixes_accepted,
            "fixes_rejected": o.fixes_rejected,
            "fixes_stored": o.fixes_stored,
            "fixes_on_server": o.track.len(),
            "uploads": o.uploads.len(),
        });
        let energy = json!({
            "uploads_per_hour_moving": round_opt(metrics::uploads_per_hour_moving(&o.uploads, &f.moving), 2),
            "wire_bytes": wire_bytes,
            "energy_j": round(self.energy_j(), 1),
            "location_energy_j": round(f.location_j, 1),
            "radio_energy_j": round(f.radio.energy_j, 1),
            "gnss_on_s": f.priority_s[0],
            "radio_on_s": round(f.radio.on_s, 1),
            "radio_promotions": f.radio.promotions,
            "priority_s": {
                "high_accuracy": f.priority_s[0],
                "balanced": f.priority_s[1],
                "low_power": f.priority_s[2],
                "passive": f.priority_s[3],
            },
        });
        let quality = json!({
            "path_error_p50_m": round_opt(percentile(&f.path_errors, 50.0), 1),
            "path_error_p95_m": round_opt(percentile(&f.path_errors, 95.0), 1),
            "path_error_reference": f.reference_source,
            "path_error_points": f.path_errors.len(),
            "stops_true": s.true_stops,
            "stops_detectable": s.detectable,
            "stops_detected": s.detected_in_time,
            "stops_false": s.false_stops,
            "stop_latency_s": s.latencies_s,
            "stop_deadline_s": (f.stop_timeout_ms + metrics::STOP_SLACK_MS) / 1000,
            "departure_detection_median_m": round_opt(metrics::median(&s.departure_m), 1),
            "departure_detection_m": s.departure_m.iter().map(|d| round(*d, 1)).collect::<Vec<_>>(),
        });
        let context = json!({
            "geofence_exits": f.os.geofence_exits,
            "activity_transitions": f.os.activities,
            "activity_transitions_in_trace": f.activities_in_trace,
            "energy_model": f.model.to_json(),
            "simulated_os": {
                "gnss_noise_tau_s": GNSS_NOISE_TAU_S,
                "balanced_accuracy_m": BALANCED_ACCURACY_M,
                "network_accuracy_m": NETWORK_ACCURACY_M,
                "geofence_exit_latency_ms": GEOFENCE_EXIT_LATENCY_MS,
            },
            "subject": o.extra,
        });
        let mut out = serde_json::Map::new();
        let geofences = self.geofences.clone().unwrap_or(Value::Null);
        for part in [
            counts,
            energy,
            quality,
            self.odometer.clone(),
            geofences,
            context,
        ] {
            if let Value::Object(fields) = part {
                out.extend(fields);
            }
        }
        Value::Object(out)
    }
}

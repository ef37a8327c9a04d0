//! `--filter-eval`: runs the core's [`Filter`] over a trace and measures it.
//!
//! Optional perturbations, all seeded so that a run is reproducible:
//! - `add_noise_m = σ`: Gaussian noise of σ metres on each axis (east, north). The fix's
//!   accuracy is set to the 68 % radius of that 2-D Gaussian, `1.5096 σ` (Android's definition
//!   of horizontal accuracy), so the filter is told the truth about the noise.
//! - `fault_seed`: injected faults, each labelled so that the filter's verdict can be scored:
//!   outlier jumps of 100 m to 5 km (log-uniform, random direction; half of them also claim a
//!   3 m accuracy, i.e. accuracy values that lie), duplicates (a copy right after the fix),
//!   time reversals (two neighbours swapped, the older one arriving late) and two true
//!   relocations (everything after a random point shifted by 1 to 5 km, ground truth included:
//!   those fixes are genuine, and the filter must follow them).
//!
//! Error figures are horizontal distances to the ground truth interpolated at each fix time.
//! Without a truth file, a perturbed run measures against the unperturbed input.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tracelet_core::Fix;

use crate::geo::{Point, offset, position_at};
use tracelet_core::filter::{
    ACCURACY_68_PER_SIGMA, Filter, FilterConfig, FilterContext, FilterDecision, RejectReason,
};
use tracelet_core::geodesy::distance_m;

/// Outliers at least this far off count towards `outlier_recall` (the target).
pub const RECALL_MIN_JUMP_M: f64 = 200.0;
/// Per-fix probabilities of each injected fault.
const P_OUTLIER: f64 = 0.03;
const P_DUPLICATE: f64 = 0.01;
const P_REVERSAL: f64 = 0.01;
const RELOCATIONS: usize = 2;
/// Jumps faster than this between consecutive accepted fixes are counted (e-mission target).
const JUMP_SPEED_MPS: f64 = 50.0;

/// What the evaluation does, besides the filter configuration.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub config: FilterConfig,
    pub preset: String,
    /// Ground truth positions, sorted by time (see `truth::load_points`).
    pub truth: Option<Vec<Point>>,
    pub add_noise_m: Option<f64>,
    /// Replaces every fix's accuracy (for traces whose accuracy is a placeholder).
    pub accuracy_m: Option<f64>,
    pub fault_seed: Option<u64>,
}

/// Why a fix is in the evaluated stream.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Label {
    Genuine,
    /// Offset by this many metres from where it should be.
    Outlier(f64),
    Duplicate,
    /// Arrives after a newer fix.
    Reversed,
}

#[derive(Debug, Clone)]
struct Sample {
    fix: Fix,
    truth: Option<(f64, f64)>,
    label: Label,
    /// First fix after an injected relocation.
    relocated: bool,
}

/// SplitMix64: tiny, seedable, good enough for test perturbations.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    fn gaussian(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Ground truth at `t`, linearly interpolated; `None` outside the truth's time span (there
/// `position_at` would hold the end position, which is no truth for a fix).
fn truth_at(truth: &[Point], t: i64) -> Option<(f64, f64)> {
    let inside = truth.first()?.time_ms <= t && t <= truth.last()?.time_ms;
    inside
        .then(|| position_at(truth, t))
        .flatten()
        .map(|p| (p.lat, p.lon))
}

fn build_samples(fixes: Vec<Fix>, options: &EvalOptions) -> Vec<Sample> {
    let perturbed = options.add_noise_m.is_some() || options.fault_seed.is_some();
    let mut samples: Vec<Sample> = fixes
        .into_iter()
        .map(|fix| {
            let truth = match &options.truth {
                Some(t) => truth_at(t, fix.time_ms),
                None if perturbed => Some((fix.latitude_deg, fix.longitude_deg)),
                None => None,
            };
            Sample {
                fix,
                truth,
                label: Label::Genuine,
                relocated: false,
            }
        })
        .collect();
    if let Some(acc) = options.accuracy_m {
        for s in &mut samples {
            s.fix.horizontal_accuracy_m = acc;
        }
    }
    let seed = options.fault_seed.unwrap_or(0x07AC_E1E7);
    if let Some(sigma) = options.add_noise_m {
        let mut rng = Rng(seed ^ 0x4E01_5E00);
        for s in &mut samples {
            let (e, n) = (rng.gaussian() * sigma, rng.gaussian() * sigma);
            (s.fix.latitude_deg, s.fix.longitude_deg) =
                offset(s.fix.latitude_deg, s.fix.longitude_deg, e, n);
            s.fix.horizontal_accuracy_m = (sigma * ACCURACY_68_PER_SIGMA).max(0.1);
        }
    }
    if let Some(seed) = options.fault_seed {
        samples = inject_faults(samples, &mut Rng(seed));
    }
    samples
}

fn inject_faults(mut samples: Vec<Sample>, rng: &mut Rng) -> Vec<Sample> {
    let n = samples.len();
    // True relocations first, so that later faults apply to the relocated track.
    for _ in 0..RELOCATIONS {
        if n < 10 {
            break;
        }
        let start = n / 10 + (rng.unit() * (n as f64 * 0.8)) as usize;
        let dist = 1_000.0 + rng.unit() * 4_000.0;
        let angle = rng.unit() * std::f64::consts::TAU;
        let (e, nn) = (dist * angle.sin(), dist * angle.cos());
        for (i, s) in samples.iter_mut().enumerate().skip(start) {
            s.relocated |= i == start;
            (s.fix.latitude_deg, s.fix.longitude_deg) =
                offset(s.fix.latitude_deg, s.fix.longitude_deg, e, nn);
            s.truth = s.truth.map(|(lat, lon)| offset(lat, lon, e, nn));
        }
    }
    let mut out = Vec::with_capacity(n + n / 20);
    let mut i = 0;
    while i < samples.len() {
        let mut s = samples[i].clone();
        let roll = rng.unit();
        if roll < P_OUTLIER && !s.relocated {
            let dist = 100.0 * (50f64).powf(rng.unit()); // log-uniform 100 m .. 5 km
            let angle = rng.unit() * std::f64::consts::TAU;
            (s.fix.latitude_deg, s.fix.longitude_deg) = offset(
                s.fix.latitude_deg,
                s.fix.longitude_deg,
                dist * angle.sin(),
                dist * angle.cos(),
            );
            if rng.unit() < 0.5 {
                s.fix.horizontal_accuracy_m = 3.0;
            }
            s.label = Label::Outlier(dist);
            out.push(s);
        } else if roll < P_OUTLIER + P_DUPLICATE {
            out.push(s.clone());
            out.push(Sample {
                label: Label::Duplicate,
                relocated: false,
                ..s
            });
        } else if roll < P_OUTLIER + P_DUPLICATE + P_REVERSAL
            && i + 1 < samples.len()
            && !s.relocated
            && !samples[i + 1].relocated
        {
            out.push(samples[i + 1].clone());
            out.push(Sample {
                label: Label::Reversed,
                ..s
            });
            i += 1;
        } else {
            out.push(s);
        }
        i += 1;
    }
    out
}

/// The p-th percentile (0..=100) by nearest rank; `None` for no data.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn error_stats(mut errors: Vec<f64>) -> (Option<f64>, Option<f64>, usize) {
    errors.sort_by(f64::total_cmp);
    (
        percentile(&errors, 50.0),
        percentile(&errors, 95.0),
        errors.len(),
    )
}

fn round(v: Option<f64>, decimals: i32) -> Value {
    let scale = 10f64.powi(decimals);
    v.filter(|x| x.is_finite())
        .map_or(Value::Null, |x| json!((x * scale).round() / scale))
}

fn jumps_over(fixes: &[&Fix]) -> usize {
    fixes
        .windows(2)
        .filter(|w| {
            let dt = (w[1].time_ms - w[0].time_ms) as f64 / 1000.0;
            let d = distance_m(
                w[0].latitude_deg,
                w[0].longitude_deg,
                w[1].latitude_deg,
                w[1].longitude_deg,
            );
            dt > 0.0 && d > JUMP_SPEED_MPS * dt
        })
        .count()
}

/// Runs the evaluation and returns the report as one JSON object.
pub fn run(fixes: Vec<Fix>, options: &EvalOptions) -> Value {
    let samples = build_samples(fixes, options);
    let mut filter = Filter::new(options.config);
    let ctx = FilterContext::default();
    let mut now_ms = i64::MIN;
    let decisions: Vec<FilterDecision> = samples
        .iter()
        .map(|s| {
            // The virtual clock never runs backwards, even when a fix arrives late.
            now_ms = now_ms.max(s.fix.time_ms);
            filter.process(&s.fix, now_ms, &ctx)
        })
        .collect();

    let err = |t: (f64, f64), lat: f64, lon: f64| distance_m(t.0, t.1, lat, lon);
    let raw = samples
        .iter()
        .filter_map(|s| Some(err(s.truth?, s.fix.latitude_deg, s.fix.longitude_deg)))
        .collect();
    let mut accepted_raw = Vec::new();
    let mut filtered = Vec::new();
    for (s, d) in samples.iter().zip(&decisions) {
        if let (Some(t), FilterDecision::Accept { smoothed, .. }) = (s.truth, d) {
            accepted_raw.push(err(t, s.fix.latitude_deg, s.fix.longitude_deg));
            filtered.push(match smoothed {
                Some(p) => err(t, p.latitude_deg, p.longitude_deg),
                None => err(t, s.fix.latitude_deg, s.fix.longitude_deg),
            });
        }
    }
    let (raw_p50, raw_p95, raw_n) = error_stats(raw);
    let (acc_p50, acc_p95, _) = error_stats(accepted_raw);
    let (filt_p50, filt_p95, filt_n) = error_stats(filtered);

    // Outliers and genuine fixes.
    let is_real_duplicate = |i: usize| {
        i > 0
            && samples[i - 1].fix.time_ms == samples[i].fix.time_ms
            && samples[i].label == Label::Genuine
    };
    let (mut outliers, mut outliers_caught, mut outliers_all, mut caught_all) = (0, 0, 0, 0);
    let (mut genuine, mut genuine_rejected) = (0u64, 0u64);
    for (i, (s, d)) in samples.iter().zip(&decisions).enumerate() {
        match s.label {
            Label::Outlier(dist) => {
                outliers_all += 1;
                caught_all += u64::from(!d.is_accept());
                if dist >= RECALL_MIN_JUMP_M {
                    outliers += 1;
                    outliers_caught += u64::from(!d.is_accept());
                }
            }
            Label::Genuine if !is_real_duplicate(i) => {
                genuine += 1;
                genuine_rejected += u64::from(!d.is_accept());
            }
            _ => {}
        }
    }

    // Longest time genuine fixes went unaccepted: from the first rejected one of a run to the
    // next accepted fix (or the end of the trace).
    let mut max_stuck_ms = 0i64;
    let mut run_start: Option<i64> = None;
    for (i, (s, d)) in samples.iter().zip(&decisions).enumerate() {
        let genuine_here = s.label == Label::Genuine && !is_real_duplicate(i);
        if d.is_accept() {
            if let Some(start) = run_start.take() {
                max_stuck_ms = max_stuck_ms.max(s.fix.time_ms - start);
            }
        } else if genuine_here && run_start.is_none() {
            run_start = Some(s.fix.time_ms);
        }
    }
    if let (Some(start), Some(last)) = (run_start, samples.last()) {
        max_stuck_ms = max_stuck_ms.max(last.fix.time_ms - start);
    }

    // Time from each injected relocation to the first accepted fix after it.
    let relocation_recovery: Vec<f64> = samples
        .iter()
        .enumerate()
        .filter(|(_, s)| s.relocated)
        .filter_map(|(i, s)| {
            let accepted = (i..samples.len()).find(|&j| decisions[j].is_accept())?;
            Some((samples[accepted].fix.time_ms - s.fix.time_ms) as f64 / 1000.0)
        })
        .collect();

    let raw_fixes: Vec<&Fix> = samples.iter().map(|s| &s.fix).collect();
    let accepted_fixes: Vec<&Fix> = samples
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| d.is_accept())
        .map(|(s, _)| &s.fix)
        .collect();

    let c = filter.counters();
    let by_reason: BTreeMap<&str, u64> = c
        .rejected_by_reason()
        .map(|(r, n): (RejectReason, u64)| (r.name(), n))
        .collect();
    let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
    json!({
        "preset": options.preset,
        "kalman": options.config.kalman.is_some(),
        "add_noise_sigma_m": options.add_noise_m,
        "accuracy_override_m": options.accuracy_m,
        "noise_accuracy_convention": "accuracy = 68% radius of the 2-D Gaussian = 1.5096 * sigma",
        "fault_seed": options.fault_seed,
        "truth": match (&options.truth, options.add_noise_m.is_some() || options.fault_seed.is_some()) {
            (Some(_), _) => "file",
            (None, true) => "unperturbed_input",
            (None, false) => "none",
        },
        "fixes_in": samples.len(),
        "fixes_accepted": c.accepted,
        "fixes_rejected": c.rejected_total(),
        "fixes_rejected_by_reason": by_reason,
        "fixes_smoothed": c.smoothed,
        "reanchored": c.reanchored,
        "error_samples_raw": raw_n,
        "error_samples_filtered": filt_n,
        "raw_p50_m": round(raw_p50, 3),
        "raw_p95_m": round(raw_p95, 3),
        "accepted_raw_p50_m": round(acc_p50, 3),
        "accepted_raw_p95_m": round(acc_p95, 3),
        "filtered_p50_m": round(filt_p50, 3),
        "filtered_p95_m": round(filt_p95, 3),
        "outliers_injected": outliers_all,
        "outliers_ge_200m": outliers,
        "outlier_recall": round(ratio(outliers_caught, outliers), 4),
        "outlier_recall_ge_100m": round(ratio(caught_all, outliers_all), 4),
        "genuine_fixes": genuine,
        "genuine_rejected": genuine_rejected,
        "false_rejection_rate": round(ratio(genuine_rejected, genuine), 5),
        "max_stuck_s": max_stuck_ms as f64 / 1000.0,
        "relocation_recovery_s": relocation_recovery,
        "raw_jumps_over_50mps": jumps_over(&raw_fixes),
        "accepted_jumps_over_50mps": jumps_over(&accepted_fixes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive() -> Vec<Fix> {
        (0..600)
            .map(|s| {
                Fix::new(
                    1_600_000_000_000 + s * 1000,
                    37.0 + s as f64 * 10.0 / 111_195.0,
                    -122.0,
                    5.0,
                )
            })
            .collect()
    }

    fn options() -> EvalOptions {
        EvalOptions {
            config: FilterConfig::balanced(),
            preset: "balanced".into(),
            truth: None,
            add_noise_m: None,
            accuracy_m: None,
            fault_seed: None,
        }
    }

    #[test]
    fn truth_is_interpolated() {
        let point = |time_ms, lat, lon| Point { time_ms, lat, lon };
        let truth = [point(0, 0.0, 0.0), point(1000, 1.0, 2.0)];
        assert_eq!(truth_at(&truth, 500), Some((0.5, 1.0)));
        assert_eq!(truth_at(&truth, 1000), Some((1.0, 2.0)));
        assert_eq!(truth_at(&truth, 1001), None);
        assert_eq!(truth_at(&truth, -1), None);
    }

    #[test]
    fn noise_is_seeded_and_has_the_asked_sigma() {
        let opts = EvalOptions {
            add_noise_m: Some(8.0),
            ..options()
        };
        let a = build_samples(drive(), &opts);
        let b = build_samples(drive(), &opts);
        assert_eq!(a[10].fix, b[10].fix);
        let rms = (a
            .iter()
            .map(|s| {
                let t = s.truth.unwrap_or_default();
                distance_m(t.0, t.1, s.fix.latitude_deg, s.fix.longitude_deg).powi(2)
            })
            .sum::<f64>()
            / a.len() as f64)
            .sqrt();
        // Radial RMS of a 2-D Gaussian is sigma * sqrt(2).
        assert!((rms - 8.0 * 2f64.sqrt()).abs() < 1.0, "{rms}");
    }

    #[test]
    fn a_faulted_run_reports_every_figure() {
        let opts = EvalOptions {
            fault_seed: Some(7),
            add_noise_m: Some(3.0),
            ..options()
        };
        let report = run(drive(), &opts);
        for key in [
            "raw_p50_m",
            "raw_p95_m",
            "filtered_p50_m",
            "filtered_p95_m",
            "outlier_recall",
            "false_rejection_rate",
            "max_stuck_s",
            "fixes_in",
            "fixes_rejected_by_reason",
        ] {
            assert!(!report[key].is_null(), "{key} missing in {report}");
        }
        assert!(report["outlier_recall"].as_f64().unwrap_or(0.0) >= 0.9);
        assert!(report["max_stuck_s"].as_f64().unwrap_or(99.0) <= 10.0);
    }
}

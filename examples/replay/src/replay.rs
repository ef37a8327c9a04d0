//! The policy replay (the default mode): a trace's timeline runs second by second through the
//! simulated OS into one subject (the real core, or a baseline), then energy and metrics.

use std::path::PathBuf;

use tracelet_core::policy::{PolicyConfig, Priority};

use crate::baselines::{Naive, Oracle, PEER_STOP_TIMEOUT_MS, PeerDefault};
use crate::core_subject::{ClockStep, CoreOptions, CoreSubject};
use crate::energy::{EnergyModel, Radio};
use crate::geo::Point;
use crate::metrics::{self, Transitions};
use crate::os_mode::OsMode;
use crate::report::{Report, RunFigures};
use crate::sim_os::SimOs;
use crate::subject::Subject;
use crate::timeline::{self, Timeline};
use crate::{geofence_eval, input, odometer_eval, truth};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Core,
    Naive,
    PeerDefault,
    Oracle,
}

impl PolicyKind {
    pub fn parse(name: &str) -> Option<PolicyKind> {
        match name {
            "core" => Some(PolicyKind::Core),
            "naive" => Some(PolicyKind::Naive),
            "peer-default" => Some(PolicyKind::PeerDefault),
            "oracle" => Some(PolicyKind::Oracle),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub trace: PathBuf,
    pub kind: PolicyKind,
    pub preset: String,
    /// Replaces the preset's policy (experiments with the lead's parameters).
    pub policy: Option<PolicyConfig>,
    /// Truth positions (CSV) or e-mission trips (`.json`).
    pub truth: Option<PathBuf>,
    pub collector: bool,
    pub seed: u64,
    /// Rest after the trace's last fix, so that the final stop can be detected.
    pub tail_s: i64,
    /// App geofences (the core only), scored against the ground truth's visits.
    pub geofences: Vec<tracelet_core::geofence::Geofence>,
    /// Steps of the phone's clock during the run (the core only).
    pub clock_steps: Vec<ClockStep>,
    /// No usable network until the trace ends (the core only).
    pub offline: bool,
    /// The permission the simulated OS enforces.
    pub os_mode: OsMode,
}

/// Ground truth as the replay uses it.
struct Truth {
    /// Where the phone was, 1 Hz over the timeline.
    path: Vec<Point>,
    /// Points the path error is measured from.
    reference: Vec<Point>,
    reference_source: &'static str,
    moving: Vec<truth::Interval>,
    moving_source: &'static str,
    stops: Vec<truth::Interval>,
}

pub fn run(options: &ReplayOptions) -> Result<Report, String> {
    let at = |e: &dyn std::fmt::Display, p: &std::path::Path| format!("{}: {e}", p.display());
    let trace = input::load(&options.trace).map_err(|e| at(&e, &options.trace))?;
    let (points, trips_path) = match &options.truth {
        Some(p) if p.extension().is_some_and(|e| e == "json") => (None, Some(p.clone())),
        Some(p) => (Some(truth::load_points(p).map_err(|e| at(&e, p))?), None),
        None => (None, input::ground_truth_beside(&options.trace)),
    };
    let trips = match &trips_path {
        Some(p) => Some(truth::load_trips(p).map_err(|e| at(&e, p))?),
        None => None,
    };
    let timeline = timeline::build(&trace.fixes, points.as_deref(), options.tail_s * 1000)
        .ok_or("the trace has no usable fixes")?;
    // The phone's recording window, over which the true distance is measured.
    let window = (
        trace.fixes.first().map_or(0, |f| f.time_ms),
        trace.fixes.last().map_or(0, |f| f.time_ms),
    );
    let truth_distance_m = points
        .as_deref()
        .map(|p| odometer_eval::truth_distance_m(p, window.0, window.1));
    let truth = truth_of(&timeline, points, trips);
    let start_ms = timeline.samples[0].truth.time_ms;

    let mut subject: Box<dyn Subject> = match options.kind {
        PolicyKind::Core => Box::new(CoreSubject::new(
            &CoreOptions {
                preset: options.preset.clone(),
                policy: options.policy.clone(),
                collector: options.collector,
                seed: options.seed,
                geofences: options.geofences.clone(),
                clock_steps: options.clock_steps.clone(),
                offline: options.offline,
                os_mode: options.os_mode,
            },
            start_ms,
        )?),
        _ if options.os_mode != OsMode::Full => {
            return Err("--os-mode needs the core (--policy core)".into());
        }
        _ if !options.geofences.is_empty() => {
            return Err("--geofences needs the core (--policy core)".into());
        }
        PolicyKind::Naive => Box::new(Naive::default()),
        PolicyKind::PeerDefault => Box::new(PeerDefault::default()),
        PolicyKind::Oracle => Box::new(Oracle::new(truth.moving.clone())),
    };
    let stop_timeout_ms = match options.kind {
        PolicyKind::Core => options
            .policy
            .clone()
            .or_else(|| PolicyConfig::preset(&options.preset))
            .map_or(0, |p| p.stop_timeout_ms),
        PolicyKind::PeerDefault => PEER_STOP_TIMEOUT_MS,
        PolicyKind::Naive | PolicyKind::Oracle => 0,
    };

    let mut os = SimOs::new(options.seed, trace.activities.clone()).with_mode(options.os_mode);
    let mut priority_s = [0u64; 4];
    let mut transitions = Transitions::default();
    let mut was_stationary = subject.stationary();
    let mut now_ms = start_ms;
    for sample in &timeline.samples {
        now_ms = sample.truth.time_ms;
        let request = subject.request();
        priority_s[priority_index(request.priority)] += 1;
        let step = os.step(sample, &request);
        for activity in step.activities {
            subject.on_activity(activity, now_ms)?;
        }
        if step.geofence_exit {
            subject.on_geofence_exit(now_ms)?;
        }
        if !step.fixes.is_empty() {
            subject.on_fixes(step.fixes, now_ms)?;
        }
        subject.tick(now_ms)?;
        let stationary = subject.stationary();
        if stationary != was_stationary {
            let list = if stationary {
                &mut transitions.stopped_at
            } else {
                &mut transitions.resumed_at
            };
            list.push(now_ms);
            was_stationary = stationary;
        }
    }
    let name = subject.name();
    let outcome = subject.finish(now_ms)?;

    let model = EnergyModel::default();
    let mut radio = Radio::new(model.clone());
    for upload in &outcome.uploads {
        radio.upload((upload.time_ms - start_ms) as f64 / 1000.0, upload.bytes);
    }
    radio.finish();
    let location_j: f64 = PRIORITIES
        .iter()
        .map(|&p| priority_s[priority_index(p)] as f64 * model.location_w(p))
        .sum();
    let errors = metrics::path_errors(&truth.reference, &outcome.track);
    let stops = metrics::score_stops(&truth.stops, &transitions, stop_timeout_ms, &truth.path);
    let geofences = if options.geofences.is_empty() {
        None
    } else {
        let visits = match &trips_path {
            Some(p) => truth::load_visits(p).map_err(|e| at(&e, p))?.0,
            None => Vec::new(),
        };
        Some(geofence_eval::evaluate(
            &options.geofences,
            &outcome.geofence_events,
            &visits,
            &truth.path,
            now_ms - start_ms,
        ))
    };

    // Still: at rest by the ground truth's trips (where given) and by the simulated path.
    let end_ms = now_ms + 1000;
    let still = odometer_eval::still_within(
        &odometer_eval::rest(&truth.moving, start_ms, end_ms),
        &odometer_eval::rest(&truth::moving_from_path(&truth.path), start_ms, end_ms),
    );
    let odometer = odometer_eval::to_json(&outcome.odometer, truth_distance_m, &still);
    Ok(Report {
        policy: name,
        trace: options.trace.display().to_string(),
        geofences,
        odometer,
        figures: RunFigures {
            duration_s: timeline.samples.len() as u64,
            trace_s: timeline.trace_samples as u64,
            seed: options.seed,
            os: os.counters,
            outcome,
            priority_s,
            location_j,
            radio,
            model,
            path_errors: errors,
            reference_source: truth.reference_source,
            moving: truth.moving,
            moving_source: truth.moving_source,
            stops,
            stop_timeout_ms,
            activities_in_trace: trace.activities.len() as u64,
        },
    })
}

fn truth_of(
    timeline: &Timeline,
    points: Option<Vec<Point>>,
    trips: Option<Vec<truth::Interval>>,
) -> Truth {
    let path: Vec<Point> = timeline.samples.iter().map(|s| s.truth).collect();
    let (start, end) = (
        path.first().map_or(0, |p| p.time_ms),
        path.last().map_or(0, |p| p.time_ms + 1000),
    );
    let (reference, reference_source) = match points {
        Some(points) => (points, "truth"),
        None => (
            path[..timeline.trace_samples.min(path.len())].to_vec(),
            "trace_1hz",
        ),
    };
    let (moving, moving_source) = match trips {
        Some(trips) => (trips, "ground_truth_trips"),
        None => (truth::moving_from_path(&path), "speed_along_path"),
    };
    let stops = truth::stops_between(&moving, start, end);
    Truth {
        path,
        reference,
        reference_source,
        moving,
        moving_source,
        stops,
    }
}

pub const PRIORITIES: [Priority; 4] = [
    Priority::HighAccuracy,
    Priority::Balanced,
    Priority::LowPower,
    Priority::Passive,
];

pub fn priority_index(p: Priority) -> usize {
    match p {
        Priority::HighAccuracy => 0,
        Priority::Balanced => 1,
        Priority::LowPower => 2,
        Priority::Passive => 3,
    }
}

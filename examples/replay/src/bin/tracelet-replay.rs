//! `tracelet-replay TRACE [MODE] [options]`: runs a recorded trace through the Tracelet core.
//!
//! Each mode lives in its own module of the `tracelet_replay` library; this file only parses
//! arguments and dispatches. Modes: the policy replay (the default, issue 3) and
//! `--filter-eval` (issue 4). Add new ones to [`Mode`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use tracelet_core::filter::FilterConfig;
use tracelet_core::geofence::{Geofence, parse_geofence_file};
use tracelet_core::policy::PolicyConfig;
use tracelet_replay::core_subject::ClockStep;
use tracelet_replay::os_mode::OsMode;
use tracelet_replay::replay::{PolicyKind, ReplayOptions};
use tracelet_replay::{filter_eval, geofence_eval, replay, trace, truth};

#[derive(Debug, Parser)]
#[command(
    name = "tracelet-replay",
    about = "Replays a recorded GPS trace through the Tracelet core"
)]
struct Args {
    /// Trace file: NMEA, GPX, e-mission JSON, or a CSV naming time, lat_deg and lon_deg.
    trace: PathBuf,

    /// Mode: run the on-device filter over the trace and report its accuracy and decisions.
    #[arg(long)]
    filter_eval: bool,

    /// Ground truth: a CSV (utc_ms, lat_deg, lon_deg), or an e-mission ground_truth.json with
    /// trips (found automatically beside an e-mission trace).
    #[arg(long, value_name = "CSV")]
    truth: Option<PathBuf>,

    /// Policy replay: the subject, core (the default, with --preset), naive, peer-default or
    /// oracle.
    #[arg(long, default_value = "core")]
    policy: String,

    /// Policy replay: count uploads in a sink answering 200 instead of an in-process collector.
    #[arg(long)]
    no_upload: bool,

    /// Policy replay: seed of the simulated OS's noise and of the tracker's jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Policy replay: seconds of rest after the trace's last fix (lets the last stop show).
    #[arg(long, default_value_t = 600)]
    tail_s: i64,

    /// Policy replay: override preset parameters, e.g. `stop_timeout_ms=120000` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    overrides: Vec<String>,

    /// Add seeded Gaussian noise of this many metres per axis (accuracy set to match).
    #[arg(long, value_name = "SIGMA_M")]
    add_noise: Option<f64>,

    /// Set every fix's horizontal accuracy to this (for traces whose accuracy is a placeholder,
    /// like the GSDC NMEA). --add-noise overrides it with the noise's own accuracy.
    #[arg(long, value_name = "M")]
    accuracy: Option<f64>,

    /// Inject labelled faults (jumps, lying accuracy, duplicates, reversals, relocations).
    #[arg(long, value_name = "SEED")]
    inject_faults: Option<u64>,

    /// Preset of the policy (policy replay) or of the filter (--filter-eval): efficient,
    /// balanced or continuous.
    #[arg(long, default_value = "balanced")]
    preset: String,

    /// Switch Kalman smoothing off.
    #[arg(long)]
    no_kalman: bool,

    /// Policy replay: app geofences (a JSON geofence file, see docs/geofences.md); the report
    /// gains geofence_events, enter_latency_p50_s and false_events, scored against the
    /// visits of an e-mission ground truth.
    #[arg(long, value_name = "FILE")]
    geofences: Option<PathBuf>,

    /// Policy replay: the phone's clock jumps by DELTA_S seconds at AT_S seconds into the
    /// trace (repeatable), e.g. `--clock-step 18000:-10800`. Fixes are stamped by that clock.
    #[arg(long = "clock-step", value_name = "AT_S:DELTA_S")]
    clock_step: Vec<String>,

    /// Policy replay: no usable network until the trace ends; the report's uploader_wakeups
    /// then show what waiting costs.
    #[arg(long)]
    offline: bool,

    /// Mode: print a geofence file with one circle of this radius (metres) per distinct place
    /// of the e-mission ground truth beside TRACE (or --truth).
    #[arg(long, value_name = "RADIUS_M")]
    make_geofences: Option<f64>,

    /// Policy replay: the permission the simulated OS enforces: full (the default),
    /// when-in-use-background (no region or relaunch wakes the app) or approximate-only (2 km
    /// fixes, at most every 10 minutes). The report says what was recorded and what the app
    /// was told (app_told_access, recording_mode, coarse_fallback_s).
    #[arg(long, default_value = "full", value_name = "MODE")]
    os_mode: String,

    /// Mode: ask the core for one position every N seconds along the trace (default 60), cold
    /// (tracking off, nothing cached) and warm (tracking for two minutes before), and report
    /// the median time to a fix within 20 m of the truth (--truth, else the trace itself).
    #[arg(long, value_name = "EVERY_S", num_args = 0..=1, default_missing_value = "60")]
    current_position: Option<usize>,

    /// Print one compact JSON object (default: pretty-printed).
    #[arg(long)]
    json: bool,
}

/// What the run does. One variant per mode; each mode's logic lives in its own module.
enum Mode {
    PolicyReplay,
    FilterEval,
    MakeGeofences(f64),
    CurrentPosition(usize),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            let text = if args.json {
                report.to_string()
            } else {
                serde_json::to_string_pretty(&report).unwrap_or_else(|_| report.to_string())
            };
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("tracelet-replay: {message}");
            ExitCode::FAILURE
        }
    }
}

fn mode(args: &Args) -> Result<Mode, String> {
    if let Some(every_s) = args.current_position {
        if args.filter_eval || args.make_geofences.is_some() {
            return Err("--current-position is a mode of its own".into());
        }
        return Ok(Mode::CurrentPosition(every_s));
    }
    match (args.filter_eval, args.make_geofences) {
        (true, Some(_)) => Err("--filter-eval and --make-geofences are separate modes".into()),
        (true, None) => Ok(Mode::FilterEval),
        (false, Some(radius)) => Ok(Mode::MakeGeofences(radius)),
        (false, None) => Ok(Mode::PolicyReplay),
    }
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    match mode(args)? {
        Mode::FilterEval => filter_eval_mode(args),
        Mode::PolicyReplay => policy_replay_mode(args),
        Mode::MakeGeofences(radius_m) => make_geofences_mode(args, radius_m),
        Mode::CurrentPosition(every_s) => current_position_mode(args, every_s),
    }
}

fn current_position_mode(args: &Args, every_s: usize) -> Result<serde_json::Value, String> {
    let trace = tracelet_replay::input::load(&args.trace)
        .map_err(|e| format!("{}: {e}", args.trace.display()))?;
    let points = match &args.truth {
        Some(path) if path.extension().is_none_or(|e| e != "json") => {
            Some(truth::load_points(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        _ => None,
    };
    let timeline = tracelet_replay::timeline::build(&trace.fixes, points.as_deref(), 0)
        .ok_or("the trace has no usable fixes")?;
    tracelet_replay::current_position_eval::run(&timeline, &args.preset, every_s, args.seed)
}

fn ground_truth_json(args: &Args) -> Result<PathBuf, String> {
    args.truth
        .clone()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .or_else(|| tracelet_replay::input::ground_truth_beside(&args.trace))
        .ok_or_else(|| "no e-mission ground_truth.json beside the trace; pass --truth".into())
}

fn make_geofences_mode(args: &Args, radius_m: f64) -> Result<serde_json::Value, String> {
    let path = ground_truth_json(args)?;
    let (visits, origin) =
        truth::load_visits(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let places: Vec<truth::Visit> = origin.into_iter().chain(visits).collect();
    let fences = geofence_eval::geofences_for_visits(&places, radius_m);
    let text = geofence_eval::geofence_file(&fences)?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn load_geofences(path: &Path) -> Result<Vec<Geofence>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_geofence_file(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn policy_replay_mode(args: &Args) -> Result<serde_json::Value, String> {
    let kind = PolicyKind::parse(&args.policy)
        .ok_or("unknown --policy (expected core, naive, peer-default or oracle)")?;
    let policy = if args.overrides.is_empty() {
        None
    } else {
        let mut p = PolicyConfig::preset(&args.preset)
            .ok_or("unknown preset (expected efficient, balanced or continuous)")?;
        for o in &args.overrides {
            apply_override(&mut p, o)?;
        }
        if !p.is_valid() {
            return Err("the overridden policy parameters are out of range".into());
        }
        Some(p)
    };
    let options = ReplayOptions {
        trace: args.trace.clone(),
        kind,
        preset: args.preset.clone(),
        policy,
        truth: args.truth.clone(),
        collector: !args.no_upload,
        seed: args.seed,
        tail_s: args.tail_s.max(0),
        geofences: match &args.geofences {
            Some(path) => load_geofences(path)?,
            None => Vec::new(),
        },
        clock_steps: args
            .clock_step
            .iter()
            .map(|s| ClockStep::parse(s).ok_or(format!("--clock-step {s}: expected AT_S:DELTA_S")))
            .collect::<Result<_, _>>()?,
        offline: args.offline,
        os_mode: OsMode::parse(&args.os_mode).ok_or(
            "unknown --os-mode (expected full, when-in-use-background or approximate-only)",
        )?,
    };
    let started = Instant::now();
    let report = replay::run(&options)?;
    eprintln!(
        "tracelet-replay: {} simulated s in {:.2} s wall time",
        report.figures.duration_s,
        started.elapsed().as_secs_f64()
    );
    Ok(report.to_json())
}

/// `NAME=VALUE` for the numeric fields of [`PolicyConfig`].
fn apply_override(p: &mut PolicyConfig, text: &str) -> Result<(), String> {
    let (name, value) = text.split_once('=').ok_or("--set expects NAME=VALUE")?;
    let v: f64 = value
        .parse()
        .map_err(|_| format!("--set {name}: not a number"))?;
    p.set(name, v)
        .map_err(|_| format!("--set: unknown policy parameter {name}"))
}

fn preset(name: &str) -> Result<FilterConfig, String> {
    match name {
        "efficient" => Ok(FilterConfig::efficient()),
        "balanced" => Ok(FilterConfig::balanced()),
        "continuous" => Ok(FilterConfig::continuous()),
        _ => Err("unknown preset (expected efficient, balanced or continuous)".into()),
    }
}

fn load(path: &Path) -> Result<Vec<tracelet_core::Fix>, String> {
    trace::load(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn filter_eval_mode(args: &Args) -> Result<serde_json::Value, String> {
    let mut config = preset(&args.preset)?;
    if args.no_kalman {
        config.kalman = None;
    }
    if args.accuracy.is_some_and(|a| !(a.is_finite() && a > 0.0)) {
        return Err("--accuracy must be a positive number of metres".into());
    }
    if args.add_noise.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
        return Err("--add-noise must be a positive number of metres".into());
    }
    let truth = match &args.truth {
        Some(path) => {
            Some(truth::load_points(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let options = filter_eval::EvalOptions {
        config,
        preset: args.preset.clone(),
        truth,
        add_noise_m: args.add_noise,
        accuracy_m: args.accuracy,
        fault_seed: args.inject_faults,
    };
    Ok(filter_eval::run(load(&args.trace)?, &options))
}

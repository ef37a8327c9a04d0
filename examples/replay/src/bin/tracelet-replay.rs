//! `tracelet-replay TRACE MODE [options]`: runs a recorded trace through the Tracelet core.
//!
//! Each mode lives in its own module of the `tracelet_replay` library; this file only parses
//! arguments and dispatches. Modes: `--filter-eval` (issue 4). Add new ones to [`Mode`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tracelet_core::filter::FilterConfig;
use tracelet_replay::{filter_eval, trace};

#[derive(Debug, Parser)]
#[command(
    name = "tracelet-replay",
    about = "Replays a recorded GPS trace through the Tracelet core"
)]
struct Args {
    /// Trace file: NMEA (.nmea) or a CSV naming time, lat_deg and lon_deg columns.
    trace: PathBuf,

    /// Mode: run the on-device filter over the trace and report its accuracy and decisions.
    #[arg(long)]
    filter_eval: bool,

    /// Ground-truth CSV (utc_ms, lat_deg, lon_deg), interpolated at each fix time.
    #[arg(long, value_name = "CSV")]
    truth: Option<PathBuf>,

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

    /// Filter preset: efficient, balanced or continuous.
    #[arg(long, default_value = "balanced")]
    preset: String,

    /// Switch Kalman smoothing off.
    #[arg(long)]
    no_kalman: bool,

    /// Print one compact JSON object (default: pretty-printed).
    #[arg(long)]
    json: bool,
}

/// What the run does. One variant per mode; each mode's logic lives in its own module.
enum Mode {
    FilterEval,
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
    if args.filter_eval {
        Ok(Mode::FilterEval)
    } else {
        Err("choose a mode: --filter-eval".into())
    }
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    match mode(args)? {
        Mode::FilterEval => filter_eval_mode(args),
    }
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
        Some(path) => Some(
            load(path)?
                .into_iter()
                .map(|f| (f.time_ms, f.latitude_deg, f.longitude_deg))
                .collect(),
        ),
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

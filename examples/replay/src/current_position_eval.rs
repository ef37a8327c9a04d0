//! `--current-position`: how long `Tracker::current_position` takes to answer with a fix
//! within 20 m of the truth, along a trace, cold and warm.
//!
//! Every `every_s` seconds of the trace a request is made (desired accuracy 20 m, timeout
//! 60 s, no cached answer allowed):
//! - **cold**: a fresh tracker, tracking off, no last known location, the filter empty;
//! - **warm**: a tracker that has been tracking for the two minutes before, under its policy.
//!
//! The simulated OS honours the request's sampling (GNSS once a second) from the next second
//! on. It has no model of the receiver's own time to first fix, so the figures are what the
//! core adds on top of the OS's; they are stated with that assumption in the report.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use serde_json::{Value, json};
use tracelet_core::{
    Clock, CurrentPositionError, Location, ManualClock, PositionRequest, Tracker, TrackerConfig,
};

use crate::geo::{Point, percentile, position_at};
use crate::sim_os::SimOs;
use crate::timeline::Timeline;

/// What the app asks for.
pub const DESIRED_ACCURACY_M: f64 = 20.0;
pub const TIMEOUT_MS: i64 = 60_000;
/// How long the warm tracker tracks before the request.
pub const WARM_UP_S: usize = 120;

/// One request's outcome: seconds to the answer and the answer's distance from the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Asked {
    pub seconds: f64,
    pub error_m: Option<f64>,
}

type Answer = Pin<Box<dyn Future<Output = Result<Location, CurrentPositionError>>>>;

fn poll(answer: &mut Answer) -> Poll<Result<Location, CurrentPositionError>> {
    answer
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

fn tracker(
    start_ms: i64,
    preset: &str,
) -> Result<(Tracker, Arc<ManualClock>, tempfile::TempDir), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "cp", "tok", dir.path());
    if !config.apply_preset(preset) {
        return Err("unknown preset (expected efficient, balanced or continuous)".into());
    }
    config.upload.automatic = false;
    config.jitter_seed = Some(1);
    let clock = Arc::new(ManualClock::new(start_ms));
    let tracker = Tracker::new(config, clock.clone()).map_err(|e| e.to_string())?;
    Ok((tracker, clock, dir))
}

/// One request at sample `at` of the timeline; `warm`: tracking for [`WARM_UP_S`] before.
fn ask(
    timeline: &Timeline,
    truth: &[Point],
    at: usize,
    warm: bool,
    preset: &str,
    seed: u64,
) -> Result<Asked, String> {
    let begin = if warm {
        at.saturating_sub(WARM_UP_S)
    } else {
        at
    };
    let samples = &timeline.samples;
    let (tracker, clock, _dir) = tracker(samples[begin].truth.time_ms, preset)?;
    let mut os = SimOs::new(seed, Vec::new());
    if warm {
        tracker.start().map_err(|e| e.to_string())?;
        for sample in &samples[begin..at] {
            clock.set_ms(sample.truth.time_ms);
            let step = os.step(sample, &tracker.sampling_request());
            if !step.fixes.is_empty() {
                let _ = tracker.record_batch(step.fixes);
            }
            tracker.tick();
        }
    }
    let asked_ms = samples[at].truth.time_ms;
    clock.set_ms(asked_ms);
    let request = PositionRequest {
        desired_accuracy_m: DESIRED_ACCURACY_M,
        timeout_ms: TIMEOUT_MS,
        max_age_ms: 0,
        persist: false,
    };
    // The tracker outlives the future: it is dropped at the end of this function.
    let tracker = Arc::new(tracker);
    let shared = Arc::clone(&tracker);
    let mut answer: Answer = Box::pin(async move { shared.current_position(request).await });
    let mut k = at;
    loop {
        if let Poll::Ready(result) = poll(&mut answer) {
            let now_ms = clock.now_ms();
            let seconds = (now_ms - asked_ms) as f64 / 1000.0;
            let error_m = result.ok().and_then(|l| {
                position_at(truth, l.time_ms).map(|p| {
                    tracelet_core::geodesy::distance_m(
                        p.lat,
                        p.lon,
                        l.latitude_deg,
                        l.longitude_deg,
                    )
                })
            });
            return Ok(Asked { seconds, error_m });
        }
        k += 1;
        let Some(sample) = samples.get(k) else {
            return Ok(Asked {
                seconds: (samples[k - 1].truth.time_ms - asked_ms) as f64 / 1000.0,
                error_m: None,
            });
        };
        clock.set_ms(sample.truth.time_ms);
        let step = os.step(sample, &tracker.sampling_request());
        if !step.fixes.is_empty() {
            let _ = tracker.record_batch(step.fixes);
        }
        tracker.tick();
    }
}

fn summary(asked: &[Asked]) -> Value {
    let within: Vec<f64> = asked
        .iter()
        .filter(|a| a.error_m.is_some_and(|e| e <= DESIRED_ACCURACY_M))
        .map(|a| a.seconds)
        .collect();
    let errors: Vec<f64> = asked.iter().filter_map(|a| a.error_m).collect();
    let round = |v: Option<f64>| v.map(|v| (v * 10.0).round() / 10.0);
    json!({
        "requests": asked.len(),
        "answered_within_20_m": within.len(),
        "median_s_to_fix_within_20_m": round(percentile(&within, 50.0)),
        "p95_s_to_fix_within_20_m": round(percentile(&within, 95.0)),
        "answer_error_p50_m": round(percentile(&errors, 50.0)),
        "answer_error_p95_m": round(percentile(&errors, 95.0)),
        "timeouts": asked.iter().filter(|a| a.error_m.is_none()).count(),
    })
}

/// Requests every `every_s` seconds along the trace's own span, cold and warm.
pub fn run(timeline: &Timeline, preset: &str, every_s: usize, seed: u64) -> Result<Value, String> {
    let truth: Vec<Point> = timeline.samples.iter().map(|s| s.truth).collect();
    let truth = truth.as_slice();
    let end = timeline.trace_samples.min(timeline.samples.len());
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut at = WARM_UP_S;
    while at + 1 < end {
        cold.push(ask(timeline, truth, at, false, preset, seed)?);
        warm.push(ask(timeline, truth, at, true, preset, seed)?);
        at += every_s.max(1);
    }
    Ok(json!({
        "mode": "current_position",
        "preset": preset,
        "desired_accuracy_m": DESIRED_ACCURACY_M,
        "timeout_ms": TIMEOUT_MS,
        "warm_up_s": WARM_UP_S,
        "every_s": every_s,
        "assumption": "the simulated OS delivers GNSS fixes from the second after the request (no receiver time-to-first-fix model): the figures are what the core adds",
        "cold": summary(&cold),
        "warm": summary(&warm),
    }))
}

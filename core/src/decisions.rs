//! Per-fix decisions, in arrival order: validation, the on-device filter and the motion policy.
//! The tracker holds one `Decider` behind a lock so that concurrent recorders see one order.

use crate::filter::{
    Activity, Filter, FilterConfig, FilterContext, FilterDecision, Motion, RejectReason, Smoothed,
};
use crate::fix::{Fix, FixError, validate};
use crate::platform::{ApproximateGate, RecordingMode, approximate};
use crate::policy::{
    MotionPolicy, MotionState, PolicyConfig, PolicyOutput, PowerState, SamplingRequest,
};
use crate::steady::Now;

/// Why a fix was not stored: invalid input (a typed error for the caller) or a filter verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Invalid(FixError),
    Filtered(RejectReason),
}

impl Refusal {
    /// Stable short name, as events and counters report it.
    pub fn name(&self) -> &'static str {
        match self {
            Refusal::Invalid(e) => RejectReason::from_fix_error(e).name(),
            Refusal::Filtered(reason) => reason.name(),
        }
    }
}

/// Cloned before a batch is judged, so that a failed write can put every gate back as it was.
#[derive(Clone)]
pub struct Decider {
    policy: MotionPolicy,
    filter: Option<Filter>,
    activity: Activity,
    /// What the permission lets the SDK record; approximate fixes bypass filter and policy.
    mode: RecordingMode,
    approximate: ApproximateGate,
}

/// The fixes of one batch, split by verdict; indices refer to the input order.
#[derive(Debug, Default)]
pub struct Verdicts {
    pub keep: Vec<Fix>,
    /// The input index of each kept fix.
    pub kept: Vec<usize>,
    /// The filter's smoothed position of each kept fix, by the same index.
    pub smoothed: Vec<Option<Smoothed>>,
    pub refused: Vec<(usize, Refusal)>,
    /// What the policy decided on fixes it saw while judging (stationary heartbeats).
    pub policy_outputs: Vec<PolicyOutput>,
}

impl Decider {
    pub fn new(policy: PolicyConfig, filter: Option<FilterConfig>) -> Decider {
        Decider {
            policy: MotionPolicy::new(policy),
            filter: filter.map(Filter::new),
            activity: Activity::Unknown,
            mode: RecordingMode::Precise,
            approximate: ApproximateGate::default(),
        }
    }

    pub fn mode(&self) -> RecordingMode {
        self.mode
    }

    /// Switches what is recorded; the output carries the new request when it changed. Leaving
    /// approximate mode starts sampling afresh, as a start does.
    pub fn set_mode(&mut self, mode: RecordingMode, now_ms: i64) -> PolicyOutput {
        let before = self.sampling_request();
        let was_approximate = self.mode == RecordingMode::Approximate;
        self.mode = mode;
        if was_approximate && mode != RecordingMode::Approximate {
            return self.restart(now_ms);
        }
        let after = self.sampling_request();
        PolicyOutput {
            motion_change: None,
            request: (after != before).then_some(after),
        }
    }

    /// The OS's significant-motion trigger fired.
    pub fn significant_motion(&mut self, now_ms: i64) -> PolicyOutput {
        let output = self.policy.on_significant_motion(now_ms);
        self.in_mode(output)
    }

    /// A relaunched process resumes its saved stop.
    pub fn resume_stationary(&mut self, latitude_deg: f64, longitude_deg: f64, now_ms: i64) {
        self.policy
            .resume_stationary(latitude_deg, longitude_deg, now_ms);
    }

    /// In approximate mode the policy's requests are not what the OS gets: drop them, so that
    /// no `SamplingChanged` announces a request that is not in force.
    fn in_mode(&self, mut output: PolicyOutput) -> PolicyOutput {
        if self.mode == RecordingMode::Approximate {
            output.request = None;
        }
        output
    }

    fn judge_approximate(&mut self, fixes: Vec<Fix>, now_ms: i64) -> Verdicts {
        let mut verdicts = Verdicts::default();
        for (index, fix) in fixes.into_iter().enumerate() {
            if let Err(error) = validate(&fix, now_ms) {
                verdicts.refused.push((index, Refusal::Invalid(error)));
            } else if let Err(reason) = self.approximate.judge(&fix) {
                verdicts.refused.push((index, Refusal::Filtered(reason)));
            } else {
                verdicts.keep.push(fix);
                verdicts.kept.push(index);
                verdicts.smoothed.push(None);
            }
        }
        verdicts
    }

    /// Validates and filters each fix; the kept ones are what the queue stores. Fixes are
    /// compared with the wall clock; the policy's stop clock runs on steady time.
    pub fn judge(&mut self, fixes: Vec<Fix>, now: Now) -> Verdicts {
        let now_ms = now.wall_ms;
        if self.mode == RecordingMode::Approximate {
            return self.judge_approximate(fixes, now_ms);
        }
        let ctx = FilterContext {
            activity: self.activity,
            motion: match self.policy.state() {
                MotionState::Stationary => Motion::Stationary,
                MotionState::Moving | MotionState::Stopping => Motion::Moving,
            },
        };
        let mut verdicts = Verdicts::default();
        for (index, fix) in fixes.into_iter().enumerate() {
            if let Err(error) = validate(&fix, now_ms) {
                verdicts.refused.push((index, Refusal::Invalid(error)));
                continue;
            }
            match self.filter.as_mut().map(|f| f.process_at(&fix, now, &ctx)) {
                Some(FilterDecision::Reject(reason)) => {
                    verdicts.refused.push((index, Refusal::Filtered(reason)));
                }
                None => {
                    verdicts.keep.push(fix);
                    verdicts.kept.push(index);
                    verdicts.smoothed.push(None);
                }
                Some(FilterDecision::Accept { smoothed, .. }) => {
                    if self.is_still_stationary_after(&fix, now, &mut verdicts) {
                        let reason = RejectReason::Stationary;
                        verdicts.refused.push((index, Refusal::Filtered(reason)));
                    } else {
                        verdicts.keep.push(fix);
                        verdicts.kept.push(index);
                        verdicts.smoothed.push(smoothed);
                    }
                }
            }
        }
        verdicts
    }

    /// While stationary the policy judges a heartbeat fix first: one that shows movement
    /// resumes sampling and is stored; one that does not is not stored (the stop is).
    fn is_still_stationary_after(&mut self, fix: &Fix, now: Now, verdicts: &mut Verdicts) -> bool {
        if self.policy.state() != MotionState::Stationary {
            return false;
        }
        let output = self.policy.on_fix(fix, now);
        if output != PolicyOutput::default() {
            verdicts.policy_outputs.push(output);
        }
        self.policy.state() == MotionState::Stationary
    }

    /// Lets the policy see the fixes that were stored.
    pub fn observe(&mut self, stored: &[Fix], now: Now) -> Vec<PolicyOutput> {
        if self.mode == RecordingMode::Approximate {
            // Kilometre-wide fixes cannot tell a stop from a drive.
            return Vec::new();
        }
        stored
            .iter()
            .map(|fix| self.policy.on_fix(fix, now))
            .filter(|out| *out != PolicyOutput::default())
            .collect()
    }

    /// Time passing, in steady time.
    pub fn tick(&mut self, steady_ms: i64) -> PolicyOutput {
        let output = self.policy.on_tick(steady_ms);
        self.in_mode(output)
    }

    /// When time alone next changes the policy's state (steady time); never in approximate
    /// mode, where the policy decides nothing.
    pub fn next_deadline_ms(&self) -> Option<i64> {
        if self.mode == RecordingMode::Approximate {
            return None;
        }
        self.policy.next_deadline_ms()
    }

    pub fn activity(&mut self, activity: Activity, now_ms: i64) -> PolicyOutput {
        self.activity = activity;
        let output = self.policy.on_activity(activity, now_ms);
        self.in_mode(output)
    }

    pub fn power(&mut self, power: PowerState) -> PolicyOutput {
        let output = self.policy.on_power(power);
        self.in_mode(output)
    }

    /// Overrides one policy parameter by name; `None` if the name is unknown or the value
    /// makes the parameters invalid (then nothing changes).
    pub fn set_policy_parameter(&mut self, name: &str, value: f64) -> Option<PolicyOutput> {
        let mut config = self.policy.base_config().clone();
        config.set(name, value).ok()?;
        let output = self.policy.reconfigure(config)?;
        Some(self.in_mode(output))
    }

    pub fn geofence_exit(&mut self, now_ms: i64) -> PolicyOutput {
        let output = self.policy.on_geofence_exit(now_ms);
        self.in_mode(output)
    }

    /// Tracking (re)started: sample again, and forget the track the filter was following.
    pub fn restart(&mut self, now_ms: i64) -> PolicyOutput {
        if let Some(filter) = self.filter.as_mut() {
            filter.reset_track();
        }
        self.policy.restart(now_ms)
    }

    pub fn sampling_request(&self) -> SamplingRequest {
        if self.mode == RecordingMode::Approximate {
            return approximate::sampling_request();
        }
        self.policy.sampling_request()
    }

    /// How long stored fixes may wait for an upload now.
    pub fn upload_interval_ms(&self) -> i64 {
        if self.mode == RecordingMode::Approximate {
            return self.policy.config().stationary_upload_interval_ms;
        }
        self.policy.upload_interval_ms()
    }

    /// Whether fixes trickle in (stationary heartbeats, approximate fixes every 10 minutes), so
    /// that uploads wait the longer interval instead of costing a radio wake-up per fix.
    pub fn uploads_sparsely(&self) -> bool {
        self.mode == RecordingMode::Approximate || self.motion_state() == MotionState::Stationary
    }

    /// Where the phone stopped, while stationary with a stationary geofence.
    pub fn stop_position(&self) -> Option<(f64, f64)> {
        self.policy
            .sampling_request()
            .stationary_geofence
            .map(|g| (g.latitude_deg, g.longitude_deg))
    }

    pub fn motion_state(&self) -> MotionState {
        self.policy.state()
    }
}

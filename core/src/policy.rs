//! The sampling policy: a motion state machine (moving, stopping, stationary) that decides what
//! the OS location API is asked for, so that GNSS runs only while the phone moves.
//!
//! - **Stop detection.** While moving, the first fix of a candidate stop becomes the anchor.
//!   Fixes within `stationary_radius_m` of it (widened by their accuracy, capped, so that GNSS
//!   drift while still is not movement) keep the candidate; after `stop_timeout_ms` inside it
//!   (or `still_timeout_ms` when the OS says the user is still) the phone is stationary. Time
//!   counts even without fixes, since a distance filter keeps a still phone silent.
//! - **Stationary.** GNSS off: a low-power heartbeat request and a stationary geofence around
//!   the anchor.
//! - **Fast resume.** Leaving the geofence, an activity transition to a moving activity, or any
//!   fix clearly outside the radius resumes moving sampling at once.
//! - **Distance filter** scales with speed: `clamp(speed × distance_filter_s, min, max)`.
//!
//! Pure and deterministic: state in, decisions out; time comes in as arguments.

use crate::fix::Fix;
use crate::geodesy::distance_m;
use crate::steady::Now;

/// How hard the OS should work for a fix, from most to least power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Priority {
    /// GNSS: best accuracy, highest power.
    HighAccuracy,
    /// Wi-Fi and cell, GNSS when cheap: about 100 m.
    Balanced,
    /// Cell towers: about 1-10 km.
    LowPower,
    /// No requests of our own; take fixes other apps caused.
    Passive,
}

/// A circle the OS watches for the device to leave, so that GNSS can be off while still.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StationaryGeofence {
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub radius_m: f64,
}

/// The sampling the core wants from the OS right now.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SamplingRequest {
    pub priority: Priority,
    /// Desired interval between fixes.
    pub interval_ms: i64,
    /// Fixes may arrive this often when another app asks for more.
    pub fastest_interval_ms: i64,
    /// The OS may skip fixes closer than this to the previous one.
    pub min_distance_m: f64,
    /// The OS may hold fixes back this long and deliver them in one batch (saves wake-ups).
    pub max_batch_delay_ms: i64,
    pub stationary_geofence: Option<StationaryGeofence>,
}

impl SamplingRequest {
    /// What the balanced preset asks for while moving at walking pace.
    pub fn moving_balanced() -> SamplingRequest {
        MotionPolicy::new(PolicyConfig::balanced()).sampling_request()
    }

    /// True when every field is in the range the platform layers can apply.
    pub fn is_valid(&self) -> bool {
        self.interval_ms > 0
            && self.fastest_interval_ms > 0
            && self.fastest_interval_ms <= self.interval_ms
            && self.min_distance_m.is_finite()
            && self.min_distance_m >= 0.0
            && self.max_batch_delay_ms >= 0
            && self.stationary_geofence.is_none_or(|g| {
                g.latitude_deg.abs() <= 90.0
                    && g.longitude_deg.abs() <= 180.0
                    && g.radius_m.is_finite()
                    && g.radius_m > 0.0
            })
    }
}

/// The motion state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MotionState {
    Moving,
    /// Inside a candidate stop, waiting out the stop timeout; sampling as when moving.
    Stopping,
    Stationary,
}

/// Activity recognition's verdict, as far as the policy cares.
pub use crate::filter::Activity;

/// Why the motion state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MotionReason {
    StopTimeout,
    StillActivity,
    GeofenceExit,
    MovingActivity,
    FixOutsideRadius,
    Started,
    /// Android's significant-motion sensor fired while stationary.
    SignificantMotion,
}

impl MotionReason {
    pub fn name(self) -> &'static str {
        match self {
            MotionReason::StopTimeout => "stop_timeout",
            MotionReason::StillActivity => "still_activity",
            MotionReason::GeofenceExit => "geofence_exit",
            MotionReason::MovingActivity => "moving_activity",
            MotionReason::FixOutsideRadius => "fix_outside_radius",
            MotionReason::Started => "started",
            MotionReason::SignificantMotion => "significant_motion",
        }
    }
}

/// Every parameter of a preset, named. Presets are constructors; every field can be changed.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Drift radius: fixes within it (plus their accuracy, capped) are "not moving".
    pub stationary_radius_m: f64,
    /// Accuracy added to the radius is capped at this, so that a vague fix cannot hide a move.
    pub max_accuracy_allowance_m: f64,
    /// Time inside the radius before the phone counts as stationary.
    pub stop_timeout_ms: i64,
    /// The same when activity recognition says "still".
    pub still_timeout_ms: i64,
    /// Candidate stops shorter than this stay `Moving` (a red light is not `Stopping`).
    pub stopping_after_ms: i64,
    /// Moving sampling.
    pub moving_priority: Priority,
    pub moving_interval_ms: i64,
    pub fastest_interval_ms: i64,
    pub distance_filter_s: f64,
    pub min_distance_m: f64,
    pub max_distance_m: f64,
    pub max_batch_delay_ms: i64,
    /// Stationary sampling: a cheap heartbeat fix at this interval, and the geofence radius.
    pub heartbeat_priority: Priority,
    pub heartbeat_ms: i64,
    pub geofence_radius_m: f64,
    /// Uploads while moving: at most one per this interval (stops upload at once).
    pub moving_upload_interval_ms: i64,
    /// While stationary only heartbeat fixes arrive; they can wait this long for company.
    pub stationary_upload_interval_ms: i64,
}

impl PolicyConfig {
    /// Least GNSS and radio: uploads at most every 30 minutes while moving.
    pub fn efficient() -> PolicyConfig {
        PolicyConfig {
            stationary_radius_m: 50.0,
            max_accuracy_allowance_m: 30.0,
            stop_timeout_ms: 150_000,
            // Longer than the hardware batching delay, or a still bus between batches stops.
            still_timeout_ms: 120_000,
            stopping_after_ms: 45_000,
            moving_priority: Priority::HighAccuracy,
            moving_interval_ms: 10_000,
            fastest_interval_ms: 5_000,
            distance_filter_s: 4.0,
            min_distance_m: 15.0,
            max_distance_m: 100.0,
            max_batch_delay_ms: 60_000,
            heartbeat_priority: Priority::Passive,
            heartbeat_ms: 30 * 60_000,
            geofence_radius_m: 150.0,
            moving_upload_interval_ms: 30 * 60_000,
            stationary_upload_interval_ms: 4 * 3_600_000,
        }
    }

    /// The default.
    pub fn balanced() -> PolicyConfig {
        PolicyConfig {
            stationary_radius_m: 40.0,
            max_accuracy_allowance_m: 25.0,
            stop_timeout_ms: 180_000,
            still_timeout_ms: 120_000,
            stopping_after_ms: 45_000,
            moving_priority: Priority::HighAccuracy,
            moving_interval_ms: 5_000,
            fastest_interval_ms: 1_000,
            distance_filter_s: 2.0,
            min_distance_m: 10.0,
            max_distance_m: 50.0,
            max_batch_delay_ms: 60_000,
            heartbeat_priority: Priority::LowPower,
            heartbeat_ms: 15 * 60_000,
            // Smaller than the 100 m the OSes recommend: exits may come late on some devices,
            // but the departure is caught within about 75 m where they are prompt.
            geofence_radius_m: 75.0,
            // Each upload from an idle radio costs about 11 J (promotion and tail), as much as
            // 75 s of GNSS: 8 per hour keeps the server within minutes without dominating.
            moving_upload_interval_ms: 450_000,
            stationary_upload_interval_ms: 2 * 3_600_000,
        }
    }

    /// Every fix, for apps that show the track live; still stops GNSS when stationary.
    pub fn continuous() -> PolicyConfig {
        PolicyConfig {
            stop_timeout_ms: 300_000,
            still_timeout_ms: 120_000,
            moving_interval_ms: 1_000,
            fastest_interval_ms: 1_000,
            distance_filter_s: 0.0,
            min_distance_m: 0.0,
            max_distance_m: 0.0,
            max_batch_delay_ms: 0,
            moving_upload_interval_ms: 60_000,
            stationary_upload_interval_ms: 15 * 60_000,
            ..PolicyConfig::balanced()
        }
    }

    /// Overrides one numeric parameter by its field name (milliseconds, metres, seconds as the
    /// name says). Unknown names are an error; the caller checks `is_valid` afterwards.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), UnknownParameter> {
        let ms = value as i64;
        match name {
            "stationary_radius_m" => self.stationary_radius_m = value,
            "max_accuracy_allowance_m" => self.max_accuracy_allowance_m = value,
            "stop_timeout_ms" => self.stop_timeout_ms = ms,
            "still_timeout_ms" => self.still_timeout_ms = ms,
            "stopping_after_ms" => self.stopping_after_ms = ms,
            "moving_interval_ms" => self.moving_interval_ms = ms,
            "fastest_interval_ms" => self.fastest_interval_ms = ms,
            "distance_filter_s" => self.distance_filter_s = value,
            "min_distance_m" => self.min_distance_m = value,
            "max_distance_m" => self.max_distance_m = value,
            "max_batch_delay_ms" => self.max_batch_delay_ms = ms,
            "heartbeat_ms" => self.heartbeat_ms = ms,
            "geofence_radius_m" => self.geofence_radius_m = value,
            "moving_upload_interval_ms" => self.moving_upload_interval_ms = ms,
            "stationary_upload_interval_ms" => self.stationary_upload_interval_ms = ms,
            _ => return Err(UnknownParameter),
        }
        Ok(())
    }

    /// What the policy falls back to while the battery is low or the OS saves power: the
    /// efficient preset's sampling and upload intervals, keeping this preset's stop logic.
    pub fn power_saving(&self) -> PolicyConfig {
        let e = PolicyConfig::efficient();
        PolicyConfig {
            moving_interval_ms: self.moving_interval_ms.max(e.moving_interval_ms),
            fastest_interval_ms: self.fastest_interval_ms.max(e.fastest_interval_ms),
            distance_filter_s: self.distance_filter_s.max(e.distance_filter_s),
            min_distance_m: self.min_distance_m.max(e.min_distance_m),
            max_distance_m: self.max_distance_m.max(e.max_distance_m),
            max_batch_delay_ms: self.max_batch_delay_ms.max(e.max_batch_delay_ms),
            heartbeat_priority: Priority::Passive,
            heartbeat_ms: self.heartbeat_ms.max(e.heartbeat_ms),
            moving_upload_interval_ms: self
                .moving_upload_interval_ms
                .max(e.moving_upload_interval_ms),
            stationary_upload_interval_ms: self
                .stationary_upload_interval_ms
                .max(e.stationary_upload_interval_ms),
            ..self.clone()
        }
    }

    pub fn preset(name: &str) -> Option<PolicyConfig> {
        match name {
            "efficient" => Some(PolicyConfig::efficient()),
            "balanced" => Some(PolicyConfig::balanced()),
            "continuous" => Some(PolicyConfig::continuous()),
            _ => None,
        }
    }

    pub fn is_valid(&self) -> bool {
        let positive = [self.stationary_radius_m, self.geofence_radius_m];
        positive.iter().all(|v| v.is_finite() && *v > 0.0)
            && [
                self.max_accuracy_allowance_m,
                self.distance_filter_s,
                self.min_distance_m,
            ]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
            && self.max_distance_m.is_finite()
            && self.max_distance_m >= self.min_distance_m
            && self.stop_timeout_ms > 0
            && self.still_timeout_ms > 0
            && self.stopping_after_ms >= 0
            && self.moving_interval_ms > 0
            && self.fastest_interval_ms > 0
            && self.fastest_interval_ms <= self.moving_interval_ms
            && self.max_batch_delay_ms >= 0
            && self.heartbeat_ms > 0
            && self.moving_upload_interval_ms > 0
            && self.stationary_upload_interval_ms > 0
    }
}

/// A parameter name [`PolicyConfig::set`] does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownParameter;

/// Battery and power-saving state, as the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PowerState {
    /// 0-100, when known.
    pub battery_percent: Option<u8>,
    pub charging: bool,
    /// Android battery saver, iOS Low Power Mode.
    pub power_save: bool,
}

impl PowerState {
    /// Below this, and not charging, the policy saves power.
    pub const LOW_BATTERY_PERCENT: u8 = 15;

    pub fn saving(&self) -> bool {
        self.power_save
            || (!self.charging
                && self
                    .battery_percent
                    .is_some_and(|p| p <= PowerState::LOW_BATTERY_PERCENT))
    }
}

/// What one input changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyOutput {
    /// The new motion state and why, when it changed.
    pub motion_change: Option<(MotionState, MotionReason)>,
    /// The new request, when it differs from the previous one.
    pub request: Option<SamplingRequest>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Anchor {
    latitude_deg: f64,
    longitude_deg: f64,
    since_ms: i64,
}

/// The state machine. Feed it accepted fixes and OS signals; apply what it returns.
#[derive(Debug, Clone)]
pub struct MotionPolicy {
    /// The configured parameters; `config` is them or their power-saving variant.
    base: PolicyConfig,
    config: PolicyConfig,
    saving_power: bool,
    state: MotionState,
    anchor: Option<Anchor>,
    activity: Activity,
    speed_mps: f64,
    request: SamplingRequest,
}

impl MotionPolicy {
    /// Starts moving: a freshly started tracker samples until it knows the phone is still.
    pub fn new(config: PolicyConfig) -> MotionPolicy {
        let mut policy = MotionPolicy {
            base: config.clone(),
            config,
            saving_power: false,
            state: MotionState::Moving,
            anchor: None,
            activity: Activity::Unknown,
            speed_mps: 0.0,
            request: SamplingRequest {
                priority: Priority::HighAccuracy,
                interval_ms: 1,
                fastest_interval_ms: 1,
                min_distance_m: 0.0,
                max_batch_delay_ms: 0,
                stationary_geofence: None,
            },
        };
        policy.request = policy.compute_request();
        policy
    }

    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    pub fn state(&self) -> MotionState {
        self.state
    }

    pub fn sampling_request(&self) -> SamplingRequest {
        self.request.clone()
    }

    /// How long stored fixes may wait for an upload in the current state (a stop itself
    /// uploads at once).
    pub fn upload_interval_ms(&self) -> i64 {
        match self.state {
            MotionState::Stationary => self.config.stationary_upload_interval_ms,
            MotionState::Moving | MotionState::Stopping => self.config.moving_upload_interval_ms,
        }
    }

    /// An accepted fix. The stop clock runs on steady time; `now.wall_ms` only says how old the
    /// fix is.
    pub fn on_fix(&mut self, fix: &Fix, now: Now) -> PolicyOutput {
        let now_ms = now.steady_ms;
        if let Some(speed) = fix.speed_mps {
            self.speed_mps = speed;
        }
        let allowance = fix
            .horizontal_accuracy_m
            .min(self.config.max_accuracy_allowance_m);
        let outside = |anchor: &Anchor, radius: f64| {
            distance_m(
                anchor.latitude_deg,
                anchor.longitude_deg,
                fix.latitude_deg,
                fix.longitude_deg,
            ) > radius + allowance
        };
        match self.state {
            MotionState::Stationary => {
                // Leaving must be certain: the whole accuracy circle outside the radius. A
                // heartbeat network fix 100 m off is noise, not a departure (the geofence and
                // activity recognition catch real ones).
                let radius =
                    self.config.stationary_radius_m + fix.horizontal_accuracy_m - allowance;
                if self.anchor.is_none_or(|a| outside(&a, radius)) {
                    self.anchor = Some(anchor_at(fix, now, self.config.max_batch_delay_ms));
                    return self.change(MotionState::Moving, MotionReason::FixOutsideRadius);
                }
                PolicyOutput::default()
            }
            MotionState::Moving | MotionState::Stopping => {
                let radius = self.config.stationary_radius_m;
                match self.anchor {
                    Some(a) if !outside(&a, radius) => self.evaluate_stop(now_ms),
                    _ => {
                        // A candidate stop that ends is no motion change: sampling never
                        // changed, and reporting it would trigger an upload at every red light.
                        self.anchor = Some(anchor_at(fix, now, self.config.max_batch_delay_ms));
                        self.state = MotionState::Moving;
                        PolicyOutput {
                            motion_change: None,
                            // Speed may have changed the distance filter.
                            request: self.refresh_request(),
                        }
                    }
                }
            }
        }
    }

    /// When time alone will next change the state (the stop timeout), in steady time; `None`
    /// while nothing but a fix or an OS signal can.
    pub fn next_deadline_ms(&self) -> Option<i64> {
        if self.state == MotionState::Stationary {
            return None;
        }
        let anchor = self.anchor?;
        Some(anchor.since_ms.saturating_add(self.stop_timeout_ms()))
    }

    fn stop_timeout_ms(&self) -> i64 {
        if self.activity == Activity::Still {
            self.config.still_timeout_ms
        } else {
            self.config.stop_timeout_ms
        }
    }

    /// Time passing without fixes (a still phone behind a distance filter sends none).
    pub fn on_tick(&mut self, now_ms: i64) -> PolicyOutput {
        match self.state {
            MotionState::Stationary => PolicyOutput::default(),
            _ => self.evaluate_stop(now_ms),
        }
    }

    pub fn on_activity(&mut self, activity: Activity, now_ms: i64) -> PolicyOutput {
        self.activity = activity;
        match (self.state, activity) {
            (MotionState::Stationary, Activity::OnFoot | Activity::Bicycle | Activity::Vehicle) => {
                self.anchor = None;
                self.change(MotionState::Moving, MotionReason::MovingActivity)
            }
            (MotionState::Moving | MotionState::Stopping, Activity::Still) => {
                self.evaluate_stop(now_ms)
            }
            _ => PolicyOutput::default(),
        }
    }

    /// Replaces the configured parameters (keeping the motion state), for example after the app
    /// overrides one of them; false if the result is invalid, in which case nothing changes.
    pub fn reconfigure(&mut self, config: PolicyConfig) -> Option<PolicyOutput> {
        if !config.is_valid() || !config.power_saving().is_valid() {
            return None;
        }
        self.config = if self.saving_power {
            config.power_saving()
        } else {
            config.clone()
        };
        self.base = config;
        Some(PolicyOutput {
            motion_change: None,
            request: self.refresh_request(),
        })
    }

    /// The configured parameters (not their power-saving variant).
    pub fn base_config(&self) -> &PolicyConfig {
        &self.base
    }

    pub fn saving_power(&self) -> bool {
        self.saving_power
    }

    /// Battery and power-saving changes: a low battery or the OS's saver switches to the
    /// power-saving variant of the parameters (see [`PolicyConfig::power_saving`]).
    pub fn on_power(&mut self, power: PowerState) -> PolicyOutput {
        let saving = power.saving();
        if saving == self.saving_power {
            return PolicyOutput::default();
        }
        self.saving_power = saving;
        self.config = if saving {
            self.base.power_saving()
        } else {
            self.base.clone()
        };
        PolicyOutput {
            motion_change: None,
            request: self.refresh_request(),
        }
    }

    /// The OS says the phone left the stationary geofence.
    pub fn on_geofence_exit(&mut self, _now_ms: i64) -> PolicyOutput {
        if self.state == MotionState::Stationary {
            self.anchor = None;
            return self.change(MotionState::Moving, MotionReason::GeofenceExit);
        }
        PolicyOutput::default()
    }

    /// The OS's significant-motion trigger fired: the user is walking or riding, so resume
    /// sampling at once instead of waiting for a slow geofence exit.
    pub fn on_significant_motion(&mut self, _now_ms: i64) -> PolicyOutput {
        if self.state == MotionState::Stationary {
            self.anchor = None;
            return self.change(MotionState::Moving, MotionReason::SignificantMotion);
        }
        PolicyOutput::default()
    }

    /// A relaunched process resumes the stop it saved (see `platform::relaunch`), silently:
    /// nothing changed for the app, only the process is new.
    pub fn resume_stationary(&mut self, latitude_deg: f64, longitude_deg: f64, now_ms: i64) {
        self.state = MotionState::Stationary;
        self.anchor = Some(Anchor {
            latitude_deg,
            longitude_deg,
            since_ms: now_ms,
        });
        self.speed_mps = 0.0;
        self.request = self.compute_request();
    }

    /// Tracking (re)started: sample until the phone is known to be still.
    pub fn restart(&mut self, now_ms: i64) -> PolicyOutput {
        self.anchor = None;
        let _ = now_ms;
        if self.state == MotionState::Moving {
            return PolicyOutput {
                motion_change: None,
                request: Some(self.request.clone()),
            };
        }
        self.change(MotionState::Moving, MotionReason::Started)
    }

    fn evaluate_stop(&mut self, now_ms: i64) -> PolicyOutput {
        let Some(anchor) = self.anchor else {
            return PolicyOutput::default();
        };
        let inside_for = now_ms - anchor.since_ms;
        if inside_for >= self.stop_timeout_ms() {
            let reason = if self.activity == Activity::Still {
                MotionReason::StillActivity
            } else {
                MotionReason::StopTimeout
            };
            self.speed_mps = 0.0;
            return self.change(MotionState::Stationary, reason);
        }
        if self.state == MotionState::Moving && inside_for >= self.config.stopping_after_ms {
            self.state = MotionState::Stopping;
        }
        PolicyOutput::default()
    }

    fn change(&mut self, state: MotionState, reason: MotionReason) -> PolicyOutput {
        if state == self.state {
            return PolicyOutput::default();
        }
        self.state = state;
        PolicyOutput {
            motion_change: Some((state, reason)),
            request: self.refresh_request(),
        }
    }

    fn refresh_request(&mut self) -> Option<SamplingRequest> {
        let next = self.compute_request();
        if next == self.request {
            None
        } else {
            self.request = next.clone();
            Some(next)
        }
    }

    fn compute_request(&self) -> SamplingRequest {
        let c = &self.config;
        match self.state {
            MotionState::Stationary => SamplingRequest {
                priority: c.heartbeat_priority,
                interval_ms: c.heartbeat_ms,
                fastest_interval_ms: c.heartbeat_ms.min(60_000),
                min_distance_m: 0.0,
                max_batch_delay_ms: 0,
                stationary_geofence: self.anchor.map(|a| StationaryGeofence {
                    latitude_deg: a.latitude_deg,
                    longitude_deg: a.longitude_deg,
                    radius_m: c.geofence_radius_m,
                }),
            },
            MotionState::Moving | MotionState::Stopping => {
                // Quantised to 5 m steps so that speed jitter does not churn requests.
                let raw = (self.speed_mps * c.distance_filter_s)
                    .clamp(c.min_distance_m, c.max_distance_m);
                SamplingRequest {
                    priority: c.moving_priority,
                    interval_ms: c.moving_interval_ms,
                    fastest_interval_ms: c.fastest_interval_ms,
                    min_distance_m: (raw / 5.0).floor() * 5.0,
                    max_batch_delay_ms: c.max_batch_delay_ms,
                    stationary_geofence: None,
                }
            }
        }
    }
}

/// The stop clock starts when the fix was taken: with hardware batching a fix may arrive a
/// minute late, and counting from its arrival would delay every stop. Its age (by the wall
/// clock, which stamped it) is credited no further back than batching explains, so a stale fix
/// cannot fake a long stop, and a clock change cannot either: the stop clock itself is steady.
fn anchor_at(fix: &Fix, now: Now, max_batch_delay_ms: i64) -> Anchor {
    let age = now
        .wall_ms
        .saturating_sub(fix.time_ms)
        .clamp(0, max_batch_delay_ms + BATCH_DELIVERY_SLACK_MS);
    Anchor {
        latitude_deg: fix.latitude_deg,
        longitude_deg: fix.longitude_deg,
        since_ms: now.steady_ms - age,
    }
}

/// How late after its batching delay the OS may still hand over a fix.
const BATCH_DELIVERY_SLACK_MS: i64 = 5_000;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_700_000_000_000;
    /// About 1.11 m per 1e-5 degree of latitude.
    fn at(t_s: i64, north_m: f64, acc: f64) -> Fix {
        Fix {
            speed_mps: Some(0.0),
            ..Fix::new(T0 + t_s * 1000, 48.0 + north_m / 111_195.0, 11.0, acc)
        }
    }

    fn drive(policy: &mut MotionPolicy, from_s: i64, to_s: i64, start_m: f64, speed: f64) {
        for t in from_s..to_s {
            let mut f = at(t, start_m + (t - from_s) as f64 * speed, 5.0);
            f.speed_mps = Some(speed);
            policy.on_fix(&f, Now::at(f.time_ms));
        }
    }

    #[test]
    fn the_default_request_is_valid() {
        assert!(SamplingRequest::moving_balanced().is_valid());
        for c in [
            PolicyConfig::efficient(),
            PolicyConfig::balanced(),
            PolicyConfig::continuous(),
        ] {
            assert!(c.is_valid());
        }
    }

    #[test]
    fn a_fastest_interval_above_the_interval_is_invalid() {
        let mut r = SamplingRequest::moving_balanced();
        r.fastest_interval_ms = r.interval_ms + 1;
        assert!(!r.is_valid());
    }

    #[test]
    fn gps_drift_while_stationary_is_not_movement() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 60, 0.0, 12.0);
        // Parked: drift of up to 30 m with 20 m accuracy for ten minutes.
        let mut state_changes = vec![];
        for t in 60..660 {
            let wobble = ((t * 7919) % 61) as f64 - 30.0;
            let f = at(t, 60.0 * 12.0 + wobble, 20.0);
            if let Some(change) = p.on_fix(&f, Now::at(f.time_ms)).motion_change {
                state_changes.push((t, change));
            }
        }
        assert_eq!(state_changes.len(), 1, "{state_changes:?}");
        let (t, (state, reason)) = state_changes[0];
        assert_eq!(
            (state, reason),
            (MotionState::Stationary, MotionReason::StopTimeout)
        );
        assert!(t - 60 <= 180 + 30, "stop detected after {} s", t - 60);
        assert_eq!(p.sampling_request().priority, Priority::LowPower);
        assert!(p.sampling_request().stationary_geofence.is_some());
    }

    #[test]
    fn waiting_at_a_red_light_keeps_sampling() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 60, 0.0, 12.0);
        for t in 60..150 {
            let f = at(t, 720.0, 5.0);
            assert_eq!(p.on_fix(&f, Now::at(f.time_ms)).motion_change, None);
        }
        drive(&mut p, 150, 200, 720.0, 12.0);
        assert_eq!(p.state(), MotionState::Moving);
        assert_eq!(p.sampling_request().priority, Priority::HighAccuracy);
    }

    #[test]
    fn a_still_phone_behind_a_distance_filter_stops_by_time_alone() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 30, 0.0, 1.4);
        // No fixes at all: only ticks.
        let stop = (30..400).find(|t| p.on_tick(T0 + t * 1000).motion_change.is_some());
        let t = stop.expect("stationary");
        // Within the stop timeout plus 30 s of the true stop (t = 29); the anchor was set while
        // the walker was still inside the radius, so it may come earlier.
        assert!((150..=29 + 180 + 30).contains(&t), "{t}");
    }

    #[test]
    fn still_activity_shortens_the_stop_timeout() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 30, 0.0, 1.4);
        p.on_activity(Activity::Still, T0 + 31_000);
        let t = (31..400)
            .find(|t| p.on_tick(T0 + t * 1000).motion_change.is_some())
            .unwrap();
        assert!(t <= 29 + 120 + 1, "{t}");
    }

    #[test]
    fn a_tunnel_gap_does_not_count_as_a_stop_once_the_car_reappears_far_away() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 60, 0.0, 20.0);
        // 90 s without fixes (less than the stop timeout), then 1.8 km further on.
        for t in 60..150 {
            assert_eq!(p.on_tick(T0 + t * 1000).motion_change, None);
        }
        drive(&mut p, 150, 170, 3000.0, 20.0);
        assert_eq!(p.state(), MotionState::Moving);
    }

    #[test]
    fn walking_out_of_a_building_resumes_on_the_first_fix_outside() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 10, 0.0, 1.4);
        for t in 10..300 {
            p.on_tick(T0 + t * 1000);
        }
        assert_eq!(p.state(), MotionState::Stationary);
        // A heartbeat fix 25 m away with 40 m accuracy (indoors): not movement.
        assert_eq!(
            p.on_fix(&at(400, 14.0 + 25.0, 40.0), Now::at(T0 + 400_000))
                .motion_change,
            None
        );
        // Outside, 90 m away with 8 m accuracy: moving again, at once.
        let out = p.on_fix(&at(900, 14.0 + 90.0, 8.0), Now::at(T0 + 900_000));
        assert_eq!(
            out.motion_change,
            Some((MotionState::Moving, MotionReason::FixOutsideRadius))
        );
        assert_eq!(out.request.unwrap().priority, Priority::HighAccuracy);
    }

    #[test]
    fn a_phone_left_in_a_parked_car_stays_stationary_through_vehicle_noise() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 60, 0.0, 15.0);
        for t in 60..400 {
            p.on_tick(T0 + t * 1000);
        }
        assert_eq!(p.state(), MotionState::Stationary);
        // Passive fixes from other apps at the same spot, for an hour.
        for t in (400..4000).step_by(60) {
            assert_eq!(
                p.on_fix(&at(t, 885.0, 15.0), Now::at(T0 + t * 1000))
                    .motion_change,
                None
            );
        }
        // The car drives off: the OS reports the geofence exit.
        let out = p.on_geofence_exit(T0 + 4_000_000);
        assert_eq!(
            out.motion_change,
            Some((MotionState::Moving, MotionReason::GeofenceExit))
        );
    }

    #[test]
    fn a_moving_activity_resumes_at_once() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 10, 0.0, 1.4);
        for t in 10..300 {
            p.on_tick(T0 + t * 1000);
        }
        let out = p.on_activity(Activity::OnFoot, T0 + 301_000);
        assert_eq!(
            out.motion_change,
            Some((MotionState::Moving, MotionReason::MovingActivity))
        );
    }

    #[test]
    fn a_low_battery_saves_power_until_charging() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        let normal = p.sampling_request();
        let low = PowerState {
            battery_percent: Some(12),
            charging: false,
            power_save: false,
        };
        let saving = p.on_power(low).request.expect("a new request");
        assert!(saving.interval_ms > normal.interval_ms);
        assert!(saving.is_valid());
        assert_eq!(
            p.on_power(low),
            PolicyOutput::default(),
            "no change, no request"
        );
        let charging = PowerState {
            charging: true,
            ..low
        };
        assert_eq!(p.on_power(charging).request, Some(normal));
        let saver = PowerState {
            power_save: true,
            ..charging
        };
        assert!(p.on_power(saver).request.is_some());
    }

    #[test]
    fn parameters_can_be_set_by_name() {
        let mut c = PolicyConfig::balanced();
        c.set("stop_timeout_ms", 240_000.0).unwrap();
        c.set("geofence_radius_m", 120.0).unwrap();
        assert_eq!(c.stop_timeout_ms, 240_000);
        assert_eq!(c.geofence_radius_m, 120.0);
        assert_eq!(c.set("warp_factor", 9.0), Err(UnknownParameter));
        c.set("fastest_interval_ms", 1e9).unwrap();
        assert!(!c.is_valid(), "the caller checks the result");
    }

    #[test]
    fn the_distance_filter_scales_with_speed() {
        let mut p = MotionPolicy::new(PolicyConfig::balanced());
        drive(&mut p, 0, 5, 0.0, 1.4);
        assert_eq!(p.sampling_request().min_distance_m, 10.0);
        drive(&mut p, 5, 10, 10.0, 30.0);
        assert_eq!(p.sampling_request().min_distance_m, 50.0);
    }

    #[derive(Debug, Clone)]
    enum Input {
        Fix {
            dt_s: u16,
            north_m: f64,
            acc: f64,
            speed: f64,
        },
        Tick {
            dt_s: u16,
        },
        Activity(u8),
        GeofenceExit,
        Restart,
        Power(Option<u8>, bool, bool),
    }

    fn input() -> impl Strategy<Value = Input> {
        prop_oneof![
            (
                0u16..600,
                -5_000.0f64..5_000.0,
                0.1f64..5_000.0,
                0.0f64..80.0
            )
                .prop_map(|(dt_s, north_m, acc, speed)| Input::Fix {
                    dt_s,
                    north_m,
                    acc,
                    speed
                }),
            (0u16..3_600).prop_map(|dt_s| Input::Tick { dt_s }),
            (0u8..5).prop_map(Input::Activity),
            Just(Input::GeofenceExit),
            Just(Input::Restart),
            (
                proptest::option::of(0u8..=100),
                any::<bool>(),
                any::<bool>()
            )
                .prop_map(|(b, c, s)| Input::Power(b, c, s)),
        ]
    }

    proptest! {
        /// Whatever happens, every request the machine emits can be applied by the OS layers.
        #[test]
        fn never_emits_an_invalid_request(
            preset in 0usize..3,
            inputs in proptest::collection::vec(input(), 0..200),
        ) {
            let config = [PolicyConfig::efficient(), PolicyConfig::balanced(), PolicyConfig::continuous()][preset].clone();
            let mut p = MotionPolicy::new(config);
            prop_assert!(p.sampling_request().is_valid());
            let mut now = T0;
            for i in inputs {
                let out = match i {
                    Input::Fix { dt_s, north_m, acc, speed } => {
                        now += i64::from(dt_s) * 1000;
                        let mut f = at((now - T0) / 1000, north_m, acc);
                        f.speed_mps = Some(speed);
                        p.on_fix(&f, Now::at(now))
                    }
                    Input::Tick { dt_s } => { now += i64::from(dt_s) * 1000; p.on_tick(now) }
                    Input::Activity(a) => p.on_activity([Activity::Unknown, Activity::Still, Activity::OnFoot, Activity::Bicycle, Activity::Vehicle][usize::from(a)], now),
                    Input::GeofenceExit => p.on_geofence_exit(now),
                    Input::Restart => p.restart(now),
                    Input::Power(battery_percent, charging, power_save) => p.on_power(PowerState { battery_percent, charging, power_save }),
                };
                if let Some(r) = &out.request {
                    prop_assert!(r.is_valid(), "{:?}", r);
                }
                prop_assert!(p.sampling_request().is_valid());
                prop_assert_eq!(p.state() == MotionState::Stationary, p.sampling_request().priority != p.config().moving_priority || p.config().heartbeat_priority == p.config().moving_priority);
            }
        }
    }
}

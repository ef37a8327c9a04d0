//! On-device filtering: decides for each fix whether it is kept, says why when it is not, and
//! optionally smooths the kept ones.
//!
//! # Pipeline
//!
//! [`Filter::process`] runs each fix through these stages, in order; the first that refuses it
//! names the [`RejectReason`]:
//!
//! 1. **Validation** ([`crate::fix::validate`]): non-finite or out-of-range values, missing or
//!    absurd accuracy, times before 2000 or too far ahead of the injected clock.
//! 2. **Ordering**: a fix whose time equals the latest fix seen is a `duplicate`, an older one is
//!    `out_of_order`. Time is the monotonic `elapsed_realtime_ns` when both fixes carry it (the
//!    wall clock can be stepped by the network or the user), else `time_ms`. Every fix that gets
//!    this far advances the watermark, even if a later gate refuses it.
//! 3. **Mock**: refused when [`FilterConfig::reject_mock`] is set (the flag is kept otherwise).
//! 4. **Accuracy gate**: refused when the reported accuracy is worse than
//!    [`FilterConfig::max_accuracy_m`].
//! 5. **Superseded**: a fix much less accurate than the anchor (the last accepted fix) while
//!    the anchor is recent adds no information and, in practice, is a stale network fix lagging
//!    a GNSS track: refused when it is worse by more than [`FilterConfig::supersede_accuracy_ratio`]
//!    times *and* [`FilterConfig::supersede_margin_m`] metres, within
//!    [`FilterConfig::supersede_window_ms`] of the anchor. Once the anchor is older than the
//!    window (GNSS lost in a tunnel), vague fixes are accepted again: no stuck state.
//! 6. **Implied-speed gate** against the *anchor* (the last accepted fix): the fix is refused
//!    when `distance > max_speed * dt + accuracy_factor * hypot(acc_anchor, acc_fix)`. The
//!    maximum speed depends on the [`Activity`] hint ([`SpeedLimits`]); the accuracy term
//!    absorbs the honest noise of both fixes, so a vague network fix interleaved with GPS never
//!    trips the gate (and the Kalman filter weighs it by its accuracy, so it does not pull the
//!    smoothed track either).
//!
//! # Recovery: the gate cannot get stuck
//!
//! A gate that compares against the last accepted fix is stuck forever if that fix was wrong, or
//! if the device really moved faster than allowed (the first fix after a tunnel, a flight, a cold
//! start on a stale position). So every fix refused by the speed gate also joins a *candidate
//! chain*: a run of consecutive speed-refused fixes where each is consistent with the previous
//! one at [`FilterConfig::recovery_max_speed_mps`] (an airliner's speed, i.e. physically
//! possible). A fix that is inconsistent with the chain starts a new chain. When the chain
//! reaches [`FilterConfig::recovery_fixes`] fixes, the filter **re-anchors**: the fix that
//! completes the chain is accepted (with `reanchored: true`), becomes the anchor, and the Kalman
//! track restarts there. At 1 Hz with the presets' 3 fixes, consistent fixes are accepted again
//! after 2 s; the bound is `(recovery_fixes - 1)` sampling intervals. Isolated outliers never
//! form a chain because consecutive outliers jump in unrelated directions.
//!
//! A re-anchor also records the chain's own speed as a *speed boost*: until an accepted fix
//! moves within the activity's limit again, the gate allows that speed (plus 25 %). Without it a
//! high-speed train under an `Unknown` hint would be re-anchored on every third fix only.
//!
//! # Smoothing
//!
//! Optional ([`FilterConfig::kalman`]): a constant-velocity Kalman filter in a local tangent
//! plane (see `kalman`), measurement noise from each fix's accuracy, process noise from the
//! [`Motion`] hint. The raw fix is never altered: the smoothed estimate is returned beside it.
//!
//! Counters ([`FilterCounters`]) add up: every processed fix is either accepted or rejected for
//! exactly one reason.

mod kalman;

pub use kalman::{ACCURACY_68_PER_SIGMA, Smoothed};

use crate::fix::{Fix, FixError, validate};
use crate::geodesy::distance_m;
use crate::steady::Now;
use kalman::Kalman;

/// What the OS activity recognition says the user is doing, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "uniffi", uniffi(name = "UserActivity"))]
pub enum Activity {
    #[default]
    Unknown,
    Still,
    OnFoot,
    Bicycle,
    Vehicle,
}

/// The motion state of the policy, which sets how much the smoothed track may accelerate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Motion {
    #[default]
    Unknown,
    Stationary,
    Moving,
}

/// Per-fix hints from outside the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FilterContext {
    pub activity: Activity,
    pub motion: Motion,
}

/// Largest plausible ground speed per activity, m/s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeedLimits {
    pub unknown_mps: f64,
    pub still_mps: f64,
    pub on_foot_mps: f64,
    pub bicycle_mps: f64,
    pub vehicle_mps: f64,
}

impl SpeedLimits {
    /// Activity hints lag real transitions by tens of seconds, so the limits for slow
    /// activities are generous: a wrong hint must not reject a car's fixes.
    pub fn standard() -> SpeedLimits {
        SpeedLimits {
            unknown_mps: 50.0,
            still_mps: 25.0,
            on_foot_mps: 25.0,
            bicycle_mps: 35.0,
            vehicle_mps: 90.0,
        }
    }

    pub fn for_activity(&self, activity: Activity) -> f64 {
        match activity {
            Activity::Unknown => self.unknown_mps,
            Activity::Still => self.still_mps,
            Activity::OnFoot => self.on_foot_mps,
            Activity::Bicycle => self.bicycle_mps,
            Activity::Vehicle => self.vehicle_mps,
        }
    }
}

/// Kalman smoothing parameters. Accelerations are standard deviations of the white
/// acceleration noise driving the constant-velocity model, per motion state, m/s^2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KalmanConfig {
    pub accel_unknown_mps2: f64,
    pub accel_stationary_mps2: f64,
    pub accel_moving_mps2: f64,
    /// After a gap longer than this the track restarts: extrapolating a velocity over minutes
    /// is worse than starting fresh.
    pub reset_gap_ms: i64,
    /// Fold the fix's own speed and bearing into the estimate when it reports them.
    pub use_reported_velocity: bool,
    /// Speed accuracy assumed for a fix that reports a speed without one, m/s.
    pub default_speed_accuracy_mps: f64,
}

impl KalmanConfig {
    pub fn standard() -> KalmanConfig {
        KalmanConfig {
            accel_unknown_mps2: 2.0,
            accel_stationary_mps2: 0.1,
            accel_moving_mps2: 3.0,
            reset_gap_ms: 60_000,
            use_reported_velocity: true,
            default_speed_accuracy_mps: 1.0,
        }
    }

    fn accel_var(&self, motion: Motion) -> f64 {
        let a = match motion {
            Motion::Unknown => self.accel_unknown_mps2,
            Motion::Stationary => self.accel_stationary_mps2,
            Motion::Moving => self.accel_moving_mps2,
        };
        a * a
    }
}

/// Every parameter of the filter, named. Start from a preset and adjust fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterConfig {
    /// Fixes with a worse (larger) horizontal accuracy are refused, metres.
    pub max_accuracy_m: f64,
    /// Refuse fixes flagged as coming from a mock-location provider.
    pub reject_mock: bool,
    pub speed_limits: SpeedLimits,
    /// A fix worse than the anchor by this factor and by `supersede_margin_m`, within
    /// `supersede_window_ms` of it, is refused as superseded.
    pub supersede_accuracy_ratio: f64,
    pub supersede_margin_m: f64,
    pub supersede_window_ms: i64,
    /// Multiple of `hypot(acc_anchor, acc_fix)` the speed gate allows on top of `speed * dt`.
    pub speed_gate_accuracy_factor: f64,
    /// Consecutive mutually consistent speed-refused fixes after which the filter re-anchors
    /// (values below 2 are treated as 2: one fix alone never overrides the anchor).
    pub recovery_fixes: u32,
    /// Speed under which two candidate fixes count as consistent with each other, m/s.
    pub recovery_max_speed_mps: f64,
    /// `None` switches smoothing off.
    pub kalman: Option<KalmanConfig>,
}

impl FilterConfig {
    /// Sparse sampling that accepts network fixes: wide accuracy gate, quick recovery since
    /// fixes may be minutes apart.
    pub fn efficient() -> FilterConfig {
        FilterConfig {
            max_accuracy_m: 500.0,
            recovery_fixes: 2,
            ..FilterConfig::balanced()
        }
    }

    /// The default: GNSS or fused fixes, street-level accuracy.
    pub fn balanced() -> FilterConfig {
        FilterConfig {
            max_accuracy_m: 100.0,
            reject_mock: false,
            speed_limits: SpeedLimits::standard(),
            supersede_accuracy_ratio: 3.0,
            supersede_margin_m: 30.0,
            supersede_window_ms: 30_000,
            speed_gate_accuracy_factor: 1.5,
            recovery_fixes: 3,
            recovery_max_speed_mps: 340.0,
            kalman: Some(KalmanConfig::standard()),
        }
    }

    /// Dense GNSS tracking (navigation, sports): tight accuracy gate.
    pub fn continuous() -> FilterConfig {
        FilterConfig {
            max_accuracy_m: 50.0,
            ..FilterConfig::balanced()
        }
    }

    /// True when every number is finite and in a range the filter can use.
    pub fn is_valid(&self) -> bool {
        let s = &self.speed_limits;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        positive(self.max_accuracy_m)
            && [
                s.unknown_mps,
                s.still_mps,
                s.on_foot_mps,
                s.bicycle_mps,
                s.vehicle_mps,
                self.recovery_max_speed_mps,
            ]
            .into_iter()
            .all(positive)
            && self.supersede_accuracy_ratio >= 1.0
            && self.supersede_margin_m >= 0.0
            && self.supersede_window_ms >= 0
            && self.speed_gate_accuracy_factor.is_finite()
            && self.speed_gate_accuracy_factor >= 0.0
            && self.kalman.is_none_or(|k| {
                [
                    k.accel_unknown_mps2,
                    k.accel_stationary_mps2,
                    k.accel_moving_mps2,
                ]
                .into_iter()
                .all(|a| a.is_finite() && a >= 0.0)
                    && k.reset_gap_ms > 0
                    && k.default_speed_accuracy_mps.is_finite()
                    && k.default_speed_accuracy_mps > 0.0
            })
    }
}

impl Default for FilterConfig {
    fn default() -> FilterConfig {
        FilterConfig::balanced()
    }
}

/// Why a fix was refused. [`RejectReason::name`] is stable: it is used in events and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RejectReason {
    /// A value is NaN, infinite, out of range or negative.
    InvalidValue,
    /// Accuracy missing, zero, negative or absurd.
    BadAccuracy,
    /// Time before 2000: an uninitialised clock.
    TimeTooOld,
    /// Time too far ahead of the injected clock.
    TimeInFuture,
    /// Same time as the latest fix seen.
    Duplicate,
    /// Older than the latest fix seen.
    OutOfOrder,
    /// From a mock-location provider, and the config refuses those.
    Mock,
    /// Accuracy worse than the preset's gate.
    AccuracyTooLow,
    /// Much less accurate than a recent accepted fix.
    Superseded,
    /// Farther from the anchor than any plausible speed explains.
    ImpliedSpeed,
    /// A heartbeat fix while stationary that shows no movement: the stop's position is already
    /// stored, and a vague heartbeat would only draw jitter around it.
    Stationary,
    /// Inside an app's privacy zone that drops fixes (`crate::privacy`); decided after the
    /// filter, by the tracker.
    PrivacyZone,
}

impl RejectReason {
    pub const COUNT: usize = 12;
    /// Every reason, in the order of the pipeline.
    pub const ALL: [RejectReason; RejectReason::COUNT] = [
        RejectReason::InvalidValue,
        RejectReason::BadAccuracy,
        RejectReason::TimeTooOld,
        RejectReason::TimeInFuture,
        RejectReason::Duplicate,
        RejectReason::OutOfOrder,
        RejectReason::Mock,
        RejectReason::AccuracyTooLow,
        RejectReason::Superseded,
        RejectReason::ImpliedSpeed,
        RejectReason::Stationary,
        RejectReason::PrivacyZone,
    ];

    /// Stable short name for events, counters and logs.
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::InvalidValue => "invalid_value",
            RejectReason::BadAccuracy => "bad_accuracy",
            RejectReason::TimeTooOld => "time_too_old",
            RejectReason::TimeInFuture => "time_in_future",
            RejectReason::Duplicate => "duplicate",
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::Mock => "mock",
            RejectReason::AccuracyTooLow => "accuracy_too_low",
            RejectReason::Superseded => "superseded",
            RejectReason::ImpliedSpeed => "implied_speed",
            RejectReason::Stationary => "stationary",
            RejectReason::PrivacyZone => "privacy_zone",
        }
    }

    pub fn from_name(name: &str) -> Option<RejectReason> {
        RejectReason::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The reason a validation error is counted under.
    pub fn from_fix_error(error: &FixError) -> RejectReason {
        match error {
            FixError::BadAccuracy => RejectReason::BadAccuracy,
            FixError::TimeTooOld => RejectReason::TimeTooOld,
            FixError::TimeInFuture => RejectReason::TimeInFuture,
            FixError::NotFinite { .. }
            | FixError::LatitudeOutOfRange
            | FixError::LongitudeOutOfRange
            | FixError::Negative { .. }
            | FixError::BearingOutOfRange
            | FixError::SpeedImplausible => RejectReason::InvalidValue,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The filter's verdict on one fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FilterDecision {
    /// Keep the raw fix. `smoothed` is the Kalman estimate at its time when smoothing is on;
    /// `reanchored` is true when this fix ended a recovery (see the module docs).
    Accept {
        smoothed: Option<Smoothed>,
        reanchored: bool,
    },
    Reject(RejectReason),
}

impl FilterDecision {
    pub fn is_accept(&self) -> bool {
        matches!(self, FilterDecision::Accept { .. })
    }
}

/// Running totals. Invariant: `processed() == accepted + rejected_total()`, and
/// `smoothed <= accepted`, `reanchored <= accepted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FilterCounters {
    pub accepted: u64,
    /// Accepted fixes that came with a smoothed estimate.
    pub smoothed: u64,
    /// Accepted fixes that ended a recovery.
    pub reanchored: u64,
    rejected: [u64; RejectReason::COUNT],
}

impl FilterCounters {
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason.index()]
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    pub fn processed(&self) -> u64 {
        self.accepted + self.rejected_total()
    }

    /// `(reason, count)` for every reason, zeros included, in pipeline order.
    pub fn rejected_by_reason(&self) -> impl Iterator<Item = (RejectReason, u64)> + '_ {
        RejectReason::ALL
            .into_iter()
            .map(|r| (r, self.rejected[r.index()]))
    }
}

/// A point in time on the best clock available for comparing two fixes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stamp {
    time_ms: i64,
    elapsed_ns: Option<i64>,
}

impl Stamp {
    fn of(fix: &Fix) -> Stamp {
        Stamp {
            time_ms: fix.time_ms,
            elapsed_ns: fix.elapsed_realtime_ns,
        }
    }

    /// Seconds from `earlier` to `self`; negative when `self` is older. Monotonic clock when
    /// both have it; i128 so that no pair of i64 values can overflow.
    fn seconds_since(&self, earlier: &Stamp) -> f64 {
        match (self.elapsed_ns, earlier.elapsed_ns) {
            (Some(a), Some(b)) => (i128::from(a) - i128::from(b)) as f64 / 1e9,
            _ => (i128::from(self.time_ms) - i128::from(earlier.time_ms)) as f64 / 1e3,
        }
    }
}

/// A position the gates compare against.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    stamp: Stamp,
    lat: f64,
    lon: f64,
    acc: f64,
}

impl Point {
    fn of(fix: &Fix) -> Point {
        Point {
            stamp: Stamp::of(fix),
            lat: fix.latitude_deg,
            lon: fix.longitude_deg,
            acc: fix.horizontal_accuracy_m,
        }
    }

    /// True when `next` is reachable from `self` at `max_speed_mps`, given both accuracies.
    fn reaches(&self, next: &Point, max_speed_mps: f64, accuracy_factor: f64) -> bool {
        let dt = next.stamp.seconds_since(&self.stamp).max(0.0);
        let allowed = max_speed_mps * dt + accuracy_factor * self.acc.hypot(next.acc);
        distance_m(self.lat, self.lon, next.lat, next.lon) <= allowed
    }

    fn speed_to(&self, next: &Point) -> f64 {
        let dt = next.stamp.seconds_since(&self.stamp);
        if dt > 0.0 {
            distance_m(self.lat, self.lon, next.lat, next.lon) / dt
        } else {
            0.0
        }
    }
}

/// Consecutive speed-refused fixes that agree with each other (see "Recovery").
#[derive(Debug, Clone, Copy, PartialEq)]
struct Chain {
    first: Point,
    last: Point,
    len: u32,
}

/// The filter for one device. Cheap to create; keeps O(1) state.
#[derive(Debug, Clone)]
pub struct Filter {
    config: FilterConfig,
    counters: FilterCounters,
    /// Latest fix that passed validation, for duplicate and ordering checks, and the steady
    /// time it arrived at (`crate::steady`), which measures a step of the fixes' clock.
    watermark: Option<(Stamp, i64)>,
    anchor: Option<Point>,
    chain: Option<Chain>,
    speed_boost_mps: Option<f64>,
    kalman: Option<Kalman>,
}

impl Filter {
    pub fn new(config: FilterConfig) -> Filter {
        Filter {
            config,
            counters: FilterCounters::default(),
            watermark: None,
            anchor: None,
            chain: None,
            speed_boost_mps: None,
            kalman: None,
        }
    }

    pub fn config(&self) -> &FilterConfig {
        &self.config
    }

    pub fn counters(&self) -> &FilterCounters {
        &self.counters
    }

    /// Forgets the track (anchor, ordering, smoothing) but keeps the counters: for a restart of
    /// tracking after a long pause, or a change of preset.
    pub fn reset_track(&mut self) {
        *self = Filter {
            counters: self.counters,
            ..Filter::new(self.config)
        };
    }

    /// Replaces the configuration, keeping the track.
    pub fn set_config(&mut self, config: FilterConfig) {
        self.config = config;
    }

    /// Decides on one fix, with `now_ms` standing for both clocks (tests, tools).
    pub fn process(&mut self, fix: &Fix, now_ms: i64, ctx: &FilterContext) -> FilterDecision {
        self.process_at(fix, Now::at(now_ms), ctx)
    }

    /// Decides on one fix. The wall clock judges the fix's time; steady time measures how much
    /// time passed when the fixes' clock was set back.
    pub fn process_at(&mut self, fix: &Fix, now: Now, ctx: &FilterContext) -> FilterDecision {
        let decision = self.decide(fix, now, ctx);
        match decision {
            FilterDecision::Accept {
                smoothed,
                reanchored,
            } => {
                self.counters.accepted += 1;
                self.counters.smoothed += u64::from(smoothed.is_some());
                self.counters.reanchored += u64::from(reanchored);
            }
            FilterDecision::Reject(reason) => self.counters.rejected[reason.index()] += 1,
        }
        decision
    }

    fn decide(&mut self, fix: &Fix, now: Now, ctx: &FilterContext) -> FilterDecision {
        if let Err(error) = validate(fix, now.wall_ms) {
            return FilterDecision::Reject(RejectReason::from_fix_error(&error));
        }
        if let Some(reason) = self.check_order(fix, now) {
            return FilterDecision::Reject(reason);
        }
        if self.config.reject_mock && fix.is_mock {
            return FilterDecision::Reject(RejectReason::Mock);
        }
        // A NaN limit compares false: it refuses nothing rather than everything.
        if fix.horizontal_accuracy_m > self.config.max_accuracy_m {
            return FilterDecision::Reject(RejectReason::AccuracyTooLow);
        }
        let point = Point::of(fix);
        let Some(anchor) = self.anchor else {
            return self.accept_new_track(point, false);
        };
        if self.is_superseded(&anchor, &point) {
            return FilterDecision::Reject(RejectReason::Superseded);
        }
        let limit = self.config.speed_limits.for_activity(ctx.activity);
        let allowed = self.speed_boost_mps.map_or(limit, |b| b.max(limit));
        let factor = self.config.speed_gate_accuracy_factor;
        if anchor.reaches(&point, allowed, factor) {
            if self.speed_boost_mps.is_some() && anchor.reaches(&point, limit, factor) {
                self.speed_boost_mps = None;
            }
            self.chain = None;
            self.anchor = Some(point);
            let smoothed = self.smooth(fix, &anchor.stamp, ctx);
            return FilterDecision::Accept {
                smoothed,
                reanchored: false,
            };
        }
        self.extend_chain(point, factor)
    }

    /// Duplicate and out-of-order checks; advances the watermark for fixes that pass.
    fn check_order(&mut self, fix: &Fix, now: Now) -> Option<RejectReason> {
        let stamp = Stamp::of(fix);
        if let Some((mark, mark_steady_ms)) = self.watermark {
            if crate::fix::time_went_back(mark.time_ms, stamp.time_ms, now.wall_ms) {
                // The clock stamping fixes was set back. The track goes on: everything it holds
                // moves onto the new timeline by the step, measured against steady time.
                let elapsed = now.steady_ms.saturating_sub(mark_steady_ms);
                self.shift_times(stamp.time_ms - mark.time_ms - elapsed);
            } else {
                let dt = stamp.seconds_since(&mark);
                if dt == 0.0 {
                    return Some(RejectReason::Duplicate);
                }
                if dt < 0.0 {
                    return Some(RejectReason::OutOfOrder);
                }
            }
        }
        self.watermark = Some((stamp, now.steady_ms));
        None
    }

    /// Moves every time the track holds by `delta_ms` (the step of the fixes' clock).
    fn shift_times(&mut self, delta_ms: i64) {
        let shift = |stamp: &mut Stamp| stamp.time_ms = stamp.time_ms.saturating_add(delta_ms);
        if let Some((mark, _)) = self.watermark.as_mut() {
            shift(mark);
        }
        if let Some(anchor) = self.anchor.as_mut() {
            shift(&mut anchor.stamp);
        }
        if let Some(chain) = self.chain.as_mut() {
            shift(&mut chain.first.stamp);
            shift(&mut chain.last.stamp);
        }
    }

    fn is_superseded(&self, anchor: &Point, point: &Point) -> bool {
        let c = &self.config;
        point.acc > anchor.acc * c.supersede_accuracy_ratio
            && point.acc - anchor.acc > c.supersede_margin_m
            && point.stamp.seconds_since(&anchor.stamp) * 1000.0 <= c.supersede_window_ms as f64
    }

    /// Adds a speed-refused fix to the candidate chain; re-anchors when the chain is long enough.
    fn extend_chain(&mut self, point: Point, factor: f64) -> FilterDecision {
        let chain = match self.chain {
            Some(c)
                if c.last
                    .reaches(&point, self.config.recovery_max_speed_mps, factor) =>
            {
                Chain {
                    last: point,
                    len: c.len.saturating_add(1),
                    ..c
                }
            }
            _ => Chain {
                first: point,
                last: point,
                len: 1,
            },
        };
        if chain.len >= self.config.recovery_fixes.max(2) {
            // The chain's own speed, so that fast travel is not re-refused right away.
            let speed = chain.first.speed_to(&chain.last);
            self.speed_boost_mps = Some(speed * 1.25).filter(|s| s.is_finite() && *s > 0.0);
            return self.accept_new_track(point, true);
        }
        self.chain = Some(chain);
        FilterDecision::Reject(RejectReason::ImpliedSpeed)
    }

    fn accept_new_track(&mut self, point: Point, reanchored: bool) -> FilterDecision {
        self.anchor = Some(point);
        self.chain = None;
        self.kalman = self
            .config
            .kalman
            .map(|_| Kalman::start(point.lat, point.lon, point.acc));
        FilterDecision::Accept {
            smoothed: self.kalman.as_ref().map(Kalman::estimate),
            reanchored,
        }
    }

    /// Runs the Kalman step for an accepted fix; `previous` is the stamp of the prior accepted
    /// fix (the Kalman filter only ever sees accepted fixes).
    fn smooth(&mut self, fix: &Fix, previous: &Stamp, ctx: &FilterContext) -> Option<Smoothed> {
        let config = self.config.kalman?;
        let dt = Stamp::of(fix).seconds_since(previous);
        let (lat, lon, acc) = (
            fix.latitude_deg,
            fix.longitude_deg,
            fix.horizontal_accuracy_m,
        );
        let velocity = if config.use_reported_velocity {
            reported_velocity(fix, config.default_speed_accuracy_mps)
        } else {
            None
        };
        match self.kalman.as_mut() {
            Some(k) if dt * 1000.0 <= config.reset_gap_ms as f64 => {
                Some(k.step(dt, config.accel_var(ctx.motion), lat, lon, acc, velocity))
            }
            _ => {
                let k = Kalman::start(lat, lon, acc);
                let estimate = k.estimate();
                self.kalman = Some(k);
                Some(estimate)
            }
        }
    }
}

/// Below this speed a course is noise; the velocity is then taken as zero with the speed's
/// own uncertainty.
const MIN_SPEED_FOR_BEARING_MPS: f64 = 0.5;

/// The fix's velocity as (east, north, sigma per axis) in m/s, when it reports enough.
fn reported_velocity(fix: &Fix, default_speed_accuracy_mps: f64) -> Option<(f64, f64, f64)> {
    let speed = fix.speed_mps?;
    let speed_sigma = fix
        .speed_accuracy_mps
        .filter(|a| *a > 0.0)
        .unwrap_or(default_speed_accuracy_mps);
    if speed < MIN_SPEED_FOR_BEARING_MPS {
        return Some((0.0, 0.0, speed_sigma.max(speed)));
    }
    let bearing = fix.bearing_deg?.to_radians();
    // Cross-track error from the bearing's accuracy; isotropic worst case keeps the axes shared.
    let cross = fix
        .bearing_accuracy_deg
        .map_or(0.0, |b| speed * b.to_radians().min(std::f64::consts::PI));
    Some((
        speed * bearing.sin(),
        speed * bearing.cos(),
        speed_sigma.hypot(cross),
    ))
}

#[cfg(test)]
mod tests;

//! The real core under test: a `tracelet_core::Tracker` on a `ManualClock`, uploading to a
//! counting sink or to an in-process collector.
//!
//! Determinism. The tracker uploads on its own thread, which would make upload times depend
//! on thread scheduling. So the replay runs it with `UploadPolicy::automatic` off and, after
//! every input, asks `Tracker::upload_wanted()` (the tracker's own triggers: count, delay, a
//! stop, ...) and calls `flush()` and waits for it when it says so. The clock does not move
//! while an upload runs, so each upload happens at a known simulated time and the same run
//! gives the same report.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tracelet_collector::{CollectorConfig, RunningCollector};
use tracelet_core::config::UploadPolicy;
use tracelet_core::filter::Activity;
use tracelet_core::geofence::Geofence;
use tracelet_core::platform::WakeSources;
use tracelet_core::policy::{MotionState, PolicyConfig, SamplingRequest};
use tracelet_core::store::StreamIds;
use tracelet_core::upload::ReqwestTransport;
use tracelet_core::{
    Event, EventListener, Fix, Location, LocationListener, ManualClock, Tracker, TrackerConfig,
};

use crate::geofence_eval::FiredEvent;
use crate::odometer_eval::Reading;
use crate::os_mode::OsMode;
use crate::subject::{Outcome, Subject};
use crate::transport::CountingTransport;

const DEVICE: &str = "replay-device";
const TOKEN: &str = "replay-token";

pub struct CoreOptions {
    pub preset: String,
    /// Replaces the preset's policy parameters (experiments).
    pub policy: Option<PolicyConfig>,
    /// Upload to an in-process collector instead of the counting sink.
    pub collector: bool,
    pub seed: u64,
    /// App geofences to add before the first fix.
    pub geofences: Vec<Geofence>,
    /// Steps of the phone's clock during the run (a user or the network setting it).
    pub clock_steps: Vec<ClockStep>,
    /// No usable network until the end of the trace (then everything is uploaded).
    pub offline: bool,
    /// The permission: reported to the core, which plans the OS updates around it.
    pub os_mode: OsMode,
}

/// The phone's clock jumps by `delta_s` at `at_s` seconds into the trace. From then on the
/// wall clock, and the fixes it stamps, read `delta_s` off; the monotonic clock is untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStep {
    pub at_s: i64,
    pub delta_s: i64,
}

impl ClockStep {
    /// `AT_S:DELTA_S`, e.g. `18000:-10800` (three hours back, five hours in).
    pub fn parse(text: &str) -> Option<ClockStep> {
        let (at, delta) = text.split_once(':')?;
        Some(ClockStep {
            at_s: at.trim().parse().ok()?,
            delta_s: delta.trim().parse().ok()?,
        })
    }
}

#[derive(Default)]
struct EventLog(Mutex<Vec<Event>>);

impl EventListener for EventLog {
    fn on_event(&self, event: Event) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event);
    }
}

/// The odometer after every accepted fix, as the app's location listener sees it.
#[derive(Default)]
struct OdometerLog(Mutex<Vec<Reading>>);

impl LocationListener for OdometerLog {
    fn on_location(&self, location: Location) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Reading {
                time_ms: location.time_ms,
                meters: location.odometer_m,
                uncertainty_m: location.odometer_uncertainty_m,
            });
    }
}

pub struct CoreSubject {
    preset: String,
    runtime: tokio::runtime::Runtime,
    collector: Option<RunningCollector>,
    clock: Arc<ManualClock>,
    transport: Arc<CountingTransport>,
    tracker: Option<Tracker>,
    events: Arc<EventLog>,
    odometer: Arc<OdometerLog>,
    /// The upload triggers in force, for the report.
    triggers: UploadPolicy,
    policy: PolicyConfig,
    request: SamplingRequest,
    state: MotionState,
    motion_reasons: BTreeMap<String, u64>,
    sampling_changes: u64,
    geofence_events: Vec<FiredEvent>,
    /// Where the trace started, every clock step, and those still to come (earliest last).
    start_ms: i64,
    clock_steps: Vec<ClockStep>,
    pending_steps: Vec<ClockStep>,
    /// What the steps so far add to the wall clock.
    wall_offset_ms: i64,
    offline: bool,
    /// When the uploader would next wake by itself (steady time), and how often it did.
    next_wake_ms: Option<i64>,
    wakeups: u64,
    wakeups_stationary: u64,
    stationary_ms: i64,
    last_ms: i64,
    /// What the platform armed, as the OS mode allows.
    armed: WakeSources,
    /// Every `AccessChanged` the app received, in order.
    access_told: Vec<serde_json::Value>,
    /// Seconds during which the coarse fallback ran because nothing could wake the app.
    fallback_s: u64,
    _storage: tempfile::TempDir,
}

impl CoreSubject {
    pub fn new(options: &CoreOptions, start_ms: i64) -> Result<CoreSubject, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let collector = if options.collector {
            let config = CollectorConfig::loopback(vec![TOKEN.into()]);
            Some(
                runtime
                    .block_on(tracelet_collector::start(config))
                    .map_err(|e| format!("cannot start the collector: {e}"))?,
            )
        } else {
            None
        };
        let endpoint = collector.as_ref().map_or_else(
            || format!("http://127.0.0.1:9{}", tracelet_core::protocol::INGEST_PATH),
            RunningCollector::ingest_url,
        );
        let storage = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
        let mut config = TrackerConfig::new(endpoint, DEVICE, TOKEN, storage.path());
        if !config.apply_preset(&options.preset) {
            return Err("unknown preset (expected efficient, balanced or continuous)".into());
        }
        if let Some(policy) = &options.policy {
            config.upload.max_delay_ms = policy.moving_upload_interval_ms;
            config.policy = policy.clone();
        }
        config.jitter_seed = Some(options.seed);
        // Stream ids are part of every body: seeded, so that a replay repeats byte for byte.
        config.stream_ids = StreamIds::Seeded(options.seed);
        let triggers = config.upload.clone();
        config.upload.automatic = false;
        let policy = config.policy.clone();
        let clock = Arc::new(ManualClock::new(start_ms));
        let inner = match &collector {
            Some(_) => Some(ReqwestTransport::new().map_err(|e| e.to_string())?),
            None => None,
        };
        let transport = Arc::new(CountingTransport::new(Arc::clone(&clock), inner));
        let tracker = Tracker::with_transport(config, clock.clone(), transport.clone())
            .map_err(|e| format!("cannot start the tracker: {e}"))?;
        let events = Arc::new(EventLog::default());
        tracker.set_listener(Some(events.clone()));
        let odometer = Arc::new(OdometerLog::default());
        tracker.set_location_listener(Some(odometer.clone()));
        tracker.start().map_err(|e| e.to_string())?;
        if options.offline {
            tracker.set_network(tracelet_core::NetworkState {
                connected: false,
                unmetered: false,
            });
        }
        // As the platform layers do when tracking starts.
        tracker.set_location_access(options.os_mode.access());
        if !options.geofences.is_empty() {
            tracker
                .add_geofences(options.geofences.clone())
                .map_err(|e| format!("cannot add the geofences: {e}"))?;
        }
        let mut subject = CoreSubject {
            preset: options.preset.clone(),
            runtime,
            collector,
            clock,
            transport,
            tracker: Some(tracker),
            events,
            odometer,
            triggers,
            policy,
            request: SamplingRequest::moving_balanced(),
            state: MotionState::Moving,
            motion_reasons: BTreeMap::new(),
            sampling_changes: 0,
            geofence_events: Vec::new(),
            start_ms,
            clock_steps: options.clock_steps.clone(),
            pending_steps: {
                let mut steps = options.clock_steps.clone();
                steps.sort_by_key(|s| std::cmp::Reverse(s.at_s));
                steps
            },
            wall_offset_ms: 0,
            offline: options.offline,
            next_wake_ms: None,
            wakeups: 0,
            wakeups_stationary: 0,
            stationary_ms: 0,
            last_ms: start_ms,
            armed: options.os_mode.wake_sources(),
            access_told: Vec::new(),
            fallback_s: 0,
            _storage: storage,
        };
        subject.settle()?;
        Ok(subject)
    }

    fn tracker(&self) -> Result<&Tracker, String> {
        self.tracker
            .as_ref()
            .ok_or_else(|| "tracker already closed".into())
    }

    /// Reads the events of the last input and uploads if the tracker's triggers say so.
    fn settle(&mut self) -> Result<(), String> {
        let events = std::mem::take(
            &mut *self
                .events
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for event in events {
            match event {
                Event::MotionChanged { state, reason } => {
                    self.state = state;
                    *self
                        .motion_reasons
                        .entry(reason.name().to_owned())
                        .or_default() += 1;
                }
                Event::SamplingChanged { request } => {
                    self.request = request;
                    self.sampling_changes += 1;
                }
                Event::AccessChanged { report } => self.access_told.push(json!({
                    "mode": report.mode.name(),
                    "background_wake": report.background_wake,
                })),
                Event::Geofence {
                    transition,
                    id,
                    time_ms,
                } => self.geofence_events.push(FiredEvent {
                    transition,
                    id,
                    time_ms,
                }),
                _ => {}
            }
        }
        if self.tracker()?.upload_wanted() {
            self.flush()?;
        }
        self.next_wake_ms = self.tracker()?.next_wake_ms();
        Ok(())
    }

    /// Lets simulated time pass to `now_ms` (trace time): applies the clock steps that fall
    /// due, moves the clocks, and counts the uploader's own wake-ups (its timer falling due,
    /// as opposed to the OS delivering fixes or signals).
    fn advance_to(&mut self, now_ms: i64) -> Result<(), String> {
        if self.state == MotionState::Stationary {
            self.stationary_ms += now_ms - self.last_ms;
        }
        self.last_ms = now_ms;
        while let Some(step) = self.pending_steps.last().copied() {
            if now_ms < self.start_ms + step.at_s * 1000 {
                break;
            }
            self.pending_steps.pop();
            self.clock
                .set_ms(self.start_ms + step.at_s * 1000 + self.wall_offset_ms);
            self.wall_offset_ms += step.delta_s * 1000;
            self.clock.step_ms(step.delta_s * 1000);
        }
        self.clock.set_ms(now_ms + self.wall_offset_ms);
        let steady = self.tracker()?.steady_now_ms();
        if self.next_wake_ms.is_some_and(|t| t <= steady) {
            self.wakeups += 1;
            if self.state == MotionState::Stationary {
                self.wakeups_stationary += 1;
            }
            self.next_wake_ms = None;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        let tracker = self.tracker.as_ref().ok_or("tracker already closed")?;
        self.runtime
            .block_on(tracker.flush())
            .map_err(|e| format!("flush failed: {e}"))?;
        Ok(())
    }
}

impl Subject for CoreSubject {
    fn name(&self) -> String {
        format!("core:{}", self.preset)
    }

    /// What the platform applies: the core's plan for the wake-up sources it could arm.
    fn request(&self) -> SamplingRequest {
        self.tracker.as_ref().map_or_else(
            || self.request.clone(),
            |t| t.plan_updates(self.armed).request,
        )
    }

    fn stationary(&self) -> bool {
        self.state == MotionState::Stationary
    }

    fn on_fixes(&mut self, mut fixes: Vec<Fix>, now_ms: i64) -> Result<(), String> {
        self.advance_to(now_ms)?;
        // The phone's clock stamps its fixes: a step moves the times of those taken after it
        // (a batch delivered after a step may hold fixes from before it).
        for fix in &mut fixes {
            let taken_s = (fix.time_ms - self.start_ms).div_euclid(1000);
            fix.time_ms += self
                .clock_steps
                .iter()
                .filter(|step| step.at_s <= taken_s)
                .map(|step| step.delta_s * 1000)
                .sum::<i64>();
        }
        self.tracker()?
            .record_batch(fixes)
            .map_err(|e| format!("record_batch failed: {e}"))?;
        self.settle()
    }

    fn on_activity(&mut self, activity: Activity, now_ms: i64) -> Result<(), String> {
        self.advance_to(now_ms)?;
        self.tracker()?.on_activity(activity);
        self.settle()
    }

    fn on_geofence_exit(&mut self, now_ms: i64) -> Result<(), String> {
        self.advance_to(now_ms)?;
        self.tracker()?.on_geofence_exit();
        self.settle()
    }

    fn tick(&mut self, now_ms: i64) -> Result<(), String> {
        self.advance_to(now_ms)?;
        self.tracker()?.tick();
        if self.tracker()?.plan_updates(self.armed).coarse_fallback {
            self.fallback_s += 1;
        }
        self.settle()
    }

    fn finish(mut self: Box<Self>, now_ms: i64) -> Result<Outcome, String> {
        self.advance_to(now_ms)?;
        if self.offline {
            self.tracker()?.set_network(tracelet_core::NetworkState {
                connected: true,
                unmetered: true,
            });
        }
        // What is still queued goes up at the end, so every stored fix counts.
        self.flush()?;
        let status = self.tracker()?.status();
        let mut extra = serde_json::Map::new();
        extra.insert("preset".into(), json!(self.preset));
        extra.insert("policy".into(), policy_json(&self.policy));
        extra.insert(
            "upload_triggers".into(),
            json!({
                "batch_trigger_count": self.triggers.batch_trigger_count,
                "max_delay_ms": self.triggers.max_delay_ms,
                "on_motion_change": true,
            }),
        );
        extra.insert("motion_changes".into(), json!(self.motion_reasons));
        extra.insert("sampling_changes".into(), json!(self.sampling_changes));
        extra.insert("app_told_access".into(), json!(self.access_told));
        extra.insert("coarse_fallback_s".into(), json!(self.fallback_s));
        extra.insert(
            "recording_mode".into(),
            json!(self.tracker()?.access_report().mode.name()),
        );
        extra.insert(
            "rejected_by_reason".into(),
            json!(
                status
                    .rejected_by_reason
                    .iter()
                    .map(|r| (r.reason.clone(), r.count))
                    .collect::<BTreeMap<_, _>>()
            ),
        );
        extra.insert("fixes_evicted".into(), json!(status.evicted_total));
        let stationary_h = self.stationary_ms as f64 / 3_600_000.0;
        extra.insert(
            "uploader_wakeups".into(),
            json!({
                "total": self.wakeups,
                "while_stationary": self.wakeups_stationary,
                "stationary_hours": (stationary_h * 100.0).round() / 100.0,
                "per_stationary_hour": if stationary_h > 0.0 {
                    (self.wakeups_stationary as f64 / stationary_h * 100.0).round() / 100.0
                } else {
                    0.0
                },
                "offline": self.offline,
            }),
        );
        let mut track = self.transport.delivered_track();
        if let Some(collector) = self.collector.take() {
            let rows = collector.fixes(DEVICE).map_err(|e| e.to_string())?;
            extra.insert("collector_rows".into(), json!(rows.len()));
            drop(self.tracker.take());
            self.runtime.block_on(collector.stop());
        }
        track.sort_by_key(|p| p.time_ms);
        Ok(Outcome {
            fixes_accepted: status.accepted_total,
            fixes_rejected: status.rejected_total,
            fixes_stored: status.accepted_total - status.evicted_total.min(status.accepted_total),
            track,
            uploads: self.transport.uploads(),
            extra,
            geofence_events: std::mem::take(&mut self.geofence_events),
            odometer: std::mem::take(
                &mut *self
                    .odometer
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ),
        })
    }
}

/// The policy parameters, printed so that a figure can be traced to its parameters.
pub fn policy_json(p: &PolicyConfig) -> serde_json::Value {
    json!({
        "stationary_radius_m": p.stationary_radius_m,
        "max_accuracy_allowance_m": p.max_accuracy_allowance_m,
        "stop_timeout_ms": p.stop_timeout_ms,
        "still_timeout_ms": p.still_timeout_ms,
        "stopping_after_ms": p.stopping_after_ms,
        "moving_priority": format!("{:?}", p.moving_priority),
        "moving_interval_ms": p.moving_interval_ms,
        "fastest_interval_ms": p.fastest_interval_ms,
        "distance_filter_s": p.distance_filter_s,
        "min_distance_m": p.min_distance_m,
        "max_distance_m": p.max_distance_m,
        "max_batch_delay_ms": p.max_batch_delay_ms,
        "heartbeat_priority": format!("{:?}", p.heartbeat_priority),
        "heartbeat_ms": p.heartbeat_ms,
        "geofence_radius_m": p.geofence_radius_m,
        "moving_upload_interval_ms": p.moving_upload_interval_ms,
    })
}

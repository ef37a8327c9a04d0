//! `Tracker`: the one object the bindings wrap. It owns the queue, the uploader thread and
//! the clock, and reports what it does through an [`EventListener`].
//!
//! Threads: `record` runs on the caller's thread and returns once the fix is committed to
//! SQLite. Uploads run on a dedicated thread with a current-thread tokio runtime; the caller
//! never waits on the network except through the `flush` future.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use url::Url;

use crate::annotations::Annotations;
use crate::clock::Clock;
use crate::config::ConfigError;
use crate::config::TrackerConfig;
use crate::decisions::{Decider, Refusal};
use crate::error::TrackerError;
use crate::filter::Activity;
use crate::filter::{RejectReason, Smoothed};
use crate::fix::Fix;
use crate::geofence::RegionRequest;
use crate::geofencing::{Geofencing, Observed, Position, Transition};
use crate::jitter::{Jitter, backoff_ms};
use crate::policy::{MotionReason, MotionState, PolicyOutput, PowerState, SamplingRequest};
use crate::store::{Append, Checkpointer, EvictionReason, SentBefore, Store, StoreOptions};
#[cfg(feature = "reqwest-transport")]
use crate::upload::ReqwestTransport;
use crate::upload::{
    EncodedBatch, ResponseClass, Transport, TransportError, UploadRequest, UploadResponse,
    classify, encode_batch,
};

/// Commands waiting for the uploader; small because wake-ups coalesce.
const COMMAND_QUEUE_LEN: usize = 64;
/// The uploader re-checks its timers (and the policy's stop timeout) at least this often.
const MAX_IDLE_WAIT: Duration = Duration::from_secs(15);
/// The uploader needs little stack: no recursion, and the upload future is boxed on the heap.
const UPLOAD_THREAD_STACK_BYTES: usize = 512 * 1024;
const META_TRACKING: &str = "tracking";
/// The uploader checkpoints the WAL once it has grown past this.
const CHECKPOINT_WAL_BYTES: u64 = 4 * 1024 * 1024;
/// Most events riding in one batch beside the fixes.
const MAX_BATCH_EVENTS: u32 = 100;

mod app_data;
mod platform_inputs;

/// Something the app may want to know, delivered in order on the thread that caused it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    FixAccepted {
        seq: u64,
    },
    /// The filter smoothed the fix stored as `seq` (the raw position is what is stored).
    FixSmoothed {
        seq: u64,
        smoothed: Smoothed,
    },
    /// A fix was not stored; `reason` is a stable short name (`implied_speed`, `not_finite`…).
    FixRejected {
        reason: String,
    },
    TrackingChanged {
        tracking: bool,
    },
    UploadSucceeded {
        first_seq: u64,
        last_seq: u64,
    },
    UploadFailed {
        reason: String,
        retry_in_ms: i64,
    },
    BatchDeadLettered {
        first_seq: u64,
        last_seq: u64,
        http_status: u16,
    },
    /// The server said it already had fixes or events of a batch sent for the first time:
    /// another install is sending under this device id and stream, or the server does not key
    /// on streams. The batch was deleted as delivered; those fixes may be missing at the
    /// server. (`first_seq`/`last_seq` are 0 for a batch of events only.)
    DeliveryAnomaly {
        first_seq: u64,
        last_seq: u64,
        duplicates: u64,
        event_duplicates: u64,
    },
    /// The queue was full by `reason` and its oldest fixes were dropped.
    FixesEvicted {
        count: u64,
        reason: String,
    },
    /// The queue database was corrupt; it was moved aside and a fresh one started.
    StorageRecovered {
        quarantined_file: String,
    },
    /// The motion policy changed state (for example moving to stationary), and why.
    MotionChanged {
        state: MotionState,
        reason: MotionReason,
    },
    /// The platform layer should apply this request to the OS location API now.
    SamplingChanged {
        request: SamplingRequest,
    },
    /// The device entered, left or dwelt in an app geofence (decided on the fix at `time_ms`).
    Geofence {
        transition: Transition,
        id: String,
        time_ms: i64,
    },
    /// The platform layer should have the OS watch exactly these regions now.
    RegionsChanged {
        request: RegionRequest,
    },
    /// What the SDK records under the user's permission changed (approximate only, no
    /// background wake-ups...); see `Tracker::set_location_access`.
    AccessChanged {
        report: crate::platform::AccessReport,
    },
}

/// Receives events. Implementations must return quickly and must not call back into the
/// tracker synchronously.
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: Event);
}

/// Asked for a new bearer token when the server answers 401. Called on the upload thread.
pub trait TokenProvider: Send + Sync {
    /// A fresh token, or `None` if the app has none to offer.
    fn fresh_token(&self) -> Option<String>;
}

/// The network as the platform layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkState {
    pub connected: bool,
    /// Wi-Fi or Ethernet rather than cellular.
    pub unmetered: bool,
}

/// The result of the most recent upload attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadOutcome {
    Delivered {
        fixes: u64,
        at_ms: i64,
    },
    Failed {
        reason: String,
        at_ms: i64,
        retry_at_ms: i64,
    },
    DeadLettered {
        http_status: u16,
        at_ms: i64,
    },
}

/// A snapshot of the tracker's state and counters since it was configured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    pub tracking: bool,
    pub pending_count: u64,
    pub accepted_total: u64,
    pub rejected_total: u64,
    pub uploaded_total: u64,
    /// Request bodies of delivered batches, as sent (gzip).
    pub uploaded_bytes: u64,
    pub dead_lettered_total: u64,
    pub evicted_total: u64,
    pub upload_attempts: u64,
    /// Batches whose first attempt the server answered with duplicates ([`Event::DeliveryAnomaly`]).
    pub delivery_anomalies: u64,
    /// The queue database was found corrupt at open and replaced.
    pub storage_recovered: bool,
    pub motion_state: Option<MotionState>,
    /// Refused fixes by reason name, in name order.
    pub rejected_by_reason: Vec<(String, u64)>,
    pub last_upload: Option<UploadOutcome>,
}

/// What a completed flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushReport {
    pub uploaded: u64,
    pub batches: u64,
    pub pending: u64,
}

/// Result of recording several fixes at once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchRecord {
    /// Sequence numbers of the fixes stored, in input order.
    pub accepted: Vec<u64>,
    /// Index in the input and error, for each invalid fix.
    pub rejected: Vec<(usize, TrackerError)>,
    /// Index in the input and reason, for each valid fix the filter did not keep.
    pub filtered: Vec<(usize, RejectReason)>,
}

/// What happened to one recorded fix that was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Stored {
        seq: u64,
    },
    /// Valid, but the filter judged it a bad fix (a jump, a duplicate, too vague…).
    Filtered {
        reason: RejectReason,
    },
}

enum Command {
    /// Upload if due.
    Wake,
    /// Upload now, ignoring backoff (connectivity regained, app going to the background).
    UploadNow,
    Flush(oneshot::Sender<Result<FlushReport, TrackerError>>),
}

pub struct Tracker {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    shutdown: watch::Sender<bool>,
    worker: Option<JoinHandle<()>>,
}

struct Shared {
    config: TrackerConfig,
    endpoint: Url,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
    store: Mutex<Store>,
    state: Mutex<State>,
    /// Lock order: `decider`, `geofencing`, `annotations`, `store`, `state`.
    decider: Mutex<Decider>,
    geofencing: Mutex<Geofencing>,
    annotations: Mutex<Annotations>,
    listener: Mutex<Option<Arc<dyn EventListener>>>,
    token_provider: Mutex<Option<Arc<dyn TokenProvider>>>,
    /// An immediate trigger fired and no upload round has started since.
    upload_requested: AtomicBool,
    /// What the permission allows, as last reported by the platform.
    access: Mutex<crate::platform::AccessReport>,
}

struct State {
    status: Status,
    rejected_by_reason: BTreeMap<&'static str, u64>,
    bearer_token: String,
    network: NetworkState,
    /// The corrupt queue file moved aside at open, until a listener has been told.
    unreported_quarantine: Option<String>,
    /// No automatic upload before this time (backoff after a failure).
    retry_at_ms: Option<i64>,
    consecutive_failures: u32,
    jitter: Jitter,
}

impl Tracker {
    /// Opens the queue and starts the uploader, with the default HTTPS transport.
    #[cfg(feature = "reqwest-transport")]
    pub fn new(config: TrackerConfig, clock: Arc<dyn Clock>) -> Result<Tracker, TrackerError> {
        let transport = ReqwestTransport::new().map_err(|e| TrackerError::Upload(e.to_string()))?;
        Tracker::with_transport(config, clock, Arc::new(transport))
    }

    /// As [`Tracker::new`], with a transport supplied by the platform or a test.
    pub fn with_transport(
        config: TrackerConfig,
        clock: Arc<dyn Clock>,
        transport: Arc<dyn Transport>,
    ) -> Result<Tracker, TrackerError> {
        let endpoint = config.validate()?;
        let opened = Store::open_with(
            &config.storage_dir,
            &StoreOptions {
                limits: config.store_limits,
                marker_dir: config.marker_dir.clone(),
                stream_ids: config.stream_ids,
            },
        )?;
        let store = opened.store;
        let tracking = store.meta(META_TRACKING)?.as_deref() == Some("1");
        let seed = config.jitter_seed.unwrap_or_else(|| clock.now_ms() as u64);
        let mut decider = Decider::new(config.policy.clone(), config.filter);
        platform_inputs::resume_motion(&store, &mut decider, tracking, clock.now_ms());
        let mut geofencing = Geofencing::new(config.geofence, config.os_max_regions);
        geofencing.load(store.load_geofences()?.0);
        let annotations = app_data::load_annotations(&store)?;
        let state = State {
            status: Status {
                tracking,
                pending_count: store.pending_count(),
                storage_recovered: opened.quarantined.is_some(),
                ..Status::default()
            },
            rejected_by_reason: BTreeMap::new(),
            bearer_token: config.bearer_token.clone(),
            // Assume a network until the platform layer says otherwise: a failed attempt
            // costs little, and a platform without connectivity callbacks still uploads.
            network: NetworkState {
                connected: true,
                unmetered: true,
            },
            unreported_quarantine: opened.quarantined.map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            }),
            retry_at_ms: None,
            consecutive_failures: 0,
            jitter: Jitter::new(seed),
        };
        let shared = Arc::new(Shared {
            config,
            endpoint,
            clock,
            transport,
            store: Mutex::new(store),
            state: Mutex::new(state),
            decider: Mutex::new(decider),
            geofencing: Mutex::new(geofencing),
            annotations: Mutex::new(annotations),
            listener: Mutex::new(None),
            token_provider: Mutex::new(None),
            upload_requested: AtomicBool::new(false),
            access: Mutex::new(crate::platform::AccessReport::of(
                crate::platform::LocationAccess::FULL,
            )),
        });
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE_LEN);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("tracelet-upload".into())
            .stack_size(UPLOAD_THREAD_STACK_BYTES)
            .spawn(move || run_uploader(worker_shared, receiver, shutdown_rx))
            .map_err(|e| TrackerError::Storage(format!("cannot start the upload thread: {e}")))?;
        let tracker = Tracker {
            shared,
            commands,
            shutdown,
            worker: Some(worker),
        };
        // Fixes left from an earlier run may already be due.
        tracker.wake_if_due();
        Ok(tracker)
    }

    /// Sets the listener. If the queue had to be recovered from corruption at open, the new
    /// listener hears about it first.
    pub fn set_listener(&self, listener: Option<Arc<dyn EventListener>>) {
        let has_listener = listener.is_some();
        *lock(&self.shared.listener) = listener;
        let quarantined = if has_listener {
            lock(&self.shared.state).unreported_quarantine.take()
        } else {
            None
        };
        if let Some(quarantined_file) = quarantined {
            self.shared
                .emit(Event::StorageRecovered { quarantined_file });
        }
    }

    pub fn set_token_provider(&self, provider: Option<Arc<dyn TokenProvider>>) {
        *lock(&self.shared.token_provider) = provider;
    }

    /// Replaces the bearer token (for example after the app signed in again).
    pub fn set_bearer_token(&self, token: String) -> Result<(), TrackerError> {
        let mut probe = self.shared.config.clone();
        probe.bearer_token.clone_from(&token);
        probe.validate()?;
        lock(&self.shared.state).bearer_token = token;
        self.upload_now();
        Ok(())
    }

    /// Begins accepting fixes, sampling as if moving until the phone is known to be still.
    /// Persisted, so a restarted app knows to resume.
    pub fn start(&self) -> Result<(), TrackerError> {
        self.set_tracking(true)?;
        let output = lock(&self.shared.decider).restart(self.shared.clock.now_ms());
        self.shared.apply_policy(vec![output]);
        Ok(())
    }

    /// Stops accepting fixes. What is queued is still uploaded.
    pub fn stop(&self) -> Result<(), TrackerError> {
        self.set_tracking(false)
    }

    fn set_tracking(&self, tracking: bool) -> Result<(), TrackerError> {
        lock(&self.shared.store).set_meta(META_TRACKING, if tracking { "1" } else { "0" })?;
        let changed = {
            let mut state = lock(&self.shared.state);
            let changed = state.status.tracking != tracking;
            state.status.tracking = tracking;
            changed
        };
        if changed {
            self.shared.emit(Event::TrackingChanged { tracking });
        }
        Ok(())
    }

    /// Validates, filters and durably stores one fix. An invalid fix is a typed error; a valid
    /// one the filter does not keep is a [`RecordOutcome::Filtered`], counted and reported.
    pub fn record(&self, fix: Fix) -> Result<RecordOutcome, TrackerError> {
        let mut result = self.record_batch(vec![fix])?;
        if let Some(seq) = result.accepted.pop() {
            return Ok(RecordOutcome::Stored { seq });
        }
        if let Some((_, reason)) = result.filtered.pop() {
            return Ok(RecordOutcome::Filtered { reason });
        }
        match result.rejected.pop() {
            Some((_, error)) => Err(error),
            None => Err(TrackerError::Storage("fix was not stored".into())),
        }
    }

    /// Judges each fix and stores the kept ones in one transaction, as the OS hands over
    /// batched locations. Refused fixes are reported per index and do not affect the others.
    pub fn record_batch(&self, fixes: Vec<Fix>) -> Result<BatchRecord, TrackerError> {
        if !lock(&self.shared.state).status.tracking {
            return Err(TrackerError::NotTracking);
        }
        let now_ms = self.shared.clock.now_ms();
        // The decider stays locked through the append, so the filter's order is the queue's.
        let (verdicts, outcome, checkpoint_hint, policy_outputs, observed) = {
            let mut decider = lock(&self.shared.decider);
            let mut verdicts = decider.judge(fixes, now_ms);
            let (outcome, checkpoint_hint, observed) = if verdicts.keep.is_empty() {
                (Default::default(), false, Observed::default())
            } else {
                let mut geofencing = lock(&self.shared.geofencing);
                let observed = geofencing.observe(&positions(&verdicts.keep, &verdicts.smoothed));
                let annotation = lock(&self.shared.annotations).for_fix();
                let mut store = lock(&self.shared.store);
                // Smoothed positions are stored only to be uploaded.
                let smoothed: &[Option<Smoothed>] = if self.shared.config.upload.include_smoothed {
                    &verdicts.smoothed
                } else {
                    &[]
                };
                let append = Append {
                    fixes: &verdicts.keep,
                    smoothed,
                    annotation: Some(&annotation),
                    events: &observed.events,
                    fence_states: &observed.states,
                };
                match store.append_with(append, now_ms) {
                    Ok(outcome) => (outcome, store.take_checkpoint_hint(), observed),
                    Err(e) => {
                        // Nothing was stored: put the geofence states back as stored.
                        if let Ok((stored, _)) = store.load_geofences() {
                            geofencing.load(stored);
                        }
                        return Err(e.into());
                    }
                }
            };
            let mut policy_outputs = std::mem::take(&mut verdicts.policy_outputs);
            policy_outputs.extend(decider.observe(&verdicts.keep, now_ms));
            (verdicts, outcome, checkpoint_hint, policy_outputs, observed)
        };
        let mut record = BatchRecord {
            accepted: outcome.seqs.clone(),
            ..BatchRecord::default()
        };
        {
            let mut state = lock(&self.shared.state);
            state.status.accepted_total += outcome.seqs.len() as u64;
            state.status.rejected_total += verdicts.refused.len() as u64;
            state.status.evicted_total += outcome.evicted.iter().map(|(_, n)| n).sum::<u64>();
            for (_, refusal) in &verdicts.refused {
                *state.rejected_by_reason.entry(refusal.name()).or_default() += 1;
            }
        }
        for (index, refusal) in verdicts.refused {
            self.shared.emit(Event::FixRejected {
                reason: refusal.name().into(),
            });
            match refusal {
                Refusal::Invalid(error) => {
                    record
                        .rejected
                        .push((index, TrackerError::InvalidFix(error)));
                }
                Refusal::Filtered(reason) => record.filtered.push((index, reason)),
            }
        }
        for &(reason, count) in &outcome.evicted {
            self.shared.emit(Event::FixesEvicted {
                count,
                reason: eviction_name(reason).into(),
            });
        }
        for (&seq, smoothed) in outcome.seqs.iter().zip(&verdicts.smoothed) {
            self.shared.emit(Event::FixAccepted { seq });
            if let Some(smoothed) = *smoothed {
                self.shared.emit(Event::FixSmoothed { seq, smoothed });
            }
        }
        let motion_changed = self.shared.apply_policy(policy_outputs);
        let transitions = self.shared.emit_observed(&observed);
        if motion_changed || transitions {
            self.upload_now();
        } else if checkpoint_hint {
            let _ = self.commands.try_send(Command::Wake);
        } else {
            self.wake_if_due();
        }
        Ok(record)
    }

    /// Lets time-based decisions happen (a still phone sends no fixes). The uploader thread
    /// calls it on every wake-up; a replay calls it for every simulated second.
    pub fn tick(&self) {
        if self.shared.tick() {
            self.upload_now();
        }
    }

    /// The OS reports that the phone left the stationary geofence: resume sampling at once.
    pub fn on_geofence_exit(&self) {
        let output = lock(&self.shared.decider).geofence_exit(self.shared.clock.now_ms());
        if self.shared.apply_policy(vec![output]) {
            self.upload_now();
        }
    }

    /// Uploads everything pending now, ignoring any backoff. Resolves when the queue is empty
    /// or an upload failed (the fixes stay queued and are retried later).
    pub async fn flush(&self) -> Result<FlushReport, TrackerError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Flush(reply))
            .await
            .map_err(|_| TrackerError::ShutDown)?;
        answer.await.map_err(|_| TrackerError::ShutDown)?
    }

    /// Tells the tracker about the network. Regaining a usable network uploads at once,
    /// without waiting out a backoff that was caused by being offline.
    pub fn set_network(&self, network: NetworkState) {
        let regained = {
            let mut state = lock(&self.shared.state);
            let was_usable = self.shared.network_usable(&state);
            state.network = network;
            let usable = self.shared.network_usable(&state);
            if usable && !was_usable {
                state.retry_at_ms = None;
            }
            usable && !was_usable
        };
        if regained {
            self.upload_now();
        }
    }

    /// An activity transition from the OS. It feeds the motion policy: "still" shortens the
    /// stop timeout, a moving activity resumes sampling at once when stationary. When that
    /// makes the phone stationary, the queue is uploaded at once (a motion-change trigger).
    pub fn on_activity(&self, activity: Activity) {
        let output = lock(&self.shared.decider).activity(activity, self.shared.clock.now_ms());
        if self.shared.apply_policy(vec![output]) {
            self.upload_now();
        }
    }

    /// True when an upload is due now by the tracker's own rules (count, delay, a stop, a
    /// returning network, the app going to the background). With `UploadPolicy::automatic`
    /// off, the caller uploads by calling `flush` when this says so: a replay does this to keep
    /// upload times deterministic.
    pub fn upload_wanted(&self) -> bool {
        self.shared.upload_requested.load(Ordering::SeqCst)
            || self.shared.upload_due(self.shared.clock.now_ms())
    }

    /// Battery level, charging and the OS's power saver. A low battery (15 % or less, not
    /// charging) or the saver switches the policy to its power-saving parameters.
    pub fn set_power(&self, power: PowerState) {
        let output = lock(&self.shared.decider).power(power);
        self.shared.apply_policy(vec![output]);
    }

    /// Overrides one policy parameter by its name (see `PolicyConfig::set`) while running.
    pub fn set_policy_parameter(&self, name: &str, value: f64) -> Result<(), TrackerError> {
        let output = lock(&self.shared.decider)
            .set_policy_parameter(name, value)
            .ok_or(TrackerError::InvalidConfig(ConfigError::BadPolicy))?;
        self.shared.apply_policy(vec![output]);
        Ok(())
    }

    /// The app went to the background: upload what is pending while the OS still lets us.
    pub fn on_app_background(&self) {
        self.upload_now();
    }

    /// The sampling the platform layer should apply to the OS location API now.
    pub fn sampling_request(&self) -> SamplingRequest {
        lock(&self.shared.decider).sampling_request()
    }

    /// The newest fix time ever stored by this tracker's queue, across restarts. A recorder
    /// that resumes after being killed starts after it.
    pub fn last_recorded_time_ms(&self) -> Result<Option<i64>, TrackerError> {
        Ok(lock(&self.shared.store).last_fix_time_ms()?)
    }

    pub fn status(&self) -> Status {
        let motion_state = lock(&self.shared.decider).motion_state();
        let pending = lock(&self.shared.store).pending_count();
        let state = lock(&self.shared.state);
        let mut status = state.status.clone();
        status.pending_count = pending;
        status.motion_state = Some(motion_state);
        status.rejected_by_reason = state
            .rejected_by_reason
            .iter()
            .map(|(name, n)| ((*name).to_owned(), *n))
            .collect();
        status
    }

    fn wake_if_due(&self) {
        if self.shared.upload_due(self.shared.clock.now_ms()) {
            // A full queue already holds a wake-up; nothing is lost by dropping this one.
            let _ = self.commands.try_send(Command::Wake);
        }
    }

    fn upload_now(&self) {
        self.shared.upload_requested.store(true, Ordering::SeqCst);
        let _ = self.commands.try_send(Command::UploadNow);
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        // Cancels an upload in flight; its fixes stay queued because deletion only follows a
        // 2xx answer.
        let _ = self.shutdown.send(true);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn eviction_name(reason: EvictionReason) -> &'static str {
    match reason {
        EvictionReason::Count => "count",
        EvictionReason::Age => "age",
        EvictionReason::Bytes => "bytes",
    }
}

impl Shared {
    /// The time-based steps (the policy's stop timeout, geofence dwell), from the uploader
    /// thread; true if they call for an upload now (the phone stopped, a geofence fired).
    fn tick(&self) -> bool {
        let now_ms = self.clock.now_ms();
        let output = lock(&self.decider).tick(now_ms);
        let stopped = self.apply_policy(vec![output]);
        let observed = {
            let mut geofencing = lock(&self.geofencing);
            let observed = geofencing.tick(now_ms);
            if !observed.events.is_empty() {
                let append = Append {
                    events: &observed.events,
                    fence_states: &observed.states,
                    ..Append::default()
                };
                if lock(&self.store).append_with(append, now_ms).is_err() {
                    // Not stored, so not told: the state goes back and the dwell fires later.
                    if let Ok((stored, _)) = lock(&self.store).load_geofences() {
                        geofencing.load(stored);
                    }
                    return stopped;
                }
            }
            observed
        };
        let fired = self.emit_observed(&observed);
        stopped || fired
    }

    /// Tells the app about geofence transitions and a new region request; true if a geofence
    /// fired (worth an upload at once: the server's "arrived" should not wait for a batch).
    fn emit_observed(&self, observed: &Observed) -> bool {
        let mut fired = false;
        for (transition, id, time_ms) in observed.transitions() {
            fired = true;
            self.emit(Event::Geofence {
                transition,
                id: id.to_owned(),
                time_ms,
            });
        }
        if let Some(request) = &observed.regions {
            self.emit(Event::RegionsChanged {
                request: request.clone(),
            });
        }
        fired
    }

    /// Emits what the policy decided; true if the phone stopped (an upload trigger).
    fn apply_policy(&self, outputs: Vec<PolicyOutput>) -> bool {
        let mut stopped = false;
        for output in outputs {
            if let Some((state, reason)) = output.motion_change {
                // A stop is worth an upload at once (the server sees the trip end); a departure
                // has little queued and rides with the next interval upload.
                stopped |= state == MotionState::Stationary;
                self.emit(Event::MotionChanged { state, reason });
                self.remember_motion(state);
            }
            if let Some(request) = output.request {
                self.emit(Event::SamplingChanged { request });
            }
        }
        stopped
    }

    fn emit(&self, event: Event) {
        // Clone the listener out so that no lock is held while foreign code runs.
        let listener = lock(&self.listener).clone();
        if let Some(listener) = listener {
            listener.on_event(event);
        }
    }

    fn network_usable(&self, state: &State) -> bool {
        state.network.connected && (state.network.unmetered || !self.config.upload.unmetered_only)
    }

    fn upload_due(&self, now_ms: i64) -> bool {
        let max_delay_ms = self.max_delay_ms();
        {
            let state = lock(&self.state);
            if !self.network_usable(&state) || state.retry_at_ms.is_some_and(|t| now_ms < t) {
                return false;
            }
        }
        let store = lock(&self.store);
        let pending = store.pending_count() + store.pending_event_count();
        if pending == 0 {
            return false;
        }
        if pending >= u64::from(self.config.upload.batch_trigger_count) {
            return true;
        }
        oldest_pending_ms(&store).is_some_and(|oldest| now_ms - oldest >= max_delay_ms)
    }

    /// The upload delay in force: the configured one while moving, the policy's longer one
    /// while stationary (only heartbeat fixes arrive then) or saving power.
    fn max_delay_ms(&self) -> i64 {
        let decider = lock(&self.decider);
        if decider.uploads_sparsely() {
            decider
                .upload_interval_ms()
                .max(self.config.upload.max_delay_ms)
        } else {
            self.config.upload.max_delay_ms
        }
    }

    /// How long the uploader may sleep before a timer (max delay or backoff) falls due.
    fn idle_wait(&self, now_ms: i64) -> Duration {
        let max_delay_ms = self.max_delay_ms();
        let retry_at = lock(&self.state).retry_at_ms;
        let store = lock(&self.store);
        let next_trigger =
            if store.pending_count() >= u64::from(self.config.upload.batch_trigger_count) {
                Some(now_ms)
            } else {
                oldest_pending_ms(&store).map(|oldest| oldest + max_delay_ms)
            };
        drop(store);
        // Both conditions must hold: the backoff has passed and something is due.
        let next = match (retry_at, next_trigger) {
            (Some(r), Some(t)) => Some(r.max(t)),
            (None, t) => t,
            (Some(_), None) => None,
        };
        next.map_or(MAX_IDLE_WAIT, |t| {
            Duration::from_millis(u64::try_from(t - now_ms).unwrap_or(0)).min(MAX_IDLE_WAIT)
        })
    }

    /// Uploads batches until the queue is empty or an attempt fails.
    async fn upload_pending(&self) -> Result<FlushReport, TrackerError> {
        self.upload_requested.store(false, Ordering::SeqCst);
        if !self.network_usable(&lock(&self.state)) {
            return Err(TrackerError::Upload(
                "waiting for a network the upload policy allows".into(),
            ));
        }
        let mut report = FlushReport::default();
        let mut batch_limit = self.config.upload.max_batch_fixes;
        let mut refreshed_token = false;
        loop {
            let outgoing = lock(&self.store).peek_outgoing(batch_limit, MAX_BATCH_EVENTS)?;
            if let (true, Some(&seq)) = (outgoing.fixes.is_empty(), outgoing.unreadable.first()) {
                self.set_aside_unreadable(seq)?;
                continue;
            }
            let Some(batch) = encode_batch(
                &self.config.device_id,
                &outgoing.stream,
                &outgoing.fixes,
                &outgoing.events,
                self.config.upload.encoding,
            ) else {
                report.pending = lock(&self.store).pending_count();
                return Ok(report);
            };
            if batch.body.len() > self.config.upload.max_batch_bytes && batch.fix_count() > 1 {
                batch_limit = half(batch.fix_count());
                continue;
            }
            let sent_before =
                lock(&self.store).mark_sending(batch.fix_range(), batch.event_range())?;
            let request = UploadRequest {
                url: self.endpoint.clone(),
                bearer_token: lock(&self.state).bearer_token.clone(),
                idempotency_key: batch.idempotency_key.clone(),
                content_type: batch.content_type,
                body: batch.body.clone(),
                timeout: Duration::from_millis(self.config.upload.request_timeout_ms),
            };
            let result = self.transport.send(request).await;
            lock(&self.state).status.upload_attempts += 1;
            let now_ms = self.clock.now_ms();
            match classify(&result) {
                ResponseClass::Delivered => {
                    if outgoing.current_stream {
                        self.check_duplicates(&batch, &result, sent_before);
                    }
                    self.delivered(&batch, now_ms)?;
                    report.uploaded += batch.fix_count();
                    report.batches += 1;
                    batch_limit = self.config.upload.max_batch_fixes;
                }
                ResponseClass::TooLarge if batch.fix_count() > 1 => {
                    batch_limit = half(batch.fix_count());
                }
                ResponseClass::TooLarge => self.dead_letter(&batch, 413, now_ms)?,
                ResponseClass::Rejected => {
                    let status = result.as_ref().map_or(400, |r| r.status);
                    self.dead_letter(&batch, status, now_ms)?;
                }
                // Ask the app once per round; a second 401 means the new token failed too.
                ResponseClass::Unauthorized if !refreshed_token && self.refresh_token() => {
                    refreshed_token = true;
                }
                ResponseClass::Unauthorized => {
                    return Err(self.failed("server refused the token (401)".into(), None, now_ms));
                }
                ResponseClass::Retry { retry_after_s } => {
                    let reason = match &result {
                        Ok(r) => format!("server answered {}", r.status),
                        Err(e) => e.to_string(),
                    };
                    return Err(self.failed(reason, retry_after_s, now_ms));
                }
            }
        }
    }

    /// A first attempt must find nothing of its batch at the server: fixes numbered in this
    /// installation's own stream were never sent by anyone else. Duplicates beyond what earlier
    /// attempts sent mean the server holds other fixes under these numbers (another install
    /// with this device id and stream, or a server that ignores streams): reported, since
    /// deleting the batch as delivered may lose them.
    fn check_duplicates(
        &self,
        batch: &EncodedBatch,
        result: &Result<UploadResponse, TransportError>,
        sent_before: SentBefore,
    ) {
        let Some(counts) = result.as_ref().ok().and_then(UploadResponse::ingest_counts) else {
            return;
        };
        if counts.duplicates <= sent_before.fixes && counts.events_duplicates <= sent_before.events
        {
            return;
        }
        let (first_seq, last_seq) = batch.fix_range().unwrap_or((0, 0));
        log::warn!(
            "delivery anomaly: the server already had {} of fixes {first_seq}-{last_seq} and {} \
             events, sent for the first time",
            counts.duplicates,
            counts.events_duplicates
        );
        lock(&self.state).status.delivery_anomalies += 1;
        self.emit(Event::DeliveryAnomaly {
            first_seq,
            last_seq,
            duplicates: counts.duplicates,
            event_duplicates: counts.events_duplicates,
        });
    }

    /// Moves a row that cannot be read back out of the way, so the queue never sticks on it.
    fn set_aside_unreadable(&self, seq: u64) -> Result<(), TrackerError> {
        let now_ms = self.clock.now_ms();
        lock(&self.store).dead_letter(seq, seq, 0, b"unreadable row", now_ms)?;
        lock(&self.state).status.dead_lettered_total += 1;
        self.emit(Event::BatchDeadLettered {
            first_seq: seq,
            last_seq: seq,
            http_status: 0,
        });
        Ok(())
    }

    /// Asks the app's token provider for a new token; true if one was installed.
    fn refresh_token(&self) -> bool {
        let provider = lock(&self.token_provider).clone();
        match provider.and_then(|p| p.fresh_token()) {
            Some(token) if !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()) => {
                lock(&self.state).bearer_token = token;
                true
            }
            _ => false,
        }
    }

    fn delivered(&self, batch: &EncodedBatch, now_ms: i64) -> Result<(), TrackerError> {
        {
            let mut store = lock(&self.store);
            if batch.fix_count() > 0 {
                store.delete_through(batch.last_seq)?;
            }
            if let Some(last) = batch.last_event_seq {
                store.delete_events_through(last)?;
            }
        }
        {
            let mut state = lock(&self.state);
            state.status.uploaded_total += batch.fix_count();
            state.status.uploaded_bytes += batch.body.len() as u64;
            state.status.last_upload = Some(UploadOutcome::Delivered {
                fixes: batch.fix_count(),
                at_ms: now_ms,
            });
            state.retry_at_ms = None;
            state.consecutive_failures = 0;
        }
        if batch.fix_count() > 0 {
            self.emit(Event::UploadSucceeded {
                first_seq: batch.first_seq,
                last_seq: batch.last_seq,
            });
        }
        Ok(())
    }

    fn dead_letter(
        &self,
        batch: &EncodedBatch,
        http_status: u16,
        now_ms: i64,
    ) -> Result<(), TrackerError> {
        // An events-only batch has no fixes: an empty range (1..=0).
        let (first, last) = if batch.fix_count() > 0 {
            (batch.first_seq, batch.last_seq)
        } else {
            (1, 0)
        };
        lock(&self.store).dead_letter_with_events(
            first,
            last,
            batch.last_event_seq,
            http_status,
            &batch.body,
            now_ms,
        )?;
        {
            let mut state = lock(&self.state);
            state.status.dead_lettered_total += batch.fix_count();
            state.status.last_upload = Some(UploadOutcome::DeadLettered {
                http_status,
                at_ms: now_ms,
            });
        }
        if batch.fix_count() > 0 {
            self.emit(Event::BatchDeadLettered {
                first_seq: batch.first_seq,
                last_seq: batch.last_seq,
                http_status,
            });
        }
        Ok(())
    }

    /// Records a failed attempt and schedules the retry with jittered exponential backoff.
    fn failed(&self, reason: String, retry_after_s: Option<u64>, now_ms: i64) -> TrackerError {
        let retry_in_ms = {
            let mut state = lock(&self.state);
            state.consecutive_failures += 1;
            let policy = &self.config.upload;
            let failures = state.consecutive_failures;
            let retry_after_ms = retry_after_s.map(|s| {
                i64::try_from(s.saturating_mul(1000))
                    .unwrap_or(i64::MAX)
                    .min(policy.max_retry_after_ms)
            });
            let delay = backoff_ms(
                &mut state.jitter,
                failures,
                policy.min_backoff_ms,
                policy.max_backoff_ms,
                retry_after_ms,
            );
            state.retry_at_ms = Some(now_ms.saturating_add(delay));
            state.status.last_upload = Some(UploadOutcome::Failed {
                reason: reason.clone(),
                at_ms: now_ms,
                retry_at_ms: now_ms.saturating_add(delay),
            });
            delay
        };
        self.emit(Event::UploadFailed {
            reason: reason.clone(),
            retry_in_ms,
        });
        TrackerError::Upload(reason)
    }
}

/// The positions the geofences judge: the filter's smoothed one where there is one.
fn positions(fixes: &[Fix], smoothed: &[Option<Smoothed>]) -> Vec<Position> {
    fixes
        .iter()
        .enumerate()
        .map(|(i, fix)| match smoothed.get(i).copied().flatten() {
            Some(s) => Position {
                time_ms: fix.time_ms,
                lat: s.latitude_deg,
                lon: s.longitude_deg,
                accuracy_m: s.accuracy_m,
            },
            None => Position {
                time_ms: fix.time_ms,
                lat: fix.latitude_deg,
                lon: fix.longitude_deg,
                accuracy_m: fix.horizontal_accuracy_m,
            },
        })
        .collect()
}

/// When the oldest pending fix or event was stored.
fn oldest_pending_ms(store: &Store) -> Option<i64> {
    let fix = store.oldest_stored_ms().ok().flatten();
    let event = store.oldest_event_stored_ms().ok().flatten();
    match (fix, event) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn half(count: u64) -> u32 {
    u32::try_from(count / 2).unwrap_or(u32::MAX).max(1)
}

fn run_uploader(
    shared: Arc<Shared>,
    commands: mpsc::Receiver<Command>,
    shutdown: watch::Receiver<bool>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    // Without a checkpointer the store's automatic backstop still bounds the WAL.
    let checkpointer = Checkpointer::open(lock(&shared.store).path()).ok();
    match runtime {
        Ok(runtime) => runtime.block_on(upload_loop(shared, commands, shutdown, checkpointer)),
        Err(e) => shared.emit(Event::UploadFailed {
            reason: format!("cannot start the upload runtime: {e}"),
            retry_in_ms: -1,
        }),
    }
}

async fn upload_loop(
    shared: Arc<Shared>,
    mut commands: mpsc::Receiver<Command>,
    mut shutdown: watch::Receiver<bool>,
    checkpointer: Option<Checkpointer>,
) {
    let mut flush_waiters = Vec::new();
    loop {
        let wait = shared.idle_wait(shared.clock.now_ms());
        let first = tokio::select! {
            _ = shutdown.changed() => break,
            command = commands.recv() => match command {
                Some(command) => command,
                None => break,
            },
            () = tokio::time::sleep(wait) => Command::Wake,
        };
        // Coalesce whatever else is queued into this round.
        let mut upload_now = false;
        let mut next = Some(first);
        while let Some(command) = next {
            match command {
                Command::Wake => {}
                Command::UploadNow => upload_now = true,
                Command::Flush(reply) => flush_waiters.push(reply),
            }
            next = commands.try_recv().ok();
        }
        // Time-based policy decisions (stop timeouts) while no fixes arrive. Without automatic
        // uploads the caller drives time and calls `tick` itself.
        let automatic = shared.config.upload.automatic;
        let motion_changed = automatic && shared.tick();
        if let Some(checkpointer) = &checkpointer {
            // A failed checkpoint loses nothing: the WAL still holds every commit.
            let _ = checkpointer.checkpoint_if_larger_than(CHECKPOINT_WAL_BYTES);
        }
        let forced = (automatic && (upload_now || motion_changed)) || !flush_waiters.is_empty();
        if motion_changed {
            shared.upload_requested.store(true, Ordering::SeqCst);
        }
        let due = forced || (automatic && shared.upload_due(shared.clock.now_ms()));
        if !due {
            continue;
        }
        let result = tokio::select! {
            _ = shutdown.changed() => break,
            result = Box::pin(shared.upload_pending()) => result,
        };
        for reply in flush_waiters.drain(..) {
            let _ = reply.send(result.clone());
        }
    }
    for reply in flush_waiters {
        let _ = reply.send(Err(TrackerError::ShutDown));
    }
}

/// A poisoned lock only means another thread panicked mid-update; the data is still the best
/// we have, and refusing it would lose fixes.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod app_data_tests;

//! `Tracker`: the one object the bindings wrap. It owns the queue, the uploader thread and
//! the clocks, and reports what it does through an [`EventListener`].
//!
//! Threads: `record` runs on the caller's thread and returns once the fix is committed to
//! SQLite. Uploads run on a dedicated thread with a current-thread tokio runtime
//! (`uploader.rs`), which sleeps until something can change what it would do; the caller
//! never waits on the network except through the `flush` future.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot, watch};
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
use crate::jitter::Jitter;
use crate::policy::{MotionReason, MotionState, PolicyOutput, PowerState, SamplingRequest};
use crate::steady::{Now, SteadyClock, SteadyMark};
use crate::store::{Append, EvictionReason, Store, StoreOptions};
#[cfg(feature = "reqwest-transport")]
use crate::upload::ReqwestTransport;
use crate::upload::Transport;

/// Flush requests waiting for the uploader; a full queue makes `flush` wait, never drops one.
const FLUSH_QUEUE_LEN: usize = 16;
/// The app's listener runs on this thread (the JVM or the Swift runtime attached to it).
/// Measured with `UploadThreadStackTest` (Kotlin recursion depth before `StackOverflowError`):
/// at 512 KiB a callback here got 91 % of what a 512 KiB JVM thread gives, at 1 MiB 98 %.
/// Untouched stack pages cost no memory.
const UPLOAD_THREAD_STACK_BYTES: usize = 1024 * 1024;
/// How long dropping the tracker waits for the upload thread to finish before leaving it to
/// end on its own (it may sit in a platform call that never returns).
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(2);
const META_TRACKING: &str = "tracking";
/// Meta key: where steady time resumes after a restart (`crate::steady`).
const META_STEADY_MARK: &str = "steady_mark";

mod app_data;
mod schedule;
mod uploader;

pub use schedule::{UploadDecision, UploadState};
pub(crate) use uploader::is_valid_token;
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

pub struct Tracker {
    shared: Arc<Shared>,
    flushes: mpsc::Sender<oneshot::Sender<Result<FlushReport, TrackerError>>>,
    shutdown: watch::Sender<bool>,
    worker: Option<Worker>,
}

/// The upload thread, and how to tell that it has finished.
struct Worker {
    thread: JoinHandle<()>,
    id: ThreadId,
    /// Behind a lock only to make the tracker `Sync`; just `Drop` uses it.
    finished: Mutex<std::sync::mpsc::Receiver<()>>,
}

struct Shared {
    config: TrackerConfig,
    endpoint: Url,
    steady: SteadyClock,
    transport: Arc<dyn Transport>,
    store: Mutex<Store>,
    state: Mutex<State>,
    /// Lock order: `decider`, `geofencing`, `annotations`, `store`, `state`.
    decider: Mutex<Decider>,
    geofencing: Mutex<Geofencing>,
    annotations: Mutex<Annotations>,
    listener: Mutex<Option<Arc<dyn EventListener>>>,
    token_provider: Mutex<Option<Arc<dyn TokenProvider>>>,
    /// Wakes the uploader to look again; wake-ups coalesce and are never lost.
    wake: Notify,
    /// An immediate trigger fired and no upload round has started since.
    upload_requested: AtomicBool,
    /// The trigger asked to skip a backoff (the app asked, the network came back).
    ignore_backoff: AtomicBool,
    /// Rounds the uploader has run: the wake-ups it cost (bench and tests).
    uploader_rounds: AtomicU64,
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
    /// No automatic upload before this steady time (backoff after a failure).
    retry_at_ms: Option<i64>,
    consecutive_failures: u32,
    jitter: Jitter,
    /// When the sleeping uploader will wake by itself; `None` while it runs a round or sleeps
    /// until told.
    planned_wake_ms: Option<i64>,
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
        let mut store = opened.store;
        let mark = store
            .meta(META_STEADY_MARK)?
            .as_deref()
            .and_then(SteadyMark::parse);
        let steady = SteadyClock::resume(Arc::clone(&clock), mark);
        store.set_meta(META_STEADY_MARK, &steady.mark().render())?;
        let tracking = store.meta(META_TRACKING)?.as_deref() == Some("1");
        let seed = config.jitter_seed.unwrap_or_else(|| clock.now_ms() as u64);
        let mut decider = Decider::new(config.policy.clone(), config.filter);
        platform_inputs::resume_motion(&store, &mut decider, tracking, steady.now_ms());
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
            planned_wake_ms: None,
        };
        let shared = Arc::new(Shared {
            config,
            endpoint,
            steady,
            transport,
            store: Mutex::new(store),
            state: Mutex::new(state),
            decider: Mutex::new(decider),
            geofencing: Mutex::new(geofencing),
            annotations: Mutex::new(annotations),
            listener: Mutex::new(None),
            token_provider: Mutex::new(None),
            wake: Notify::new(),
            upload_requested: AtomicBool::new(false),
            ignore_backoff: AtomicBool::new(false),
            uploader_rounds: AtomicU64::new(0),
            access: Mutex::new(crate::platform::AccessReport::of(
                crate::platform::LocationAccess::FULL,
            )),
        });
        let (flushes, flush_requests) = mpsc::channel(FLUSH_QUEUE_LEN);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (finished_tx, finished) = std::sync::mpsc::channel();
        let worker_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("tracelet-upload".into())
            .stack_size(UPLOAD_THREAD_STACK_BYTES)
            .spawn(move || {
                uploader::run(worker_shared, flush_requests, shutdown_rx);
                let _ = finished_tx.send(());
            })
            .map_err(|e| TrackerError::Storage(format!("cannot start the upload thread: {e}")))?;
        Ok(Tracker {
            shared,
            flushes,
            shutdown,
            worker: Some(Worker {
                id: thread.thread().id(),
                thread,
                finished: Mutex::new(finished),
            }),
        })
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
        self.upload_now(true);
        Ok(())
    }

    /// Begins accepting fixes, sampling as if moving until the phone is known to be still.
    /// Persisted, so a restarted app knows to resume.
    pub fn start(&self) -> Result<(), TrackerError> {
        self.set_tracking(true)?;
        let output = lock(&self.shared.decider).restart(self.shared.steady.now_ms());
        self.shared.apply_policy(vec![output]);
        self.shared.wake.notify_one();
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
    ///
    /// When the write fails (a full disk), the filter, the policy and the geofences are put
    /// back as they were, so that the same fixes recorded again are judged afresh.
    pub fn record_batch(&self, fixes: Vec<Fix>) -> Result<BatchRecord, TrackerError> {
        if !lock(&self.shared.state).status.tracking {
            return Err(TrackerError::NotTracking);
        }
        let now = self.shared.steady.now();
        // The decider stays locked through the append, so the filter's order is the queue's.
        let (verdicts, outcome, checkpoint_hint, policy_outputs, observed) = {
            let mut decider = lock(&self.shared.decider);
            let before = decider.clone();
            let mut verdicts = decider.judge(fixes, now);
            let (outcome, checkpoint_hint, observed) = if verdicts.keep.is_empty() {
                (Default::default(), false, Observed::default())
            } else {
                let mut geofencing = lock(&self.shared.geofencing);
                let positions = positions(
                    &verdicts.keep,
                    &verdicts.smoothed,
                    now,
                    self.shared.config.policy.max_batch_delay_ms,
                );
                let observed = geofencing.observe(&positions, now.wall_ms);
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
                match store.append_with(append, now) {
                    Ok(outcome) => (outcome, store.take_checkpoint_hint(), observed),
                    Err(e) => {
                        // Nothing was stored: put every judge back as it was.
                        *decider = before;
                        if let Ok((stored, _)) = store.load_geofences() {
                            geofencing.load(stored);
                        }
                        return Err(e.into());
                    }
                }
            };
            let mut policy_outputs = std::mem::take(&mut verdicts.policy_outputs);
            policy_outputs.extend(decider.observe(&verdicts.keep, now));
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
            self.upload_now(false);
        } else if checkpoint_hint || !outcome.seqs.is_empty() {
            // New fixes may bring an upload or a stop timeout forward: let the uploader look
            // again (it sleeps until the earliest of them, so this costs no extra wake-up
            // unless one moved).
            self.shared.wake_if_sooner();
        }
        Ok(record)
    }

    /// Lets time-based decisions happen (a still phone sends no fixes). The uploader thread
    /// runs them when they fall due; a replay calls this for every simulated second.
    pub fn tick(&self) {
        if self.shared.tick() {
            self.upload_now(false);
        }
    }

    /// The OS reports that the phone left the stationary geofence: resume sampling at once.
    pub fn on_geofence_exit(&self) {
        let output = lock(&self.shared.decider).geofence_exit(self.shared.steady.now_ms());
        if self.shared.apply_policy(vec![output]) {
            self.upload_now(false);
        }
        self.shared.wake.notify_one();
    }

    /// Uploads everything pending now, ignoring any backoff. Resolves when the queue is empty
    /// or an upload failed (the fixes stay queued and are retried later).
    pub async fn flush(&self) -> Result<FlushReport, TrackerError> {
        let (reply, answer) = oneshot::channel();
        self.flushes
            .send(reply)
            .await
            .map_err(|_| TrackerError::ShutDown)?;
        self.shared.wake.notify_one();
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
            self.upload_now(true);
        }
    }

    /// An activity transition from the OS. It feeds the motion policy: "still" shortens the
    /// stop timeout, a moving activity resumes sampling at once when stationary. When that
    /// makes the phone stationary, the queue is uploaded at once (a motion-change trigger).
    pub fn on_activity(&self, activity: Activity) {
        let output = lock(&self.shared.decider).activity(activity, self.shared.steady.now_ms());
        if self.shared.apply_policy(vec![output]) {
            self.upload_now(false);
        }
        // "Still" brings the stop timeout forward.
        self.shared.wake_if_sooner();
    }

    /// True when an upload is due now by the tracker's own rules (count, delay, a stop, a
    /// returning network, the app going to the background). With `UploadPolicy::automatic`
    /// off, the caller uploads by calling `flush` when this says so: a replay does this to keep
    /// upload times deterministic.
    pub fn upload_wanted(&self) -> bool {
        self.shared.upload_decision() == UploadDecision::UploadNow
    }

    /// When the uploader will next wake up by itself (steady time, `crate::steady`): the
    /// earliest of the stop timeout, a geofence dwell and the upload schedule. `None` while it
    /// sleeps until something happens (a fix, the network, the app). Replays count wake-ups
    /// with it.
    pub fn next_wake_ms(&self) -> Option<i64> {
        self.shared.next_wake_ms()
    }

    /// Test hook: how long the queue's WAL was when it was last synced (a simulated power cut
    /// keeps only that much of it).
    #[doc(hidden)]
    pub fn synced_wal_len(&self) -> u64 {
        lock(&self.shared.store).synced_wal_len()
    }

    /// Steady time now (`crate::steady`), the timeline of [`Tracker::next_wake_ms`].
    pub fn steady_now_ms(&self) -> i64 {
        self.shared.steady.now_ms()
    }

    /// Rounds the upload thread has run since the tracker started: each is a wake-up.
    pub fn uploader_rounds(&self) -> u64 {
        self.shared.uploader_rounds.load(Ordering::SeqCst)
    }

    /// Battery level, charging and the OS's power saver. A low battery (15 % or less, not
    /// charging) or the saver switches the policy to its power-saving parameters.
    pub fn set_power(&self, power: PowerState) {
        let output = lock(&self.shared.decider).power(power);
        self.shared.apply_policy(vec![output]);
        self.shared.wake_if_sooner();
    }

    /// Overrides one policy parameter by its name (see `PolicyConfig::set`) while running.
    pub fn set_policy_parameter(&self, name: &str, value: f64) -> Result<(), TrackerError> {
        let output = lock(&self.shared.decider)
            .set_policy_parameter(name, value)
            .ok_or(TrackerError::InvalidConfig(ConfigError::BadPolicy))?;
        self.shared.apply_policy(vec![output]);
        self.shared.wake_if_sooner();
        Ok(())
    }

    /// The app went to the background: upload what is pending while the OS still lets us.
    pub fn on_app_background(&self) {
        self.upload_now(true);
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

    /// An immediate upload trigger; `ignore_backoff` for the ones that may skip a backoff (the
    /// app asked, the network came back). The intent survives until the uploader looks.
    fn upload_now(&self, ignore_backoff: bool) {
        if ignore_backoff {
            self.shared.ignore_backoff.store(true, Ordering::SeqCst);
        }
        self.shared.upload_requested.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }
}

impl Drop for Tracker {
    /// Stops the uploader. An upload in flight is abandoned: its fixes stay queued because
    /// deletion only follows a 2xx. Never blocks for long, and never joins its own thread: the
    /// last reference may be released inside a callback on the upload thread, or the thread may
    /// sit in a platform call that never returns; it then ends on its own.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.shared.wake.notify_one();
        let Some(worker) = self.worker.take() else {
            return;
        };
        if std::thread::current().id() == worker.id {
            return;
        }
        let finished = lock(&worker.finished).recv_timeout(SHUTDOWN_DEADLINE);
        if finished.is_ok() {
            let _ = worker.thread.join();
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
    /// The time-based steps (the policy's stop timeout, geofence dwell); true if they call for
    /// an upload now (the phone stopped, a geofence fired).
    fn tick(&self) -> bool {
        let now = self.steady.now();
        let output = lock(&self.decider).tick(now.steady_ms);
        let stopped = self.apply_policy(vec![output]);
        let observed = {
            let mut geofencing = lock(&self.geofencing);
            let observed = geofencing.tick(now.steady_ms, now.wall_ms);
            if !observed.events.is_empty() {
                let append = Append {
                    events: &observed.events,
                    fence_states: &observed.states,
                    ..Append::default()
                };
                if lock(&self.store).append_with(append, now).is_err() {
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

    /// The upload schedule's inputs as they are now.
    fn upload_state(&self, now_ms: i64) -> UploadState {
        let max_delay_ms = self.max_delay_ms();
        let (network_usable, retry_at_ms) = {
            let state = lock(&self.state);
            (self.network_usable(&state), state.retry_at_ms)
        };
        let store = lock(&self.store);
        UploadState {
            now_ms,
            network_usable,
            pending: store.pending_count() + store.pending_event_count(),
            oldest_pending_ms: oldest_pending_ms(&store),
            batch_trigger_count: u64::from(self.config.upload.batch_trigger_count),
            max_delay_ms,
            retry_at_ms,
            requested: self.upload_requested.load(Ordering::SeqCst),
            ignore_backoff: self.ignore_backoff.load(Ordering::SeqCst),
        }
    }

    fn upload_decision(&self) -> UploadDecision {
        schedule::decide(&self.upload_state(self.steady.now_ms()))
    }

    /// When time alone will next give the uploader something to do (steady time).
    fn next_wake_ms(&self) -> Option<i64> {
        let now_ms = self.steady.now_ms();
        let policy = lock(&self.decider).next_deadline_ms();
        let dwell = lock(&self.geofencing).next_deadline_ms();
        let upload = match schedule::decide(&self.upload_state(now_ms)) {
            UploadDecision::UploadNow => Some(now_ms),
            decision => decision.wake_at_ms(),
        };
        [policy, dwell, upload].into_iter().flatten().min()
    }

    /// Wakes the uploader if it should now wake sooner than it planned when it went to sleep.
    fn wake_if_sooner(&self) {
        let planned = lock(&self.state).planned_wake_ms.unwrap_or(i64::MAX);
        if self.next_wake_ms().is_some_and(|next| next < planned) {
            self.wake.notify_one();
        }
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
}

/// The positions the geofences judge (the filter's smoothed one where there is one), each with
/// the steady time it was taken at: its age by the wall clock, credited no further back than
/// the OS's batching explains (as the motion policy does).
fn positions(
    fixes: &[Fix],
    smoothed: &[Option<Smoothed>],
    now: Now,
    max_batch_delay_ms: i64,
) -> Vec<Position> {
    fixes
        .iter()
        .enumerate()
        .map(|(i, fix)| {
            let age = now
                .wall_ms
                .saturating_sub(fix.time_ms)
                .clamp(0, max_batch_delay_ms.saturating_add(5_000));
            let (lat, lon, accuracy_m) = match smoothed.get(i).copied().flatten() {
                Some(s) => (s.latitude_deg, s.longitude_deg, s.accuracy_m),
                None => (
                    fix.latitude_deg,
                    fix.longitude_deg,
                    fix.horizontal_accuracy_m,
                ),
            };
            Position {
                time_ms: fix.time_ms,
                steady_ms: now.steady_ms - age,
                lat,
                lon,
                accuracy_m,
            }
        })
        .collect()
}

/// When the oldest pending fix or event was stored (steady time).
fn oldest_pending_ms(store: &Store) -> Option<i64> {
    let fix = store.oldest_stored_ms().ok().flatten();
    let event = store.oldest_event_stored_ms().ok().flatten();
    match (fix, event) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
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
#[cfg(test)]
mod real_phone_tests;

//! `Tracker`: the one object the bindings wrap. It owns the queue, the uploader thread and
//! the clocks, and reports what it does through an [`EventListener`].
//!
//! Threads: `record` runs on the caller's thread and returns once the fix is committed to
//! SQLite. Uploads run on a dedicated thread with a current-thread tokio runtime
//! (`uploader.rs`), which sleeps until something can change what it would do; the caller
//! never waits on the network except through the `flush` future.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use url::Url;

use crate::annotations::Annotations;
use crate::clock::Clock;
use crate::config::ConfigError;
use crate::config::TrackerConfig;
use crate::decisions::Decider;
use crate::error::TrackerError;
use crate::filter::Activity;
use crate::geofencing::Geofencing;
use crate::jitter::Jitter;
use crate::logs::writer::LogHub;
use crate::policy::{PowerState, SamplingRequest};
use crate::request_extras::RequestExtras;
use crate::steady::{SteadyClock, SteadyMark};
use crate::store::{Store, StoreOptions};
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
mod current_position;
mod events;
mod http_extras;
mod locations;
mod logs;
mod opening;
mod outcomes;
mod recording;
mod schedule;
mod scheduled;
mod uploader;

pub use events::{Event, EventListener};
pub use outcomes::{
    BatchRecord, FlushReport, NetworkState, ReasonCount, RecordOutcome, Status, UploadOutcome,
};

pub use schedule::{UploadDecision, UploadState};
pub(crate) use uploader::is_valid_token;
mod platform_inputs;

/// Asked for a new bearer token when the server answers 401. Called on the upload thread.
pub trait TokenProvider: Send + Sync {
    /// A fresh token, or `None` if the app has none to offer.
    fn fresh_token(&self) -> Option<String>;
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
    steady: Arc<SteadyClock>,
    /// The on-device log and the app's sink (`crate::logs`).
    logs: Arc<LogHub>,
    /// Wall minus steady time when last looked at: a jump is a clock change (`logs.rs`).
    wall_offset_ms: AtomicI64,
    transport: Arc<dyn Transport>,
    store: Mutex<Store>,
    state: Mutex<State>,
    /// Lock order: `decider`, `geofencing`, `annotations`, `locations`, `store`, `state`.
    decider: Mutex<Decider>,
    geofencing: Mutex<Geofencing>,
    annotations: Mutex<Annotations>,
    /// Privacy zones, odometer, last known location (`locations.rs`).
    locations: locations::Locations,
    /// Position requests waiting for a fix, and whether their sampling was announced.
    requests: Mutex<crate::position_request::Requests<current_position::Reply>>,
    sampling_overridden: Mutex<bool>,
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
    /// The app's tracking schedule, if any (`scheduled.rs`).
    schedule: Mutex<scheduled::Scheduled>,
}

struct State {
    status: Status,
    rejected_by_reason: BTreeMap<&'static str, u64>,
    bearer_token: String,
    /// The app's headers and batch params for the next request.
    request_extras: RequestExtras,
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
        let shared = Shared::open(config, clock, transport)?;
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
        let _log = self.shared.log_scope();
        let mut probe = self.shared.config.clone();
        probe.bearer_token.clone_from(&token);
        probe.validate()?;
        lock(&self.shared.state).bearer_token = token;
        log::info!("bearer token replaced by the app");
        self.upload_now(true);
        Ok(())
    }

    /// Begins accepting fixes, sampling as if moving until the phone is known to be still.
    /// Persisted, so a restarted app knows to resume.
    /// With a tracking schedule, this holds until the schedule's next transition.
    pub fn start(&self) -> Result<(), TrackerError> {
        let _log = self.shared.log_scope();
        self.shared.start_tracking()
    }

    /// Stops accepting fixes. What is queued is still uploaded. With a tracking schedule, this
    /// holds until the schedule's next transition.
    pub fn stop(&self) -> Result<(), TrackerError> {
        let _log = self.shared.log_scope();
        self.shared.set_tracking(false)
    }

    /// The OS reports that the phone left the stationary geofence: resume sampling at once.
    pub fn on_geofence_exit(&self) {
        let _log = self.shared.log_scope();
        log::info!("the OS reports leaving the stationary geofence");
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
        let _log = self.shared.log_scope();
        let regained = {
            let mut state = lock(&self.shared.state);
            let was_usable = self.shared.network_usable(&state);
            if state.network != network {
                log::info!(
                    "network: {}",
                    match (network.connected, network.unmetered) {
                        (false, _) => "none",
                        (true, true) => "connected, unmetered",
                        (true, false) => "connected, metered",
                    }
                );
            }
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
        let _log = self.shared.log_scope();
        log::debug!("activity from the OS: {activity:?}");
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
        let _log = self.shared.log_scope();
        log::debug!(
            "power: battery {:?} %, charging {}, saver {}",
            power.battery_percent,
            power.charging,
            power.power_save
        );
        let output = lock(&self.shared.decider).power(power);
        self.shared.apply_policy(vec![output]);
        self.shared.wake_if_sooner();
    }

    /// Overrides one policy parameter by its name (see `PolicyConfig::set`) while running.
    pub fn set_policy_parameter(&self, name: &str, value: f64) -> Result<(), TrackerError> {
        let _log = self.shared.log_scope();
        let output = lock(&self.shared.decider)
            .set_policy_parameter(name, value)
            .ok_or(TrackerError::InvalidConfig(ConfigError::BadPolicy))?;
        log::info!("policy parameter {name} set to {value}");
        self.shared.apply_policy(vec![output]);
        self.shared.wake_if_sooner();
        Ok(())
    }

    /// The app went to the background: upload what is pending while the OS still lets us.
    pub fn on_app_background(&self) {
        let _log = self.shared.log_scope();
        log::debug!("app went to the background: uploading what is pending");
        self.upload_now(true);
    }

    /// The sampling the platform layer should apply to the OS location API now.
    pub fn sampling_request(&self) -> SamplingRequest {
        let policy = lock(&self.shared.decider).sampling_request();
        self.shared.effective_sampling(policy)
    }

    /// The newest fix time ever stored by this tracker's queue, across restarts. A recorder
    /// that resumes after being killed starts after it.
    pub fn last_recorded_time_ms(&self) -> Result<Option<i64>, TrackerError> {
        Ok(lock(&self.shared.store).last_fix_time_ms()?)
    }

    pub fn status(&self) -> Status {
        let motion_state = lock(&self.shared.decider).motion_state();
        let pending = lock(&self.shared.store).pending_count();
        let schedule = self.shared.schedule_state();
        let state = lock(&self.shared.state);
        let mut status = state.status.clone();
        status.schedule = schedule;
        status.pending_count = pending;
        status.motion_state = Some(motion_state);
        status.rejected_by_reason = state
            .rejected_by_reason
            .iter()
            .map(|(name, n)| ReasonCount {
                reason: (*name).to_owned(),
                count: *n,
            })
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
        {
            let _log = self.shared.log_scope();
            log::info!("tracker closing");
        }
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

impl Shared {
    /// `Tracker::start`, also run when a tracking schedule opens a window.
    fn start_tracking(&self) -> Result<(), TrackerError> {
        // The odometer does not count what happened while tracking was off.
        self.forget_position()?;
        self.set_tracking(true)?;
        let output = lock(&self.decider).restart(self.steady.now_ms());
        self.apply_policy(vec![output]);
        self.wake.notify_one();
        Ok(())
    }

    fn set_tracking(&self, tracking: bool) -> Result<(), TrackerError> {
        lock(&self.store).set_meta(META_TRACKING, if tracking { "1" } else { "0" })?;
        let changed = {
            let mut state = lock(&self.state);
            let changed = state.status.tracking != tracking;
            state.status.tracking = tracking;
            changed
        };
        if changed {
            log::info!("tracking {}", if tracking { "started" } else { "stopped" });
            self.emit(Event::TrackingChanged { tracking });
        }
        Ok(())
    }

    fn network_usable(&self, state: &State) -> bool {
        state.network.connected && (state.network.unmetered || !self.config.upload.unmetered_only)
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
mod current_position_tests;
#[cfg(test)]
mod locations_tests;
#[cfg(test)]
mod real_phone_tests;
#[cfg(test)]
mod scheduled_tests;

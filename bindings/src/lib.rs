//! The uniffi surface of Tracelet. Types here mirror `tracelet-core` in shapes that Kotlin and
//! Swift can hold; every conversion between the two lives in this crate, and every error
//! crosses as the one `TraceletError` enum.

use std::collections::HashMap;
use std::sync::Arc;

use tracelet_core as core;

uniffi::setup_scaffolding!();

mod http;
mod places;
mod platform;
mod positions;
mod schedule;
// The platform-transport test runs the crate as a unit test: the library is built only as
// cdylib + staticlib (an rlib crate type would stop LTO from internalising anything).
#[cfg(test)]
mod platform_transport_tests;

use http::ForeignTransport;
pub use http::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportFailure};
pub use places::Geofence;
pub use places::{GeofenceShape, GeofenceTransition, LatLon, OsRegion, RegionRequest};
pub use platform::{AccessReport, LocationAccess, RecordingMode, UpdatesPlan, WakeSources};
pub use positions::{Location, LocationListener, OdometerReading, PrivacyAction, PrivacyZone};
pub use schedule::{
    ScheduleError, ScheduleState, ScheduleWindow, TimeOfDay, TrackingSchedule, Weekday,
};

/// What the app configures once.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TraceletConfig {
    /// Ingest endpoint; HTTPS except for loopback hosts.
    pub endpoint: String,
    pub device_id: String,
    pub bearer_token: String,
    /// Directory for the queue database (an app-private directory, excluded from backups).
    pub storage_dir: String,
    /// Directory for the queue's install marker, which backups must never copy (Android's
    /// no-backup directory; on iOS a directory excluded from backup). A queue restored from a
    /// backup finds no matching marker and starts a new stream. `None` uses `storage_dir`.
    #[uniffi(default = None)]
    pub marker_dir: Option<String>,
    /// Upload as soon as this many fixes are pending.
    #[uniffi(default = 100)]
    pub batch_trigger_count: u32,
    /// Most fixes in one request.
    #[uniffi(default = 500)]
    pub max_batch_fixes: u32,
    /// Upload pending fixes once the oldest has waited this long; 0 takes the preset's
    /// interval (5 min balanced, 15 min efficient, 1 min continuous).
    #[uniffi(default = 0)]
    pub max_upload_delay_ms: i64,
    /// Upload only on unmetered networks; fixes wait in the queue otherwise.
    #[uniffi(default = false)]
    pub upload_only_unmetered: bool,
    /// Sampling preset: "efficient", "balanced" or "continuous" (see the README's table).
    #[uniffi(default = "balanced")]
    pub preset: String,
    /// The on-device filter (jumps, duplicates, vague fixes); off stores every valid fix.
    #[uniffi(default = true)]
    pub filter_enabled: bool,
    /// Upload the filter's smoothed position beside the raw one (JSON bodies).
    #[uniffi(default = false)]
    pub upload_smoothed: bool,
    /// Kalman smoothing in the filter (the gates work either way).
    #[uniffi(default = true)]
    pub smoothing_enabled: bool,
    /// Refuse fixes the OS flags as coming from a mock-location app (reason "mock").
    #[uniffi(default = false)]
    pub reject_mock: bool,
    /// Regions the OS watches for the app: 20 on iOS (the default), 100 on Android (the
    /// Android layer sets it). One is kept for the stationary geofence.
    #[uniffi(default = 20)]
    pub os_max_regions: u32,
    /// The app's own headers on every upload request (an API gateway's key, a tenant). Names
    /// the SDK sets itself (Authorization, Content-Type, Idempotency-Key...) are refused.
    #[uniffi(default = [])]
    pub headers: Vec<HttpHeader>,
    /// Extra fields in the `params` object of every batch (JSON bodies), under the metadata
    /// caps (16 entries, 1,024 bytes).
    #[uniffi(default)]
    pub params: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Provider {
    Gps,
    Fused,
    Network,
    Passive,
    Unknown,
}

/// One position from the OS.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Fix {
    /// UTC milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub latitude: f64,
    pub longitude: f64,
    /// Horizontal accuracy, metres (68 %). Required and > 0.
    pub horizontal_accuracy_m: f64,
    #[uniffi(default = None)]
    pub altitude_m: Option<f64>,
    #[uniffi(default = None)]
    pub vertical_accuracy_m: Option<f64>,
    #[uniffi(default = None)]
    pub speed_mps: Option<f64>,
    #[uniffi(default = None)]
    pub speed_accuracy_mps: Option<f64>,
    #[uniffi(default = None)]
    pub bearing_deg: Option<f64>,
    #[uniffi(default = None)]
    pub bearing_accuracy_deg: Option<f64>,
    pub provider: Provider,
    #[uniffi(default = false)]
    pub is_mock: bool,
    /// Monotonic nanoseconds since boot, where the OS gives it.
    #[uniffi(default = None)]
    pub elapsed_realtime_ns: Option<i64>,
}

/// Every failure the SDK reports. Messages never contain coordinates.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum TraceletError {
    #[error("invalid fix: {reason}")]
    InvalidFix { reason: String },
    #[error("invalid configuration: {reason}")]
    InvalidConfig { reason: String },
    #[error("storage failure: {reason}")]
    Storage { reason: String },
    #[error("storage is full: the fix was not stored; fixes already stored are kept")]
    StorageFull,
    #[error("tracking is stopped: call start() before recording fixes")]
    NotTracking,
    #[error("upload failed: {reason}")]
    Upload { reason: String },
    #[error("the tracker has shut down")]
    ShutDown,
    #[error("invalid geofence: {reason}")]
    InvalidGeofence { reason: String },
    /// A trip id, extras or metadata map past its caps (16 entries, 1,024 bytes).
    #[error("invalid metadata: {reason}")]
    InvalidMetadata { reason: String },
    /// An app header the SDK cannot send: a reserved name, a line break in a value, too many.
    #[error("invalid header: {reason}")]
    InvalidHeader { reason: String },
    /// A value out of its range: a negative odometer, a privacy zone without a valid centre or
    /// radius, a position request with no timeout. Nothing changed.
    #[error("invalid argument: {reason}")]
    InvalidArgument { reason: String },
    /// No fix arrived before the position request's timeout.
    #[error("no position before the timeout")]
    Timeout,
    /// The app has no location permission: no position can come.
    #[error("the app has no location permission")]
    PermissionDenied,
}

/// Error a foreign listener may report; the SDK logs nothing of it and carries on.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    #[error("callback failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { reason: e.reason }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
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

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TraceletStatus {
    pub tracking: bool,
    pub pending_count: u64,
    pub accepted_total: u64,
    pub rejected_total: u64,
    pub uploaded_total: u64,
    pub uploaded_bytes: u64,
    pub dead_lettered_total: u64,
    pub evicted_total: u64,
    pub upload_attempts: u64,
    /// Batches whose first attempt the server answered with duplicates (`DeliveryAnomaly`).
    pub delivery_anomalies: u64,
    /// Fixes a privacy zone dropped, and stored at a zone's centre (no positions here).
    pub privacy_dropped_total: u64,
    pub privacy_coarsened_total: u64,
    pub storage_recovered: bool,
    pub motion_state: Option<MotionState>,
    pub rejected_by_reason: Vec<ReasonCount>,
    pub last_upload: Option<UploadOutcome>,
    /// What the tracking schedule says now; `None` without one.
    #[uniffi(default = None)]
    pub schedule: Option<ScheduleState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct FlushResult {
    pub uploaded: u64,
    pub batches: u64,
    pub pending: u64,
}

/// What happened to one valid fix.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RecordOutcome {
    Stored {
        seq: u64,
    },
    /// The filter judged it a bad fix; `reason` is a stable short name such as "implied_speed".
    Filtered {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FilteredFix {
    /// Position in the list passed to `record_batch`.
    pub index: u32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReasonCount {
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MotionState {
    Moving,
    Stopping,
    Stationary,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RejectedFix {
    /// Position in the list passed to `record_batch`.
    pub index: u32,
    pub error: TraceletError,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecordBatchResult {
    pub accepted_seqs: Vec<u64>,
    pub rejected: Vec<RejectedFix>,
    pub filtered: Vec<FilteredFix>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum TraceletEvent {
    FixAccepted {
        seq: u64,
    },
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
    /// The server already had fixes (or events) of a batch sent for the first time: another
    /// install uses this device id and stream, or the server ignores streams. The batch was
    /// deleted as delivered, so those fixes may be missing at the server. `first_seq` and
    /// `last_seq` are 0 for a batch of events only.
    DeliveryAnomaly {
        first_seq: u64,
        last_seq: u64,
        duplicates: u64,
        event_duplicates: u64,
    },
    FixesEvicted {
        count: u64,
        reason: String,
    },
    StorageRecovered {
        quarantined_file: String,
    },
    /// The filter smoothed the fix stored as `seq`; the raw position is what is stored.
    FixSmoothed {
        seq: u64,
        latitude: f64,
        longitude: f64,
        accuracy_m: f64,
    },
    /// The motion policy changed state; `reason` is a short name such as "stop_timeout".
    MotionChanged {
        state: MotionState,
        reason: String,
    },
    /// Apply this request to the OS location API now.
    SamplingChanged {
        request: SamplingRequest,
    },
    /// The device entered, left or dwelt in an app geofence, decided on the fix at `time_ms`.
    Geofence {
        transition: GeofenceTransition,
        id: String,
        time_ms: i64,
    },
    /// Register exactly these regions with the OS now (replacing the previous ones).
    RegionsChanged {
        request: RegionRequest,
    },
    /// What the SDK records under the user's permission changed (approximate only, nothing
    /// can wake the app in the background...). Never silent.
    AccessChanged {
        report: AccessReport,
    },
    /// The tracking schedule turned tracking on or off; arrange a wake-up for
    /// `next_transition_ms` (UTC), when it next will.
    ScheduleChanged {
        tracking: bool,
        next_transition_ms: Option<i64>,
    },
}

/// What the OS activity recognition reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Activity {
    Unknown,
    Still,
    OnFoot,
    Bicycle,
    Vehicle,
}

/// Battery and power saving, as the platform sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PowerState {
    /// 0-100, when known.
    pub battery_percent: Option<u8>,
    pub charging: bool,
    /// Android battery saver, iOS Low Power Mode.
    pub power_save: bool,
}

/// The network as the platform sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct NetworkState {
    pub connected: bool,
    /// Wi-Fi or Ethernet rather than cellular.
    pub unmetered: bool,
}

/// Implemented by the app to hand over a fresh bearer token when the server answers 401.
/// Called on the SDK's upload thread, at most once per upload round.
#[uniffi::export(with_foreign)]
pub trait TokenProvider: Send + Sync {
    /// A new token, or `None` if the app has none.
    fn fresh_token(&self) -> Result<Option<String>, CallbackError>;
}

/// Implemented by the platform layer to receive events. Called on the thread that caused the
/// event (the recording thread or the SDK's upload thread); must return quickly.
#[uniffi::export(with_foreign)]
pub trait TraceletListener: Send + Sync {
    fn on_event(&self, event: TraceletEvent) -> Result<(), CallbackError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Priority {
    HighAccuracy,
    Balanced,
    LowPower,
    Passive,
}

#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct StationaryGeofence {
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: f64,
}

/// What the core asks the OS location API for; the platform layer applies it as given.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SamplingRequest {
    pub priority: Priority,
    pub interval_ms: i64,
    pub fastest_interval_ms: i64,
    pub min_distance_m: f64,
    /// The OS may hold fixes back this long and deliver them in one batch.
    pub max_batch_delay_ms: i64,
    pub stationary_geofence: Option<StationaryGeofence>,
}

/// The tracker, as Kotlin and Swift see it.
#[derive(uniffi::Object)]
pub struct Tracelet {
    tracker: core::Tracker,
}

#[uniffi::export]
impl Tracelet {
    /// Validates the configuration, opens the queue and starts the upload thread, with the
    /// built-in HTTPS transport.
    #[uniffi::constructor]
    pub fn new(config: TraceletConfig) -> Result<Arc<Self>, TraceletError> {
        #[cfg(feature = "reqwest-transport")]
        {
            let tracker = core::Tracker::new(core_config(config)?, Arc::new(core::SystemClock))?;
            Ok(Arc::new(Tracelet { tracker }))
        }
        #[cfg(not(feature = "reqwest-transport"))]
        {
            let _ = config;
            Err(TraceletError::InvalidConfig {
                reason: "this build has no built-in transport: use with_transport".into(),
            })
        }
    }

    /// As `new`, with the platform's HTTP stack instead of the built-in one.
    #[uniffi::constructor]
    pub fn with_transport(
        config: TraceletConfig,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<Arc<Self>, TraceletError> {
        let tracker = core::Tracker::with_transport(
            core_config(config)?,
            Arc::new(core::SystemClock),
            Arc::new(ForeignTransport(transport)),
        )?;
        Ok(Arc::new(Tracelet { tracker }))
    }

    pub fn start(&self) -> Result<(), TraceletError> {
        Ok(self.tracker.start()?)
    }

    pub fn stop(&self) -> Result<(), TraceletError> {
        Ok(self.tracker.stop()?)
    }

    /// Validates, filters and durably stores one fix. An invalid fix is an error; a valid one
    /// the filter does not keep comes back as `Filtered`, and is counted and reported.
    pub fn record(&self, fix: Fix) -> Result<RecordOutcome, TraceletError> {
        Ok(match self.tracker.record(fix.into())? {
            core::RecordOutcome::Stored { seq } => RecordOutcome::Stored { seq },
            core::RecordOutcome::Filtered { reason } => RecordOutcome::Filtered {
                reason: reason.name().into(),
            },
        })
    }

    /// Time-based decisions (a still phone sends no fixes); the SDK also calls it itself.
    pub fn tick(&self) {
        self.tracker.tick();
    }

    /// The OS reports that the phone left the stationary geofence.
    pub fn on_geofence_exit(&self) {
        self.tracker.on_geofence_exit();
    }

    /// Stores the valid fixes of a batch in one transaction and reports the invalid ones.
    pub fn record_batch(&self, fixes: Vec<Fix>) -> Result<RecordBatchResult, TraceletError> {
        let result = self
            .tracker
            .record_batch(fixes.into_iter().map(Into::into).collect())?;
        Ok(RecordBatchResult {
            accepted_seqs: result.accepted,
            rejected: result
                .rejected
                .into_iter()
                .map(|(index, error)| RejectedFix {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    error: error.into(),
                })
                .collect(),
            filtered: result
                .filtered
                .into_iter()
                .map(|(index, reason)| FilteredFix {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    reason: reason.name().into(),
                })
                .collect(),
        })
    }

    /// Uploads everything pending; never blocks the calling thread.
    pub async fn flush(&self) -> Result<FlushResult, TraceletError> {
        let report = self.tracker.flush().await?;
        Ok(FlushResult {
            uploaded: report.uploaded,
            batches: report.batches,
            pending: report.pending,
        })
    }

    /// The sampling to apply to the OS location API now.
    pub fn sampling_request(&self) -> SamplingRequest {
        self.tracker.sampling_request().into()
    }

    pub fn status(&self) -> TraceletStatus {
        self.tracker.status().into()
    }

    /// Feeds connectivity changes; regaining a usable network uploads at once.
    pub fn set_network(&self, network: NetworkState) {
        self.tracker.set_network(core::NetworkState {
            connected: network.connected,
            unmetered: network.unmetered,
        });
    }

    /// An activity transition from the OS; a change between still and moving uploads at once.
    pub fn on_activity(&self, activity: Activity) {
        use core::filter::Activity as A;
        self.tracker.on_activity(match activity {
            Activity::Unknown => A::Unknown,
            Activity::Still => A::Still,
            Activity::OnFoot => A::OnFoot,
            Activity::Bicycle => A::Bicycle,
            Activity::Vehicle => A::Vehicle,
        });
    }

    /// Battery level, charging and the OS's power saver; a low battery or the saver makes the
    /// policy sample and upload less.
    pub fn set_power_state(&self, power: PowerState) {
        self.tracker.set_power(core::policy::PowerState {
            battery_percent: power.battery_percent,
            charging: power.charging,
            power_save: power.power_save,
        });
    }

    /// Overrides one sampling-policy parameter by name (for example "stop_timeout_ms"; the
    /// README lists them). An unknown name or an invalid result is `InvalidConfig`.
    pub fn set_policy_parameter(&self, name: String, value: f64) -> Result<(), TraceletError> {
        Ok(self.tracker.set_policy_parameter(&name, value)?)
    }

    /// The app went to the background: upload what is pending while the OS allows.
    pub fn on_app_background(&self) {
        self.tracker.on_app_background();
    }

    /// Replaces the bearer token (for example after signing in again).
    pub fn set_bearer_token(&self, token: String) -> Result<(), TraceletError> {
        Ok(self.tracker.set_bearer_token(token)?)
    }

    pub fn set_token_provider(&self, provider: Option<Arc<dyn TokenProvider>>) {
        self.tracker.set_token_provider(
            provider.map(|p| Arc::new(TokenProviderBridge(p)) as Arc<dyn core::TokenProvider>),
        );
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn TraceletListener>>) {
        self.tracker.set_listener(
            listener.map(|l| Arc::new(ListenerBridge(l)) as Arc<dyn core::EventListener>),
        );
    }
}

/// The core's configuration for a public one, in one place.
fn core_config(config: TraceletConfig) -> Result<core::TrackerConfig, TraceletError> {
    let mut core_config = core::TrackerConfig::new(
        config.endpoint,
        config.device_id,
        config.bearer_token,
        config.storage_dir,
    );
    core_config.marker_dir = config.marker_dir.map(Into::into);
    core_config.headers = http::header_pairs(config.headers);
    core_config.params = places::pairs(config.params);
    if !core_config.apply_preset(&config.preset) {
        return Err(TraceletError::InvalidConfig {
            reason: "preset must be efficient, balanced or continuous".into(),
        });
    }
    core_config.upload.batch_trigger_count = config.batch_trigger_count;
    core_config.upload.max_batch_fixes = config.max_batch_fixes;
    // 0 keeps the preset's upload interval; anything else overrides it.
    if config.max_upload_delay_ms != 0 {
        core_config.upload.max_delay_ms = config.max_upload_delay_ms;
    }
    core_config.upload.unmetered_only = config.upload_only_unmetered;
    core_config.os_max_regions = config.os_max_regions as usize;
    core_config.upload.include_smoothed = config.upload_smoothed;
    if let Some(filter) = core_config.filter.as_mut() {
        if !config.smoothing_enabled {
            filter.kalman = None;
        }
        filter.reject_mock = config.reject_mock;
    }
    if !config.filter_enabled {
        core_config.filter = None;
    }
    Ok(core_config)
}

/// Adapts a foreign listener to the core's trait; a failing listener must not disturb tracking.
struct ListenerBridge(Arc<dyn TraceletListener>);

impl core::EventListener for ListenerBridge {
    fn on_event(&self, event: core::Event) {
        let _ = self.0.on_event(event.into());
    }
}

/// A provider that throws is treated as having no token.
struct TokenProviderBridge(Arc<dyn TokenProvider>);

impl core::TokenProvider for TokenProviderBridge {
    fn fresh_token(&self) -> Option<String> {
        self.0.fresh_token().ok().flatten()
    }
}

// ---- conversions, in one place ----

impl From<core::TrackerError> for TraceletError {
    fn from(e: core::TrackerError) -> Self {
        use core::TrackerError as E;
        match e {
            E::InvalidFix(f) => TraceletError::InvalidFix {
                reason: f.to_string(),
            },
            E::InvalidConfig(c) => TraceletError::InvalidConfig {
                reason: c.to_string(),
            },
            E::Storage(reason) => TraceletError::Storage { reason },
            E::StorageFull => TraceletError::StorageFull,
            E::NotTracking => TraceletError::NotTracking,
            E::Upload(reason) => TraceletError::Upload { reason },
            E::ShutDown => TraceletError::ShutDown,
            E::InvalidGeofence(g) => TraceletError::InvalidGeofence {
                reason: g.to_string(),
            },
            E::InvalidMetadata(m) => TraceletError::InvalidMetadata {
                reason: m.to_string(),
            },
            E::InvalidHeader(h) => TraceletError::InvalidHeader {
                reason: h.to_string(),
            },
        }
    }
}

impl From<Provider> for core::fix::Provider {
    fn from(p: Provider) -> Self {
        match p {
            Provider::Gps => Self::Gps,
            Provider::Fused => Self::Fused,
            Provider::Network => Self::Network,
            Provider::Passive => Self::Passive,
            Provider::Unknown => Self::Unknown,
        }
    }
}

impl From<core::fix::Provider> for Provider {
    fn from(p: core::fix::Provider) -> Self {
        match p {
            core::fix::Provider::Gps => Self::Gps,
            core::fix::Provider::Fused => Self::Fused,
            core::fix::Provider::Network => Self::Network,
            core::fix::Provider::Passive => Self::Passive,
            core::fix::Provider::Unknown => Self::Unknown,
        }
    }
}

impl From<Fix> for core::Fix {
    fn from(f: Fix) -> Self {
        core::Fix {
            time_ms: f.time_ms,
            latitude_deg: f.latitude,
            longitude_deg: f.longitude,
            horizontal_accuracy_m: f.horizontal_accuracy_m,
            altitude_m: f.altitude_m,
            vertical_accuracy_m: f.vertical_accuracy_m,
            speed_mps: f.speed_mps,
            speed_accuracy_mps: f.speed_accuracy_mps,
            bearing_deg: f.bearing_deg,
            bearing_accuracy_deg: f.bearing_accuracy_deg,
            provider: f.provider.into(),
            is_mock: f.is_mock,
            elapsed_realtime_ns: f.elapsed_realtime_ns,
        }
    }
}

impl From<core::policy::SamplingRequest> for SamplingRequest {
    fn from(r: core::policy::SamplingRequest) -> Self {
        use core::policy::Priority as P;
        SamplingRequest {
            priority: match r.priority {
                P::HighAccuracy => Priority::HighAccuracy,
                P::Balanced => Priority::Balanced,
                P::LowPower => Priority::LowPower,
                P::Passive => Priority::Passive,
            },
            interval_ms: r.interval_ms,
            fastest_interval_ms: r.fastest_interval_ms,
            min_distance_m: r.min_distance_m,
            max_batch_delay_ms: r.max_batch_delay_ms,
            stationary_geofence: r.stationary_geofence.map(|g| StationaryGeofence {
                latitude: g.latitude_deg,
                longitude: g.longitude_deg,
                radius_m: g.radius_m,
            }),
        }
    }
}

impl From<core::policy::MotionState> for MotionState {
    fn from(s: core::policy::MotionState) -> Self {
        match s {
            core::policy::MotionState::Moving => MotionState::Moving,
            core::policy::MotionState::Stopping => MotionState::Stopping,
            core::policy::MotionState::Stationary => MotionState::Stationary,
        }
    }
}

impl From<core::UploadOutcome> for UploadOutcome {
    fn from(o: core::UploadOutcome) -> Self {
        match o {
            core::UploadOutcome::Delivered { fixes, at_ms } => {
                UploadOutcome::Delivered { fixes, at_ms }
            }
            core::UploadOutcome::Failed {
                reason,
                at_ms,
                retry_at_ms,
            } => UploadOutcome::Failed {
                reason,
                at_ms,
                retry_at_ms,
            },
            core::UploadOutcome::DeadLettered { http_status, at_ms } => {
                UploadOutcome::DeadLettered { http_status, at_ms }
            }
        }
    }
}

impl From<core::Status> for TraceletStatus {
    fn from(s: core::Status) -> Self {
        TraceletStatus {
            tracking: s.tracking,
            pending_count: s.pending_count,
            accepted_total: s.accepted_total,
            rejected_total: s.rejected_total,
            uploaded_total: s.uploaded_total,
            uploaded_bytes: s.uploaded_bytes,
            dead_lettered_total: s.dead_lettered_total,
            evicted_total: s.evicted_total,
            upload_attempts: s.upload_attempts,
            delivery_anomalies: s.delivery_anomalies,
            privacy_dropped_total: s.privacy_dropped_total,
            privacy_coarsened_total: s.privacy_coarsened_total,
            storage_recovered: s.storage_recovered,
            motion_state: s.motion_state.map(Into::into),
            rejected_by_reason: s
                .rejected_by_reason
                .into_iter()
                .map(|(reason, count)| ReasonCount { reason, count })
                .collect(),
            last_upload: s.last_upload.map(Into::into),
            schedule: s.schedule.map(Into::into),
        }
    }
}

impl From<core::Event> for TraceletEvent {
    fn from(e: core::Event) -> Self {
        use core::Event as E;
        match e {
            E::FixAccepted { seq } => TraceletEvent::FixAccepted { seq },
            E::FixRejected { reason } => TraceletEvent::FixRejected { reason },
            E::TrackingChanged { tracking } => TraceletEvent::TrackingChanged { tracking },
            E::UploadSucceeded {
                first_seq,
                last_seq,
            } => TraceletEvent::UploadSucceeded {
                first_seq,
                last_seq,
            },
            E::UploadFailed {
                reason,
                retry_in_ms,
            } => TraceletEvent::UploadFailed {
                reason,
                retry_in_ms,
            },
            E::BatchDeadLettered {
                first_seq,
                last_seq,
                http_status,
            } => TraceletEvent::BatchDeadLettered {
                first_seq,
                last_seq,
                http_status,
            },
            E::DeliveryAnomaly {
                first_seq,
                last_seq,
                duplicates,
                event_duplicates,
            } => TraceletEvent::DeliveryAnomaly {
                first_seq,
                last_seq,
                duplicates,
                event_duplicates,
            },
            E::FixesEvicted { count, reason } => TraceletEvent::FixesEvicted { count, reason },
            E::StorageRecovered { quarantined_file } => {
                TraceletEvent::StorageRecovered { quarantined_file }
            }
            E::FixSmoothed { seq, smoothed } => TraceletEvent::FixSmoothed {
                seq,
                latitude: smoothed.latitude_deg,
                longitude: smoothed.longitude_deg,
                accuracy_m: smoothed.accuracy_m,
            },
            E::MotionChanged { state, reason } => TraceletEvent::MotionChanged {
                state: state.into(),
                reason: reason.name().into(),
            },
            E::SamplingChanged { request } => TraceletEvent::SamplingChanged {
                request: request.into(),
            },
            E::Geofence {
                transition,
                id,
                time_ms,
            } => TraceletEvent::Geofence {
                transition: transition.into(),
                id,
                time_ms,
            },
            E::RegionsChanged { request } => TraceletEvent::RegionsChanged {
                request: request.into(),
            },
            E::AccessChanged { report } => TraceletEvent::AccessChanged {
                report: report.into(),
            },
            E::ScheduleChanged {
                tracking,
                next_transition_ms,
            } => TraceletEvent::ScheduleChanged {
                tracking,
                next_transition_ms,
            },
        }
    }
}

//! The uniffi surface of Tracelet. Types here mirror `tracelet-core` in shapes that Kotlin and
//! Swift can hold; every conversion between the two lives in this crate, and every error
//! crosses as the one `TraceletError` enum.

use std::collections::HashMap;
use std::sync::Arc;

use tracelet_core as core;

uniffi::setup_scaffolding!();

mod http;
mod logs;
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
pub use logs::{LogError, LogLevel, LogRecord, LogSettings, LogSink};
pub use places::{Geofence, GeofenceShape, LatLon};
// The API's leaf types are the core's own (derived there under its `uniffi` feature): one
// definition, no conversion.
pub use core::policy::{Priority, SamplingRequest, StationaryGeofence};
pub use core::{
    AccessReport, Activity, Event, Fix, FlushReport, GeofenceTransition, Location, LocationAccess,
    MotionReason, MotionState, NetworkState, OdometerReading, OsRegion, PowerState, PrivacyAction,
    PrivacyZone, Provider, ReasonCount, RecordOutcome, RecordingMode, RegionRequest, RejectReason,
    ScheduleState, ScheduleWindow, Smoothed, Status, TimeOfDay, UpdatesPlan, UploadOutcome,
    WakeSources, Weekday,
};
pub use positions::LocationListener;
pub use schedule::{ScheduleError, TrackingSchedule};

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

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FilteredFix {
    /// Position in the list passed to `record_batch`.
    pub index: u32,
    pub reason: String,
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
    fn on_event(&self, event: Event) -> Result<(), CallbackError>;
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
        Ok(self.tracker.record(fix)?)
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
        let result = self.tracker.record_batch(fixes)?;
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
    pub async fn flush(&self) -> Result<FlushReport, TraceletError> {
        Ok(self.tracker.flush().await?)
    }

    /// The sampling to apply to the OS location API now.
    pub fn sampling_request(&self) -> SamplingRequest {
        self.tracker.sampling_request()
    }

    pub fn status(&self) -> Status {
        self.tracker.status()
    }

    /// Feeds connectivity changes; regaining a usable network uploads at once.
    pub fn set_network(&self, network: NetworkState) {
        self.tracker.set_network(network);
    }

    /// An activity transition from the OS; a change between still and moving uploads at once.
    pub fn on_activity(&self, activity: Activity) {
        self.tracker.on_activity(activity);
    }

    /// Battery level, charging and the OS's power saver; a low battery or the saver makes the
    /// policy sample and upload less.
    pub fn set_power_state(&self, power: PowerState) {
        self.tracker.set_power(power);
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
        let _ = self.0.on_event(event);
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

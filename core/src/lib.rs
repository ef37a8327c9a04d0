//! Tracelet core: everything the SDK decides, free of any FFI concern.
//!
//! Data takes one road: a [`Fix`] from the OS is validated ([`fix`]), judged by the filter and
//! the motion policy, stored durably in the SQLite queue ([`store`]) and uploaded in batches by
//! the uploader thread ([`upload`]). [`Tracker`] owns all of it together with the injected
//! [`Clock`].
//!
//! # The API
//!
//! What an app or a binding uses is re-exported here, at the crate root: the [`Tracker`] and
//! its configuration, what it takes ([`Fix`], [`NetworkState`], [`Activity`], [`PowerState`],
//! [`Geofence`], [`LocationAccess`], [`PrivacyZone`], [`PositionRequest`]…), what it reports
//! ([`Event`], [`Location`], [`OdometerReading`], [`Status`], [`TrackerError`] and the typed
//! errors of single calls: [`OdometerError`], [`PrivacyZoneError`], [`CurrentPositionError`],
//! [`ScheduleError`]), the [`TrackingSchedule`] that turns tracking on and off by the week,
//! and the seams a platform may fill ([`Transport`], [`TokenProvider`], [`LocationListener`],
//! [`Clock`]).
//!
//! # Building blocks
//!
//! The modules below are public for the tools beside the SDK (the replay, the bench, the
//! chaos runner) and for finer configuration; their items are documented where they live.
//! Everything else (the decider, geofence tracking, steady time, the tracker's internals) is
//! private to the crate.

// With the `uniffi` feature the API types below carry uniffi derives in this crate's own
// namespace; `tracelet-ffi` uses them as they are instead of mirroring them.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("tracelet_core");

pub mod annotations;
pub mod clock;
pub mod config;
pub mod error;
pub mod filter;
pub mod fix;
pub mod geodesy;
pub mod geofence;
pub mod location;
pub mod logs;
pub mod odometer;
pub mod platform;
pub mod policy;
pub mod position_request;
pub mod privacy;
pub mod protocol;
pub mod request_extras;
pub mod store;
pub mod tracking_schedule;
pub mod upload;

/// The wire format's compact encoding and the clients' retry timing, from `tracelet-protocol`.
pub use tracelet_protocol::{compact, jitter};

pub(crate) mod decisions;
pub(crate) mod geofencing;
pub(crate) mod steady;
#[cfg(test)]
mod test_traces;
pub(crate) mod tracker;

pub use annotations::MetadataError;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ConfigError, TrackerConfig, UploadPolicy};
pub use error::TrackerError;
pub use filter::{Activity, FilterConfig, RejectReason, Smoothed};
pub use fix::{Fix, FixError, Provider};
pub use geofence::{
    Geofence, GeofenceConfig, GeofenceError, GeofenceShape, OsRegion, RegionRequest,
};
pub use geofencing::GeofenceTransition;
pub use location::{Location, LocationListener};
pub use logs::{LogConfig, LogError, LogLevel, LogRecord, LogSink};
pub use odometer::{OdometerError, OdometerReading};
pub use platform::{AccessReport, LocationAccess, RecordingMode, UpdatesPlan, WakeSources};
pub use policy::{
    MotionReason, MotionState, PolicyConfig, PowerState, Priority, SamplingRequest,
    StationaryGeofence,
};
pub use position_request::{CurrentPositionError, PositionRequest};
pub use privacy::{PrivacyAction, PrivacyZone, PrivacyZoneError};
pub use steady::Now;
pub use store::{StoreLimits, StreamIds};
pub use tracker::{
    BatchRecord, Event, EventListener, FlushReport, NetworkState, ReasonCount, RecordOutcome,
    Status, TokenProvider, Tracker, UploadDecision, UploadOutcome, UploadState,
};
pub use tracking_schedule::{
    ScheduleError, ScheduleState, ScheduleWindow, TimeOfDay, TrackingSchedule, Weekday,
};
pub use upload::{
    Encoding, Transport, TransportError, TransportFuture, UploadRequest, UploadResponse,
};

//! Tracelet core: everything the SDK decides, free of any FFI concern.
//!
//! Data takes one road: a [`Fix`] from the OS is validated ([`fix`]), stored durably in the
//! SQLite queue ([`store`]) and uploaded in batches by the uploader thread ([`upload`]).
//! [`Tracker`] owns all of it together with the injected [`Clock`].

pub mod annotations;
pub mod clock;
pub mod compact;
pub mod config;
pub mod decisions;
pub mod error;
pub mod filter;
pub mod fix;
pub mod geodesy;
pub mod geofence;
pub mod geofencing;
pub mod jitter;
pub mod platform;
pub mod policy;
pub mod protocol;
pub mod steady;
pub mod store;
pub mod tracker;
pub mod upload;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::TrackerConfig;
pub use error::TrackerError;
pub use fix::{Fix, FixError};
pub use tracker::{
    BatchRecord, Event, EventListener, FlushReport, NetworkState, RecordOutcome, Status,
    TokenProvider, Tracker, UploadOutcome,
};

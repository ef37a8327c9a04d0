//! The tracker's public error: one enum, converted from the module errors in one place.
//! Messages name fields and rules, never coordinates.

use thiserror::Error;

use crate::annotations::MetadataError;
use crate::config::ConfigError;
use crate::fix::FixError;
use crate::geofence::GeofenceError;
use crate::request_extras::HeaderError;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrackerError {
    #[error("invalid fix: {0}")]
    InvalidFix(#[from] FixError),
    #[error("invalid configuration: {0}")]
    InvalidConfig(#[from] ConfigError),
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("storage is full: the fix was not stored; fixes already stored are kept")]
    StorageFull,
    #[error("tracking is stopped: call start() before recording fixes")]
    NotTracking,
    #[error("upload failed: {0}")]
    Upload(String),
    #[error("the tracker has shut down")]
    ShutDown,
    #[error("invalid geofence: {0}")]
    InvalidGeofence(#[from] GeofenceError),
    /// A trip id, extras or metadata map past its caps (`annotations`).
    #[error("invalid metadata: {0}")]
    InvalidMetadata(#[from] MetadataError),
    /// An app header the SDK cannot send (`request_extras`).
    #[error("invalid header: {0}")]
    InvalidHeader(#[from] HeaderError),
}

impl From<StoreError> for TrackerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full => TrackerError::StorageFull,
            other => TrackerError::Storage(other.to_string()),
        }
    }
}

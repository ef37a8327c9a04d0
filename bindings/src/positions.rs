//! What apps receive about positions: every accepted fix as a [`Location`], the last known
//! one, one position on demand, the odometer, and privacy zones.

use std::sync::Arc;

use tracelet_core as core;

use crate::{CallbackError, Location, OdometerReading, PrivacyZone, Tracelet, TraceletError};

/// Receives every accepted fix as a [`Location`], after it was stored. Called on the thread
/// that recorded it; must return quickly.
#[uniffi::export(with_foreign)]
pub trait LocationListener: Send + Sync {
    fn on_location(&self, location: Location) -> Result<(), CallbackError>;
}

#[uniffi::export]
impl Tracelet {
    /// Replaces the location listener; `None` removes it.
    pub fn set_location_listener(&self, listener: Option<Arc<dyn LocationListener>>) {
        self.tracker.set_location_listener(
            listener.map(|l| Arc::new(LocationBridge(l)) as Arc<dyn core::LocationListener>),
        );
    }

    /// The newest accepted location, kept across restarts; `None` before the first one.
    pub fn last_known_location(&self) -> Option<Location> {
        self.tracker.last_known_location()
    }

    /// One position, tracking or not: the last known location if younger than `max_age_ms`,
    /// otherwise the first filtered fix at least as accurate as `desired_accuracy_m`, or at
    /// `timeout_ms` the most accurate one seen. `persist` also queues it for upload when
    /// tracking is off. Errors: `Timeout`, `PermissionDenied`, `InvalidArgument`.
    pub async fn current_position(
        &self,
        desired_accuracy_m: f64,
        timeout_ms: u64,
        max_age_ms: u64,
        persist: bool,
    ) -> Result<Location, TraceletError> {
        let request = core::PositionRequest {
            desired_accuracy_m,
            timeout_ms: i64::try_from(timeout_ms).unwrap_or(i64::MAX),
            max_age_ms: i64::try_from(max_age_ms).unwrap_or(i64::MAX),
            persist,
        };
        Ok(self.tracker.current_position(request).await?)
    }

    /// True while a position request waits: the platform keeps sampling even with tracking off.
    pub fn current_position_pending(&self) -> bool {
        self.tracker.current_position_pending()
    }

    pub fn odometer(&self) -> OdometerReading {
        self.tracker.odometer()
    }

    /// Sets the odometer (0 resets it). A negative or non-finite value is `InvalidArgument`
    /// and changes nothing.
    pub fn reset_odometer(&self, meters: f64) -> Result<(), TraceletError> {
        Ok(self.tracker.reset_odometer(meters)?)
    }

    /// Replaces the privacy zones (empty removes them); a refused list is `InvalidArgument`
    /// and the zones in force are kept.
    pub fn set_privacy_zones(&self, zones: Vec<PrivacyZone>) -> Result<(), TraceletError> {
        Ok(self.tracker.set_privacy_zones(zones)?)
    }

    pub fn privacy_zones(&self) -> Vec<PrivacyZone> {
        self.tracker.privacy_zones()
    }
}

/// A failing listener must not disturb tracking.
struct LocationBridge(Arc<dyn LocationListener>);

impl core::LocationListener for LocationBridge {
    fn on_location(&self, location: core::Location) {
        let _ = self.0.on_location(location);
    }
}

impl From<core::CurrentPositionError> for TraceletError {
    fn from(e: core::CurrentPositionError) -> Self {
        use core::CurrentPositionError as E;
        match e {
            E::Timeout => TraceletError::Timeout,
            E::PermissionDenied => TraceletError::PermissionDenied,
            E::ShutDown => TraceletError::ShutDown,
            E::Storage(reason) => TraceletError::Storage { reason },
            other @ (E::InvalidRequest | E::TooManyRequests) => TraceletError::InvalidArgument {
                reason: other.to_string(),
            },
        }
    }
}

impl From<core::OdometerError> for TraceletError {
    fn from(e: core::OdometerError) -> Self {
        match e {
            core::OdometerError::Storage(reason) => TraceletError::Storage { reason },
            other => TraceletError::InvalidArgument {
                reason: other.to_string(),
            },
        }
    }
}

impl From<core::PrivacyZoneError> for TraceletError {
    fn from(e: core::PrivacyZoneError) -> Self {
        match e {
            core::PrivacyZoneError::Storage(reason) => TraceletError::Storage { reason },
            other => TraceletError::InvalidArgument {
                reason: other.to_string(),
            },
        }
    }
}

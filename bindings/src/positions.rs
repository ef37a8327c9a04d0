//! What apps receive about positions: every accepted fix as a [`Location`], the last known
//! one, one position on demand, the odometer, and privacy zones.

use std::sync::Arc;

use tracelet_core as core;

use crate::{CallbackError, MotionState, Provider, Tracelet, TraceletError};

/// One accepted fix as the app sees it, after the filter and the privacy zones.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Location {
    /// The fix's sequence number in its queue (what the server stores it under).
    pub seq: u64,
    pub time_ms: i64,
    /// The position as stored (the zone's centre when a privacy zone coarsened it).
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f64,
    /// The filter's smoothed position, when it has one.
    pub smoothed_latitude: Option<f64>,
    pub smoothed_longitude: Option<f64>,
    pub smoothed_accuracy_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub altitude_m: Option<f64>,
    pub provider: Provider,
    pub is_mock: bool,
    pub motion_state: MotionState,
    /// The trip running when the fix was recorded.
    pub trip_id: Option<String>,
    /// The odometer after this fix, and how far off it may be.
    pub odometer_m: f64,
    pub odometer_uncertainty_m: f64,
}

/// Distance travelled along accepted fixes, and its uncertainty (both metres).
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct OdometerReading {
    pub meters: f64,
    pub uncertainty_m: f64,
}

/// What happens to a fix inside a privacy zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PrivacyAction {
    /// Not stored, not uploaded, not handed to the app.
    Drop,
    /// Stored at the zone's centre, with the radius as its accuracy.
    Coarsen,
}

/// A circle the app wants kept private (a user's home).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PrivacyZone {
    pub id: String,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: f64,
    pub action: PrivacyAction,
}

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
        self.tracker.last_known_location().map(Location::from)
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
        Ok(self.tracker.current_position(request).await?.into())
    }

    /// True while a position request waits: the platform keeps sampling even with tracking off.
    pub fn current_position_pending(&self) -> bool {
        self.tracker.current_position_pending()
    }

    pub fn odometer(&self) -> OdometerReading {
        let reading = self.tracker.odometer();
        OdometerReading {
            meters: reading.meters,
            uncertainty_m: reading.uncertainty_m,
        }
    }

    /// Sets the odometer (0 resets it). A negative or non-finite value is `InvalidArgument`
    /// and changes nothing.
    pub fn reset_odometer(&self, meters: f64) -> Result<(), TraceletError> {
        Ok(self.tracker.reset_odometer(meters)?)
    }

    /// Replaces the privacy zones (empty removes them); a refused list is `InvalidArgument`
    /// and the zones in force are kept.
    pub fn set_privacy_zones(&self, zones: Vec<PrivacyZone>) -> Result<(), TraceletError> {
        Ok(self
            .tracker
            .set_privacy_zones(zones.into_iter().map(Into::into).collect())?)
    }

    pub fn privacy_zones(&self) -> Vec<PrivacyZone> {
        self.tracker
            .privacy_zones()
            .into_iter()
            .map(Into::into)
            .collect()
    }
}

/// A failing listener must not disturb tracking.
struct LocationBridge(Arc<dyn LocationListener>);

impl core::LocationListener for LocationBridge {
    fn on_location(&self, location: core::Location) {
        let _ = self.0.on_location(location.into());
    }
}

impl From<core::Location> for Location {
    fn from(l: core::Location) -> Self {
        Location {
            seq: l.seq,
            time_ms: l.time_ms,
            latitude: l.latitude_deg,
            longitude: l.longitude_deg,
            accuracy_m: l.accuracy_m,
            smoothed_latitude: l.smoothed_latitude_deg,
            smoothed_longitude: l.smoothed_longitude_deg,
            smoothed_accuracy_m: l.smoothed_accuracy_m,
            speed_mps: l.speed_mps,
            bearing_deg: l.bearing_deg,
            altitude_m: l.altitude_m,
            provider: l.provider.into(),
            is_mock: l.is_mock,
            motion_state: l.motion_state.into(),
            trip_id: l.trip_id,
            odometer_m: l.odometer_m,
            odometer_uncertainty_m: l.odometer_uncertainty_m,
        }
    }
}

impl From<PrivacyZone> for core::PrivacyZone {
    fn from(z: PrivacyZone) -> Self {
        core::PrivacyZone {
            id: z.id,
            latitude_deg: z.latitude,
            longitude_deg: z.longitude,
            radius_m: z.radius_m,
            action: match z.action {
                PrivacyAction::Drop => core::PrivacyAction::Drop,
                PrivacyAction::Coarsen => core::PrivacyAction::Coarsen,
            },
        }
    }
}

impl From<core::PrivacyZone> for PrivacyZone {
    fn from(z: core::PrivacyZone) -> Self {
        PrivacyZone {
            id: z.id,
            latitude: z.latitude_deg,
            longitude: z.longitude_deg,
            radius_m: z.radius_m,
            action: match z.action {
                core::PrivacyAction::Drop => PrivacyAction::Drop,
                core::PrivacyAction::Coarsen => PrivacyAction::Coarsen,
            },
        }
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

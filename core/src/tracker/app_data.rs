//! The tracker's API for what the app defines: geofences, trips, per-fix extras and device
//! metadata. Each change is persisted before it takes effect, and what the server should know
//! (a trip started or ended, new device metadata) is queued as an event.

use super::{Event, Tracker, lock};
use crate::annotations::{Annotations, Trip, validate_map};
use crate::error::TrackerError;
use crate::geofence::{Geofence, RegionRequest};
use crate::store::{EventKind, QueuedEvent, Store, StoreError};

const META_TRIP: &str = "trip";
const META_EXTRAS: &str = "fix_extras";
const META_DEVICE: &str = "device_metadata";

/// The trip and extras in force when the tracker last ran.
pub(super) fn load_annotations(store: &Store) -> Result<Annotations, StoreError> {
    let trip = store
        .meta(META_TRIP)?
        .and_then(|json| serde_json::from_str::<Trip>(&json).ok());
    let extras = store
        .meta(META_EXTRAS)?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    Ok(Annotations { trip, extras })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, TrackerError> {
    serde_json::to_string(value).map_err(|e| TrackerError::Storage(e.to_string()))
}

impl Tracker {
    /// Adds geofences, or replaces those with the same ids (their state starts over). All are
    /// validated first: if one is invalid, none is added. Persisted in one transaction.
    pub fn add_geofences(&self, fences: Vec<Geofence>) -> Result<(), TrackerError> {
        let _log = self.shared.log_scope();
        log::info!("adding {} geofences", fences.len());
        let mut geofencing = lock(&self.shared.geofencing);
        for fence in &fences {
            fence.validate()?;
        }
        lock(&self.shared.store).save_geofences(&fences)?;
        geofencing.add(fences)?;
        drop(geofencing);
        self.refresh_regions();
        Ok(())
    }

    /// Removes a geofence; false if there was none with that id. No Exit fires.
    pub fn remove_geofence(&self, id: &str) -> Result<bool, TrackerError> {
        let mut geofencing = lock(&self.shared.geofencing);
        lock(&self.shared.store).delete_geofence(id)?;
        let removed = geofencing.remove(id);
        drop(geofencing);
        self.refresh_regions();
        Ok(removed)
    }

    pub fn remove_all_geofences(&self) -> Result<(), TrackerError> {
        let _log = self.shared.log_scope();
        log::info!("removing every geofence");
        let mut geofencing = lock(&self.shared.geofencing);
        lock(&self.shared.store).delete_all_geofences()?;
        geofencing.remove_all();
        drop(geofencing);
        self.refresh_regions();
        Ok(())
    }

    /// Every geofence, in the order they were first added.
    pub fn geofences(&self) -> Vec<Geofence> {
        lock(&self.shared.geofencing)
            .engine()
            .list()
            .cloned()
            .collect()
    }

    /// The regions the platform layer should have the OS watch (also sent as
    /// `Event::RegionsChanged` whenever it changes).
    pub fn region_request(&self) -> RegionRequest {
        lock(&self.shared.geofencing).region_request()
    }

    /// The OS reports a region event (it may have woken the app). The OS's word is not trusted
    /// on its own: sampling resumes, and the next accurate fixes confirm or deny the transition.
    pub fn on_region_event(&self, _region_id: &str) {
        let _log = self.shared.log_scope();
        self.on_geofence_exit();
    }

    /// Starts a trip: every fix recorded until [`Tracker::end_trip`] carries its id, and the
    /// server gets a `trip_start` event. A running trip is ended first.
    pub fn start_trip(
        &self,
        id: String,
        metadata: Vec<(String, String)>,
    ) -> Result<(), TrackerError> {
        let now = self.shared.steady.now();
        let trip = Trip::new(id, metadata, now.wall_ms)?;
        let mut annotations = lock(&self.shared.annotations);
        let mut events = Vec::new();
        if let Some(running) = &annotations.trip {
            events.push(trip_event(EventKind::TripEnd, running, now.wall_ms));
        }
        events.push(trip_event(EventKind::TripStart, &trip, now.wall_ms));
        let trip_json = to_json(&trip)?;
        lock(&self.shared.store).append_events_and_meta(
            &events,
            &[(META_TRIP, Some(&trip_json))],
            now.steady_ms,
        )?;
        annotations.trip = Some(trip);
        drop(annotations);
        self.upload_now(false);
        Ok(())
    }

    /// Ends the running trip, if any; returns its id.
    pub fn end_trip(&self) -> Result<Option<String>, TrackerError> {
        let now = self.shared.steady.now();
        let mut annotations = lock(&self.shared.annotations);
        let Some(trip) = annotations.trip.clone() else {
            return Ok(None);
        };
        let events = [trip_event(EventKind::TripEnd, &trip, now.wall_ms)];
        lock(&self.shared.store).append_events_and_meta(
            &events,
            &[(META_TRIP, None)],
            now.steady_ms,
        )?;
        annotations.trip = None;
        drop(annotations);
        self.upload_now(false);
        Ok(Some(trip.id))
    }

    /// The running trip's id.
    pub fn current_trip(&self) -> Option<String> {
        lock(&self.shared.annotations)
            .trip
            .as_ref()
            .map(|t| t.id.clone())
    }

    /// Sets the extras stamped on every fix recorded from now on (replacing the previous
    /// ones; empty clears them). Past the caps of [`crate::annotations`] it is a typed error
    /// and the extras in force stay as they were.
    pub fn set_fix_extras(&self, extras: Vec<(String, String)>) -> Result<(), TrackerError> {
        validate_map(&extras)?;
        let mut annotations = lock(&self.shared.annotations);
        let json = to_json(&extras)?;
        lock(&self.shared.store).append_events_and_meta(&[], &[(META_EXTRAS, Some(&json))], 0)?;
        annotations.extras = extras;
        Ok(())
    }

    pub fn fix_extras(&self) -> Vec<(String, String)> {
        lock(&self.shared.annotations).extras.clone()
    }

    /// Describes the device to the server (app version, model, driver…). Sent once as a
    /// `device` event, and again only when it changes, also across restarts.
    pub fn set_device_metadata(&self, metadata: Vec<(String, String)>) -> Result<(), TrackerError> {
        validate_map(&metadata)?;
        let json = to_json(&metadata)?;
        let now = self.shared.steady.now();
        let _annotations = lock(&self.shared.annotations);
        let mut store = lock(&self.shared.store);
        if store.meta(META_DEVICE)?.as_deref() == Some(json.as_str()) {
            return Ok(());
        }
        let event = QueuedEvent {
            time_ms: now.wall_ms,
            kind: EventKind::Device,
            subject: None,
            position: None,
            metadata,
        };
        store.append_events_and_meta(&[event], &[(META_DEVICE, Some(&json))], now.steady_ms)?;
        Ok(())
    }

    /// Chooses the OS regions again after the geofences changed, and tells the app.
    fn refresh_regions(&self) {
        let regions = lock(&self.shared.geofencing).refresh_regions();
        if let Some(request) = regions {
            self.shared.emit(Event::RegionsChanged { request });
        }
    }
}

fn trip_event(kind: EventKind, trip: &Trip, time_ms: i64) -> QueuedEvent {
    QueuedEvent {
        time_ms,
        kind,
        subject: Some(trip.id.clone()),
        position: None,
        metadata: if kind == EventKind::TripStart {
            trip.metadata.clone()
        } else {
            Vec::new()
        },
    }
}

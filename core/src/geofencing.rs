//! The tracker's side of geofencing: runs accepted fixes through the [`GeofenceEngine`], turns
//! its transitions into queued events, and keeps the OS region request current as the device
//! moves. Pure: the tracker stores what this returns and tells the app.

use crate::geodesy::distance_m;
use crate::geofence::{
    FenceState, FixTimes, Geofence, GeofenceConfig, GeofenceEngine, GeofenceError, GeofenceEvent,
    RegionRequest,
};
use crate::store::{EventKind, QueuedEvent, StoredGeofence};

/// The region choice is redone after the device has moved this far since the last one. The
/// nearest regions barely change over less, and the choice costs tens of microseconds.
pub const REGION_REEVALUATE_M: f64 = 100.0;

/// A position in the form the engine takes: the filter's smoothed one when there is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// The fix's own time, which its events report.
    pub time_ms: i64,
    /// The steady time the fix was taken at (`crate::steady`), which dwell is timed on.
    pub steady_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

/// A geofence transition, as the app hears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GeofenceTransition {
    Enter,
    Exit,
    Dwell,
}

/// What running positions through the geofences produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// For the server (and the app, via [`Observed::transitions`]), in order.
    pub events: Vec<QueuedEvent>,
    /// The new state of every geofence that fired, to persist with the events.
    pub states: Vec<(String, FenceState)>,
    /// A new region request, when the chosen set changed.
    pub regions: Option<RegionRequest>,
}

impl Observed {
    pub fn transitions(&self) -> impl Iterator<Item = (GeofenceTransition, &str, i64)> {
        self.events.iter().filter_map(|e| {
            let transition = match e.kind {
                EventKind::Enter => GeofenceTransition::Enter,
                EventKind::Exit => GeofenceTransition::Exit,
                EventKind::Dwell => GeofenceTransition::Dwell,
                _ => return None,
            };
            Some((
                transition,
                e.subject.as_deref().unwrap_or_default(),
                e.time_ms,
            ))
        })
    }
}

pub struct Geofencing {
    engine: GeofenceEngine,
    os_max_regions: usize,
    /// Where the region choice was last made; `None` forces a new choice.
    evaluated_at: Option<(f64, f64)>,
    last_position: Option<(f64, f64)>,
    request: RegionRequest,
}

impl Geofencing {
    pub fn new(config: GeofenceConfig, os_max_regions: usize) -> Self {
        Geofencing {
            engine: GeofenceEngine::new(config),
            os_max_regions,
            evaluated_at: None,
            last_position: None,
            request: RegionRequest::default(),
        }
    }

    /// Replaces every geofence and its state with what the store held.
    pub fn load(&mut self, stored: Vec<StoredGeofence>) {
        let mut engine = GeofenceEngine::new(self.engine.config());
        for StoredGeofence { fence, state } in stored {
            // Stored definitions were validated when added; one that fails now is skipped.
            if engine.add(fence.clone()).is_ok() {
                engine.restore_state(&fence.id, state);
            }
        }
        self.engine = engine;
        self.evaluated_at = None;
    }

    pub fn engine(&self) -> &GeofenceEngine {
        &self.engine
    }

    /// Adds or replaces geofences (all validated first: none is added if one is invalid).
    pub fn add(&mut self, fences: Vec<Geofence>) -> Result<(), GeofenceError> {
        for fence in &fences {
            fence.validate()?;
        }
        for fence in fences {
            self.engine.add(fence)?;
        }
        self.evaluated_at = None;
        Ok(())
    }

    pub fn remove(&mut self, id: &str) -> bool {
        self.evaluated_at = None;
        self.engine.remove(id).is_some()
    }

    pub fn remove_all(&mut self) {
        self.engine = GeofenceEngine::new(self.engine.config());
        self.evaluated_at = None;
    }

    /// When a Dwell next falls due by time alone (steady time).
    pub fn next_deadline_ms(&self) -> Option<i64> {
        self.engine.next_dwell_ms()
    }

    pub fn region_request(&self) -> RegionRequest {
        self.request.clone()
    }

    /// Runs accepted positions, in time order, through every geofence; `wall_now_ms` tells a
    /// clock set back from a late fix.
    pub fn observe(&mut self, positions: &[Position], wall_now_ms: i64) -> Observed {
        let mut observed = Observed::default();
        for p in positions {
            let times = FixTimes {
                fix_ms: p.time_ms,
                steady_ms: p.steady_ms,
                wall_now_ms,
            };
            let events = self.engine.process_at(p.lat, p.lon, p.accuracy_m, times);
            self.collect(events, p.time_ms, Some((p.lat, p.lon)), &mut observed);
            self.last_position = Some((p.lat, p.lon));
        }
        observed.regions = self.refresh_regions();
        observed
    }

    /// Fires the Dwell events due at steady time `steady_ms` without a fix (stamped with the wall
    /// clock `wall_ms`), and a region request that changed because geofences were added or
    /// removed.
    pub fn tick(&mut self, steady_ms: i64, wall_ms: i64) -> Observed {
        let mut observed = Observed::default();
        let events = self.engine.tick(steady_ms);
        let position = self.last_position;
        self.collect(events, wall_ms, position, &mut observed);
        observed.regions = self.refresh_regions();
        observed
    }

    fn collect(
        &self,
        events: Vec<GeofenceEvent>,
        time_ms: i64,
        position: Option<(f64, f64)>,
        observed: &mut Observed,
    ) {
        for event in events {
            let (kind, id) = match event {
                GeofenceEvent::Enter { id } => (EventKind::Enter, id),
                GeofenceEvent::Exit { id } => (EventKind::Exit, id),
                GeofenceEvent::Dwell { id } => (EventKind::Dwell, id),
            };
            let metadata = self
                .engine
                .get(&id)
                .map(|f| f.metadata.clone())
                .unwrap_or_default();
            if let Some(state) = self.engine.state(&id) {
                observed.states.retain(|(other, _)| *other != id);
                observed.states.push((id.clone(), state));
            }
            observed.events.push(QueuedEvent {
                time_ms,
                kind,
                subject: Some(id),
                position,
                metadata,
            });
        }
    }

    /// Chooses the regions again if the device moved far enough or the geofences changed;
    /// returns the request when its set of regions differs from the one in force.
    pub fn refresh_regions(&mut self) -> Option<RegionRequest> {
        let (lat, lon) = self.last_position?;
        let moved_enough = self
            .evaluated_at
            .is_none_or(|(lat0, lon0)| distance_m(lat0, lon0, lat, lon) >= REGION_REEVALUATE_M);
        if !moved_enough {
            return None;
        }
        self.evaluated_at = Some((lat, lon));
        let request = self.engine.region_request(lat, lon, self.os_max_regions);
        let same_set = request.regions.len() == self.request.regions.len()
            && request
                .regions
                .iter()
                .all(|r| self.request.regions.iter().any(|o| o == r));
        self.request = request;
        (!same_set).then(|| self.request.clone())
    }
}

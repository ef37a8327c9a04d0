//! The uniffi surface for what the app defines: geofences (with the OS region request),
//! trips, per-fix extras and device metadata. Maps cross as `HashMap<String, String>`;
//! their caps and errors are the core's (`tracelet_core::annotations`).

use std::collections::HashMap;

use tracelet_core as core;

use crate::{RegionRequest, Tracelet, TraceletError};

/// A point of a polygon, WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct LatLon {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum GeofenceShape {
    /// Radius 1 m to 100 km.
    Circle {
        latitude: f64,
        longitude: f64,
        radius_m: f64,
    },
    /// 3 to 1,000 vertices in order (either winding), fitting in 100 km; may be concave and
    /// may cross the antimeridian.
    Polygon { vertices: Vec<LatLon> },
}

/// An app-defined geofence.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Geofence {
    /// 1 to 128 characters; adding an existing id replaces that geofence.
    pub id: String,
    pub shape: GeofenceShape,
    /// Sent to the server with every event of this geofence.
    #[uniffi(default)]
    pub metadata: HashMap<String, String>,
    /// Time inside after which `Dwell` fires; `None`: never.
    #[uniffi(default = None)]
    pub dwell_ms: Option<i64>,
}

pub(crate) fn pairs(map: HashMap<String, String>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = map.into_iter().collect();
    // HashMap order is random: sort so that equal maps store and compare equal.
    pairs.sort();
    pairs
}

#[uniffi::export]
impl Tracelet {
    /// Adds geofences, or replaces those with the same ids. All are validated first: if one is
    /// invalid (`InvalidGeofence`), none is added. Persisted across restarts.
    pub fn add_geofences(&self, geofences: Vec<Geofence>) -> Result<(), TraceletError> {
        let fences = geofences
            .into_iter()
            .map(core::geofence::Geofence::from)
            .collect();
        Ok(self.tracker.add_geofences(fences)?)
    }

    /// Removes a geofence; false if none had that id. No `Exit` fires.
    pub fn remove_geofence(&self, id: String) -> Result<bool, TraceletError> {
        Ok(self.tracker.remove_geofence(&id)?)
    }

    pub fn remove_all_geofences(&self) -> Result<(), TraceletError> {
        Ok(self.tracker.remove_all_geofences()?)
    }

    /// Every geofence, in the order first added.
    pub fn geofences(&self) -> Vec<Geofence> {
        self.tracker
            .geofences()
            .into_iter()
            .map(Geofence::from)
            .collect()
    }

    /// The regions to register with the OS now (also sent as `RegionsChanged`).
    pub fn region_request(&self) -> RegionRequest {
        self.tracker.region_request()
    }

    /// The OS reported a region event (entered or left `region_id`). Sampling resumes, and
    /// the next fixes confirm the transition before any `Geofence` event fires.
    pub fn on_region_event(&self, region_id: String) {
        self.tracker.on_region_event(&region_id);
    }

    /// Starts a trip: fixes carry its id until `end_trip`, and the server gets `trip_start`
    /// with the metadata. A running trip is ended first.
    pub fn start_trip(
        &self,
        id: String,
        metadata: HashMap<String, String>,
    ) -> Result<(), TraceletError> {
        Ok(self.tracker.start_trip(id, pairs(metadata))?)
    }

    /// Ends the running trip; returns its id, or `None` if none was running.
    pub fn end_trip(&self) -> Result<Option<String>, TraceletError> {
        Ok(self.tracker.end_trip()?)
    }

    pub fn current_trip(&self) -> Option<String> {
        self.tracker.current_trip()
    }

    /// Extras stamped on every fix recorded from now on (empty clears them). At most 16
    /// entries and 1,024 bytes of keys and values: past that, `InvalidMetadata` and the
    /// extras in force are kept.
    pub fn set_fix_extras(&self, extras: HashMap<String, String>) -> Result<(), TraceletError> {
        Ok(self.tracker.set_fix_extras(pairs(extras))?)
    }

    /// Describes the device to the server; sent when it changes, also across restarts.
    pub fn set_device_metadata(
        &self,
        metadata: HashMap<String, String>,
    ) -> Result<(), TraceletError> {
        Ok(self.tracker.set_device_metadata(pairs(metadata))?)
    }
}

impl From<Geofence> for core::geofence::Geofence {
    fn from(g: Geofence) -> Self {
        core::geofence::Geofence {
            id: g.id,
            shape: match g.shape {
                GeofenceShape::Circle {
                    latitude,
                    longitude,
                    radius_m,
                } => core::geofence::GeofenceShape::Circle {
                    center_lat: latitude,
                    center_lon: longitude,
                    radius_m,
                },
                GeofenceShape::Polygon { vertices } => core::geofence::GeofenceShape::Polygon {
                    vertices: vertices.iter().map(|v| (v.latitude, v.longitude)).collect(),
                },
            },
            metadata: pairs(g.metadata),
            dwell_ms: g.dwell_ms,
        }
    }
}

impl From<core::geofence::Geofence> for Geofence {
    fn from(g: core::geofence::Geofence) -> Self {
        Geofence {
            id: g.id,
            shape: match g.shape {
                core::geofence::GeofenceShape::Circle {
                    center_lat,
                    center_lon,
                    radius_m,
                } => GeofenceShape::Circle {
                    latitude: center_lat,
                    longitude: center_lon,
                    radius_m,
                },
                core::geofence::GeofenceShape::Polygon { vertices } => GeofenceShape::Polygon {
                    vertices: vertices
                        .into_iter()
                        .map(|(latitude, longitude)| LatLon {
                            latitude,
                            longitude,
                        })
                        .collect(),
                },
            },
            metadata: g.metadata.into_iter().collect(),
            dwell_ms: g.dwell_ms,
        }
    }
}

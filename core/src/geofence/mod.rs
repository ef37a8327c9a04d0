//! App-defined geofences: circles and polygons, enter/exit/dwell events computed from accepted
//! fixes, and the choice of the nearest regions to hand to the OS.
//!
//! Pure and deterministic: no I/O, no clock (times come with the fixes), no FFI. Persistence and
//! wiring into the tracker live elsewhere.
//!
//! # Shapes ([`model`])
//!
//! A [`Geofence`] is an id (1 to 128 characters), a [`GeofenceShape`], string metadata and an
//! optional dwell time. Circles have a radius of 1 m to 100 km. Polygons have 3 to
//! [`MAX_VERTICES`] vertices as `(lat, lon)`, must not be degenerate (all vertices collinear),
//! must fit in a circle of 100 km and must not contain a pole. Self-intersecting polygons follow
//! the even-odd rule. [`Geofence::validate`] checks all of it; its errors never carry coordinates,
//! which are personal data.
//!
//! # Geometry ([`geometry`])
//!
//! [`PreparedShape::signed_distance_m`] is the distance from a point to the boundary, negative
//! inside. Circles use the haversine distance to the centre (`crate::geodesy`). Polygons are
//! projected once into a local tangent plane centred on their extent; their longitudes are
//! first unwrapped relative to the first vertex, so a polygon crossing the antimeridian is one
//! piece, not two. The `geo` crate measures them there: point in polygon (concave shapes
//! included), distance to the ring, and validity (a polygon whose edges cross, or that encloses
//! no area, is refused); the bounding circle is centred on the centroid. A point within
//! [`ON_BOUNDARY_M`] (1 mm) of the boundary, e.g. exactly on an edge or a vertex, is *on* it:
//! distance 0.
//!
//! # Events ([`engine`])
//!
//! [`GeofenceEngine::process`] classifies each fix against each geofence with a margin
//! `m = min(accuracy, accuracy_cap_m) + hysteresis_m` ([`GeofenceConfig`]; no cap and 10 m by
//! default):
//!
//! - **inside** when `signed_distance <= -m`: the accuracy circle lies inside, with a margin;
//! - **outside** when `signed_distance >= m`;
//! - otherwise the accuracy circle straddles the boundary and the fix **changes nothing**.
//!
//! The hysteresis band of `2 * hysteresis_m` around the boundary is what stops flapping: a fix
//! jittering across the boundary within its accuracy never decides anything. An optional
//! accuracy cap trades that strictness for recall: with a 50 m cap, a fix reported at 150 m in
//! the middle of a 300 m geofence is counted inside (and a vague fix far off counts outside,
//! which is how the cap causes false exits). Consequence of the strict default: a geofence
//! narrower than `m` can only be entered by fixes accurate enough.
//!
//! Transitions, per geofence, from the state `Unknown` (just added):
//!
//! - `Unknown`/`Outside` → inside: **Enter**. A geofence added around the device fires Enter on
//!   the first decisive fix; `Unknown` → outside fires nothing. So a geofence's events always
//!   start with Enter and alternate Enter, Exit, Enter...
//! - `Inside` → outside: **Exit**, once [`GeofenceConfig::exit_confirmations`] (2 by default)
//!   decisive outside fixes came in a row. One network fix far off, whose error dwarfs its
//!   reported accuracy, does not end a stay; an inside fix resets the count, a straddling one
//!   keeps it. Enter needs one fix: arrivals are what apps wait for.
//! - **Dwell** fires once per stay, when the geofence has `dwell_ms` and the time since the fix
//!   that caused Enter reaches it. It is checked on every fix and on [`GeofenceEngine::tick`], so
//!   a device that stops producing fixes while parked still dwells.
//!
//! Fixes older than the latest processed fix, or with invalid values, are ignored.
//!
//! # OS regions ([`regions`])
//!
//! The OS watches at most [`ANDROID_MAX_REGIONS`] (100) or [`IOS_MAX_REGIONS`] (20) regions per
//! app, circles only. [`GeofenceEngine::region_request`] picks the geofences whose boundaries are
//! nearest, keeping [`STATIONARY_REGION_SLOTS`] slot free for the SDK's own stationary geofence
//! (the region that wakes the app when the device leaves a stop). Each geofence has a
//! precomputed bounding circle (a polygon is registered as its bounding circle); ranking uses the
//! equirectangular distance to its centre minus its radius, with a linear-time selection instead
//! of a full sort, so the choice stays far below 50 µs with 10,000 geofences.
//!
//! # JSON ([`json`])
//!
//! The persistence format and the replay tool's geofence file (a JSON array of these):
//!
//! ```json
//! {"id": "depot", "circle": {"lat": 48.85, "lon": 2.35, "radius_m": 100}, "dwell_s": 300}
//! {"id": "yard", "polygon": [[48.85, 2.35], [48.86, 2.35], [48.86, 2.36]],
//!  "metadata": {"customer": "42"}}
//! ```
//!
//! Exactly one of `circle` and `polygon`. Polygon vertices are `[lat, lon]` (not GeoJSON's
//! `[lon, lat]`); a closing vertex equal to the first is allowed. `metadata` is an object of
//! strings, its order kept; `dwell_s` is in seconds and may be fractional. Unknown fields are
//! refused, so a typo (`"radius"`) is an error rather than a silent default.

pub mod engine;
pub mod geometry;
pub mod json;
pub mod model;
pub mod regions;
pub mod synthetic;

pub use engine::{FenceState, FixTimes, GeofenceConfig, GeofenceEngine, GeofenceEvent, Presence};
pub use geometry::{BoundingCircle, ON_BOUNDARY_M, PreparedShape};
pub use json::parse_geofence_file;
pub use model::{
    Geofence, GeofenceError, GeofenceShape, MAX_DWELL_MS, MAX_ID_CHARS, MAX_RADIUS_M, MAX_VERTICES,
    MIN_RADIUS_M,
};
pub use regions::{
    ANDROID_MAX_REGIONS, IOS_MAX_REGIONS, OsRegion, RegionRequest, STATIONARY_REGION_SLOTS,
};

#[cfg(test)]
mod tests;

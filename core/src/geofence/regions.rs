//! Choice of the nearest geofences to register with the OS, within its region limit.

use super::engine::GeofenceEngine;
use super::geometry::{BoundingCircle, M_PER_DEG_LAT};
use super::model::Geofence;

/// Android's limit on geofences per app.
pub const ANDROID_MAX_REGIONS: usize = 100;
/// iOS's limit on monitored regions per app.
pub const IOS_MAX_REGIONS: usize = 20;
/// Slots of the OS limit kept for the SDK's stationary geofence, the region that wakes the app
/// when the device leaves a stop: it is registered beside the app's geofences.
pub const STATIONARY_REGION_SLOTS: usize = 1;

/// A circular region for the OS (polygons are sent as their bounding circle).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OsRegion {
    pub id: String,
    pub center_lat: f64,
    pub center_lon: f64,
    pub radius_m: f64,
}

/// The geofences the platform layer should have the OS watch, nearest first.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RegionRequest {
    pub regions: Vec<OsRegion>,
}

/// Approximate signed distance from the point to the bounding circle's boundary, metres.
/// Equirectangular with the query's cosine: exact enough for ranking nearby regions, and far
/// ones are never close calls.
#[inline]
pub(crate) fn boundary_key(lat: f64, lon: f64, cos_lat: f64, b: &BoundingCircle) -> f64 {
    let dlat = b.lat - lat;
    let mut dlon = b.lon - lon;
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    // The differences need f64 (absolute degrees), the rest is fine in f32 and cheaper.
    let (y, x) = (dlat as f32, (dlon * cos_lat) as f32);
    f64::from((y * y + x * x).sqrt()) * M_PER_DEG_LAT - b.radius_m
}

/// The key as an `f32` whose bits order like the number, above the index: one integer compare
/// per step of the selection, and half the memory of `(f64, usize)`, which keeps the scratch
/// buffer for 10,000 geofences under the allocator's mmap threshold. `f32` still resolves
/// centimetres at 100 km.
#[inline]
pub(crate) fn packed_key(key_m: f64, index: usize) -> u64 {
    let bits = (key_m as f32).to_bits();
    let ordered = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 0x8000_0000
    };
    (u64::from(ordered) << 32) | (index as u64 & 0xffff_ffff)
}

impl GeofenceEngine {
    /// Indices of the `n` geofences with the nearest boundaries, nearest (most inside) first.
    pub(crate) fn nearest_indices(&self, lat: f64, lon: f64, n: usize) -> Vec<usize> {
        if n == 0 {
            return Vec::new();
        }
        let cos_lat = lat.to_radians().cos();
        let mut keyed: Vec<u64> = self
            .bounds
            .iter()
            .enumerate()
            .map(|(i, b)| packed_key(boundary_key(lat, lon, cos_lat, b), i))
            .collect();
        // Linear-time selection; only the n chosen are sorted.
        if n < keyed.len() {
            keyed.select_nth_unstable(n - 1);
            keyed.truncate(n);
        }
        keyed.sort_unstable();
        keyed
            .into_iter()
            .map(|k| (k & 0xffff_ffff) as usize)
            .collect()
    }

    /// The `n` geofences whose boundaries are nearest to the point, those containing it first.
    /// Ranked on bounding circles, so for polygons it is an approximation.
    pub fn nearest(&self, lat: f64, lon: f64, n: usize) -> Vec<&Geofence> {
        self.nearest_indices(lat, lon, n)
            .into_iter()
            .map(|i| self.fence_at(i))
            .collect()
    }

    /// The regions to register with an OS that allows `os_max_regions` (e.g.
    /// [`IOS_MAX_REGIONS`]), keeping [`STATIONARY_REGION_SLOTS`] free.
    pub fn region_request(&self, lat: f64, lon: f64, os_max_regions: usize) -> RegionRequest {
        let n = os_max_regions.saturating_sub(STATIONARY_REGION_SLOTS);
        let regions = self
            .nearest_indices(lat, lon, n)
            .into_iter()
            .map(|i| {
                let b = self.bounds[i];
                OsRegion {
                    id: self.fence_at(i).id.clone(),
                    center_lat: b.lat,
                    center_lon: b.lon,
                    radius_m: b.radius_m,
                }
            })
            .collect();
        RegionRequest { regions }
    }
}

//! Geodesy for the core: distances, bearings and destinations on the sphere come from the `geo`
//! crate (haversine, mean Earth radius); what it lacks is kept here, a local tangent plane in
//! which the Kalman filter runs and polygons are measured.

use geo::{Bearing, Destination, Distance, Euclidean, Haversine, Line, Point};

/// Mean Earth radius (IUGG, as `geo`'s haversine uses), metres.
pub const EARTH_RADIUS_M: f64 = Haversine.radius();
/// Metres per degree of latitude on that sphere.
pub const M_PER_DEG_LAT: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// Beyond this distance from the reference the plane is re-based on the current position.
pub const REBASE_DISTANCE_M: f64 = 20_000.0;

/// East-north coordinates in metres around a reference latitude and longitude: an
/// equirectangular projection. Within `REBASE_DISTANCE_M` of the reference its error is far
/// below a phone's accuracy, and it costs one multiply per axis, which keeps the filter cheap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalPlane {
    ref_lat_deg: f64,
    ref_lon_deg: f64,
    /// Metres per degree of longitude at the reference latitude.
    m_per_deg_lon: f64,
}

impl LocalPlane {
    pub fn new(ref_lat_deg: f64, ref_lon_deg: f64) -> LocalPlane {
        // Clamp so that the poles keep a usable (if crude) east axis instead of dividing by zero.
        let cos_lat = ref_lat_deg.to_radians().cos().max(1e-6);
        LocalPlane {
            ref_lat_deg,
            ref_lon_deg,
            m_per_deg_lon: M_PER_DEG_LAT * cos_lat,
        }
    }

    /// Projects a position to (east, north) metres.
    pub fn to_local(&self, lat_deg: f64, lon_deg: f64) -> (f64, f64) {
        let mut dlon = lon_deg - self.ref_lon_deg;
        // Take the short way round across the antimeridian.
        if dlon > 180.0 {
            dlon -= 360.0;
        } else if dlon < -180.0 {
            dlon += 360.0;
        }
        (
            dlon * self.m_per_deg_lon,
            (lat_deg - self.ref_lat_deg) * M_PER_DEG_LAT,
        )
    }

    /// Maps (east, north) metres back to a valid latitude and longitude.
    pub fn to_geo(&self, east_m: f64, north_m: f64) -> (f64, f64) {
        let lat = (self.ref_lat_deg + north_m / M_PER_DEG_LAT).clamp(-90.0, 90.0);
        let mut lon = self.ref_lon_deg + east_m / self.m_per_deg_lon;
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        (lat, lon.clamp(-180.0, 180.0))
    }
}

/// Great-circle distance in metres (haversine).
pub fn distance_m(lat1_deg: f64, lon1_deg: f64, lat2_deg: f64, lon2_deg: f64) -> f64 {
    Haversine.distance(
        Point::new(lon1_deg, lat1_deg),
        Point::new(lon2_deg, lat2_deg),
    )
}

/// Initial bearing from the first position to the second, degrees clockwise from north in
/// [0, 360).
pub fn bearing_deg(lat1_deg: f64, lon1_deg: f64, lat2_deg: f64, lon2_deg: f64) -> f64 {
    Haversine
        .bearing(
            Point::new(lon1_deg, lat1_deg),
            Point::new(lon2_deg, lat2_deg),
        )
        .rem_euclid(360.0)
}

/// Where `distance_m` along the great circle leaving at `bearing_deg` ends: (lat, lon).
pub fn destination(lat_deg: f64, lon_deg: f64, bearing_deg: f64, distance_m: f64) -> (f64, f64) {
    let end = Haversine.destination(Point::new(lon_deg, lat_deg), bearing_deg, distance_m);
    (end.y(), end.x())
}

/// Distance in metres from a position to the segment between two others, measured in a plane
/// around the position (for segments of a few kilometres, as consecutive fixes are).
pub fn distance_to_segment_m(point: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let plane = LocalPlane::new(point.0, point.1);
    let (ax, ay) = plane.to_local(a.0, a.1);
    let (bx, by) = plane.to_local(b.0, b.1);
    Euclidean.distance(&Point::new(0.0, 0.0), &Line::new((ax, ay), (bx, by)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact_enough() {
        let plane = LocalPlane::new(37.42, -122.09);
        let (e, n) = plane.to_local(37.43, -122.08);
        let (lat, lon) = plane.to_geo(e, n);
        assert!((lat - 37.43).abs() < 1e-9 && (lon + 122.08).abs() < 1e-9);
    }

    #[test]
    fn plane_and_haversine_agree_nearby() {
        let plane = LocalPlane::new(37.42, -122.09);
        let (e, n) = plane.to_local(37.45, -122.05);
        let d = distance_m(37.42, -122.09, 37.45, -122.05);
        assert!((e.hypot(n) - d).abs() < 1.0, "{} vs {d}", e.hypot(n));
    }

    #[test]
    fn a_destination_lies_at_its_distance_and_bearing() {
        let (lat, lon) = destination(48.85, 2.35, 30.0, 1_234.0);
        assert!((distance_m(48.85, 2.35, lat, lon) - 1_234.0).abs() < 1e-6);
        assert!((bearing_deg(48.85, 2.35, lat, lon) - 30.0).abs() < 1e-6);
        assert!((bearing_deg(0.0, 0.0, 0.0, -1.0) - 270.0).abs() < 1e-9);
    }

    #[test]
    fn the_distance_to_a_segment_is_to_its_nearest_point() {
        let (north, _) = destination(48.85, 2.35, 0.0, 30.0);
        let (_, east) = destination(48.85, 2.35, 90.0, 100.0);
        // 30 m north of the middle of a 100 m west-east segment, and past its east end.
        let d = distance_to_segment_m((north, 2.35), (48.85, 2.35 - (east - 2.35)), (48.85, east));
        assert!((d - 30.0).abs() < 0.01, "{d}");
        let past =
            distance_to_segment_m((48.85, east + (east - 2.35)), (48.85, 2.35), (48.85, east));
        assert!((past - 100.0).abs() < 0.1, "{past}");
    }

    #[test]
    fn antimeridian_takes_the_short_way() {
        let plane = LocalPlane::new(0.0, 179.9999);
        let (e, _) = plane.to_local(0.0, -179.9999);
        assert!((e - 22.2).abs() < 0.5, "{e}");
    }
}

//! A local tangent plane (east, north in metres) around a reference point.
//!
//! An equirectangular projection: within `REBASE_DISTANCE_M` of the reference its error is far
//! below a phone's accuracy, and it costs one multiply per axis, which keeps the filter cheap.

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Beyond this distance from the reference the plane is re-based on the current position.
pub const REBASE_DISTANCE_M: f64 = 20_000.0;

/// East-north coordinates in metres around a reference latitude and longitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalPlane {
    ref_lat_deg: f64,
    ref_lon_deg: f64,
    /// Metres per degree of longitude at the reference latitude.
    m_per_deg_lon: f64,
}

const M_PER_DEG_LAT: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

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

/// Great-circle distance in metres (haversine), for gates between fixes far apart.
pub fn distance_m(lat1_deg: f64, lon1_deg: f64, lat2_deg: f64, lon2_deg: f64) -> f64 {
    let (p1, p2) = (lat1_deg.to_radians(), lat2_deg.to_radians());
    let dp = p2 - p1;
    let dl = (lon2_deg - lon1_deg).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
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
    fn antimeridian_takes_the_short_way() {
        let plane = LocalPlane::new(0.0, 179.9999);
        let (e, _) = plane.to_local(0.0, -179.9999);
        assert!((e - 22.2).abs() < 0.5, "{e}");
    }
}

//! The areas of the fleet queries: a latitude/longitude box, or a circle of R metres.

use serde::Serialize;

/// Mean Earth radius (IUGG), metres: the sphere both backends measure distances on.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Largest radius accepted, metres (a quarter of the Earth's circumference).
pub const MAX_RADIUS_M: f64 = 10_000_000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Area {
    /// Every point with `min_la <= la <= max_la` and `min_lo <= lo <= max_lo`.
    Box {
        min_la: f64,
        min_lo: f64,
        max_la: f64,
        max_lo: f64,
    },
    /// Every point within `radius_m` metres (great-circle distance) of (`la`, `lo`).
    Circle { la: f64, lo: f64, radius_m: f64 },
}

/// Why an area from a query string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    #[error(
        "bbox is min_lon,min_lat,max_lon,max_lat with -180 <= lon <= 180, -90 <= lat <= 90, min <= max"
    )]
    BadBox,
    #[error("near is lat,lon in range and radius_m a number of metres > 0 and <= {MAX_RADIUS_M}")]
    BadCircle,
    #[error("give either bbox, or near with radius_m")]
    Missing,
}

impl Area {
    /// `bbox=min_lon,min_lat,max_lon,max_lat` (the GeoJSON order), or `near=lat,lon` with
    /// `radius_m`.
    pub fn from_query(
        bbox: Option<&str>,
        near: Option<&str>,
        radius_m: Option<f64>,
    ) -> Result<Area, AreaError> {
        match (bbox, near, radius_m) {
            (Some(bbox), None, None) => {
                let n = numbers(bbox, 4).ok_or(AreaError::BadBox)?;
                let (min_lo, min_la, max_lo, max_la) = (n[0], n[1], n[2], n[3]);
                let ok = lon(min_lo) && lon(max_lo) && lat(min_la) && lat(max_la);
                if !ok || min_lo > max_lo || min_la > max_la {
                    return Err(AreaError::BadBox);
                }
                Ok(Area::Box {
                    min_la,
                    min_lo,
                    max_la,
                    max_lo,
                })
            }
            (None, Some(near), Some(radius_m)) => {
                let n = numbers(near, 2).ok_or(AreaError::BadCircle)?;
                let ok = lat(n[0]) && lon(n[1]) && radius_m > 0.0 && radius_m <= MAX_RADIUS_M;
                if !ok {
                    return Err(AreaError::BadCircle);
                }
                Ok(Area::Circle {
                    la: n[0],
                    lo: n[1],
                    radius_m,
                })
            }
            (None, None, None) => Err(AreaError::Missing),
            (None, _, _) => Err(AreaError::BadCircle),
            (Some(_), _, _) => Err(AreaError::Missing),
        }
    }

    /// A latitude/longitude box that holds the whole area: (min_la, min_lo, max_la, max_lo).
    /// For a circle it is a prefilter; [`Area::contains`] decides.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        match *self {
            Area::Box {
                min_la,
                min_lo,
                max_la,
                max_lo,
            } => (min_la, min_lo, max_la, max_lo),
            Area::Circle { la, lo, radius_m } => {
                let dla = (radius_m / EARTH_RADIUS_M).to_degrees();
                let (min_la, max_la) = (la - dla, la + dla);
                if min_la <= -90.0 || max_la >= 90.0 {
                    // A pole is inside: every longitude.
                    return (min_la.max(-90.0), -180.0, max_la.min(90.0), 180.0);
                }
                let widest = la.abs() + dla;
                let dlo = dla / widest.to_radians().cos();
                if lo - dlo < -180.0 || lo + dlo > 180.0 {
                    // Across the antimeridian: every longitude (the exact test still decides).
                    return (min_la, -180.0, max_la, 180.0);
                }
                (min_la, lo - dlo, max_la, lo + dlo)
            }
        }
    }

    pub fn contains(&self, la: f64, lo: f64) -> bool {
        match *self {
            Area::Box { .. } => {
                let (min_la, min_lo, max_la, max_lo) = self.bounds();
                (min_la..=max_la).contains(&la) && (min_lo..=max_lo).contains(&lo)
            }
            Area::Circle {
                la: cla,
                lo: clo,
                radius_m,
            } => distance_m(cla, clo, la, lo) <= radius_m,
        }
    }

    /// The distance from the circle's centre, for circles.
    pub fn distance_from_centre(&self, la: f64, lo: f64) -> Option<f64> {
        match *self {
            Area::Box { .. } => None,
            Area::Circle {
                la: cla, lo: clo, ..
            } => Some(distance_m(cla, clo, la, lo)),
        }
    }
}

/// Great-circle distance on the mean sphere (haversine), metres.
pub fn distance_m(la1: f64, lo1: f64, la2: f64, lo2: f64) -> f64 {
    let (p1, p2) = (la1.to_radians(), la2.to_radians());
    let dp = p2 - p1;
    let dl = (lo2 - lo1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

fn numbers(text: &str, n: usize) -> Option<Vec<f64>> {
    let parsed: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<_>>()?;
    (parsed.len() == n).then_some(parsed)
}

fn lat(v: f64) -> bool {
    (-90.0..=90.0).contains(&v)
}

fn lon(v: f64) -> bool {
    (-180.0..=180.0).contains(&v)
}

/// A device's latest position (its fix with the largest `t`), as the fleet queries answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevicePosition {
    pub device: String,
    pub t: i64,
    pub la: f64,
    pub lo: f64,
    /// Metres from the centre, for `near` queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_known_figures() {
        // Berlin Brandenburger Tor to Paris Eiffel tower: about 878 km.
        let d = distance_m(52.5163, 13.3777, 48.8584, 2.2945);
        assert!((d - 878_000.0).abs() < 3_000.0, "{d}");
        assert_eq!(distance_m(10.0, 20.0, 10.0, 20.0), 0.0);
    }

    #[test]
    fn a_circle_fits_in_its_bounds() {
        for (la, lo) in [(0.0, 0.0), (60.0, 10.0), (-70.0, 179.9), (89.99, 0.0)] {
            let area = Area::Circle {
                la,
                lo,
                radius_m: 5_000.0,
            };
            let (min_la, min_lo, max_la, max_lo) = area.bounds();
            for bearing in 0..36 {
                let b = f64::from(bearing * 10).to_radians();
                // A point just inside the circle, 4,999 m away on this bearing.
                let d = 4_999.0 / EARTH_RADIUS_M;
                let p1 = la.to_radians();
                let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos()).asin();
                let l2 = lo.to_radians()
                    + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
                let (pla, mut plo) = (p2.to_degrees(), l2.to_degrees());
                if plo > 180.0 {
                    plo -= 360.0;
                }
                assert!(area.contains(pla, plo), "{la},{lo} bearing {bearing}");
                assert!((min_la..=max_la).contains(&pla) && (min_lo..=max_lo).contains(&plo));
            }
        }
    }

    #[test]
    fn query_strings_are_checked() {
        assert!(matches!(
            Area::from_query(Some("13.3,52.4,13.5,52.6"), None, None),
            Ok(Area::Box { .. })
        ));
        assert_eq!(
            Area::from_query(Some("13.5,52.4,13.3,52.6"), None, None),
            Err(AreaError::BadBox)
        );
        assert_eq!(
            Area::from_query(Some("1,2,3"), None, None),
            Err(AreaError::BadBox)
        );
        assert_eq!(
            Area::from_query(None, Some("52.5,13.4"), Some(0.0)),
            Err(AreaError::BadCircle)
        );
        assert_eq!(
            Area::from_query(None, Some("91,13.4"), Some(10.0)),
            Err(AreaError::BadCircle)
        );
        assert_eq!(Area::from_query(None, None, None), Err(AreaError::Missing));
    }
}

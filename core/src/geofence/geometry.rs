//! Signed distance from a point to a geofence's boundary, and bounding circles.

use crate::filter::{LocalPlane, distance_m};

use super::model::valid_lat_lon;
use super::model::{GeofenceError, GeofenceShape, MAX_RADIUS_M, MAX_VERTICES, MIN_RADIUS_M};

/// Metres per degree of latitude, with the Earth radius of [`crate::filter`]'s plane.
pub(crate) const M_PER_DEG_LAT: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// A point this close to the boundary is on it: absorbs the rounding of the projection, so a
/// point given exactly on an edge or a vertex reads as distance 0.
pub const ON_BOUNDARY_M: f64 = 1e-3;

/// A circle containing the whole geofence, used to prefilter and for OS regions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingCircle {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
}

/// A validated shape, projected once so that each fix costs only arithmetic. Opaque, so that
/// only [`PreparedShape::new`] can build one.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedShape(Kind);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Circle(BoundingCircle),
    Polygon {
        plane: LocalPlane,
        /// Vertices in the plane (east, north metres).
        points: Vec<(f64, f64)>,
        bound: BoundingCircle,
    },
}

fn wrap_180(mut deg: f64) -> f64 {
    if deg > 180.0 {
        deg -= 360.0;
    } else if deg < -180.0 {
        deg += 360.0;
    }
    deg
}

impl PreparedShape {
    /// Validates the shape and projects it.
    pub fn new(shape: &GeofenceShape) -> Result<PreparedShape, GeofenceError> {
        match shape {
            GeofenceShape::Circle {
                center_lat,
                center_lon,
                radius_m,
            } => {
                if !valid_lat_lon(*center_lat, *center_lon) {
                    return Err(GeofenceError::InvalidCoordinate { vertex: None });
                }
                if !(MIN_RADIUS_M..=MAX_RADIUS_M).contains(radius_m) {
                    return Err(GeofenceError::InvalidRadius);
                }
                Ok(PreparedShape(Kind::Circle(BoundingCircle {
                    lat: *center_lat,
                    lon: *center_lon,
                    radius_m: *radius_m,
                })))
            }
            GeofenceShape::Polygon { vertices } => prepare_polygon(vertices),
        }
    }

    pub fn bounding_circle(&self) -> BoundingCircle {
        match &self.0 {
            Kind::Circle(c) => *c,
            Kind::Polygon { bound, .. } => *bound,
        }
    }

    /// Distance in metres from the point to the boundary: negative inside, 0 on it.
    pub fn signed_distance_m(&self, lat: f64, lon: f64) -> f64 {
        let d = match &self.0 {
            Kind::Circle(c) => distance_m(lat, lon, c.lat, c.lon) - c.radius_m,
            Kind::Polygon { plane, points, .. } => {
                polygon_signed_distance(points, plane.to_local(lat, lon))
            }
        };
        if d.abs() <= ON_BOUNDARY_M { 0.0 } else { d }
    }
}

fn prepare_polygon(vertices: &[(f64, f64)]) -> Result<PreparedShape, GeofenceError> {
    if vertices.len() < 3 {
        return Err(GeofenceError::TooFewVertices {
            count: vertices.len(),
        });
    }
    if vertices.len() > MAX_VERTICES {
        return Err(GeofenceError::TooManyVertices {
            count: vertices.len(),
        });
    }
    if let Some(vertex) = vertices
        .iter()
        .position(|&(lat, lon)| !valid_lat_lon(lat, lon))
    {
        return Err(GeofenceError::InvalidCoordinate {
            vertex: Some(vertex),
        });
    }
    // Unwrap longitudes relative to the first vertex so that a polygon crossing the
    // antimeridian is one piece (e.g. 179.9 and -179.9 become 179.9 and 180.1).
    let lon0 = vertices[0].1;
    let (mut min_lat, mut max_lat) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut min_lon, mut max_lon) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(lat, lon) in vertices {
        let lon = lon0 + wrap_180(lon - lon0);
        min_lat = min_lat.min(lat);
        max_lat = max_lat.max(lat);
        min_lon = min_lon.min(lon);
        max_lon = max_lon.max(lon);
    }
    let center_lat = (min_lat + max_lat) / 2.0;
    let center_lon = wrap_180((min_lon + max_lon) / 2.0);
    let plane = LocalPlane::new(center_lat, center_lon);
    // Every vertex is within 180 degrees of the centre, so the plane's own short-way wrap
    // agrees with the unwrapping above.
    let points: Vec<(f64, f64)> = vertices
        .iter()
        .map(|&(lat, lon)| plane.to_local(lat, lon))
        .collect();
    if is_degenerate(&points) {
        return Err(GeofenceError::DegeneratePolygon);
    }
    let plane_r = points.iter().map(|p| p.0.hypot(p.1)).fold(0.0, f64::max);
    let sphere_r = vertices
        .iter()
        .map(|&(lat, lon)| distance_m(center_lat, center_lon, lat, lon))
        .fold(0.0, f64::max);
    // Straight plane edges are not great circles: a small margin keeps the whole polygon inside.
    let radius_m = plane_r.max(sphere_r) * 1.01 + 1.0;
    if radius_m > MAX_RADIUS_M {
        return Err(GeofenceError::PolygonTooLarge);
    }
    Ok(PreparedShape(Kind::Polygon {
        plane,
        points,
        bound: BoundingCircle {
            lat: center_lat,
            lon: center_lon,
            radius_m,
        },
    }))
}

/// True when all vertices lie within a centimetre of one line (or on one point).
fn is_degenerate(points: &[(f64, f64)]) -> bool {
    let a = points[0];
    let far = points
        .iter()
        .copied()
        .max_by(|p, q| dist2(*p, a).total_cmp(&dist2(*q, a)))
        .unwrap_or(a);
    let len = dist2(far, a).sqrt();
    if len < 0.01 {
        return true;
    }
    let (ux, uy) = ((far.0 - a.0) / len, (far.1 - a.1) / len);
    points
        .iter()
        .all(|p| ((p.0 - a.0) * uy - (p.1 - a.1) * ux).abs() < 0.01)
}

fn dist2(p: (f64, f64), q: (f64, f64)) -> f64 {
    (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)
}

/// Squared distance from `p` to the segment `ab`.
fn segment_dist2(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    dist2(p, (a.0 + t * dx, a.1 + t * dy))
}

fn polygon_signed_distance(points: &[(f64, f64)], p: (f64, f64)) -> f64 {
    let mut min_d2 = f64::INFINITY;
    let mut inside = false;
    // Validation guarantees at least 3 points; an empty list is simply never inside.
    let mut j = points.len().saturating_sub(1);
    for (i, &a) in points.iter().enumerate() {
        let b = points[j];
        min_d2 = min_d2.min(segment_dist2(p, a, b));
        // Crossing number with a half-open rule on y: a ray through a vertex counts it once,
        // which keeps concave shapes right.
        if (a.1 > p.1) != (b.1 > p.1) {
            let x = a.0 + (p.1 - a.1) * (b.0 - a.0) / (b.1 - a.1);
            if p.0 < x {
                inside = !inside;
            }
        }
        j = i;
    }
    let d = min_d2.sqrt();
    if inside { -d } else { d }
}

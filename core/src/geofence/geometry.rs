//! Signed distance from a point to a geofence's boundary, and bounding circles. Polygons are
//! projected once into a local plane around their centre; `geo` measures them there (point in
//! polygon, distance to the ring, validity, centroid).

use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{Area, Centroid, Contains, Distance, Euclidean, LineString, Point, Polygon};

use crate::geodesy::{LocalPlane, distance_m};

use super::model::valid_lat_lon;
use super::model::{
    Geofence, GeofenceError, GeofenceShape, MAX_RADIUS_M, MAX_VERTICES, MIN_RADIUS_M,
};

pub(crate) use crate::geodesy::M_PER_DEG_LAT;

/// A polygon enclosing less than this (square metres) has no area worth the name: the smallest
/// circle allowed encloses about 3 m².
const MIN_POLYGON_AREA_M2: f64 = 1.0;

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
        /// The polygon in the plane (east, north metres).
        polygon: Polygon<f64>,
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

impl Geofence {
    /// Checks every rule in the module docs.
    pub fn validate(&self) -> Result<(), GeofenceError> {
        self.validate_fields()?;
        PreparedShape::new(&self.shape).map(|_| ())
    }
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
            Kind::Polygon { plane, polygon, .. } => {
                let (east, north) = plane.to_local(lat, lon);
                let point = Point::new(east, north);
                let to_ring = Euclidean.distance(&point, polygon.exterior());
                if polygon.contains(&point) {
                    -to_ring
                } else {
                    to_ring
                }
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
    // antimeridian is one piece (e.g. 179.9 and -179.9 become 179.9 and 180.1), and project
    // around the middle of its extent.
    let lon0 = vertices[0].1;
    let unwrapped: Vec<(f64, f64)> = vertices
        .iter()
        .map(|&(lat, lon)| (lat, lon0 + wrap_180(lon - lon0)))
        .collect();
    let (min_lat, max_lat) = extent(unwrapped.iter().map(|v| v.0));
    let (min_lon, max_lon) = extent(unwrapped.iter().map(|v| v.1));
    let plane = LocalPlane::new(
        (min_lat + max_lat) / 2.0,
        wrap_180((min_lon + max_lon) / 2.0),
    );
    // Every vertex is within 180 degrees of the centre, so the plane's own short-way wrap
    // agrees with the unwrapping above.
    let ring: LineString<f64> = vertices
        .iter()
        .map(|&(lat, lon)| plane.to_local(lat, lon))
        .collect();
    let polygon = Polygon::new(ring, Vec::new());
    // Edges that cross, repeated points only, or (once projected, where rounding can hide an
    // exact overlap) collinear vertices enclosing no real area.
    if polygon.unsigned_area() < MIN_POLYGON_AREA_M2 || edges_cross(polygon.exterior()) {
        return Err(GeofenceError::InvalidPolygon);
    }
    // The bounding circle is centred on the polygon's centroid; its radius covers every vertex
    // both in the plane and on the sphere.
    let centre = polygon.centroid().ok_or(GeofenceError::InvalidPolygon)?;
    let (center_lat, center_lon) = plane.to_geo(centre.x(), centre.y());
    let plane_r = polygon
        .exterior()
        .points()
        .map(|p| Euclidean.distance(p, centre))
        .fold(0.0, f64::max);
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
        polygon,
        bound: BoundingCircle {
            lat: center_lat,
            lon: center_lon,
            radius_m,
        },
    }))
}

/// Whether two edges of the ring cross or overlap, beyond neighbours sharing their vertex.
/// (`geo`'s full `Validation` does this too, but brings 70 KB of code along; a geofence is
/// checked once, so comparing every pair of edges with `geo`'s line intersection is enough.)
fn edges_cross(ring: &LineString<f64>) -> bool {
    let edges: Vec<_> = ring.lines().filter(|l| l.start != l.end).collect();
    let n = edges.len();
    (0..n).any(|i| {
        (i + 1..n).any(|j| {
            let neighbours = j == i + 1 || (i == 0 && j == n - 1);
            match line_intersection(edges[i], edges[j]) {
                None => false,
                // Neighbours meet at their shared vertex; anything more is an overlap.
                Some(LineIntersection::SinglePoint { .. }) => !neighbours,
                Some(LineIntersection::Collinear { .. }) => true,
            }
        })
    })
}

fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

//! Geofence definitions and their validation.

use thiserror::Error;

use crate::annotations::{MetadataError, validate_map};

/// Longest id, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Smallest circle radius, metres.
pub const MIN_RADIUS_M: f64 = 1.0;
/// Largest circle radius, and largest bounding radius of a polygon, metres. Beyond it the local
/// plane used for polygons would lose accuracy.
pub const MAX_RADIUS_M: f64 = 100_000.0;
/// Most polygon vertices: bounds the cost of one fix against one polygon.
pub const MAX_VERTICES: usize = 1_000;
/// Longest dwell time (30 days): keeps `since + dwell` far from overflow.
pub const MAX_DWELL_MS: i64 = 30 * 24 * 3_600_000;

/// The area of a geofence. Coordinates are WGS84 degrees.
#[derive(Debug, Clone, PartialEq)]
pub enum GeofenceShape {
    Circle {
        center_lat: f64,
        center_lon: f64,
        radius_m: f64,
    },
    /// Vertices as `(lat, lon)`, in order (either winding); the ring closes itself.
    Polygon { vertices: Vec<(f64, f64)> },
}

/// An app-defined geofence.
#[derive(Debug, Clone, PartialEq)]
pub struct Geofence {
    pub id: String,
    pub shape: GeofenceShape,
    /// Free key-value pairs for the app (order kept, keys unique).
    pub metadata: Vec<(String, String)>,
    /// Time inside after which Dwell fires; `None`: never.
    pub dwell_ms: Option<i64>,
}

/// Why a geofence, or a geofence file, was refused. Never carries coordinates.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GeofenceError {
    #[error("geofence id must have 1 to 128 characters, it has {chars}")]
    InvalidId { chars: usize },
    #[error("circle radius must be finite and within 1 to 100000 m")]
    InvalidRadius,
    #[error("coordinate out of range or not finite (vertex {vertex:?})")]
    InvalidCoordinate { vertex: Option<usize> },
    #[error("polygon needs at least 3 vertices, it has {count}")]
    TooFewVertices { count: usize },
    #[error("polygon has {count} vertices, the most is 1000")]
    TooManyVertices { count: usize },
    #[error(
        "polygon is invalid: it has no area (collinear or repeated vertices) or its edges cross"
    )]
    InvalidPolygon,
    #[error("polygon must fit in a circle of 100 km")]
    PolygonTooLarge,
    #[error("dwell time must be within 0 and 30 days")]
    InvalidDwell,
    /// The metadata map is past the caps every map shares (`crate::annotations`).
    #[error("metadata: {0}")]
    InvalidMetadata(#[from] MetadataError),
    #[error("geofence needs exactly one of \"circle\" and \"polygon\"")]
    ShapeMissingOrAmbiguous,
    // serde_json's own messages can quote the offending number, i.e. a coordinate: keep only
    // where and what kind of error.
    #[error("invalid geofence JSON ({kind}) at line {line}, column {column}")]
    Json {
        kind: &'static str,
        line: usize,
        column: usize,
    },
    #[error("geofence {index} in the file: {error}")]
    InFile {
        index: usize,
        error: Box<GeofenceError>,
    },
    #[error("geofence {index} in the file repeats an earlier id")]
    DuplicateId { index: usize },
}

impl GeofenceError {
    pub(crate) fn from_json(e: &serde_json::Error) -> GeofenceError {
        let kind = match e.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "unexpected end",
        };
        GeofenceError::Json {
            kind,
            line: e.line(),
            column: e.column(),
        }
    }
}

pub(crate) fn valid_lat_lon(lat: f64, lon: f64) -> bool {
    // Range checks are false for NaN, so they also refuse non-finite values.
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

impl Geofence {
    pub fn circle(id: impl Into<String>, center_lat: f64, center_lon: f64, radius_m: f64) -> Self {
        Geofence {
            id: id.into(),
            shape: GeofenceShape::Circle {
                center_lat,
                center_lon,
                radius_m,
            },
            metadata: Vec::new(),
            dwell_ms: None,
        }
    }

    pub fn polygon(id: impl Into<String>, vertices: Vec<(f64, f64)>) -> Self {
        Geofence {
            id: id.into(),
            shape: GeofenceShape::Polygon { vertices },
            metadata: Vec::new(),
            dwell_ms: None,
        }
    }

    /// The checks that do not need the geometry; `PreparedShape::new` (in `geometry`, which
    /// also holds `Geofence::validate`) does the rest.
    pub(crate) fn validate_fields(&self) -> Result<(), GeofenceError> {
        let chars = self.id.chars().count();
        if chars == 0 || chars > MAX_ID_CHARS {
            return Err(GeofenceError::InvalidId { chars });
        }
        if let Some(dwell) = self.dwell_ms
            && !(0..=MAX_DWELL_MS).contains(&dwell)
        {
            return Err(GeofenceError::InvalidDwell);
        }
        // Sent with every event of the geofence: the same caps as any map the app attaches.
        validate_map(&self.metadata)?;
        Ok(())
    }
}

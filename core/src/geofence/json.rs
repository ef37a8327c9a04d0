//! The JSON form of a geofence (shape in the module docs): persistence and the replay tool's
//! geofence file.

use std::collections::HashSet;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::{Geofence, GeofenceError, GeofenceShape, MAX_DWELL_MS};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CircleJson {
    lat: f64,
    lon: f64,
    radius_m: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GeofenceJson {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    circle: Option<CircleJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    polygon: Option<Vec<[f64; 2]>>,
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dwell_s: Option<serde_json::Number>,
}

/// Metadata as a JSON object whose key order is kept both ways (a map type would sort it).
#[derive(Default)]
struct Metadata(Vec<(String, String)>);

impl Metadata {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MetadataVisitor;
        impl<'de> Visitor<'de> for MetadataVisitor {
            type Value = Metadata;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(Metadata(pairs))
            }
        }
        d.deserialize_map(MetadataVisitor)
    }
}

impl GeofenceJson {
    fn into_geofence(self) -> Result<Geofence, GeofenceError> {
        let shape = match (self.circle, self.polygon) {
            (Some(c), None) => GeofenceShape::Circle {
                center_lat: c.lat,
                center_lon: c.lon,
                radius_m: c.radius_m,
            },
            (None, Some(p)) => GeofenceShape::Polygon {
                vertices: p.into_iter().map(|[lat, lon]| (lat, lon)).collect(),
            },
            _ => return Err(GeofenceError::ShapeMissingOrAmbiguous),
        };
        let dwell_ms = match self.dwell_s {
            None => None,
            Some(n) => {
                let ms = n.as_f64().map(|s| s * 1000.0);
                match ms {
                    Some(ms) if (0.0..=MAX_DWELL_MS as f64).contains(&ms) => {
                        Some(ms.round() as i64)
                    }
                    _ => return Err(GeofenceError::InvalidDwell),
                }
            }
        };
        let fence = Geofence {
            id: self.id,
            shape,
            metadata: self.metadata.0,
            dwell_ms,
        };
        fence.validate()?;
        Ok(fence)
    }

    fn from_geofence(fence: &Geofence) -> GeofenceJson {
        let (circle, polygon) = match &fence.shape {
            GeofenceShape::Circle {
                center_lat,
                center_lon,
                radius_m,
            } => (
                Some(CircleJson {
                    lat: *center_lat,
                    lon: *center_lon,
                    radius_m: *radius_m,
                }),
                None,
            ),
            GeofenceShape::Polygon { vertices } => (
                None,
                Some(vertices.iter().map(|&(lat, lon)| [lat, lon]).collect()),
            ),
        };
        // Whole seconds print as integers ("dwell_s": 300), others as decimals.
        let dwell_s = fence.dwell_ms.and_then(|ms| {
            if ms % 1000 == 0 {
                Some(serde_json::Number::from(ms / 1000))
            } else {
                serde_json::Number::from_f64(ms as f64 / 1000.0)
            }
        });
        GeofenceJson {
            id: fence.id.clone(),
            circle,
            polygon,
            metadata: Metadata(fence.metadata.clone()),
            dwell_s,
        }
    }
}

impl Geofence {
    /// The JSON object of this geofence. Validates first: serde_json would print a non-finite
    /// coordinate as `null`, which could not be read back.
    pub fn to_json(&self) -> Result<String, GeofenceError> {
        self.validate()?;
        serde_json::to_string(&GeofenceJson::from_geofence(self))
            .map_err(|e| GeofenceError::from_json(&e))
    }

    /// Reads and validates one geofence object.
    pub fn from_json(text: &str) -> Result<Geofence, GeofenceError> {
        let parsed: GeofenceJson =
            serde_json::from_str(text).map_err(|e| GeofenceError::from_json(&e))?;
        parsed.into_geofence()
    }
}

/// Reads a geofence file: a JSON array of geofence objects with unique ids.
pub fn parse_geofence_file(text: &str) -> Result<Vec<Geofence>, GeofenceError> {
    let parsed: Vec<GeofenceJson> =
        serde_json::from_str(text).map_err(|e| GeofenceError::from_json(&e))?;
    let mut ids = HashSet::new();
    let mut fences = Vec::with_capacity(parsed.len());
    for (index, item) in parsed.into_iter().enumerate() {
        let fence = item
            .into_geofence()
            .map_err(|error| GeofenceError::InFile {
                index,
                error: Box::new(error),
            })?;
        if !ids.insert(fence.id.clone()) {
            return Err(GeofenceError::DuplicateId { index });
        }
        fences.push(fence);
    }
    Ok(fences)
}

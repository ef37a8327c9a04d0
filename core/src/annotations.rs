//! What the app attaches to its data: the running trip, per-fix extras and device metadata.
//! All three are small string maps with the same caps, so a misbehaving app cannot bloat every
//! stored fix or every batch.

pub use tracelet_protocol::metadata::{
    MAX_ENTRIES, MAX_KEY_CHARS, MAX_MAP_BYTES, MAX_TRIP_ID_CHARS, MetadataError, validate_map,
    validate_trip_id,
};

use crate::store::FixAnnotation;

/// A trip the app started.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trip {
    pub id: String,
    pub metadata: Vec<(String, String)>,
    pub started_ms: i64,
}

impl Trip {
    pub fn new(
        id: String,
        metadata: Vec<(String, String)>,
        started_ms: i64,
    ) -> Result<Trip, MetadataError> {
        validate_trip_id(&id)?;
        validate_map(&metadata)?;
        Ok(Trip {
            id,
            metadata,
            started_ms,
        })
    }
}

/// The trip and extras in force; what every recorded fix is stamped with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Annotations {
    pub trip: Option<Trip>,
    pub extras: Vec<(String, String)>,
}

impl Annotations {
    pub fn for_fix(&self) -> FixAnnotation {
        FixAnnotation {
            trip_id: self.trip.as_ref().map(|t| t.id.clone()),
            extras: self.extras.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(n: usize, value_len: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("k{i}"), "v".repeat(value_len)))
            .collect()
    }

    #[test]
    fn maps_within_the_caps_pass() {
        assert_eq!(validate_map(&[]), Ok(()));
        assert_eq!(validate_map(&pairs(MAX_ENTRIES, 10)), Ok(()));
    }

    #[test]
    fn the_byte_cap_is_exact() {
        // One entry: key "k0" (2 bytes) and a value filling the rest of the budget.
        let at_cap = pairs(1, MAX_MAP_BYTES - 2);
        assert_eq!(validate_map(&at_cap), Ok(()));
        let over = pairs(1, MAX_MAP_BYTES - 1);
        assert_eq!(
            validate_map(&over),
            Err(MetadataError::TooLarge {
                bytes: MAX_MAP_BYTES + 1
            })
        );
    }

    #[test]
    fn bytes_count_utf8_not_characters() {
        // 400 three-byte characters: 400 characters but 1,200 bytes.
        let map = vec![("k".to_owned(), "€".repeat(400))];
        assert_eq!(
            validate_map(&map),
            Err(MetadataError::TooLarge { bytes: 1201 })
        );
    }

    #[test]
    fn too_many_entries_bad_and_duplicate_keys_are_typed_errors() {
        assert_eq!(
            validate_map(&pairs(MAX_ENTRIES + 1, 1)),
            Err(MetadataError::TooManyEntries { entries: 17 })
        );
        let empty_key = vec![("a".to_owned(), String::new()), (String::new(), "x".into())];
        assert_eq!(
            validate_map(&empty_key),
            Err(MetadataError::InvalidKey { index: 1 })
        );
        let long_key = vec![("k".repeat(MAX_KEY_CHARS + 1), String::new())];
        assert_eq!(
            validate_map(&long_key),
            Err(MetadataError::InvalidKey { index: 0 })
        );
        let dup = vec![("a".to_owned(), "1".into()), ("a".to_owned(), "2".into())];
        assert_eq!(
            validate_map(&dup),
            Err(MetadataError::DuplicateKey { index: 1 })
        );
    }

    #[test]
    fn trip_ids_are_bounded() {
        assert!(Trip::new("order-17".into(), vec![], 0).is_ok());
        assert_eq!(
            validate_trip_id(""),
            Err(MetadataError::InvalidTripId { chars: 0 })
        );
        assert!(validate_trip_id(&"t".repeat(MAX_TRIP_ID_CHARS + 1)).is_err());
    }
}

//! Caps on what an app attaches to its data (trip ids, per-fix extras, device and geofence
//! metadata): the SDK refuses larger values, and a receiver may rely on them.

use thiserror::Error;

/// Most entries in one metadata or extras map.
pub const MAX_ENTRIES: usize = 16;
/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 64;
/// Most bytes of keys and values together (UTF-8) in one map. Extras ride on every fix, so
/// this bounds what they add to the queue and the wire.
pub const MAX_MAP_BYTES: usize = 1024;
/// Longest trip id, in characters.
pub const MAX_TRIP_ID_CHARS: usize = 128;

/// Why a trip id, extras or metadata map was refused. Never echoes the values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    #[error("{entries} entries, the most is 16")]
    TooManyEntries { entries: usize },
    #[error("{bytes} bytes of keys and values, the most is 1024")]
    TooLarge { bytes: usize },
    #[error("key {index} is empty or longer than 64 characters")]
    InvalidKey { index: usize },
    #[error("key {index} is a duplicate")]
    DuplicateKey { index: usize },
    #[error("trip id must have 1 to 128 characters, it has {chars}")]
    InvalidTripId { chars: usize },
}

/// Checks a map against the caps.
pub fn validate_map(pairs: &[(String, String)]) -> Result<(), MetadataError> {
    if pairs.len() > MAX_ENTRIES {
        return Err(MetadataError::TooManyEntries {
            entries: pairs.len(),
        });
    }
    for (index, (key, _)) in pairs.iter().enumerate() {
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            return Err(MetadataError::InvalidKey { index });
        }
        if pairs[..index].iter().any(|(k, _)| k == key) {
            return Err(MetadataError::DuplicateKey { index });
        }
    }
    let bytes: usize = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > MAX_MAP_BYTES {
        return Err(MetadataError::TooLarge { bytes });
    }
    Ok(())
}

pub fn validate_trip_id(id: &str) -> Result<(), MetadataError> {
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_TRIP_ID_CHARS {
        return Err(MetadataError::InvalidTripId { chars });
    }
    Ok(())
}

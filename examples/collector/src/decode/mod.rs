//! Request bodies to batches within fixed budgets. Limits are enforced while the body is
//! inflated and parsed, never after: a gzip bomb, a huge string or a batch of millions of fixes
//! is refused after at most the budget has been spent on it.
//!
//! Budgets of one body: at most [`DecodeLimits::max_inflated_bytes`] inflated bytes, at most
//! [`MAX_TOKEN_BYTES`] bytes in one JSON string and [`MAX_NESTING`] levels of nesting, at most
//! `max_fixes` fixes and `max_events` events, and at most `max_decoded_bytes` of decoded batch.

mod compact_body;
mod json;
mod source;

use axum::http::{HeaderMap, StatusCode, header};
use tracelet_protocol::compact::COMPACT_MEDIA_TYPE;
use tracelet_protocol::wire::{BatchV1, CONTENT_TYPE_JSON};

pub use source::{MAX_NESTING, MAX_TOKEN_BYTES};

/// The budgets of one request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most bytes a gzip body may inflate to.
    pub max_inflated_bytes: usize,
    pub max_fixes: usize,
    pub max_events: usize,
    /// Most bytes of decoded batch (structures and strings, as counted by the decoder).
    pub max_decoded_bytes: usize,
}

impl Default for DecodeLimits {
    fn default() -> DecodeLimits {
        DecodeLimits {
            max_inflated_bytes: 16 * 1024 * 1024,
            max_fixes: crate::check::MAX_FIXES_PER_BATCH,
            max_events: crate::check::MAX_EVENTS_PER_BATCH,
            max_decoded_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Why a body was refused. Messages name a field or a limit, never a value from the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Over a size or count limit: 413, so that the SDK halves the batch.
    #[error("{0}")]
    TooLarge(String),
    /// Not a well-formed batch: 400.
    #[error("{0}")]
    Malformed(String),
    /// A Content-Type or Content-Encoding the collector does not read: 415.
    #[error("{0}")]
    Unsupported(String),
}

impl DecodeError {
    pub fn status(&self) -> StatusCode {
        match self {
            DecodeError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DecodeError::Malformed(_) => StatusCode::BAD_REQUEST,
            DecodeError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

/// Which decoder a body needs, from its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyKind {
    pub gzip: bool,
    pub compact: bool,
}

impl BodyKind {
    pub fn from_headers(headers: &HeaderMap) -> Result<BodyKind, DecodeError> {
        let encoding = headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("?"))
            .unwrap_or("identity");
        let gzip = match encoding {
            "gzip" => true,
            "identity" => false,
            other => {
                return Err(DecodeError::Unsupported(format!(
                    "unsupported Content-Encoding {:?}; use gzip or identity",
                    other.chars().take(32).collect::<String>()
                )));
            }
        };
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("?"))
            .unwrap_or(CONTENT_TYPE_JSON);
        let compact = if content_type.starts_with(COMPACT_MEDIA_TYPE) {
            true
        } else if content_type.starts_with(CONTENT_TYPE_JSON) {
            false
        } else {
            return Err(DecodeError::Unsupported(format!(
                "unsupported Content-Type; use {CONTENT_TYPE_JSON} or {COMPACT_MEDIA_TYPE}"
            )));
        };
        Ok(BodyKind { gzip, compact })
    }
}

/// Decodes one request body. Blocking work: run it off the async workers.
pub fn decode(kind: BodyKind, body: &[u8], limits: &DecodeLimits) -> Result<BatchV1, DecodeError> {
    if kind.compact {
        compact_body::decode(kind.gzip, body, limits)
    } else {
        json::decode(kind.gzip, body, limits)
    }
}

#[cfg(test)]
mod tests;

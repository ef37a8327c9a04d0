//! What the app adds to every upload request: its own HTTP headers (an API gateway's key, a
//! tenant id) and extra fields in the JSON body's `params` object. Both are validated before
//! they are taken, so a bad value is a typed error and the previous ones stay in force.
//!
//! Header values may be secrets: nothing here logs them or puts them in an error message.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::annotations::{MetadataError, validate_map};

/// Most headers the app may add.
pub const MAX_HEADERS: usize = 32;
/// Longest header name, in bytes.
pub const MAX_HEADER_NAME_BYTES: usize = 64;
/// Most bytes of all names and values together.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Headers the SDK sets itself: the protocol depends on them, so the app cannot replace them.
/// The bearer token has its own setting (and its provider for refreshes).
const RESERVED: [&str; 9] = [
    "authorization",
    "content-type",
    "content-encoding",
    "content-length",
    "idempotency-key",
    "host",
    "transfer-encoding",
    "connection",
    "user-agent",
];

/// Why a header was refused: the position and the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    #[error("{count} headers, the most is {MAX_HEADERS}")]
    TooMany { count: usize },
    #[error("header {index}: the name must be 1 to 64 characters of an HTTP token")]
    BadName { index: usize },
    #[error("header {index}: the SDK sets this header itself")]
    Reserved { index: usize },
    #[error("header {index}: the name appears twice")]
    Duplicate { index: usize },
    #[error(
        "header {index}: the value may hold only visible ASCII, spaces and tabs (no line breaks)"
    )]
    BadValue { index: usize },
    #[error("{bytes} bytes of headers, the most is {MAX_HEADER_BYTES}")]
    TooLarge { bytes: usize },
}

/// The app's additions to each request, both already validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestExtras {
    headers: Vec<(String, String)>,
    params: BTreeMap<String, String>,
}

impl RequestExtras {
    pub fn new(
        headers: Vec<(String, String)>,
        params: Vec<(String, String)>,
    ) -> Result<RequestExtras, RequestExtrasError> {
        validate_headers(&headers)?;
        validate_map(&params)?;
        Ok(RequestExtras {
            headers,
            params: params.into_iter().collect(),
        })
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    /// Replaces the headers; on error the previous ones stay.
    pub fn set_headers(&mut self, headers: Vec<(String, String)>) -> Result<(), HeaderError> {
        validate_headers(&headers)?;
        self.headers = headers;
        Ok(())
    }

    /// Replaces the batch fields; on error the previous ones stay.
    pub fn set_params(&mut self, fields: Vec<(String, String)>) -> Result<(), MetadataError> {
        validate_map(&fields)?;
        self.params = fields.into_iter().collect();
        Ok(())
    }
}

/// Either part of [`RequestExtras`] refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestExtrasError {
    #[error("headers: {0}")]
    Header(#[from] HeaderError),
    #[error("batch params: {0}")]
    Params(#[from] MetadataError),
}

/// Checks app headers: HTTP token names (RFC 9110 section 5.6.2), none the SDK sets itself, no
/// name twice, values without control characters (a line break would let a value inject a
/// header of its own), and bounded in count and size.
pub fn validate_headers(headers: &[(String, String)]) -> Result<(), HeaderError> {
    if headers.len() > MAX_HEADERS {
        return Err(HeaderError::TooMany {
            count: headers.len(),
        });
    }
    for (index, (name, value)) in headers.iter().enumerate() {
        if name.is_empty() || name.len() > MAX_HEADER_NAME_BYTES || !name.bytes().all(is_tchar) {
            return Err(HeaderError::BadName { index });
        }
        if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            return Err(HeaderError::Reserved { index });
        }
        if headers[..index]
            .iter()
            .any(|(other, _)| other.eq_ignore_ascii_case(name))
        {
            return Err(HeaderError::Duplicate { index });
        }
        if !value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            return Err(HeaderError::BadValue { index });
        }
    }
    let bytes: usize = headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    if bytes > MAX_HEADER_BYTES {
        return Err(HeaderError::TooLarge { bytes });
    }
    Ok(())
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn plain_headers_are_taken() {
        let extras = RequestExtras::new(
            pairs(&[
                ("X-Api-Key", "secret value\twith tab"),
                ("X-Tenant", "acme"),
            ]),
            pairs(&[("app_version", "2.1.0")]),
        )
        .unwrap();
        assert_eq!(extras.headers().len(), 2);
        assert_eq!(extras.params()["app_version"], "2.1.0");
    }

    #[test]
    fn a_line_break_in_a_value_is_refused_without_echoing_it() {
        let error =
            validate_headers(&pairs(&[("X-A", "ok"), ("X-B", "v\r\nX-Evil: 1")])).unwrap_err();
        assert_eq!(error, HeaderError::BadValue { index: 1 });
        assert!(!error.to_string().contains("Evil"));
        assert_eq!(
            validate_headers(&pairs(&[("X-A", "nul\0")])),
            Err(HeaderError::BadValue { index: 0 })
        );
    }

    #[test]
    fn names_must_be_tokens_not_reserved_and_not_repeated() {
        for bad in ["", "X A", "X:A", "Ü", &"x".repeat(65)] {
            assert_eq!(
                validate_headers(&pairs(&[(bad, "v")])),
                Err(HeaderError::BadName { index: 0 }),
                "{bad:?}"
            );
        }
        for reserved in ["Authorization", "idempotency-key", "CONTENT-TYPE", "Host"] {
            assert_eq!(
                validate_headers(&pairs(&[(reserved, "v")])),
                Err(HeaderError::Reserved { index: 0 })
            );
        }
        assert_eq!(
            validate_headers(&pairs(&[("X-A", "1"), ("x-a", "2")])),
            Err(HeaderError::Duplicate { index: 1 })
        );
    }

    #[test]
    fn count_and_size_are_bounded() {
        let many: Vec<(String, String)> = (0..=MAX_HEADERS)
            .map(|i| (format!("X-{i}"), "v".to_owned()))
            .collect();
        assert_eq!(
            validate_headers(&many),
            Err(HeaderError::TooMany {
                count: MAX_HEADERS + 1
            })
        );
        let big = vec![("X-Big".to_owned(), "v".repeat(MAX_HEADER_BYTES))];
        assert!(matches!(
            validate_headers(&big),
            Err(HeaderError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_refused_replacement_keeps_the_previous_values() {
        let mut extras = RequestExtras::new(pairs(&[("X-A", "1")]), pairs(&[("k", "v")])).unwrap();
        assert!(extras.set_headers(pairs(&[("X-A", "bad\n")])).is_err());
        assert_eq!(extras.headers(), pairs(&[("X-A", "1")]).as_slice());
        assert!(extras.set_params(pairs(&[("", "v")])).is_err());
        assert_eq!(extras.params()["k"], "v");
    }
}

//! The bytes of a body as the decoders read them: inflated when gzip, counted against the
//! inflated limit, and, for JSON, scanned for over-long tokens and deep nesting before the
//! parser buffers them. The scan is lexical only (strings, escapes, brackets, number runs); the
//! parser still checks the grammar.

use std::io::{self, Read};

use flate2::bufread::GzDecoder;

use super::DecodeError;

/// Longest JSON string (raw, escapes included) in a body. The longest legitimate one is a
/// 1024-byte extras or metadata value, at most 6 raw bytes per byte when escaped.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Deepest nesting of arrays and objects; a batch needs 4 (batch, fixes, fix, extras).
pub const MAX_NESTING: usize = 32;
/// Longest run of number characters outside strings (the SDK writes at most about 20).
const MAX_NUMBER_BYTES: usize = 64;

/// The limit a read ran into, which the decoder turns into its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLimit {
    Inflated(usize),
    LongString,
    LongNumber,
    TooDeep,
    BadGzip,
}

impl SourceLimit {
    pub fn to_error(self) -> DecodeError {
        match self {
            SourceLimit::Inflated(max) => {
                DecodeError::TooLarge(format!("inflated body is larger than {max} bytes"))
            }
            SourceLimit::LongString => DecodeError::Malformed(format!(
                "a string in the body is longer than {MAX_TOKEN_BYTES} bytes"
            )),
            SourceLimit::LongNumber => DecodeError::Malformed(format!(
                "a number in the body is longer than {MAX_NUMBER_BYTES} characters"
            )),
            SourceLimit::TooDeep => {
                DecodeError::Malformed(format!("the body nests deeper than {MAX_NESTING} levels"))
            }
            SourceLimit::BadGzip => DecodeError::Malformed("body is not valid gzip".into()),
        }
    }
}

enum Inner<'a> {
    Gzip(GzDecoder<&'a [u8]>),
    Plain(&'a [u8]),
}

pub struct BodyReader<'a> {
    inner: Inner<'a>,
    max: usize,
    left: usize,
    guard: Option<JsonGuard>,
    /// Set when a read failed on a limit; the decoder reports this rather than the parser's
    /// view of the failed read.
    pub hit: Option<SourceLimit>,
}

impl<'a> BodyReader<'a> {
    pub fn new(body: &'a [u8], gzip: bool, max_inflated: usize, json: bool) -> BodyReader<'a> {
        BodyReader {
            inner: if gzip {
                Inner::Gzip(GzDecoder::new(body))
            } else {
                Inner::Plain(body)
            },
            max: max_inflated,
            left: max_inflated,
            guard: json.then(JsonGuard::default),
            hit: None,
        }
    }

    /// After the decoder read to the end: nothing may follow the gzip member.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match &self.inner {
            Inner::Gzip(decoder) if !decoder.get_ref().is_empty() => Err(DecodeError::Malformed(
                format!("{} bytes after the gzip member", decoder.get_ref().len()),
            )),
            _ => Ok(()),
        }
    }

    fn fail(&mut self, limit: SourceLimit) -> io::Error {
        self.hit = Some(limit);
        io::Error::other("body limit")
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(limit) = self.hit {
            return Err(io::Error::other(format!("{limit:?}")));
        }
        // One byte past the limit is enough to know it is exceeded.
        let want = buf.len().min(self.left.saturating_add(1));
        let read = match &mut self.inner {
            Inner::Gzip(decoder) => decoder.read(&mut buf[..want]),
            Inner::Plain(bytes) => bytes.read(&mut buf[..want]),
        };
        let n = match read {
            Ok(n) => n,
            Err(_) => return Err(self.fail(SourceLimit::BadGzip)),
        };
        if n > self.left {
            let max = self.max;
            return Err(self.fail(SourceLimit::Inflated(max)));
        }
        self.left -= n;
        if let Some(guard) = &mut self.guard {
            if let Err(limit) = guard.scan(&buf[..n]) {
                return Err(self.fail(limit));
            }
        }
        Ok(n)
    }
}

/// Lexical state of the JSON scan, carried across reads.
#[derive(Debug, Default)]
struct JsonGuard {
    in_string: bool,
    escaped: bool,
    string_bytes: usize,
    number_bytes: usize,
    depth: usize,
}

impl JsonGuard {
    fn scan(&mut self, bytes: &[u8]) -> Result<(), SourceLimit> {
        for &b in bytes {
            if self.in_string {
                self.string_bytes += 1;
                if self.string_bytes > MAX_TOKEN_BYTES {
                    return Err(SourceLimit::LongString);
                }
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            if matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                self.number_bytes += 1;
                if self.number_bytes > MAX_NUMBER_BYTES {
                    return Err(SourceLimit::LongNumber);
                }
                continue;
            }
            self.number_bytes = 0;
            match b {
                b'"' => {
                    self.in_string = true;
                    self.string_bytes = 0;
                }
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth > MAX_NESTING {
                        return Err(SourceLimit::TooDeep);
                    }
                }
                b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    }
}

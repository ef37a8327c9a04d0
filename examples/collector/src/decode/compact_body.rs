//! The compact binary batch (`docs/ingest-protocol.md` section 4). Its header states the fix
//! count, so the count and the string lengths are checked before any column is decoded, and
//! the inflated body may be at most as long as that many fixes can need.

use std::io::Read;

use tracelet_protocol::compact;
use tracelet_protocol::wire::{BatchV1, MAX_STREAM_CHARS, WireFix};

use super::source::{BodyReader, SourceLimit};
use super::{DecodeError, DecodeLimits};
use crate::check::MAX_DEVICE_CHARS;

/// Most bytes one fix can take in the layout: ten columns of at most 10-byte varints, the
/// provider byte and a share of the eight bitmaps.
const MAX_BYTES_PER_FIX: usize = 10 * 10 + 1 + 1;
/// Magic, two length-prefixed ids and two varints.
const MAX_HEADER_BYTES: usize = 4 + 10 + MAX_DEVICE_CHARS + 10 + MAX_STREAM_CHARS + 10 + 10;

/// What the header says, read without decoding the columns.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    count: u64,
}

pub fn decode(gzip: bool, body: &[u8], limits: &DecodeLimits) -> Result<BatchV1, DecodeError> {
    let longest = MAX_HEADER_BYTES + limits.max_fixes.saturating_mul(MAX_BYTES_PER_FIX);
    let mut reader = BodyReader::new(body, gzip, longest.min(limits.max_inflated_bytes), false);
    let mut bytes = Vec::new();
    match (reader.read_to_end(&mut bytes), reader.hit) {
        (Ok(_), _) => {}
        // Longer than its fixes can need: either the header says too many fixes, or bytes
        // follow the batch.
        (Err(_), Some(SourceLimit::Inflated(_))) if longest < limits.max_inflated_bytes => {
            let header = read_header(&bytes)?;
            check_count(&header, limits)?;
            return Err(DecodeError::Malformed(
                "bytes after the compact batch".into(),
            ));
        }
        (Err(_), Some(limit)) => return Err(limit.to_error()),
        (Err(_), None) => return Err(SourceLimit::BadGzip.to_error()),
    }
    let header = read_header(&bytes)?;
    check_count(&header, limits)?;
    reader.finish()?;
    // The columns cost no more than the structures they fill: check before decoding them,
    // then once more with the ids.
    let fixes_bytes = usize::try_from(header.count)
        .unwrap_or(usize::MAX)
        .saturating_mul(size_of::<WireFix>());
    let over = || {
        DecodeError::TooLarge(format!(
            "the decoded batch is larger than {} bytes",
            limits.max_decoded_bytes
        ))
    };
    if fixes_bytes > limits.max_decoded_bytes {
        return Err(over());
    }
    let batch = compact::decode(&bytes)
        .map_err(|e| DecodeError::Malformed(format!("body is not a compact v1 batch: {e}")))?;
    if fixes_bytes + batch.device.len() + batch.stream.len() + batch.batch.len()
        > limits.max_decoded_bytes
    {
        return Err(over());
    }
    Ok(batch)
}

fn check_count(header: &Header, limits: &DecodeLimits) -> Result<(), DecodeError> {
    if header.count > limits.max_fixes as u64 {
        return Err(DecodeError::TooLarge(format!(
            "a batch carries at most {} fixes",
            limits.max_fixes
        )));
    }
    Ok(())
}

/// Reads the magic, the device and stream lengths, and the fix count.
fn read_header(bytes: &[u8]) -> Result<Header, DecodeError> {
    let malformed =
        |what: &str| DecodeError::Malformed(format!("body is not a compact v1 batch: {what}"));
    let mut rest = bytes;
    let magic = take(&mut rest, 4).ok_or_else(|| malformed("truncated input"))?;
    let with_stream = match magic {
        b"TLB2" => true,
        b"TLB1" => false,
        _ => return Err(malformed("not a compact batch (bad magic)")),
    };
    let device_len = uvarint(&mut rest).ok_or_else(|| malformed("truncated input"))?;
    if device_len > MAX_DEVICE_CHARS as u64 {
        return Err(DecodeError::Malformed(format!(
            "device is longer than {MAX_DEVICE_CHARS} bytes"
        )));
    }
    take(&mut rest, device_len as usize).ok_or_else(|| malformed("truncated input"))?;
    if with_stream {
        let stream_len = uvarint(&mut rest).ok_or_else(|| malformed("truncated input"))?;
        if stream_len > MAX_STREAM_CHARS as u64 {
            return Err(DecodeError::Malformed(format!(
                "stream is longer than {MAX_STREAM_CHARS} bytes"
            )));
        }
        take(&mut rest, stream_len as usize).ok_or_else(|| malformed("truncated input"))?;
    }
    uvarint(&mut rest).ok_or_else(|| malformed("truncated input"))?;
    let count = uvarint(&mut rest).ok_or_else(|| malformed("truncated input"))?;
    Ok(Header { count })
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn uvarint(rest: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *take(rest, 1)?.first()?;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

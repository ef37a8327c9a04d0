//! The compact batch encoding of ingest protocol v1 (`Content-Type:
//! application/vnd.tracelet.batch+binary; v=2`): columnar, delta-of-delta and zigzag varints,
//! gzip on top. Values use exactly the JSON encoding's units and rounding, so both encodings
//! carry the same information. Specified byte by byte in `docs/ingest-protocol.md`.
//!
//! Layout 2 (magic `TLB2`) adds the stream id after the device id; the SDK writes only it.
//! Layout 1 (`TLB1`, no stream) is still decoded, as the legacy stream of its device.

use thiserror::Error;

use crate::wire::{BatchV1, PROTOCOL_VERSION, WireFix, batch_id};

pub const CONTENT_TYPE_COMPACT: &str = "application/vnd.tracelet.batch+binary; v=2";
/// The media type without parameters: what a receiver matches on.
pub const COMPACT_MEDIA_TYPE: &str = "application/vnd.tracelet.batch+binary";
const MAGIC_V1: &[u8; 4] = b"TLB1";
const MAGIC: &[u8; 4] = b"TLB2";
/// Largest batch a decoder accepts, to bound memory on hostile input.
pub const MAX_FIXES: u64 = 100_000;

const LATLON_SCALE: f64 = 1e7;
const TENTH: f64 = 10.0;
const HUNDREDTH: f64 = 100.0;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("not a compact batch (bad magic)")]
    BadMagic,
    #[error("truncated input")]
    Truncated,
    #[error("varint too long")]
    VarintOverflow,
    #[error("device id is not UTF-8")]
    DeviceNotUtf8,
    #[error("stream id is not UTF-8")]
    StreamNotUtf8,
    #[error("batch holds too many fixes")]
    TooManyFixes,
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

type FieldGetter = fn(&WireFix) -> Option<f64>;

/// Optional columns, in wire order, with their scale.
const OPTIONAL: [(FieldGetter, f64); 6] = [
    (|f| f.al, TENTH),
    (|f| f.va, TENTH),
    (|f| f.sp, HUNDREDTH),
    (|f| f.sa, TENTH),
    (|f| f.be, TENTH),
    (|f| f.ba, TENTH),
];

/// Encodes a batch in layout 2 (uncompressed; the transport gzips it like the JSON body).
pub fn encode(device: &str, stream: &str, first_seq: u64, fixes: &[WireFix]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + stream.len() + fixes.len() * 12);
    out.extend_from_slice(MAGIC);
    put_uvarint(&mut out, device.len() as u64);
    out.extend_from_slice(device.as_bytes());
    put_uvarint(&mut out, stream.len() as u64);
    out.extend_from_slice(stream.as_bytes());
    put_uvarint(&mut out, first_seq);
    put_uvarint(&mut out, fixes.len() as u64);
    put_delta_of_delta(&mut out, fixes.iter().map(|f| f.t));
    put_delta_of_delta(&mut out, fixes.iter().map(|f| to_units(f.la, LATLON_SCALE)));
    put_delta_of_delta(&mut out, fixes.iter().map(|f| to_units(f.lo, LATLON_SCALE)));
    put_delta(&mut out, fixes.iter().map(|f| to_units(f.ac, TENTH)));
    for (get, scale) in OPTIONAL {
        put_bitmap(&mut out, fixes.iter().map(|f| get(f).is_some()));
        put_delta(
            &mut out,
            fixes
                .iter()
                .filter_map(|f| get(f).map(|v| to_units(v, scale))),
        );
    }
    for f in fixes {
        out.push(provider_code(f.pr.as_deref()));
    }
    put_bitmap(&mut out, fixes.iter().map(|f| f.mk));
    out
}

/// Decodes a compact batch into the same structure as the JSON body. Never panics.
pub fn decode(bytes: &[u8]) -> Result<BatchV1, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let with_stream = match r.take(4)? {
        magic if magic == MAGIC => true,
        magic if magic == MAGIC_V1 => false,
        _ => return Err(DecodeError::BadMagic),
    };
    let device_len = usize::try_from(r.uvarint()?).map_err(|_| DecodeError::Truncated)?;
    let device = std::str::from_utf8(r.take(device_len)?)
        .map_err(|_| DecodeError::DeviceNotUtf8)?
        .to_owned();
    let stream = if with_stream {
        let stream_len = usize::try_from(r.uvarint()?).map_err(|_| DecodeError::Truncated)?;
        std::str::from_utf8(r.take(stream_len)?)
            .map_err(|_| DecodeError::StreamNotUtf8)?
            .to_owned()
    } else {
        String::new()
    };
    let first_seq = r.uvarint()?;
    let count = r.uvarint()?;
    if count > MAX_FIXES {
        return Err(DecodeError::TooManyFixes);
    }
    let n = count as usize;
    let times = r.delta_of_delta(n)?;
    let lats = r.delta_of_delta(n)?;
    let lons = r.delta_of_delta(n)?;
    let accs = r.delta(n)?;
    let mut fixes: Vec<WireFix> = (0..n)
        .map(|i| WireFix {
            tr: None,
            x: Default::default(),
            t: times[i],
            la: from_units(lats[i], LATLON_SCALE),
            lo: from_units(lons[i], LATLON_SCALE),
            ac: from_units(accs[i], TENTH),
            al: None,
            va: None,
            sp: None,
            sa: None,
            be: None,
            ba: None,
            pr: None,
            mk: false,
            // The compact encoding carries raw positions only.
            sla: None,
            slo: None,
            sac: None,
        })
        .collect();
    for (column, (_, scale)) in OPTIONAL.iter().enumerate() {
        let present = r.bitmap(n)?;
        let values = r.delta(present.iter().filter(|p| **p).count())?;
        let mut values = values.into_iter();
        for (fix, _) in fixes.iter_mut().zip(&present).filter(|(_, p)| **p) {
            let value = values.next().map(|v| from_units(v, *scale));
            match column {
                0 => fix.al = value,
                1 => fix.va = value,
                2 => fix.sp = value,
                3 => fix.sa = value,
                4 => fix.be = value,
                _ => fix.ba = value,
            }
        }
    }
    for fix in &mut fixes {
        fix.pr = provider_name(r.byte()?).map(str::to_owned);
    }
    for (fix, mock) in fixes.iter_mut().zip(r.bitmap(n)?) {
        fix.mk = mock;
    }
    if r.pos != bytes.len() {
        return Err(DecodeError::Trailing(bytes.len() - r.pos));
    }
    let last_seq = first_seq.saturating_add(count.saturating_sub(1));
    Ok(BatchV1 {
        events: Vec::new(),
        v: PROTOCOL_VERSION,
        device,
        batch: batch_id(&stream, Some((first_seq, last_seq)), None),
        stream,
        first_seq,
        fixes,
    })
}

fn to_units(value: f64, scale: f64) -> i64 {
    (value * scale).round() as i64
}

fn from_units(units: i64, scale: f64) -> f64 {
    units as f64 / scale
}

fn provider_code(name: Option<&str>) -> u8 {
    match name {
        Some("gps") => 1,
        Some("fused") => 2,
        Some("network") => 3,
        Some("passive") => 4,
        _ => 0,
    }
}

fn provider_name(code: u8) -> Option<&'static str> {
    match code {
        1 => Some("gps"),
        2 => Some("fused"),
        3 => Some("network"),
        4 => Some("passive"),
        _ => None,
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_svarint(out: &mut Vec<u8>, value: i64) {
    put_uvarint(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// First value as is, then differences.
fn put_delta(out: &mut Vec<u8>, values: impl Iterator<Item = i64>) {
    let mut previous = 0i64;
    for v in values {
        put_svarint(out, v.wrapping_sub(previous));
        previous = v;
    }
}

/// Each value's difference minus the previous difference, both starting from zero (so the first
/// two entries carry the magnitude); afterwards a steady 1 Hz clock or a straight road at
/// constant speed costs one byte per value.
fn put_delta_of_delta(out: &mut Vec<u8>, values: impl Iterator<Item = i64>) {
    let (mut previous, mut previous_delta) = (0i64, 0i64);
    for v in values {
        let delta = v.wrapping_sub(previous);
        put_svarint(out, delta.wrapping_sub(previous_delta));
        previous = v;
        previous_delta = delta;
    }
}

fn put_bitmap(out: &mut Vec<u8>, bits: impl Iterator<Item = bool>) {
    let mut byte = 0u8;
    let mut used = 0;
    for bit in bits {
        byte |= u8::from(bit) << used;
        used += 1;
        if used == 8 {
            out.push(byte);
            (byte, used) = (0, 0);
        }
    }
    if used > 0 {
        out.push(byte);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow)
    }

    fn svarint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn delta(&mut self, n: usize) -> Result<Vec<i64>, DecodeError> {
        let mut out = Vec::with_capacity(n.min(self.bytes.len()));
        let mut previous = 0i64;
        for _ in 0..n {
            previous = previous.wrapping_add(self.svarint()?);
            out.push(previous);
        }
        Ok(out)
    }

    fn delta_of_delta(&mut self, n: usize) -> Result<Vec<i64>, DecodeError> {
        let mut out = Vec::with_capacity(n.min(self.bytes.len()));
        let (mut previous, mut delta) = (0i64, 0i64);
        for _ in 0..n {
            delta = delta.wrapping_add(self.svarint()?);
            previous = previous.wrapping_add(delta);
            out.push(previous);
        }
        Ok(out)
    }

    fn bitmap(&mut self, n: usize) -> Result<Vec<bool>, DecodeError> {
        let bytes = self.take(n.div_ceil(8))?;
        Ok((0..n).map(|i| bytes[i / 8] & (1 << (i % 8)) != 0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::io::Write;

    const STREAM: &str = "00112233445566778899aabbccddeeff";

    /// A fix with only the required fields, already at wire precision.
    fn fix(t: i64, la: f64, lo: f64, ac: f64) -> WireFix {
        WireFix {
            t,
            la,
            lo,
            ac,
            al: None,
            va: None,
            sp: None,
            sa: None,
            be: None,
            ba: None,
            pr: None,
            mk: false,
            sla: None,
            slo: None,
            sac: None,
            tr: None,
            x: BTreeMap::new(),
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn layout_1_still_decodes_as_the_legacy_stream() {
        let fixes = vec![fix(1_700_000_000_000, 1.0, 2.0, 3.0)];
        let v2 = encode("d", STREAM, 5, &fixes);
        // Layout 1 is layout 2 without the stream: drop the stream's length and bytes.
        let mut v1 = MAGIC_V1.to_vec();
        v1.extend_from_slice(&v2[4..6]);
        v1.extend_from_slice(&v2[7 + STREAM.len()..]);
        let legacy = decode(&v1).unwrap();
        assert_eq!((legacy.stream.as_str(), legacy.batch.as_str()), ("", "5-5"));
        assert_eq!(legacy.fixes, fixes);
        let current = decode(&v2).unwrap();
        assert_eq!(current.stream, STREAM);
        assert_eq!(current.batch, format!("{STREAM}:5-5"));
    }

    #[test]
    fn a_steady_drive_costs_a_few_bytes_per_fix() {
        let fixes: Vec<WireFix> = (0..100)
            .map(|i| WireFix {
                sp: Some(13.9),
                be: Some(90.0),
                al: Some(12.0),
                pr: Some("gps".to_owned()),
                ..fix(
                    1_700_000_000_000 + i * 1000,
                    37.0,
                    crate::wire::round_to(-122.0 + i as f64 * 1.5e-4, 1e7),
                    4.0,
                )
            })
            .collect();
        let bytes = encode("d", STREAM, 1, &fixes);
        assert!(bytes.len() < 100 * 10, "{} bytes raw", bytes.len());
        let gzipped = gzip(&bytes);
        assert!(gzipped.len() < 100 * 3, "{} bytes gzipped", gzipped.len());
        assert_eq!(decode(&bytes).unwrap().fixes, fixes);
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        assert_eq!(decode(b"nope"), Err(DecodeError::BadMagic));
        assert_eq!(decode(b"TLB1"), Err(DecodeError::Truncated));
        let mut huge = b"TLB2\x01d\x01s\x01".to_vec();
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(decode(&huge), Err(DecodeError::TooManyFixes));
        let mut trailing = encode("d", STREAM, 1, &[]);
        trailing.push(0);
        assert_eq!(decode(&trailing), Err(DecodeError::Trailing(1)));
    }

    /// Any fix the SDK can send: every value already rounded to its wire precision.
    fn arb_fix() -> impl Strategy<Value = WireFix> {
        let scaled = |lo: i64, hi: i64, scale: f64| (lo..hi).prop_map(move |v| v as f64 / scale);
        let opt = move |lo: i64, hi: i64, scale: f64| proptest::option::of(scaled(lo, hi, scale));
        (
            (946_684_800_000i64..4_102_444_800_000),
            scaled(-900_000_000, 900_000_001, 1e7),
            scaled(-1_800_000_000, 1_800_000_001, 1e7),
            scaled(1, 100_000, 10.0),
            (
                opt(-5_000, 90_000, 10.0),
                opt(0, 5_000, 10.0),
                opt(0, 99_900, 100.0),
                opt(0, 500, 10.0),
            ),
            (
                opt(0, 3_600, 10.0),
                opt(0, 1_800, 10.0),
                0u8..5,
                any::<bool>(),
            ),
        )
            .prop_map(
                |(t, la, lo, ac, (al, va, sp, sa), (be, ba, pr, mk))| WireFix {
                    al,
                    va,
                    sp,
                    sa,
                    be,
                    ba,
                    pr: [
                        None,
                        Some("gps"),
                        Some("fused"),
                        Some("network"),
                        Some("passive"),
                    ][usize::from(pr)]
                    .map(str::to_owned),
                    mk,
                    ..fix(t, la, lo, ac)
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip_equals_the_json_encoding(
            fixes in proptest::collection::vec(arb_fix(), 0..60),
            first_seq in 1u64..1_000_000_000,
            device in "[A-Za-z0-9._:-]{1,20}",
        ) {
            let decoded = decode(&encode(&device, STREAM, first_seq, &fixes)).unwrap();
            prop_assert_eq!(decoded.device, device);
            prop_assert_eq!(decoded.first_seq, first_seq);
            prop_assert_eq!(decoded.fixes, fixes);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(&bytes);
            let _ = decode(&framed);
        }
    }

    /// The worked example of `docs/ingest-protocol.md` section 4.5, byte for byte.
    #[test]
    fn the_protocol_documents_worked_example_is_what_encode_writes() {
        let fixes = [
            WireFix {
                al: Some(38.2),
                va: Some(3.1),
                sp: Some(1.42),
                sa: Some(0.5),
                be: Some(87.3),
                ba: Some(12.0),
                pr: Some("fused".to_owned()),
                ..fix(1_717_243_200_000, 52.52, 13.405, 4.8)
            },
            WireFix {
                sp: Some(1.38),
                pr: Some("gps".to_owned()),
                ..fix(1_717_243_205_000, 52.520_043_1, 13.405_121_8, 5.0)
            },
            WireFix {
                mk: true,
                ..fix(1_717_243_210_000, 52.520_087_4, 13.405_240_6, 12.5)
            },
        ];
        let documented = "54 4c 42 32 11 61 31 62 32 63 33 64 34 2d 66 69
            65 6c 64 2d 30 37 20 39 66 33 63 32 61 37 31 65
            34 62 38 64 36 30 35 31 63 37 61 32 65 39 62 38
            66 34 64 33 63 32 31 29 03 80 88 de ba fa 63 ef
            b9 dd ba fa 63 00 80 aa ef f4 03 a1 a3 ef f4 03
            18 a0 c3 eb 7f 9b b0 eb 7f 3b 60 04 96 01 01 fc
            05 01 3e 03 9c 02 07 01 0a 01 d2 0d 01 f0 01 02
            01 00 04";
        let expected: Vec<u8> = documented
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        let encoded = encode(
            "a1b2c3d4-field-07",
            "9f3c2a71e4b8d6051c7a2e9b8f4d3c21",
            41,
            &fixes,
        );
        assert_eq!(encoded, expected);
        assert_eq!(decode(&encoded).unwrap().fixes, fixes);
    }
}

//! The decoders against hostile bodies: every limit stops decoding with a typed error, and
//! any input gives a batch or a typed error, never a panic, within the budget.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use tracelet_protocol::compact;
use tracelet_protocol::wire::{BatchV1, WireEvent, WireFix};

use super::*;

const JSON: BodyKind = BodyKind {
    gzip: true,
    compact: false,
};
const COMPACT: BodyKind = BodyKind {
    gzip: true,
    compact: true,
};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A gzip body written piece by piece, so that a bomb never exists inflated in the test.
fn gzip_parts(parts: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    for part in parts {
        encoder.write_all(&part).expect("gzip");
    }
    encoder.finish().expect("gzip")
}

fn fix(t: i64) -> WireFix {
    serde_json::from_value(serde_json::json!({"t": t, "la": 52.52, "lo": 13.405, "ac": 5.0}))
        .expect("a fix")
}

fn batch(fixes: Vec<WireFix>) -> BatchV1 {
    BatchV1 {
        v: 1,
        device: "dev-1".into(),
        stream: "00112233445566778899aabbccddeeff".into(),
        batch: format!("00112233445566778899aabbccddeeff:1-{}", fixes.len()),
        first_seq: 1,
        fixes,
        events: Vec::new(),
        params: Default::default(),
    }
}

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn too_large(result: Result<BatchV1, DecodeError>, what: &str) -> String {
    match result {
        Err(DecodeError::TooLarge(message)) => {
            assert!(message.contains(what), "{message}");
            message
        }
        other => panic!(
            "expected TooLarge({what}), got {:?}",
            other.map(|b| b.fixes.len())
        ),
    }
}

fn malformed(result: Result<BatchV1, DecodeError>, what: &str) -> String {
    match result {
        Err(DecodeError::Malformed(message)) => {
            assert!(message.contains(what), "{message}");
            message
        }
        other => panic!(
            "expected Malformed({what}), got {:?}",
            other.map(|b| b.fixes.len())
        ),
    }
}

/// The opening of a batch whose `fixes` array the caller continues.
const OPENING: &str = r#"{"v":1,"device":"bomb","batch":"1-3000000","first_seq":1,"fixes":["#;

#[test]
fn a_gzip_bomb_of_tiny_fixes_stops_at_the_fix_limit() {
    // Three million fixes, in chunks of 10,000, gzip-compressed as they are written.
    let chunk: Vec<u8> = r#"{"t":1,"la":0,"lo":0,"ac":1},"#.repeat(10_000).into_bytes();
    let body = gzip_parts(
        std::iter::once(OPENING.as_bytes().to_vec()).chain(std::iter::repeat_n(chunk, 300)),
    );
    too_large(decode(JSON, &body, &limits()), "at most 10000 fixes");
}

#[test]
fn inflating_stops_at_the_inflated_limit() {
    // Whitespace is valid JSON between tokens: only the inflated limit stops it.
    let small = DecodeLimits {
        max_inflated_bytes: 64 * 1024,
        ..limits()
    };
    let body = gzip_parts([OPENING.as_bytes().to_vec(), vec![b' '; 1024 * 1024]]);
    too_large(
        decode(JSON, &body, &small),
        "inflated body is larger than 65536",
    );
}

#[test]
fn a_huge_string_is_refused_after_a_few_kilobytes() {
    let body = gzip_parts(
        [
            br#"{"v":1,"device":"d","batch":"1-1","first_seq":1,"fixes":[{"t":1,"la":0,"lo":0,"ac":1,"pr":""#.to_vec(),
        ]
        .into_iter()
        .chain(std::iter::repeat_n(vec![b'a'; 1024 * 1024], 64))
        .chain([br#""}]}"#.to_vec()]),
    );
    malformed(decode(JSON, &body, &limits()), "longer than 8192 bytes");
}

#[test]
fn every_string_field_has_its_bound() {
    let mut with_provider = fix(1);
    with_provider.pr = Some("p".repeat(17));
    let mut with_trip = fix(1);
    with_trip.tr = Some("t".repeat(129));
    let mut with_extras = fix(1);
    with_extras.x = (0..17).map(|i| (format!("k{i}"), "v".into())).collect();
    let mut with_big_extras = fix(1);
    with_big_extras.x = [
        ("a".into(), "v".repeat(1000)),
        ("b".into(), "v".repeat(100)),
    ]
    .into();
    let cases = [
        (with_provider, "pr is longer than 16 bytes"),
        (with_trip, "tr is longer than 128 characters"),
        (with_extras, "more than 16 entries"),
        (with_big_extras, "more than 1024 bytes"),
    ];
    for (bad, message) in cases {
        let json = serde_json::to_vec(&batch(vec![fix(0), bad])).expect("json");
        let error = malformed(decode(JSON, &gzip(&json), &limits()), message);
        assert!(error.starts_with("fixes[1]: "), "{error}");
    }
    let mut long_device = batch(vec![fix(0)]);
    long_device.device = "d".repeat(129);
    let json = serde_json::to_vec(&long_device).expect("json");
    malformed(
        decode(JSON, &gzip(&json), &limits()),
        "device is longer than 128",
    );
    let mut long_kind = batch(vec![fix(0)]);
    long_kind.events = vec![WireEvent {
        s: 1,
        t: 1,
        k: "k".repeat(17),
        id: None,
        la: None,
        lo: None,
        m: Default::default(),
    }];
    let json = serde_json::to_vec(&long_kind).expect("json");
    malformed(
        decode(JSON, &gzip(&json), &limits()),
        "events[0]: k is longer",
    );
}

#[test]
fn bytes_after_the_gzip_member_or_the_json_value_are_refused() {
    let json = serde_json::to_vec(&batch(vec![fix(0)])).expect("json");
    let mut two_members = gzip(&json);
    two_members.extend_from_slice(&gzip(b" "));
    malformed(
        decode(JSON, &two_members, &limits()),
        "after the gzip member",
    );
    let mut garbage = gzip(&json);
    garbage.push(0);
    malformed(
        decode(JSON, &garbage, &limits()),
        "1 bytes after the gzip member",
    );
    let mut second_value = json.clone();
    second_value.extend_from_slice(b" {}");
    malformed(
        decode(JSON, &gzip(&second_value), &limits()),
        "after the JSON value",
    );
    let mut compact_trailing = compact::encode("d", "s", 1, &[fix(0)]);
    compact_trailing.push(7);
    malformed(
        decode(COMPACT, &gzip(&compact_trailing), &limits()),
        "trailing",
    );
    // Whitespace after the value is not garbage.
    let mut spaced = json;
    spaced.extend_from_slice(b" \n");
    assert!(decode(JSON, &gzip(&spaced), &limits()).is_ok());
}

#[test]
fn a_compact_header_over_the_fix_limit_is_refused_before_its_columns() {
    let mut header = b"TLB2\x01d\x01s\x01".to_vec();
    header.extend_from_slice(&[0x91, 0x4e]); // 10,001
    too_large(
        decode(COMPACT, &gzip(&header), &limits()),
        "at most 10000 fixes",
    );
    // A compact body longer than 10,000 fixes can need, whatever it claims.
    let mut long = b"TLB2\x01d\x01s\x01\x01".to_vec();
    long.extend(std::iter::repeat_n(0u8, 2 * 1024 * 1024));
    malformed(
        decode(COMPACT, &gzip(&long), &limits()),
        "bytes after the compact batch",
    );
    let mut long_device = b"TLB2\x81\x01".to_vec();
    long_device.extend_from_slice(&[b'd'; 129]);
    malformed(
        decode(COMPACT, &gzip(&long_device), &limits()),
        "device is longer",
    );
}

#[test]
fn deep_nesting_and_long_numbers_are_refused() {
    let mut deep = br#"{"v":1,"junk":"#.to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    malformed(
        decode(JSON, &gzip(&deep), &limits()),
        "nests deeper than 32",
    );
    let mut long_number = br#"{"v":1"#.to_vec();
    long_number.extend(std::iter::repeat_n(b'1', 100));
    malformed(decode(JSON, &gzip(&long_number), &limits()), "number");
}

#[test]
fn the_decoded_budget_stops_a_batch_of_heavy_fixes() {
    let small = DecodeLimits {
        max_decoded_bytes: 64 * 1024,
        ..limits()
    };
    let json = serde_json::to_vec(&batch((0..1_000).map(fix).collect())).expect("json");
    too_large(
        decode(JSON, &gzip(&json), &small),
        "decoded batch is larger than 65536",
    );
    assert!(decode(JSON, &gzip(&json), &limits()).is_ok());
}

#[test]
fn unknown_fields_are_ignored_and_duplicates_refused() {
    let body = br#"{"v":1,"future":{"a":[1,2,{"b":null}]},"device":"d","batch":"1-1","first_seq":1,
        "fixes":[{"t":1,"la":0,"lo":0,"ac":1,"new":"x"}]}"#;
    let decoded = decode(JSON, &gzip(body), &limits()).expect("decodes");
    assert_eq!(decoded.fixes.len(), 1);
    let twice = br#"{"v":1,"v":1,"device":"d","batch":"1-1","first_seq":1,"fixes":[]}"#;
    malformed(decode(JSON, &gzip(twice), &limits()), "Data error");
}

/// Bytes a decoded batch holds, counted independently of the decoder.
fn held_bytes(batch: &BatchV1) -> usize {
    let map = |m: &std::collections::BTreeMap<String, String>| -> usize {
        m.iter().map(|(k, v)| k.len() + v.len() + 96).sum()
    };
    let fixes: usize = batch
        .fixes
        .iter()
        .map(|f| {
            size_of::<WireFix>()
                + f.pr.as_ref().map_or(0, String::len)
                + f.tr.as_ref().map_or(0, String::len)
                + map(&f.x)
        })
        .sum();
    let events: usize = batch
        .events
        .iter()
        .map(|e| {
            size_of::<WireEvent>() + e.k.len() + e.id.as_ref().map_or(0, String::len) + map(&e.m)
        })
        .sum();
    batch.device.len() + batch.stream.len() + batch.batch.len() + fixes + events
}

fn arb_fix() -> impl Strategy<Value = WireFix> {
    (
        any::<i64>(),
        -90.0f64..90.0,
        proptest::option::of("[a-z]{0,20}"),
        proptest::option::of(".{0,140}"),
        proptest::collection::btree_map("[a-z]{1,8}", ".{0,80}", 0..20),
    )
        .prop_map(|(t, la, pr, tr, x)| {
            let mut f = fix(t);
            f.la = la;
            f.pr = pr;
            f.tr = tr;
            f.x = x;
            f
        })
}

proptest! {
    /// Any bytes, gzip or not, JSON or compact: a batch or a typed error, never a panic.
    #[test]
    fn any_bytes_give_a_batch_or_a_typed_error(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        gzip_it in any::<bool>(),
        compact in any::<bool>(),
    ) {
        let body = if gzip_it { gzip(&bytes) } else { bytes };
        let kind = BodyKind { gzip: gzip_it, compact };
        let small = DecodeLimits { max_decoded_bytes: 4096, max_fixes: 8, ..limits() };
        if let Ok(batch) = decode(kind, &body, &small) {
            prop_assert!(batch.fixes.len() <= 8);
            prop_assert!(held_bytes(&batch) <= small.max_decoded_bytes);
        }
    }

    /// Batches the SDK could send, mutated by one byte: the decoder never panics, what it
    /// accepts stays within the budget, and unmutated ones decode to what was encoded.
    #[test]
    fn near_valid_batches_decode_within_the_budget(
        fixes in proptest::collection::vec(arb_fix(), 0..30),
        flip in any::<(usize, u8)>(),
        max_decoded_bytes in 1_000usize..40_000,
    ) {
        let budget = DecodeLimits { max_decoded_bytes, ..limits() };
        let original = batch(fixes);
        let json = serde_json::to_vec(&original).expect("json");
        match decode(JSON, &gzip(&json), &budget) {
            Ok(mut decoded) => {
                prop_assert!(held_bytes(&decoded) <= max_decoded_bytes);
                // serde_json parses decimals to within an ulp, as the collector always did.
                for (d, o) in decoded.fixes.iter_mut().zip(&original.fixes) {
                    prop_assert!((d.la - o.la).abs() < 1e-9);
                    d.la = o.la;
                }
                prop_assert_eq!(decoded, original.clone());
            }
            Err(e) => prop_assert!(matches!(e, DecodeError::TooLarge(_) | DecodeError::Malformed(_))),
        }
        let mut mutated = json;
        if !mutated.is_empty() {
            let at = flip.0 % mutated.len();
            mutated[at] = flip.1;
        }
        if let Ok(decoded) = decode(JSON, &gzip(&mutated), &budget) {
            prop_assert!(held_bytes(&decoded) <= max_decoded_bytes);
        }
        let packed = compact::encode(&original.device, &original.stream, 1, &original.fixes);
        if let Ok(decoded) = decode(COMPACT, &gzip(&packed), &budget) {
            prop_assert!(held_bytes(&decoded) <= max_decoded_bytes);
        }
    }
}

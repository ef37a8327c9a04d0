//! The JSON batch, decoded by hand-written serde visitors so that every limit holds while the
//! body is parsed: the fix and event counts, the length of every string field, the caps on
//! extras and metadata, and the decoded-size budget. The first limit passed stops the parse.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::io::BufReader;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tracelet_protocol::metadata::{MAX_ENTRIES, MAX_KEY_CHARS, MAX_MAP_BYTES, MAX_TRIP_ID_CHARS};
use tracelet_protocol::wire::{BatchV1, MAX_STREAM_CHARS, WireEvent, WireFix};

use super::source::BodyReader;
use super::{DecodeError, DecodeLimits};
use crate::check::{MAX_DEVICE_CHARS, MAX_PROVIDER_BYTES};

/// Longest batch id: a stream, a colon and two ranges of 20-digit numbers.
const MAX_BATCH_ID_BYTES: usize = 256;
/// Longest event kind (`trip_start` is the longest of today's).
const MAX_KIND_BYTES: usize = 16;
/// What one map entry costs besides its bytes (two string headers and the tree's share).
const MAP_ENTRY_OVERHEAD: usize = 96;

pub fn decode(gzip: bool, body: &[u8], limits: &DecodeLimits) -> Result<BatchV1, DecodeError> {
    let ctx = Ctx {
        limits,
        refusal: RefCell::new(None),
        used: Cell::new(0),
    };
    let mut reader = BodyReader::new(body, gzip, limits.max_inflated_bytes, true);
    let outcome = {
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(8 * 1024, &mut reader));
        match (BatchSeed { ctx: &ctx }).deserialize(&mut de) {
            Err(e) => Err((e, false)),
            Ok(batch) => de.end().map(|()| batch).map_err(|e| (e, true)),
        }
    };
    match outcome {
        Ok(batch) => {
            reader.finish()?;
            Ok(batch)
        }
        Err((error, after_value)) => Err(if let Some(refusal) = ctx.refusal.take() {
            refusal
        } else if let Some(limit) = reader.hit {
            limit.to_error()
        } else if after_value {
            DecodeError::Malformed("bytes after the JSON value".into())
        } else {
            // serde's message may quote the offending value (a coordinate): report only where.
            DecodeError::Malformed(format!(
                "body is not a protocol v1 batch ({:?} error at line {}, column {})",
                error.classify(),
                error.line(),
                error.column()
            ))
        }),
    }
}

/// Shared by every visitor of one body.
struct Ctx<'l> {
    limits: &'l DecodeLimits,
    /// The first limit the visitors ran into, answered instead of serde's wording.
    refusal: RefCell<Option<DecodeError>>,
    /// Decoded bytes counted so far.
    used: Cell<usize>,
}

impl Ctx<'_> {
    fn refuse<E: de::Error>(&self, refusal: DecodeError) -> E {
        let message = refusal.to_string();
        self.refusal.borrow_mut().get_or_insert(refusal);
        E::custom(message)
    }

    fn charge<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        let used = self.used.get().saturating_add(bytes);
        self.used.set(used);
        if used > self.limits.max_decoded_bytes {
            return Err(self.refuse(DecodeError::TooLarge(format!(
                "the decoded batch is larger than {} bytes",
                self.limits.max_decoded_bytes
            ))));
        }
        Ok(())
    }
}

/// Where a field sits, for messages: `fixes[3]: …`, or the batch itself.
#[derive(Clone, Copy)]
struct At {
    list: &'static str,
    index: usize,
}

impl At {
    const BATCH: At = At { list: "", index: 0 };
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.list.is_empty() {
            Ok(())
        } else {
            write!(f, "{}[{}]: ", self.list, self.index)
        }
    }
}

fn put<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

/// A key of a known object: its index in `fields`, or `None` for an unknown (ignored) field.
#[derive(Clone, Copy)]
struct FieldSeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Option<usize>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for FieldSeed {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| *name == v))
    }
}

/// A string of at most `max_bytes` bytes and `max_chars` characters.
#[derive(Clone, Copy)]
struct BoundedStr<'c, 'l> {
    ctx: &'c Ctx<'l>,
    at: At,
    field: &'static str,
    max_bytes: usize,
    max_chars: usize,
}

impl<'c, 'l> BoundedStr<'c, 'l> {
    fn new(ctx: &'c Ctx<'l>, at: At, field: &'static str, max_chars: usize) -> Self {
        BoundedStr {
            ctx,
            at,
            field,
            max_bytes: max_chars.saturating_mul(4),
            max_chars,
        }
    }

    fn bytes(ctx: &'c Ctx<'l>, at: At, field: &'static str, max_bytes: usize) -> Self {
        BoundedStr {
            ctx,
            at,
            field,
            max_bytes,
            max_chars: max_bytes,
        }
    }
}

impl<'de> DeserializeSeed<'de> for BoundedStr<'_, '_> {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for BoundedStr<'_, '_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if v.len() > self.max_bytes || v.chars().count() > self.max_chars {
            let limit = if self.max_chars == self.max_bytes {
                format!("{} bytes", self.max_bytes)
            } else {
                format!("{} characters", self.max_chars)
            };
            return Err(self.ctx.refuse(DecodeError::Malformed(format!(
                "{}{} is longer than {limit}",
                self.at, self.field
            ))));
        }
        self.ctx.charge(v.len())?;
        Ok(v.to_owned())
    }
}

/// An optional bounded string: absent, `null` or a string.
struct OptionalStr<'c, 'l>(BoundedStr<'c, 'l>);

impl<'de> DeserializeSeed<'de> for OptionalStr<'_, '_> {
    type Value = Option<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalStr<'_, '_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// Extras (`x`) or metadata (`m`): the caps of `tracelet_protocol::metadata`, checked per entry.
struct MapSeed<'c, 'l> {
    ctx: &'c Ctx<'l>,
    at: At,
    field: &'static str,
}

impl<'de> DeserializeSeed<'de> for MapSeed<'_, '_> {
    type Value = BTreeMap<String, String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MapSeed<'_, '_> {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of strings")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let (ctx, at, field) = (self.ctx, self.at, self.field);
        let key_seed = BoundedStr::new(ctx, at, "a key", MAX_KEY_CHARS);
        let value_seed = BoundedStr::bytes(ctx, at, "a value", MAX_MAP_BYTES);
        let mut map = BTreeMap::new();
        let mut bytes = 0;
        while let Some(key) = access.next_key_seed(key_seed)? {
            if map.len() == MAX_ENTRIES {
                return Err(ctx.refuse(DecodeError::Malformed(format!(
                    "{at}{field}: more than {MAX_ENTRIES} entries"
                ))));
            }
            let value = access.next_value_seed(value_seed)?;
            bytes += key.len() + value.len();
            if bytes > MAX_MAP_BYTES {
                return Err(ctx.refuse(DecodeError::Malformed(format!(
                    "{at}{field}: more than {MAX_MAP_BYTES} bytes of keys and values"
                ))));
            }
            ctx.charge(MAP_ENTRY_OVERHEAD)?;
            if map.insert(key, value).is_some() {
                return Err(ctx.refuse(DecodeError::Malformed(format!(
                    "{at}{field}: a key appears twice"
                ))));
            }
        }
        Ok(map)
    }
}

struct BatchSeed<'c, 'l> {
    ctx: &'c Ctx<'l>,
}

const BATCH_FIELDS: &[&str] = &[
    "v",
    "device",
    "stream",
    "batch",
    "first_seq",
    "fixes",
    "events",
    "params",
];

impl<'de> DeserializeSeed<'de> for BatchSeed<'_, '_> {
    type Value = BatchV1;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<BatchV1, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BatchSeed<'_, '_> {
    type Value = BatchV1;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BatchV1, A::Error> {
        let ctx = self.ctx;
        let at = At::BATCH;
        let (mut v, mut device, mut stream, mut batch, mut first_seq) =
            (None, None, None, None, None);
        let (mut fixes, mut events, mut params) = (None, None, None);
        while let Some(field) = map.next_key_seed(FieldSeed(BATCH_FIELDS))? {
            match field {
                Some(0) => put(&mut v, map.next_value::<u32>()?, "v")?,
                Some(1) => {
                    let seed = BoundedStr::bytes(ctx, at, "device", MAX_DEVICE_CHARS);
                    put(&mut device, map.next_value_seed(seed)?, "device")?;
                }
                Some(2) => {
                    let seed = BoundedStr::bytes(ctx, at, "stream", MAX_STREAM_CHARS);
                    put(&mut stream, map.next_value_seed(seed)?, "stream")?;
                }
                Some(3) => {
                    let seed = BoundedStr::bytes(ctx, at, "batch", MAX_BATCH_ID_BYTES);
                    put(&mut batch, map.next_value_seed(seed)?, "batch")?;
                }
                Some(4) => put(&mut first_seq, map.next_value::<u64>()?, "first_seq")?,
                Some(5) => {
                    let seed = ListSeed {
                        ctx,
                        list: "fixes",
                        max: ctx.limits.max_fixes,
                        element: |ctx, at| FixSeed { ctx, at },
                    };
                    put(&mut fixes, map.next_value_seed(seed)?, "fixes")?;
                }
                Some(6) => {
                    let seed = ListSeed {
                        ctx,
                        list: "events",
                        max: ctx.limits.max_events,
                        element: |ctx, at| EventSeed { ctx, at },
                    };
                    put(&mut events, map.next_value_seed(seed)?, "events")?;
                }
                Some(7) => {
                    let seed = MapSeed {
                        ctx,
                        at,
                        field: "params",
                    };
                    put(&mut params, map.next_value_seed(seed)?, "params")?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(BatchV1 {
            v: v.ok_or_else(|| de::Error::missing_field("v"))?,
            device: device.ok_or_else(|| de::Error::missing_field("device"))?,
            stream: stream.unwrap_or_default(),
            batch: batch.ok_or_else(|| de::Error::missing_field("batch"))?,
            first_seq: first_seq.ok_or_else(|| de::Error::missing_field("first_seq"))?,
            fixes: fixes.ok_or_else(|| de::Error::missing_field("fixes"))?,
            events: events.unwrap_or_default(),
            params: params.unwrap_or_default(),
        })
    }
}

/// A batch's `fixes` or `events` array: at most `max` elements, each decoded by the seed
/// `element` makes for its place, refused with 413 as soon as one more arrives.
struct ListSeed<'c, 'l, S> {
    ctx: &'c Ctx<'l>,
    list: &'static str,
    max: usize,
    element: fn(&'c Ctx<'l>, At) -> S,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for ListSeed<'_, '_, S> {
    type Value = Vec<S::Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for ListSeed<'_, '_, S> {
    type Value = Vec<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {}", self.list)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (ctx, list, max) = (self.ctx, self.list, self.max);
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed((self.element)(
            ctx,
            At {
                list,
                index: items.len(),
            },
        ))? {
            if items.len() == max {
                return Err(ctx.refuse(DecodeError::TooLarge(format!(
                    "a batch carries at most {max} {list}"
                ))));
            }
            items.push(item);
        }
        Ok(items)
    }
}

struct FixSeed<'c, 'l> {
    ctx: &'c Ctx<'l>,
    at: At,
}

const FIX_FIELDS: &[&str] = &[
    "t", "la", "lo", "ac", "al", "va", "sp", "sa", "be", "ba", "pr", "mk", "sla", "slo", "sac",
    "tr", "x",
];

impl<'de> DeserializeSeed<'de> for FixSeed<'_, '_> {
    type Value = WireFix;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<WireFix, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FixSeed<'_, '_> {
    type Value = WireFix;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fix object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireFix, A::Error> {
        let (ctx, at) = (self.ctx, self.at);
        ctx.charge(size_of::<WireFix>())?;
        let (mut t, mut la, mut lo, mut ac) = (None, None, None, None);
        // al, va, sp, sa, be, ba, sla, slo, sac: optional numbers, in FIX_FIELDS order.
        let mut optional: [Option<Option<f64>>; 9] = [None; 9];
        let (mut pr, mut mk, mut tr, mut x) = (None, None, None, None);
        while let Some(field) = map.next_key_seed(FieldSeed(FIX_FIELDS))? {
            let Some(index) = field else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let name = FIX_FIELDS[index];
            match index {
                0 => put(&mut t, map.next_value::<i64>()?, name)?,
                1 => put(&mut la, map.next_value::<f64>()?, name)?,
                2 => put(&mut lo, map.next_value::<f64>()?, name)?,
                3 => put(&mut ac, map.next_value::<f64>()?, name)?,
                4..=9 => put(&mut optional[index - 4], map.next_value()?, name)?,
                10 => {
                    let seed = BoundedStr::bytes(ctx, at, name, MAX_PROVIDER_BYTES);
                    put(&mut pr, map.next_value_seed(OptionalStr(seed))?, name)?;
                }
                11 => put(&mut mk, map.next_value::<bool>()?, name)?,
                12..=14 => put(&mut optional[index - 6], map.next_value()?, name)?,
                15 => {
                    let seed = BoundedStr::new(ctx, at, name, MAX_TRIP_ID_CHARS);
                    put(&mut tr, map.next_value_seed(OptionalStr(seed))?, name)?;
                }
                _ => put(
                    &mut x,
                    map.next_value_seed(MapSeed {
                        ctx,
                        at,
                        field: name,
                    })?,
                    name,
                )?,
            }
        }
        let [al, va, sp, sa, be, ba, sla, slo, sac] = optional.map(Option::flatten);
        Ok(WireFix {
            t: t.ok_or_else(|| de::Error::missing_field("t"))?,
            la: la.ok_or_else(|| de::Error::missing_field("la"))?,
            lo: lo.ok_or_else(|| de::Error::missing_field("lo"))?,
            ac: ac.ok_or_else(|| de::Error::missing_field("ac"))?,
            al,
            va,
            sp,
            sa,
            be,
            ba,
            pr: pr.flatten(),
            mk: mk.unwrap_or(false),
            sla,
            slo,
            sac,
            tr: tr.flatten(),
            x: x.unwrap_or_default(),
        })
    }
}

struct EventSeed<'c, 'l> {
    ctx: &'c Ctx<'l>,
    at: At,
}

const EVENT_FIELDS: &[&str] = &["s", "t", "k", "id", "la", "lo", "m"];

impl<'de> DeserializeSeed<'de> for EventSeed<'_, '_> {
    type Value = WireEvent;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<WireEvent, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_, '_> {
    type Value = WireEvent;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireEvent, A::Error> {
        let (ctx, at) = (self.ctx, self.at);
        ctx.charge(size_of::<WireEvent>())?;
        let (mut s, mut t, mut k, mut id) = (None, None, None, None);
        let (mut la, mut lo, mut m) = (None, None, None);
        while let Some(field) = map.next_key_seed(FieldSeed(EVENT_FIELDS))? {
            let Some(index) = field else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let name = EVENT_FIELDS[index];
            match index {
                0 => put(&mut s, map.next_value::<u64>()?, name)?,
                1 => put(&mut t, map.next_value::<i64>()?, name)?,
                2 => {
                    let seed = BoundedStr::bytes(ctx, at, name, MAX_KIND_BYTES);
                    put(&mut k, map.next_value_seed(seed)?, name)?;
                }
                3 => {
                    let seed = BoundedStr::new(ctx, at, name, MAX_TRIP_ID_CHARS);
                    put(&mut id, map.next_value_seed(OptionalStr(seed))?, name)?;
                }
                4 => put(&mut la, map.next_value::<Option<f64>>()?, name)?,
                5 => put(&mut lo, map.next_value::<Option<f64>>()?, name)?,
                _ => put(
                    &mut m,
                    map.next_value_seed(MapSeed {
                        ctx,
                        at,
                        field: name,
                    })?,
                    name,
                )?,
            }
        }
        Ok(WireEvent {
            s: s.ok_or_else(|| de::Error::missing_field("s"))?,
            t: t.ok_or_else(|| de::Error::missing_field("t"))?,
            k: k.ok_or_else(|| de::Error::missing_field("k"))?,
            id: id.flatten(),
            la: la.flatten(),
            lo: lo.flatten(),
            m: m.unwrap_or_default(),
        })
    }
}

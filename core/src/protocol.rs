//! The SDK's side of ingest protocol v1: fixes and events as the wire carries them. The wire
//! types, codecs and rules themselves live in the `tracelet-protocol` crate, re-exported here.

use std::collections::BTreeMap;

pub use tracelet_protocol::wire::*;

use crate::fix::{Fix, Provider};
use crate::store::{StoredEvent, StoredFix};

/// A fix as sent: rounded to the wire's precision.
pub fn wire_fix(fix: &Fix) -> WireFix {
    let tenth = |v: Option<f64>| v.map(|x| round_to(x, 10.0));
    WireFix {
        t: fix.time_ms,
        la: round_to(fix.latitude_deg, 1e7),
        lo: round_to(fix.longitude_deg, 1e7),
        // Rounding must not turn a valid fix into one the server refuses: accuracy stays
        // above zero and a bearing of 359.97 wraps to 0 rather than becoming 360.
        ac: round_to(fix.horizontal_accuracy_m, 10.0).max(0.1),
        al: tenth(fix.altitude_m),
        va: tenth(fix.vertical_accuracy_m),
        sp: fix.speed_mps.map(|x| round_to(x, 100.0)),
        sa: tenth(fix.speed_accuracy_mps),
        be: tenth(fix.bearing_deg).map(|b| if b >= 360.0 { 0.0 } else { b }),
        ba: tenth(fix.bearing_accuracy_deg),
        pr: match fix.provider {
            Provider::Unknown => None,
            p => Some(p.wire_name().to_owned()),
        },
        mk: fix.is_mock,
        sla: None,
        slo: None,
        sac: None,
        tr: None,
        x: BTreeMap::new(),
    }
}

/// A queued fix as sent, with its smoothed position when one was kept.
pub fn wire_fix_of_stored(stored: &StoredFix) -> WireFix {
    let mut wire = wire_fix(&stored.fix);
    if let Some(s) = stored.smoothed {
        wire.sla = Some(round_to(s.latitude_deg, 1e7));
        wire.slo = Some(round_to(s.longitude_deg, 1e7));
        wire.sac = Some(round_to(s.accuracy_m, 10.0).max(0.1));
    }
    wire.tr.clone_from(&stored.annotation.trip_id);
    wire.x = stored.annotation.extras.iter().cloned().collect();
    wire
}

/// Back to a `Fix` (tests and tools use this). The monotonic clock is not sent.
pub fn fix_of_wire(wire: &WireFix) -> Fix {
    Fix {
        time_ms: wire.t,
        latitude_deg: wire.la,
        longitude_deg: wire.lo,
        horizontal_accuracy_m: wire.ac,
        altitude_m: wire.al,
        vertical_accuracy_m: wire.va,
        speed_mps: wire.sp,
        speed_accuracy_mps: wire.sa,
        bearing_deg: wire.be,
        bearing_accuracy_deg: wire.ba,
        provider: wire
            .pr
            .as_deref()
            .map_or(Provider::Unknown, Provider::from_wire_name),
        is_mock: wire.mk,
        elapsed_realtime_ns: None,
    }
}

/// A queued event as sent.
pub fn wire_event(stored: &StoredEvent) -> WireEvent {
    let event = &stored.event;
    WireEvent {
        s: stored.seq,
        t: event.time_ms,
        k: event.kind.wire_name().to_owned(),
        id: event.subject.clone(),
        la: event.position.map(|p| round_to(p.0, 1e7)),
        lo: event.position.map(|p| round_to(p.1, 1e7)),
        m: event.metadata.iter().cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_are_omitted_and_names_are_short() {
        let fix = Fix::new(1_700_000_000_123, 37.422_578_123, -122.081_678_9, 4.56);
        let json = serde_json::to_string(&wire_fix(&fix)).unwrap();
        assert_eq!(
            json,
            r#"{"t":1700000000123,"la":37.4225781,"lo":-122.0816789,"ac":4.6}"#
        );
    }

    #[test]
    fn rounding_keeps_valid_fixes_valid() {
        let fix = Fix {
            bearing_deg: Some(359.97),
            ..Fix::new(1_700_000_000_000, 1.0, 2.0, 0.01)
        };
        let back = fix_of_wire(&wire_fix(&fix));
        assert_eq!(back.bearing_deg, Some(0.0));
        assert_eq!(back.horizontal_accuracy_m, 0.1);
        assert_eq!(crate::fix::validate(&back, 1_700_000_000_000), Ok(()));
    }

    #[test]
    fn round_trip_keeps_every_field_to_wire_precision() {
        let fix = Fix {
            altitude_m: Some(12.34),
            speed_mps: Some(3.217),
            bearing_deg: Some(359.9),
            provider: Provider::Fused,
            is_mock: true,
            ..Fix::new(1_700_000_000_000, 1.0, 2.0, 3.0)
        };
        let wire: WireFix =
            serde_json::from_str(&serde_json::to_string(&wire_fix(&fix)).unwrap()).unwrap();
        let back = fix_of_wire(&wire);
        assert_eq!(back.altitude_m, Some(12.3));
        assert_eq!(back.speed_mps, Some(3.22));
        assert_eq!(back.provider, Provider::Fused);
        assert!(back.is_mock);
    }
}

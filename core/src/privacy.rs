//! Privacy zones: circles the app defines (a user's home, say) inside which fixes are dropped
//! or coarsened to the zone's centre before anything is stored, uploaded or handed to the app.
//!
//! Decided here, in the core, so that every platform behaves alike. A fix is inside a zone when
//! its raw position or the filter's smoothed one is (either would be stored). A coarsened fix
//! keeps its time and provider; its position becomes the centre, its accuracy at least the
//! radius, and its speed, bearing, altitude and smoothed position are removed (each would say
//! where in the zone the phone was). Errors name the rule broken, never a position.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::filter::Smoothed;
use crate::fix::Fix;
use crate::geodesy::distance_m;

/// Largest number of zones (each fix is checked against all of them).
pub const MAX_ZONES: usize = 100;
/// Longest zone id, bytes.
pub const MAX_ID_BYTES: usize = 100;
/// Smallest radius: below a phone's accuracy a zone protects nothing.
pub const MIN_RADIUS_M: f64 = 50.0;
/// Largest radius.
pub const MAX_RADIUS_M: f64 = 100_000.0;

/// What happens to a fix inside the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PrivacyAction {
    /// Not stored, not uploaded, not handed to the app.
    Drop,
    /// Stored at the zone's centre, with the radius as its accuracy.
    Coarsen,
}

/// A circle the app wants kept private.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PrivacyZone {
    pub id: String,
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub radius_m: f64,
    pub action: PrivacyAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrivacyZoneError {
    #[error("privacy zone id must be 1 to {MAX_ID_BYTES} bytes")]
    BadId,
    #[error("privacy zone id is used twice")]
    DuplicateId,
    #[error("privacy zone centre is not a valid latitude and longitude")]
    BadCentre,
    #[error("privacy zone radius must be between {MIN_RADIUS_M} and {MAX_RADIUS_M} m")]
    BadRadius,
    #[error("at most {MAX_ZONES} privacy zones")]
    TooMany,
    #[error("storage failure: {0}")]
    Storage(String),
}

/// Checks a whole set of zones; the first broken rule is the error.
pub fn validate(zones: &[PrivacyZone]) -> Result<(), PrivacyZoneError> {
    if zones.len() > MAX_ZONES {
        return Err(PrivacyZoneError::TooMany);
    }
    let mut ids = std::collections::BTreeSet::new();
    for zone in zones {
        if zone.id.is_empty() || zone.id.len() > MAX_ID_BYTES {
            return Err(PrivacyZoneError::BadId);
        }
        if !ids.insert(zone.id.as_str()) {
            return Err(PrivacyZoneError::DuplicateId);
        }
        let lat_ok = zone.latitude_deg.is_finite() && zone.latitude_deg.abs() <= 90.0;
        let lon_ok = zone.longitude_deg.is_finite() && zone.longitude_deg.abs() <= 180.0;
        if !(lat_ok && lon_ok) {
            return Err(PrivacyZoneError::BadCentre);
        }
        if !(zone.radius_m.is_finite() && (MIN_RADIUS_M..=MAX_RADIUS_M).contains(&zone.radius_m)) {
            return Err(PrivacyZoneError::BadRadius);
        }
    }
    Ok(())
}

pub(crate) fn to_json(zones: &[PrivacyZone]) -> String {
    serde_json::to_string(zones).unwrap_or_default()
}

/// The persisted zones; a value that does not read back as valid zones is an error, so that a
/// tracker never runs without the zones the app set.
pub(crate) fn from_json(text: &str) -> Result<Vec<PrivacyZone>, PrivacyZoneError> {
    let zones: Vec<PrivacyZone> = serde_json::from_str(text)
        .map_err(|_| PrivacyZoneError::Storage("stored privacy zones are unreadable".into()))?;
    validate(&zones)?;
    Ok(zones)
}

/// What the zones did to one fix.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Outside every zone: stored as it is.
    Keep,
    Drop,
    /// Stored as this fix instead.
    Coarsen(Fix),
}

/// Judges one fix (with its smoothed position, if any) against the zones. A dropping zone wins
/// over a coarsening one; among coarsening zones the first that holds the fix.
pub fn judge(zones: &[PrivacyZone], fix: &Fix, smoothed: Option<&Smoothed>) -> Verdict {
    let inside = |zone: &PrivacyZone| {
        let near = |lat: f64, lon: f64| {
            distance_m(zone.latitude_deg, zone.longitude_deg, lat, lon) <= zone.radius_m
        };
        near(fix.latitude_deg, fix.longitude_deg)
            || smoothed.is_some_and(|s| near(s.latitude_deg, s.longitude_deg))
    };
    let mut holding = zones.iter().filter(|z| inside(z));
    let Some(first) = holding.next() else {
        return Verdict::Keep;
    };
    if first.action == PrivacyAction::Drop || holding.any(|z| z.action == PrivacyAction::Drop) {
        return Verdict::Drop;
    }
    Verdict::Coarsen(Fix {
        latitude_deg: first.latitude_deg,
        longitude_deg: first.longitude_deg,
        horizontal_accuracy_m: fix.horizontal_accuracy_m.max(first.radius_m),
        altitude_m: None,
        vertical_accuracy_m: None,
        speed_mps: None,
        speed_accuracy_mps: None,
        bearing_deg: None,
        bearing_accuracy_deg: None,
        ..fix.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(id: &str, action: PrivacyAction) -> PrivacyZone {
        PrivacyZone {
            id: id.into(),
            latitude_deg: 48.0,
            longitude_deg: 11.0,
            radius_m: 200.0,
            action,
        }
    }

    #[test]
    fn bad_zones_are_refused_by_rule() {
        let good = zone("home", PrivacyAction::Drop);
        let other = zone("work", PrivacyAction::Coarsen);
        let cases = [
            (
                PrivacyZone {
                    id: String::new(),
                    ..good.clone()
                },
                PrivacyZoneError::BadId,
            ),
            (
                PrivacyZone {
                    id: "x".repeat(101),
                    ..good.clone()
                },
                PrivacyZoneError::BadId,
            ),
            (
                PrivacyZone {
                    latitude_deg: 91.0,
                    ..other.clone()
                },
                PrivacyZoneError::BadCentre,
            ),
            (
                PrivacyZone {
                    longitude_deg: f64::NAN,
                    ..other.clone()
                },
                PrivacyZoneError::BadCentre,
            ),
            (
                PrivacyZone {
                    radius_m: 10.0,
                    ..other.clone()
                },
                PrivacyZoneError::BadRadius,
            ),
            (
                PrivacyZone {
                    radius_m: f64::INFINITY,
                    ..other.clone()
                },
                PrivacyZoneError::BadRadius,
            ),
        ];
        for (bad, error) in cases {
            assert_eq!(validate(&[good.clone(), bad]), Err(error));
        }
        assert_eq!(
            validate(&[good.clone(), good.clone()]),
            Err(PrivacyZoneError::DuplicateId)
        );
        let many: Vec<PrivacyZone> = (0..=MAX_ZONES)
            .map(|i| zone(&i.to_string(), PrivacyAction::Drop))
            .collect();
        assert_eq!(validate(&many), Err(PrivacyZoneError::TooMany));
        assert_eq!(validate(&[good]), Ok(()));
    }

    #[test]
    fn errors_carry_no_position() {
        let text = PrivacyZoneError::BadCentre.to_string();
        assert!(!text.contains("48") && !text.contains("11."));
    }

    #[test]
    fn a_fix_inside_is_dropped_or_coarsened_and_one_outside_kept() {
        let inside = Fix {
            speed_mps: Some(1.0),
            altitude_m: Some(500.0),
            ..Fix::new(1_700_000_000_000, 48.0005, 11.0, 5.0)
        };
        let outside = Fix::new(1_700_000_000_000, 48.01, 11.0, 5.0);
        let drop = [zone("a", PrivacyAction::Drop)];
        let coarsen = [zone("a", PrivacyAction::Coarsen)];
        assert_eq!(judge(&drop, &inside, None), Verdict::Drop);
        assert_eq!(judge(&drop, &outside, None), Verdict::Keep);
        let Verdict::Coarsen(c) = judge(&coarsen, &inside, None) else {
            panic!("not coarsened");
        };
        assert_eq!((c.latitude_deg, c.longitude_deg), (48.0, 11.0));
        assert_eq!(c.horizontal_accuracy_m, 200.0);
        assert_eq!((c.speed_mps, c.altitude_m), (None, None));
        assert_eq!(c.time_ms, inside.time_ms);
        // A smoothed position inside is enough.
        let smoothed = Smoothed {
            latitude_deg: 48.0,
            longitude_deg: 11.0,
            accuracy_m: 3.0,
        };
        assert_eq!(judge(&drop, &outside, Some(&smoothed)), Verdict::Drop);
        // Dropping wins over coarsening.
        let both = [
            zone("a", PrivacyAction::Coarsen),
            zone("b", PrivacyAction::Drop),
        ];
        assert_eq!(judge(&both, &inside, None), Verdict::Drop);
    }

    #[test]
    fn zones_survive_their_persisted_form_and_garbage_is_an_error() {
        let zones = vec![
            zone("a", PrivacyAction::Coarsen),
            zone("b", PrivacyAction::Drop),
        ];
        assert_eq!(from_json(&to_json(&zones)), Ok(zones));
        assert!(matches!(
            from_json("[{]"),
            Err(PrivacyZoneError::Storage(_))
        ));
    }
}

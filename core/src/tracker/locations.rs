//! What the app learns about positions: a [`Location`] per accepted fix, the last known one, the
//! odometer, and the privacy zones applied before any of it is stored.
//!
//! Each recorded batch is *prepared* before it is written: the privacy zones drop or coarsen
//! fixes, and the odometer counts the result on a copy of its state. The copy, and the last
//! location, are written in the same transaction as the fixes (meta values), and only adopted
//! once that commits, so that after a crash or a failed write they agree with the queue.

use std::sync::{Arc, Mutex};

use super::{Shared, Tracker, lock};
use crate::error::TrackerError;
use crate::filter::Smoothed;
use crate::fix::Fix;
use crate::location::{Location, LocationListener};
use crate::odometer::{Mark, Odometer, OdometerError, OdometerReading};
use crate::policy::MotionState;
use crate::privacy::{self, PrivacyZone, PrivacyZoneError, Verdict};
use crate::store::Store;

const META_ODOMETER: &str = "odometer";
const META_LAST_LOCATION: &str = "last_location";
const META_PRIVACY_ZONES: &str = "privacy_zones";

/// The tracker's position state; lock order: `zones`, `odometer`, `last`, then the store.
pub(super) struct Locations {
    pub(super) zones: Mutex<Vec<PrivacyZone>>,
    pub(super) odometer: Mutex<Odometer>,
    pub(super) last: Mutex<Option<Location>>,
    listener: Mutex<Option<Arc<dyn LocationListener>>>,
}

impl Locations {
    /// What the store kept from the previous run.
    pub(super) fn load(store: &Store) -> Result<Locations, TrackerError> {
        let zones = match store.meta(META_PRIVACY_ZONES)? {
            Some(text) => {
                privacy::from_json(&text).map_err(|e| TrackerError::Storage(e.to_string()))?
            }
            None => Vec::new(),
        };
        let odometer = store
            .meta(META_ODOMETER)?
            .map(|text| Odometer::from_json(&text))
            .unwrap_or_default();
        let last = store
            .meta(META_LAST_LOCATION)?
            .and_then(|text| Location::from_json(&text));
        Ok(Locations {
            zones: Mutex::new(zones),
            odometer: Mutex::new(odometer),
            last: Mutex::new(last),
            listener: Mutex::new(None),
        })
    }
}

/// One batch after the privacy zones and the odometer, before it is stored.
pub(super) struct Prepared {
    /// What is stored, with the smoothed positions that may be stored beside it.
    pub fixes: Vec<Fix>,
    pub smoothed: Vec<Option<Smoothed>>,
    /// Input indices of the fixes a zone dropped.
    pub dropped: Vec<usize>,
    pub coarsened: u64,
    motion: Vec<MotionState>,
    readings: Vec<OdometerReading>,
    trip_id: Option<String>,
    odometer: Odometer,
}

impl Prepared {
    /// The locations of the stored fixes, once their sequence numbers are known.
    fn locations(&self, seqs: &[u64]) -> Vec<Location> {
        seqs.iter()
            .take(self.fixes.len())
            .enumerate()
            .map(|(i, &seq)| self.location(i, seq))
            .collect()
    }

    fn location(&self, i: usize, seq: u64) -> Location {
        let fix = &self.fixes[i];
        let smoothed = self.smoothed.get(i).copied().flatten();
        Location {
            seq,
            time_ms: fix.time_ms,
            latitude_deg: fix.latitude_deg,
            longitude_deg: fix.longitude_deg,
            accuracy_m: fix.horizontal_accuracy_m,
            smoothed_latitude_deg: smoothed.map(|s| s.latitude_deg),
            smoothed_longitude_deg: smoothed.map(|s| s.longitude_deg),
            smoothed_accuracy_m: smoothed.map(|s| s.accuracy_m),
            speed_mps: fix.speed_mps,
            bearing_deg: fix.bearing_deg,
            altitude_m: fix.altitude_m,
            provider: fix.provider,
            is_mock: fix.is_mock,
            motion_state: self.motion[i],
            trip_id: self.trip_id.clone(),
            odometer_m: self.readings[i].meters,
            odometer_uncertainty_m: self.readings[i].uncertainty_m,
        }
    }

    /// The meta values written with the fixes: the odometer after them, and the newest as the
    /// last known location.
    pub(super) fn meta(&self, seqs: &[u64]) -> Vec<(&'static str, String)> {
        let mut values = vec![(META_ODOMETER, self.odometer.to_json())];
        let newest = seqs.len().min(self.fixes.len()).checked_sub(1);
        if let Some(i) = newest {
            values.push((META_LAST_LOCATION, self.location(i, seqs[i]).to_json()));
        }
        values
    }
}

impl Shared {
    /// Tracking starts again: what happened while it was off is not distance travelled.
    pub(super) fn forget_position(&self) -> Result<(), TrackerError> {
        let mut odometer = lock(&self.locations.odometer);
        let mut next = odometer.clone();
        next.forget_position();
        lock(&self.store).set_meta(META_ODOMETER, &next.to_json())?;
        *odometer = next;
        Ok(())
    }

    /// Applies the privacy zones to the kept fixes (`kept`: their input indices, `motion`: the
    /// policy's state after each) and counts the rest on a copy of the odometer.
    pub(super) fn prepare(
        &self,
        keep: &[Fix],
        kept: &[usize],
        smoothed: &[Option<Smoothed>],
        motion: &[MotionState],
        trip_id: Option<String>,
    ) -> Prepared {
        let zones = lock(&self.locations.zones);
        let mut odometer = lock(&self.locations.odometer).clone();
        let mut out = Prepared {
            fixes: Vec::with_capacity(keep.len()),
            smoothed: Vec::with_capacity(keep.len()),
            dropped: Vec::new(),
            coarsened: 0,
            motion: Vec::with_capacity(keep.len()),
            readings: Vec::with_capacity(keep.len()),
            trip_id,
            odometer: Odometer::default(),
        };
        for (i, fix) in keep.iter().enumerate() {
            let smooth = smoothed.get(i).copied().flatten();
            let (fix, smooth) = match privacy::judge(&zones, fix, smooth.as_ref()) {
                Verdict::Keep => (fix.clone(), smooth),
                Verdict::Drop => {
                    out.dropped.push(kept[i]);
                    continue;
                }
                Verdict::Coarsen(coarse) => {
                    out.coarsened += 1;
                    (coarse, None)
                }
            };
            let state = motion.get(i).copied().unwrap_or(MotionState::Moving);
            let mark = match smooth {
                Some(s) => Mark {
                    lat: s.latitude_deg,
                    lon: s.longitude_deg,
                    accuracy_m: s.accuracy_m,
                    time_ms: fix.time_ms,
                },
                None => Mark {
                    lat: fix.latitude_deg,
                    lon: fix.longitude_deg,
                    accuracy_m: fix.horizontal_accuracy_m,
                    time_ms: fix.time_ms,
                },
            };
            out.readings
                .push(odometer.observe(mark, fix.speed_mps, state));
            out.motion.push(state);
            out.fixes.push(fix);
            out.smoothed.push(smooth);
        }
        out.odometer = odometer;
        out
    }

    /// The prepared batch was committed as `seqs`: adopt its odometer and last location, and
    /// return the locations to deliver.
    pub(super) fn adopt(&self, prepared: Prepared, seqs: &[u64]) -> Vec<Location> {
        let locations = prepared.locations(seqs);
        *lock(&self.locations.odometer) = prepared.odometer;
        if let Some(newest) = locations.last() {
            *lock(&self.locations.last) = Some(newest.clone());
        }
        locations
    }

    /// Whether a position lies in any privacy zone.
    pub(super) fn in_privacy_zone(&self, latitude_deg: f64, longitude_deg: f64) -> bool {
        let probe = Fix::new(0, latitude_deg, longitude_deg, 1.0);
        privacy::judge(&lock(&self.locations.zones), &probe, None) != Verdict::Keep
    }

    /// An answer to a position request is the last known location when it is the newest
    /// (best effort: a failed write only leaves the previous one on disk).
    pub(super) fn remember_if_newer(&self, location: &Location) {
        let mut last = lock(&self.locations.last);
        if last.as_ref().is_none_or(|l| l.time_ms < location.time_ms) {
            let _ = lock(&self.store).set_meta(META_LAST_LOCATION, &location.to_json());
            *last = Some(location.clone());
        }
    }

    /// Hands the committed locations to the app, in order, with no lock held.
    pub(super) fn deliver(&self, locations: Vec<Location>) {
        if locations.is_empty() {
            return;
        }
        let listener = lock(&self.locations.listener).clone();
        if let Some(listener) = listener {
            for location in locations {
                listener.on_location(location);
            }
        }
    }
}

impl Tracker {
    /// Sets the receiver of a [`Location`] for every accepted fix (`None` removes it).
    pub fn set_location_listener(&self, listener: Option<Arc<dyn LocationListener>>) {
        *lock(&self.shared.locations.listener) = listener;
    }

    /// The newest accepted location, kept across restarts; `None` before the first.
    pub fn last_known_location(&self) -> Option<Location> {
        lock(&self.shared.locations.last).clone()
    }

    /// Distance along the accepted, filtered fixes since the last reset, and its uncertainty.
    pub fn odometer(&self) -> OdometerReading {
        lock(&self.shared.locations.odometer).reading()
    }

    /// Sets the odometer to `meters` (0 to restart it). A negative or non-finite value is refused
    /// and changes nothing.
    pub fn reset_odometer(&self, meters: f64) -> Result<(), OdometerError> {
        let _log = self.shared.log_scope();
        log::info!("odometer reset requested: {meters} m");
        let mut odometer = lock(&self.shared.locations.odometer);
        let mut next = odometer.clone();
        next.reset(meters)?;
        lock(&self.shared.store)
            .set_meta(META_ODOMETER, &next.to_json())
            .map_err(|e| OdometerError::Storage(e.to_string()))?;
        *odometer = next;
        Ok(())
    }

    /// Replaces the privacy zones (an empty list removes them). Validated as a whole: a bad zone
    /// is refused and nothing changes. Applies to fixes recorded from now on.
    pub fn set_privacy_zones(&self, zones: Vec<PrivacyZone>) -> Result<(), PrivacyZoneError> {
        let _log = self.shared.log_scope();
        // How many, never where.
        log::info!("privacy zones requested: {}", zones.len());
        privacy::validate(&zones)?;
        let mut current = lock(&self.shared.locations.zones);
        lock(&self.shared.store)
            .set_meta(META_PRIVACY_ZONES, &privacy::to_json(&zones))
            .map_err(|e| PrivacyZoneError::Storage(e.to_string()))?;
        *current = zones;
        Ok(())
    }

    pub fn privacy_zones(&self) -> Vec<PrivacyZone> {
        lock(&self.shared.locations.zones).clone()
    }
}

//! The enter/exit/dwell state machine over all geofences (rules in the module docs).

use std::collections::HashMap;

use super::geometry::{BoundingCircle, M_PER_DEG_LAT, PreparedShape};
use super::model::{Geofence, GeofenceError, valid_lat_lon};

/// Tuning of the event rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeofenceConfig {
    /// Extra margin beyond the accuracy circle, metres, on both sides of the boundary.
    pub hysteresis_m: f64,
    /// Accuracy beyond this counts as this, metres. Infinite by default: a fix whose
    /// accuracy circle straddles the boundary never decides. A finite cap trades that rule for
    /// recall with vague indoor fixes, and costs false exits (the e-mission day flaps once at
    /// 50 m).
    pub accuracy_cap_m: f64,
    /// Consecutive decisive outside fixes that make an Exit (at least 1). Two by default: a
    /// phone parked indoors gets network fixes whose error now and then exceeds their reported
    /// accuracy by far, and one such fix must not end a stay. An inside fix resets the count;
    /// a straddling one leaves it.
    pub exit_confirmations: u32,
}

impl Default for GeofenceConfig {
    fn default() -> Self {
        GeofenceConfig {
            hysteresis_m: 10.0,
            accuracy_cap_m: f64::INFINITY,
            exit_confirmations: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeofenceEvent {
    Enter { id: String },
    Exit { id: String },
    Dwell { id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// No decisive fix since the geofence was added.
    Unknown,
    Inside,
    Outside,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FenceState {
    pub presence: Presence,
    /// Time of the fix that decided `presence`; `None` while `Unknown`.
    pub since_ms: Option<i64>,
    /// Dwell already fired during the current stay.
    pub dwell_fired: bool,
}

const UNKNOWN: FenceState = FenceState {
    presence: Presence::Unknown,
    since_ms: None,
    dwell_fired: false,
};

#[derive(Debug, Clone)]
struct Entry {
    fence: Geofence,
    shape: PreparedShape,
    state: FenceState,
    /// Decisive outside fixes in a row while inside (not persisted: a restart asks again).
    outside_streak: u32,
}

/// Geofences with their state. Events come out in the order the geofences sit in the engine.
#[derive(Debug, Clone, Default)]
pub struct GeofenceEngine {
    config: GeofenceConfig,
    entries: Vec<Entry>,
    /// Parallel to `entries`, packed apart so that the region choice scans contiguous memory.
    pub(crate) bounds: Vec<BoundingCircle>,
    index: HashMap<String, usize>,
    last_fix_ms: Option<i64>,
}

impl GeofenceEngine {
    pub fn new(config: GeofenceConfig) -> Self {
        GeofenceEngine {
            config,
            ..GeofenceEngine::default()
        }
    }

    /// Adds a geofence after validating it. An existing id is replaced, and its state starts
    /// over from `Unknown` since the shape may have changed.
    pub fn add(&mut self, fence: Geofence) -> Result<(), GeofenceError> {
        fence.validate_fields()?;
        let shape = PreparedShape::new(&fence.shape)?;
        let bound = shape.bounding_circle();
        let entry = Entry {
            fence,
            shape,
            state: UNKNOWN,
            outside_streak: 0,
        };
        if let Some(&i) = self.index.get(&entry.fence.id) {
            self.entries[i] = entry;
            self.bounds[i] = bound;
        } else {
            self.index
                .insert(entry.fence.id.clone(), self.entries.len());
            self.entries.push(entry);
            self.bounds.push(bound);
        }
        Ok(())
    }

    /// Removes a geofence; no Exit is fired.
    pub fn remove(&mut self, id: &str) -> Option<Geofence> {
        let i = self.index.remove(id)?;
        let removed = self.entries.swap_remove(i);
        self.bounds.swap_remove(i);
        if let Some(moved) = self.entries.get(i) {
            self.index.insert(moved.fence.id.clone(), i);
        }
        Some(removed.fence)
    }

    pub fn get(&self, id: &str) -> Option<&Geofence> {
        self.index.get(id).map(|&i| &self.entries[i].fence)
    }

    pub fn config(&self) -> GeofenceConfig {
        self.config
    }

    /// Puts back a state persisted before a restart, so that a device already inside does not
    /// fire Enter again.
    pub fn restore_state(&mut self, id: &str, state: FenceState) {
        if let Some(&i) = self.index.get(id) {
            self.entries[i].state = state;
        }
    }

    pub fn state(&self, id: &str) -> Option<FenceState> {
        self.index.get(id).map(|&i| self.entries[i].state)
    }

    pub fn list(&self) -> impl Iterator<Item = &Geofence> {
        self.entries.iter().map(|e| &e.fence)
    }

    pub(crate) fn fence_at(&self, i: usize) -> &Geofence {
        &self.entries[i].fence
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Runs one accepted fix through every geofence, with its own time standing for every
    /// clock (tests and benches; the tracker uses [`GeofenceEngine::process_at`]).
    pub fn process(
        &mut self,
        lat: f64,
        lon: f64,
        accuracy_m: f64,
        time_ms: i64,
    ) -> Vec<GeofenceEvent> {
        self.process_at(
            lat,
            lon,
            accuracy_m,
            FixTimes {
                fix_ms: time_ms,
                steady_ms: time_ms,
                wall_now_ms: time_ms,
            },
        )
    }

    /// Runs one accepted fix through every geofence. A fix older than the newest one seen is
    /// ignored (it arrived late), unless the fixes' clock went back: then the new times are
    /// followed, as the filter does (`fix::time_went_back`). Dwell is timed on steady time.
    pub fn process_at(
        &mut self,
        lat: f64,
        lon: f64,
        accuracy_m: f64,
        times: FixTimes,
    ) -> Vec<GeofenceEvent> {
        let mut events = Vec::new();
        if !(valid_lat_lon(lat, lon) && (0.0..f64::INFINITY).contains(&accuracy_m)) {
            return events;
        }
        if let Some(last) = self.last_fix_ms
            && times.fix_ms < last
            && !crate::fix::time_went_back(last, times.fix_ms, times.wall_now_ms)
        {
            return events;
        }
        self.last_fix_ms = Some(times.fix_ms);
        let time_ms = times.steady_ms;
        let margin = accuracy_m.min(self.config.accuracy_cap_m) + self.config.hysteresis_m;
        for (entry, bound) in self.entries.iter_mut().zip(&self.bounds) {
            // The meridional distance to the bounding circle is a lower bound of the distance to
            // the shape: far geofences are decided without trigonometry.
            let lower = (lat - bound.lat).abs() * M_PER_DEG_LAT - bound.radius_m;
            let d = if lower >= margin {
                lower
            } else {
                entry.shape.signed_distance_m(lat, lon)
            };
            let state = &mut entry.state;
            let id = &entry.fence.id;
            if d <= -margin {
                entry.outside_streak = 0;
                if state.presence != Presence::Inside {
                    *state = FenceState {
                        presence: Presence::Inside,
                        since_ms: Some(time_ms),
                        dwell_fired: false,
                    };
                    events.push(GeofenceEvent::Enter { id: id.clone() });
                }
            } else if d >= margin && state.presence != Presence::Outside {
                entry.outside_streak += 1;
                let confirmed = entry.outside_streak >= self.config.exit_confirmations;
                if state.presence == Presence::Inside && confirmed {
                    events.push(GeofenceEvent::Exit { id: id.clone() });
                }
                if state.presence == Presence::Unknown || confirmed {
                    *state = FenceState {
                        presence: Presence::Outside,
                        since_ms: Some(time_ms),
                        dwell_fired: false,
                    };
                    entry.outside_streak = 0;
                }
            }
            check_dwell(entry, time_ms, &mut events);
        }
        events
    }

    /// When the next Dwell falls due by time alone (steady time), if any geofence waits for one.
    pub fn next_dwell_ms(&self) -> Option<i64> {
        self.entries
            .iter()
            .filter(|e| e.state.presence == Presence::Inside && !e.state.dwell_fired)
            .filter_map(|e| Some(e.state.since_ms?.saturating_add(e.fence.dwell_ms?)))
            .min()
    }

    /// Fires the Dwell events due at steady time `time_ms` without a fix (e.g. from a timer).
    pub fn tick(&mut self, time_ms: i64) -> Vec<GeofenceEvent> {
        let mut events = Vec::new();
        for entry in &mut self.entries {
            check_dwell(entry, time_ms, &mut events);
        }
        events
    }
}

/// The clocks one fix is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixTimes {
    /// The fix's own time (what the event reports).
    pub fix_ms: i64,
    /// Steady time of the fix (`crate::steady`): presence and dwell are timed on it.
    pub steady_ms: i64,
    /// The device's wall clock now, to tell a clock set back from a late fix.
    pub wall_now_ms: i64,
}

fn check_dwell(entry: &mut Entry, time_ms: i64, events: &mut Vec<GeofenceEvent>) {
    let state = &mut entry.state;
    if state.presence != Presence::Inside || state.dwell_fired {
        return;
    }
    if let (Some(dwell), Some(since)) = (entry.fence.dwell_ms, state.since_ms)
        && time_ms.saturating_sub(since) >= dwell
    {
        state.dwell_fired = true;
        events.push(GeofenceEvent::Dwell {
            id: entry.fence.id.clone(),
        });
    }
}

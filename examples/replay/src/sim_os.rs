//! The simulated OS location service: it honours the current `SamplingRequest` the way
//! Android's fused provider does, and delivers geofence exits and activity transitions.
//!
//! - `HighAccuracy`: GNSS fixes, one per second available; the trace's recorded fix where
//!   there is one, otherwise a synthesized one (true position + noise matching the recorded
//!   accuracy). The noise is Gauss-Markov (correlated over [`GNSS_NOISE_TAU_S`]) like real
//!   GNSS error, not white: white noise at 1 Hz would look like the phone jittering at 10 m/s.
//! - `Balanced`: a Wi-Fi-quality fix (about [`BALANCED_ACCURACY_M`]); `LowPower` and `Passive`:
//!   a network fix (about [`NETWORK_ACCURACY_M`]); GNSS off. Both at the request interval.
//! - A fix is delivered once `interval_ms` has passed since the previous delivery and it is at
//!   least `min_distance_m` from it; delivered fixes are held back up to `max_batch_delay_ms`
//!   and handed over together. A new request flushes the batch and restarts the interval.
//! - A geofence exit fires once when the true position leaves the stationary geofence, if the
//!   [`OsMode`] lets the app monitor regions at all.
//! - Under [`OsMode::ApproximateOnly`] every fix is the 2 km grid cell's centre, at most one per
//!   10 minutes, whatever the request asks for.

use tracelet_core::Fix;
use tracelet_core::filter::Activity;
use tracelet_core::fix::Provider;
use tracelet_core::geodesy::distance_m;
use tracelet_core::policy::{Priority, SamplingRequest};

use crate::emission::ActivityEvent;
use crate::geo::{Rng, offset};
use crate::os_mode::{APPROXIMATE_MIN_INTERVAL_MS, OsMode, approximate_fix};
use crate::timeline::Sample;

/// Correlation time of synthesized GNSS error.
pub const GNSS_NOISE_TAU_S: f64 = 30.0;
/// Accuracy (68 % radius) of a Wi-Fi fix under `Balanced`.
pub const BALANCED_ACCURACY_M: f64 = 40.0;
/// Accuracy of a cell/network fix under `LowPower` and `Passive`.
pub const NETWORK_ACCURACY_M: f64 = 100.0;
/// A 68 % radius is this many per-axis standard deviations (2-D Gaussian).
const RADIUS_68_PER_SIGMA: f64 = 1.51;
/// Delay between leaving the geofence and the OS reporting it. Real Android geofencing can
/// take minutes when the phone was still; 0 models an ideal OS (a stated assumption).
pub const GEOFENCE_EXIT_LATENCY_MS: i64 = 0;

/// What the OS hands the app in one second.
#[derive(Debug, Default)]
pub struct OsStep {
    pub fixes: Vec<Fix>,
    pub activities: Vec<Activity>,
    pub geofence_exit: bool,
}

/// Counters for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsCounters {
    /// Seconds with a candidate fix available (the trace's 1 Hz timeline).
    pub offered: u64,
    pub delivered: u64,
    /// Delivered fixes the trace did not record (interpolated GNSS or network fixes).
    pub synthesized: u64,
    pub geofence_exits: u64,
    pub activities: u64,
}

pub struct SimOs {
    rng: Rng,
    noise_east_north: (f64, f64),
    activities: Vec<ActivityEvent>,
    next_activity: usize,
    request: Option<SamplingRequest>,
    last_delivered: Option<(i64, f64, f64)>,
    batch: Vec<Fix>,
    left_geofence_at: Option<i64>,
    geofence_reported: bool,
    mode: OsMode,
    pub counters: OsCounters,
}

impl SimOs {
    pub fn new(seed: u64, activities: Vec<ActivityEvent>) -> SimOs {
        SimOs {
            rng: Rng::new(seed),
            noise_east_north: (0.0, 0.0),
            activities,
            next_activity: 0,
            request: None,
            last_delivered: None,
            batch: Vec::new(),
            left_geofence_at: None,
            geofence_reported: false,
            mode: OsMode::Full,
            counters: OsCounters::default(),
        }
    }

    /// The permission the OS enforces (full by default).
    pub fn with_mode(mut self, mode: OsMode) -> SimOs {
        self.mode = mode;
        self
    }

    /// Advances one second under `request`.
    pub fn step(&mut self, sample: &Sample, request: &SamplingRequest) -> OsStep {
        let now = sample.truth.time_ms;
        let mut out = OsStep::default();
        if self.request.as_ref() != Some(request) {
            out.fixes.append(&mut self.batch);
            self.request = Some(request.clone());
            self.last_delivered = None;
            self.left_geofence_at = None;
            self.geofence_reported = false;
        }
        self.counters.offered += 1;
        // GNSS error evolves whether or not anyone listens, so runs stay comparable.
        let (synth_lat, synth_lon) = self.gnss_noise(sample);
        while let Some(event) = self
            .activities
            .get(self.next_activity)
            .filter(|e| e.time_ms <= now)
        {
            out.activities.push(event.activity);
            self.counters.activities += 1;
            self.next_activity += 1;
        }
        if let Some(fence) = request
            .stationary_geofence
            .as_ref()
            .filter(|_| self.mode.honours_regions())
        {
            let outside = distance_m(
                fence.latitude_deg,
                fence.longitude_deg,
                sample.truth.lat,
                sample.truth.lon,
            ) > fence.radius_m;
            if outside && !self.geofence_reported {
                let left = *self.left_geofence_at.get_or_insert(now);
                if now - left >= GEOFENCE_EXIT_LATENCY_MS {
                    out.geofence_exit = true;
                    self.geofence_reported = true;
                    self.counters.geofence_exits += 1;
                }
            }
        }
        let min_interval_ms = match self.mode {
            OsMode::ApproximateOnly => request.interval_ms.max(APPROXIMATE_MIN_INTERVAL_MS),
            OsMode::Full | OsMode::WhenInUseBackground => request.interval_ms,
        };
        let due = self
            .last_delivered
            .is_none_or(|(t, _, _)| now - t >= min_interval_ms);
        if due {
            let candidate = match request.priority {
                _ if self.mode == OsMode::ApproximateOnly => Some((
                    approximate_fix(now, sample.truth.lat, sample.truth.lon),
                    true,
                )),
                Priority::HighAccuracy => match &sample.recorded {
                    Some(f) => Some((f.clone(), false)),
                    None => Some((synthesized(sample, synth_lat, synth_lon), true)),
                },
                Priority::Balanced => Some((self.network_fix(sample, BALANCED_ACCURACY_M), true)),
                Priority::LowPower | Priority::Passive => {
                    Some((self.network_fix(sample, NETWORK_ACCURACY_M), true))
                }
            };
            if let Some((fix, synth)) = candidate {
                let far_enough = self.last_delivered.is_none_or(|(_, lat, lon)| {
                    distance_m(lat, lon, fix.latitude_deg, fix.longitude_deg)
                        >= request.min_distance_m
                });
                if far_enough {
                    self.last_delivered = Some((now, fix.latitude_deg, fix.longitude_deg));
                    self.counters.delivered += 1;
                    self.counters.synthesized += u64::from(synth);
                    self.batch.push(fix);
                }
            }
        }
        let batch_due = self
            .batch
            .first()
            .is_some_and(|f| now - f.time_ms >= request.max_batch_delay_ms);
        if batch_due {
            out.fixes.append(&mut self.batch);
        }
        out
    }

    /// First-order Gauss-Markov error scaled to the recorded accuracy; returns the noisy
    /// position of this second.
    fn gnss_noise(&mut self, sample: &Sample) -> (f64, f64) {
        let a = (-1.0 / GNSS_NOISE_TAU_S).exp();
        let b = (1.0 - a * a).sqrt();
        let (e, n) = self.noise_east_north;
        self.noise_east_north = (
            a * e + b * self.rng.gaussian(),
            a * n + b * self.rng.gaussian(),
        );
        let sigma = sample.accuracy_m / RADIUS_68_PER_SIGMA;
        let (e, n) = self.noise_east_north;
        offset(sample.truth.lat, sample.truth.lon, e * sigma, n * sigma)
    }

    fn network_fix(&mut self, sample: &Sample, accuracy_m: f64) -> Fix {
        let sigma = accuracy_m / RADIUS_68_PER_SIGMA;
        let (e, n) = (self.rng.gaussian() * sigma, self.rng.gaussian() * sigma);
        let (lat, lon) = offset(sample.truth.lat, sample.truth.lon, e, n);
        Fix {
            provider: Provider::Network,
            ..Fix::new(sample.truth.time_ms, lat, lon, accuracy_m)
        }
    }
}

fn synthesized(sample: &Sample, lat: f64, lon: f64) -> Fix {
    Fix {
        speed_mps: Some(sample.speed_mps),
        provider: Provider::Gps,
        ..Fix::new(sample.truth.time_ms, lat, lon, sample.accuracy_m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::Point;
    use tracelet_core::policy::StationaryGeofence;

    fn sample(t_s: i64, north_m: f64) -> Sample {
        Sample {
            truth: Point {
                time_ms: t_s * 1000,
                lat: 48.0 + north_m / 111_195.0,
                lon: 11.0,
            },
            speed_mps: 0.0,
            accuracy_m: 5.0,
            recorded: None,
        }
    }

    fn request(priority: Priority, interval_s: i64, min_m: f64, batch_s: i64) -> SamplingRequest {
        SamplingRequest {
            priority,
            interval_ms: interval_s * 1000,
            fastest_interval_ms: 1000,
            min_distance_m: min_m,
            max_batch_delay_ms: batch_s * 1000,
            stationary_geofence: None,
        }
    }

    fn run(os: &mut SimOs, r: &SamplingRequest, speed: f64, seconds: i64) -> Vec<OsStep> {
        (0..seconds)
            .map(|t| os.step(&sample(t, t as f64 * speed), r))
            .collect()
    }

    #[test]
    fn the_interval_is_honoured() {
        let mut os = SimOs::new(1, Vec::new());
        let steps = run(
            &mut os,
            &request(Priority::HighAccuracy, 5, 0.0, 0),
            10.0,
            60,
        );
        let n: usize = steps.iter().map(|s| s.fixes.len()).sum();
        assert_eq!(n, 12);
        assert_eq!(os.counters.synthesized, 12);
        assert_eq!(os.counters.offered, 60);
    }

    #[test]
    fn a_still_phone_behind_a_distance_filter_gets_almost_nothing() {
        let mut os = SimOs::new(2, Vec::new());
        let steps = run(
            &mut os,
            &request(Priority::HighAccuracy, 1, 20.0, 0),
            0.0,
            600,
        );
        let n: usize = steps.iter().map(|s| s.fixes.len()).sum();
        assert!(n <= 3, "{n}");
    }

    #[test]
    fn batches_wait_for_the_batch_delay() {
        let mut os = SimOs::new(3, Vec::new());
        let steps = run(
            &mut os,
            &request(Priority::HighAccuracy, 1, 0.0, 10),
            5.0,
            25,
        );
        let sizes: Vec<usize> = steps.iter().map(|s| s.fixes.len()).collect();
        assert_eq!(sizes.iter().filter(|&&n| n > 0).count(), 2);
        assert_eq!(sizes[10], 11);
    }

    #[test]
    fn low_power_is_a_network_heartbeat_and_the_geofence_exit_fires_once() {
        let mut os = SimOs::new(4, Vec::new());
        let mut r = request(Priority::LowPower, 300, 0.0, 0);
        r.stationary_geofence = Some(StationaryGeofence {
            latitude_deg: 48.0,
            longitude_deg: 11.0,
            radius_m: 100.0,
        });
        let steps = run(&mut os, &r, 0.5, 900);
        let fixes: Vec<&Fix> = steps.iter().flat_map(|s| &s.fixes).collect();
        assert_eq!(fixes.len(), 3);
        assert!(
            fixes
                .iter()
                .all(|f| f.horizontal_accuracy_m == NETWORK_ACCURACY_M)
        );
        let exits: Vec<usize> = (0..steps.len())
            .filter(|&i| steps[i].geofence_exit)
            .collect();
        // 100 m at 0.5 m/s: 200 s, give or take rounding.
        assert_eq!(exits.len(), 1);
        assert!((200..=201).contains(&exits[0]), "{exits:?}");
    }

    #[test]
    fn activities_arrive_at_their_time() {
        let events = vec![ActivityEvent {
            time_ms: 2_500,
            activity: Activity::Vehicle,
        }];
        let mut os = SimOs::new(5, events);
        let steps = run(&mut os, &request(Priority::Passive, 3600, 0.0, 0), 0.0, 5);
        assert_eq!(steps[3].activities, vec![Activity::Vehicle]);
        assert_eq!(os.counters.activities, 1);
    }
}

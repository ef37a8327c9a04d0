//! Points on a track and randomness for the simulation modules. Geodesy is the core's
//! (`tracelet_core::geodesy`, on the `geo` crate).

use tracelet_core::geodesy::{LocalPlane, distance_m, distance_to_segment_m};

/// A position at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    pub fn distance_to(&self, other: &Point) -> f64 {
        distance_m(self.lat, self.lon, other.lat, other.lon)
    }
}

/// Moves a position by metres east and north (small offsets, in a plane around it).
pub fn offset(lat: f64, lon: f64, east_m: f64, north_m: f64) -> (f64, f64) {
    LocalPlane::new(lat, lon).to_geo(east_m, north_m)
}

/// Distance in metres from `p` to the segment `a`-`b`.
pub fn distance_to_segment(p: &Point, a: &Point, b: &Point) -> f64 {
    distance_to_segment_m((p.lat, p.lon), (a.lat, a.lon), (b.lat, b.lon))
}

/// Linear interpolation of a time-sorted path at `t` (held at the ends).
pub fn position_at(path: &[Point], t: i64) -> Option<Point> {
    let i = path.partition_point(|p| p.time_ms <= t);
    match (i.checked_sub(1).and_then(|j| path.get(j)), path.get(i)) {
        (Some(a), Some(b)) if b.time_ms > a.time_ms => {
            let f = (t - a.time_ms) as f64 / (b.time_ms - a.time_ms) as f64;
            Some(Point {
                time_ms: t,
                lat: a.lat + f * (b.lat - a.lat),
                lon: a.lon + f * (b.lon - a.lon),
            })
        }
        (Some(a), _) => Some(Point { time_ms: t, ..*a }),
        (None, Some(b)) => Some(Point { time_ms: t, ..*b }),
        (None, None) => None,
    }
}

/// SplitMix64 with Box-Muller: tiny, seedable, reproducible across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal.
    pub fn gaussian(&mut self) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Percentile (nearest rank) of unsorted values; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_distance_and_interpolation() {
        let a = Point {
            time_ms: 0,
            lat: 48.0,
            lon: 11.0,
        };
        let b = Point {
            time_ms: 10_000,
            lat: 48.001,
            lon: 11.0,
        };
        let (lat, lon) = offset(48.0005, 11.0, 30.0, 0.0);
        let p = Point {
            time_ms: 0,
            lat,
            lon,
        };
        assert!((distance_to_segment(&p, &a, &b) - 30.0).abs() < 0.1);
        let mid = position_at(&[a, b], 5_000).unwrap();
        assert!((mid.lat - 48.0005).abs() < 1e-9);
        assert_eq!(position_at(&[a, b], 99_000).unwrap().lat, b.lat);
    }

    #[test]
    fn percentiles_and_noise_are_sane() {
        assert_eq!(percentile(&[3.0, 1.0, 2.0, 4.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
        let mut rng = Rng::new(1);
        let n = 20_000;
        let var = (0..n).map(|_| rng.gaussian().powi(2)).sum::<f64>() / n as f64;
        assert!((var - 1.0).abs() < 0.05);
    }
}

//! Constant-velocity Kalman smoothing in a local tangent plane.
//!
//! The state is position and velocity along east and north. Because the measurement noise (one
//! horizontal accuracy) and the process noise (one acceleration density) are the same on both
//! axes, both axes share one 2x2 covariance: the filter is two scalar-covariance filters, which
//! costs a few dozen flops per fix instead of 4x4 matrix algebra.
//!
//! # Reported velocity
//!
//! A receiver's speed and course describe the motion over the interval that ends at the fix
//! (on the bundled Pixel 4 drive the displacement since the previous fix matches the reported
//! velocity, not the previous one). So the velocity is folded in *before* the prediction: the
//! position is carried forward with it, and a car pulling away or turning is followed without
//! the one-interval lag of predicting with the old velocity.
//!
//! # Adaptive measurement noise
//!
//! The reported accuracy is often not the noise of the fix: phone chipsets already filter (their
//! error is a slowly varying bias of about a metre, not white noise), and traces without an
//! accuracy get a placeholder. Taking such an accuracy at its word makes the filter lag the fixes
//! at every turn and acceleration, which is worse than no smoothing. So the filter learns how
//! noisy the fixes really are from its innovations (covariance matching): the per-axis innovation
//! variance is `P + R`, so `max(innovation^2 - P, 0) / R_reported` estimates the ratio of the true
//! to the reported variance. An exponential average of that ratio (`noise_scale`, about the last
//! 10 fixes, `NOISE_SCALE_GAIN`) scales the reported variance, within
//! `[MIN_NOISE_SCALE, 1]`:
//! - fixes whose innovations are consistently much smaller than their accuracy are trusted more,
//!   down to following them almost exactly: the smoothed output falls back to the raw fix when
//!   the raw fix is better than any prediction;
//! - fixes that are as noisy as they claim keep their full weight (scale 1), so honest noise is
//!   smoothed as before; the filter never trusts a fix *less* than its accuracy says.
//!
//! The scale describes one source. A fix whose reported accuracy differs from the source's by
//! more than `SAME_SOURCE_ACCURACY_RATIO` (a network fix amid GNSS, GNSS coming back) restarts
//! the estimate at 1, so a learned trust never carries over to a vaguer provider.

use crate::geodesy::{LocalPlane, REBASE_DISTANCE_M};

/// A reported horizontal accuracy is the 68 % radius of a circular 2-D Gaussian; the per-axis
/// standard deviation is that radius divided by sqrt(-2 ln 0.32).
pub const ACCURACY_68_PER_SIGMA: f64 = 1.509_6;

/// Velocity variance assumed when a track starts: nothing is known yet, up to highway speeds.
const INITIAL_VELOCITY_VAR: f64 = 30.0 * 30.0;

/// Weight of the newest innovation in the measurement-noise scale (an average over about the
/// last 10 fixes).
const NOISE_SCALE_GAIN: f64 = 0.1;
/// The learned scale never shrinks a fix's variance below this fraction of the reported one
/// (about 1/18 of its accuracy).
const MIN_NOISE_SCALE: f64 = 0.003;
/// One innovation moves the scale by at most this many times the reported variance, so that a
/// single surprise cannot hold the scale up for long.
const MAX_NOISE_SAMPLE: f64 = 4.0;
/// Fixes whose accuracies differ by more than this factor come from different sources.
const SAME_SOURCE_ACCURACY_RATIO: f64 = 2.0;

/// A smoothed position with its own 68 % accuracy radius.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Smoothed {
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub accuracy_m: f64,
}

#[derive(Debug, Clone)]
pub struct Kalman {
    plane: LocalPlane,
    pos: [f64; 2],
    vel: [f64; 2],
    /// Position variance, position-velocity covariance, velocity variance (per axis).
    p_pp: f64,
    p_pv: f64,
    p_vv: f64,
    /// Learned ratio of the true to the reported measurement variance (see the module docs).
    noise_scale: f64,
    /// Reported accuracy of the source the scale was learned from, metres.
    source_accuracy_m: f64,
}

impl Kalman {
    /// Starts a track at a fix.
    pub fn start(lat_deg: f64, lon_deg: f64, accuracy_m: f64) -> Kalman {
        let sigma = accuracy_m / ACCURACY_68_PER_SIGMA;
        Kalman {
            plane: LocalPlane::new(lat_deg, lon_deg),
            pos: [0.0, 0.0],
            vel: [0.0, 0.0],
            p_pp: sigma * sigma,
            p_pv: 0.0,
            p_vv: INITIAL_VELOCITY_VAR,
            noise_scale: 1.0,
            source_accuracy_m: accuracy_m,
        }
    }

    /// Advances by `dt_s` seconds under white acceleration noise of density `accel_var`
    /// (m^2/s^3) and folds in a position fix whose noise comes from its accuracy (scaled by the
    /// learned noise scale). When given, a velocity measurement `(east, north, sigma per axis)`
    /// in m/s (the receiver's Doppler speed and course: independent of the position error) is
    /// taken as the velocity over the interval and folded in first, so that the prediction
    /// follows turns and accelerations without lag.
    pub fn step(
        &mut self,
        dt_s: f64,
        accel_var: f64,
        lat_deg: f64,
        lon_deg: f64,
        accuracy_m: f64,
        velocity: Option<(f64, f64, f64)>,
    ) -> Smoothed {
        if let Some((ve, vn, sigma_v)) = velocity {
            let s = self.p_vv + sigma_v * sigma_v;
            let (k_p, k_v) = (self.p_pv / s, self.p_vv / s);
            for (axis, z_axis) in [ve, vn].into_iter().enumerate() {
                let innovation = z_axis - self.vel[axis];
                self.pos[axis] += k_p * innovation;
                self.vel[axis] += k_v * innovation;
            }
            self.p_pp -= k_p * self.p_pv;
            self.p_pv -= k_p * self.p_vv;
            self.p_vv -= k_v * self.p_vv;
        }

        // Predict.
        let dt = dt_s.max(0.0);
        for axis in 0..2 {
            self.pos[axis] += self.vel[axis] * dt;
        }
        let dt2 = dt * dt;
        self.p_pp += 2.0 * dt * self.p_pv + dt2 * self.p_vv + accel_var * dt2 * dt / 3.0;
        self.p_pv += dt * self.p_vv + accel_var * dt2 / 2.0;
        self.p_vv += accel_var * dt;

        // Update (identical gains on both axes), with the measurement noise learned from the
        // innovations of this source.
        let z = self.plane.to_local(lat_deg, lon_deg);
        let innovation = [z.0 - self.pos[0], z.1 - self.pos[1]];
        let sigma = accuracy_m / ACCURACY_68_PER_SIGMA;
        let reported_var = sigma * sigma;
        let ratio = accuracy_m / self.source_accuracy_m;
        if (1.0 / SAME_SOURCE_ACCURACY_RATIO..=SAME_SOURCE_ACCURACY_RATIO).contains(&ratio) {
            let per_axis = 0.5 * (innovation[0] * innovation[0] + innovation[1] * innovation[1]);
            let sample = ((per_axis - self.p_pp).max(0.0) / reported_var).min(MAX_NOISE_SAMPLE);
            self.noise_scale += NOISE_SCALE_GAIN * (sample - self.noise_scale);
            self.source_accuracy_m += NOISE_SCALE_GAIN * (accuracy_m - self.source_accuracy_m);
        } else {
            self.noise_scale = 1.0;
            self.source_accuracy_m = accuracy_m;
        }
        let r = reported_var * self.noise_scale.clamp(MIN_NOISE_SCALE, 1.0);
        let s = self.p_pp + r;
        let (k_p, k_v) = (self.p_pp / s, self.p_pv / s);
        for (axis, innovation) in innovation.into_iter().enumerate() {
            self.pos[axis] += k_p * innovation;
            self.vel[axis] += k_v * innovation;
        }
        self.p_vv -= k_v * self.p_pv;
        self.p_pv *= 1.0 - k_p;
        self.p_pp *= 1.0 - k_p;

        self.rebase_if_far();
        self.estimate()
    }

    pub fn estimate(&self) -> Smoothed {
        let (latitude_deg, longitude_deg) = self.plane.to_geo(self.pos[0], self.pos[1]);
        Smoothed {
            latitude_deg,
            longitude_deg,
            accuracy_m: self.p_pp.max(0.0).sqrt() * ACCURACY_68_PER_SIGMA,
        }
    }

    /// Keeps the plane's projection error negligible on long drives.
    fn rebase_if_far(&mut self) {
        if self.pos[0].hypot(self.pos[1]) > REBASE_DISTANCE_M {
            let (lat, lon) = self.plane.to_geo(self.pos[0], self.pos[1]);
            self.plane = LocalPlane::new(lat, lon);
            self.pos = [0.0, 0.0];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noisy_static_fixes_converge_and_accuracy_shrinks() {
        let mut k = Kalman::start(37.0, -122.0, 10.0);
        let mut last = k.estimate();
        // Alternate +/-1e-4 degrees of latitude (about 11 m) around the true point.
        for i in 0..20 {
            let lat = 37.0 + if i % 2 == 0 { 1e-4 } else { -1e-4 };
            last = k.step(1.0, 0.01, lat, -122.0, 10.0, None);
        }
        assert!((last.latitude_deg - 37.0).abs() < 3e-5, "{last:?}");
        assert!(last.accuracy_m < 10.0);
    }

    #[test]
    fn a_vague_fix_barely_pulls_a_precise_track() {
        let mut k = Kalman::start(37.0, -122.0, 3.0);
        for _ in 0..5 {
            k.step(1.0, 0.1, 37.0, -122.0, 3.0, None);
        }
        // A network fix 1 km north claiming 1 km accuracy.
        let s = k.step(1.0, 0.1, 37.009, -122.0, 1000.0, None);
        assert!((s.latitude_deg - 37.0).abs() < 1e-5, "{s:?}");
    }

    #[test]
    fn constant_velocity_is_tracked_without_lag() {
        let mut k = Kalman::start(0.0, 0.0, 5.0);
        let mut s = k.estimate();
        for i in 1..=60 {
            // 10 m/s north.
            s = k.step(1.0, 1.0, f64::from(i) * 10.0 / 111_195.0, 0.0, 5.0, None);
        }
        assert!((s.latitude_deg - 600.0 / 111_195.0).abs() * 111_195.0 < 0.5);
    }

    #[test]
    fn rebasing_keeps_the_position() {
        let mut k = Kalman::start(0.0, 0.0, 5.0);
        k.step(1.0, 1.0, 0.0, 0.0, 5.0, None);
        let s = k.step(1.0, 1.0, 0.5, 0.0, 0.1, None);
        assert!((s.latitude_deg - 0.5).abs() < 1e-3);
        assert!(k.pos[0].hypot(k.pos[1]) < 1.0);
    }
}

#[cfg(test)]
mod velocity_tests {
    use super::*;

    #[test]
    fn a_reported_velocity_improves_a_noisy_turn() {
        // 10 m/s around a circle of radius 100 m (1 m/s^2), positions off by a +-6 m zig-zag.
        // The velocity is reported as receivers do (see "Reported velocity"): the motion over
        // the second that ends at the fix.
        let (r, w) = (100.0, 0.1);
        let at = |t: f64| (r * (w * t).sin(), r - r * (w * t).cos());
        let plane = LocalPlane::new(0.0, 0.0);
        let mut with = Kalman::start(0.0, 0.0, 8.0);
        let mut without = Kalman::start(0.0, 0.0, 8.0);
        let (mut err_with, mut err_without) = (0.0, 0.0);
        for i in 1..=60 {
            let t = f64::from(i);
            let ((e, n), (e0, n0)) = (at(t), at(t - 1.0));
            let (ve, vn) = (e - e0, n - n0);
            let wobble = if i % 2 == 0 { 6.0 } else { -6.0 };
            let (lat, lon) = plane.to_geo(e + wobble, n - wobble);
            let a = with.step(1.0, 4.0, lat, lon, 8.0, Some((ve, vn, 0.3)));
            let b = without.step(1.0, 4.0, lat, lon, 8.0, None);
            if i > 10 {
                let ea = plane.to_local(a.latitude_deg, a.longitude_deg);
                let eb = plane.to_local(b.latitude_deg, b.longitude_deg);
                err_with += (ea.0 - e).hypot(ea.1 - n);
                err_without += (eb.0 - e).hypot(eb.1 - n);
            }
        }
        // With the velocity folded in before the prediction, the position pull of the +-6 m
        // zig-zag is undone one fix later rather than at the same fix: about 0.79 here.
        assert!(err_with < err_without * 0.85, "{err_with} vs {err_without}");
    }
}

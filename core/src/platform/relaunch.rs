//! The motion state kept across a process death.
//!
//! iOS relaunches a terminated app for a significant change or a visit, Android restarts a
//! sticky service: a fresh tracker used to start "moving", so a phone lying on a desk ran
//! best-accuracy GNSS for the whole stop timeout after every such wake-up. Now the tracker saves
//! the motion state (and the stop's position) on every change, and a relaunch resumes
//! stationary when the saved state is recent; the first fix or region exit then decides.

/// The store's meta key holding the saved state.
pub const META_KEY: &str = "relaunch_motion";
/// A saved stop older than this is not trusted: start moving, as a fresh start does.
pub const MAX_AGE_MS: i64 = 24 * 3_600_000;

/// What is saved for the next launch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RelaunchState {
    Moving,
    Stationary {
        latitude_deg: f64,
        longitude_deg: f64,
        /// Wall time of the save.
        saved_at_ms: i64,
    },
}

impl RelaunchState {
    /// A short text for the store: `moving` or `stationary;<lat>;<lon>;<saved ms>`.
    pub fn encode(&self) -> String {
        match *self {
            RelaunchState::Moving => "moving".to_owned(),
            RelaunchState::Stationary {
                latitude_deg,
                longitude_deg,
                saved_at_ms,
            } => format!("stationary;{latitude_deg};{longitude_deg};{saved_at_ms}"),
        }
    }

    /// `None` for anything it did not write (an older or damaged value): start moving.
    pub fn decode(text: &str) -> Option<RelaunchState> {
        if text == "moving" {
            return Some(RelaunchState::Moving);
        }
        let mut parts = text.strip_prefix("stationary;")?.split(';');
        let latitude_deg: f64 = parts.next()?.parse().ok()?;
        let longitude_deg: f64 = parts.next()?.parse().ok()?;
        let saved_at_ms: i64 = parts.next()?.parse().ok()?;
        let valid = parts.next().is_none()
            && latitude_deg.is_finite()
            && latitude_deg.abs() <= 90.0
            && longitude_deg.is_finite()
            && longitude_deg.abs() <= 180.0;
        valid.then_some(RelaunchState::Stationary {
            latitude_deg,
            longitude_deg,
            saved_at_ms,
        })
    }

    /// Where to resume stationary at `now_ms`, if the saved stop is recent enough to trust
    /// (within [`MAX_AGE_MS`] either way: the user may have set the clock back).
    pub fn resume_at(&self, now_ms: i64) -> Option<(f64, f64)> {
        match *self {
            RelaunchState::Stationary {
                latitude_deg,
                longitude_deg,
                saved_at_ms,
            } if now_ms.saturating_sub(saved_at_ms).abs() <= MAX_AGE_MS => {
                Some((latitude_deg, longitude_deg))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn a_saved_stop_round_trips_and_resumes_within_a_day() {
        let state = RelaunchState::Stationary {
            latitude_deg: 48.137_154,
            longitude_deg: -11.576_124,
            saved_at_ms: T0,
        };
        let decoded = RelaunchState::decode(&state.encode()).expect("decodes");
        assert_eq!(decoded, state);
        assert_eq!(
            decoded.resume_at(T0 + 3 * 3_600_000),
            Some((48.137_154, -11.576_124))
        );
        assert_eq!(decoded.resume_at(T0 + MAX_AGE_MS + 1), None);
        assert_eq!(decoded.resume_at(T0 - MAX_AGE_MS - 1), None);
    }

    #[test]
    fn moving_and_damaged_values_resume_moving() {
        assert_eq!(
            RelaunchState::decode("moving").and_then(|s| s.resume_at(T0)),
            None
        );
        for bad in [
            "",
            "stationary",
            "stationary;91;0;0",
            "stationary;1;2",
            "stationary;1;2;3;4",
            "stationary;NaN;0;0",
        ] {
            assert_eq!(RelaunchState::decode(bad), None, "{bad}");
        }
    }
}

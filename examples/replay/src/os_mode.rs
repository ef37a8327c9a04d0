//! What the user granted, as the simulated OS enforces it. Real users do not all press "allow
//! all the time": these modes replay a trace under the permissions that broke the platform
//! layers (issue 20), to show what is recorded and what the app is told.

use tracelet_core::Fix;
use tracelet_core::fix::Provider;
use tracelet_core::platform::{LocationAccess, WakeSources};

use tracelet_core::geodesy::M_PER_DEG_LAT as M_PER_DEG;

/// Android's approximate location: positions snapped to a grid about this wide.
pub const APPROXIMATE_GRID_M: f64 = 2_000.0;
/// The accuracy the OS reports for an approximate fix.
pub const APPROXIMATE_ACCURACY_M: f64 = 2_000.0;
/// Android hands an app with approximate location at most one new fix per this interval.
pub const APPROXIMATE_MIN_INTERVAL_MS: i64 = 10 * 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OsMode {
    /// Precise location, always: every OS service works (the default).
    #[default]
    Full,
    /// "While using the app" (Android) / When In Use (iOS), the app in the background: updates
    /// that were started keep coming (foreground service, background location updates), but
    /// no region, significant change or visit can wake the app.
    WhenInUseBackground,
    /// Approximate location only: 2 km grid positions, at most every 10 minutes, no regions.
    ApproximateOnly,
}

impl OsMode {
    pub fn parse(name: &str) -> Option<OsMode> {
        match name {
            "full" => Some(OsMode::Full),
            "when-in-use-background" => Some(OsMode::WhenInUseBackground),
            "approximate-only" => Some(OsMode::ApproximateOnly),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OsMode::Full => "full",
            OsMode::WhenInUseBackground => "when-in-use-background",
            OsMode::ApproximateOnly => "approximate-only",
        }
    }

    /// The permission the platform layer reports to the core.
    pub fn access(self) -> LocationAccess {
        LocationAccess {
            granted: true,
            precise: self != OsMode::ApproximateOnly,
            background: self == OsMode::Full,
        }
    }

    /// Whether the OS monitors the stationary geofence (regions need Always and precise).
    pub fn honours_regions(self) -> bool {
        self == OsMode::Full
    }

    /// What the platform layer manages to arm under this mode.
    pub fn wake_sources(self) -> WakeSources {
        WakeSources {
            stationary_region: self.honours_regions(),
            ..WakeSources::default()
        }
    }
}

/// The OS's approximate version of a true position: the centre of its 2 km grid cell.
pub fn approximate_fix(time_ms: i64, lat: f64, lon: f64) -> Fix {
    let cell_deg_lat = APPROXIMATE_GRID_M / M_PER_DEG;
    let cell_deg_lon = APPROXIMATE_GRID_M / (M_PER_DEG * lat.to_radians().cos().max(1e-6));
    let snap = |v: f64, cell: f64| ((v / cell).floor() + 0.5) * cell;
    Fix {
        provider: Provider::Network,
        ..Fix::new(
            time_ms,
            snap(lat, cell_deg_lat),
            snap(lon, cell_deg_lon),
            APPROXIMATE_ACCURACY_M,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracelet_core::geodesy::distance_m;

    #[test]
    fn approximate_positions_stay_within_their_grid_cell() {
        let (lat, lon) = (37.39, -122.08);
        let fix = approximate_fix(0, lat, lon);
        assert!(distance_m(lat, lon, fix.latitude_deg, fix.longitude_deg) <= APPROXIMATE_GRID_M);
        // A short walk stays in the same cell: the OS hides small moves.
        let near = approximate_fix(0, lat + 0.000_01, lon);
        assert_eq!(near.latitude_deg, fix.latitude_deg);
    }

    #[test]
    fn only_full_access_arms_a_region() {
        assert!(OsMode::Full.wake_sources().any());
        assert!(!OsMode::WhenInUseBackground.wake_sources().any());
        assert!(!OsMode::ApproximateOnly.access().precise);
        for mode in [
            OsMode::Full,
            OsMode::WhenInUseBackground,
            OsMode::ApproximateOnly,
        ] {
            assert_eq!(OsMode::parse(mode.name()), Some(mode));
        }
    }
}

//! Decisions the platform layers used to make on their own, now made once for Android and iOS:
//!
//! - [`access`]: what the user granted, and what the SDK records with it (approximate-only
//!   permission stores coarse fixes instead of silently storing nothing).
//! - [`approximate`]: the gate and the sampling used while only approximate location is granted.
//! - [`wake`]: when the platform may stop its own location updates (only when something can
//!   wake it again), and the coarse updates it keeps otherwise.
//! - [`relaunch`]: the motion state kept across a process death, so that a relaunched app on a
//!   phone lying still does not run GNSS for a whole stop timeout.
//!
//! Everything here is pure: state and time come in as arguments.

pub mod access;
pub mod approximate;
pub mod relaunch;
pub mod wake;

pub use access::{AccessReport, LocationAccess, RecordingMode};
pub use approximate::ApproximateGate;
pub use relaunch::RelaunchState;
pub use wake::{UpdatesPlan, WakeSources, plan_updates};

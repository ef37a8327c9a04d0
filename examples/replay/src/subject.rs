//! What the replay loop drives: the real core, or one of the baselines. Each asks the
//! simulated OS for fixes through a `SamplingRequest` and reports what it stored and uploaded.

use tracelet_core::Fix;
use tracelet_core::filter::Activity;
use tracelet_core::policy::SamplingRequest;

use crate::geo::Point;

/// One request on the wire, at simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upload {
    pub time_ms: i64,
    pub bytes: u64,
    pub fixes: u64,
}

/// What a subject did over the whole run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub fixes_accepted: u64,
    pub fixes_rejected: u64,
    /// Kept for the server: uploaded or still queued, after eviction.
    pub fixes_stored: u64,
    /// The stored track, in time order (what the server ends up with).
    pub track: Vec<Point>,
    pub uploads: Vec<Upload>,
    /// Subject-specific figures for the report.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// App geofence events, in order (the core only).
    pub geofence_events: Vec<crate::geofence_eval::FiredEvent>,
    /// The odometer after each accepted fix (the core only).
    pub odometer: Vec<crate::odometer_eval::Reading>,
}

/// A policy under test. `now_ms` is the simulated time of the current second.
pub trait Subject {
    fn name(&self) -> String;
    /// The request the OS should honour now.
    fn request(&self) -> SamplingRequest;
    /// True while the subject believes the phone is stationary (GNSS off).
    fn stationary(&self) -> bool;
    fn on_fixes(&mut self, fixes: Vec<Fix>, now_ms: i64) -> Result<(), String>;
    fn on_activity(&mut self, activity: Activity, now_ms: i64) -> Result<(), String>;
    fn on_geofence_exit(&mut self, now_ms: i64) -> Result<(), String>;
    /// Called once per simulated second, after the OS delivered what it had.
    fn tick(&mut self, now_ms: i64) -> Result<(), String>;
    fn finish(self: Box<Self>, now_ms: i64) -> Result<Outcome, String>;
}

//! Recorded traces in, Tracelet core behaviour out.
//!
//! Modules, one job each: trace readers (`trace`, `gpx`, `emission`, `input`), ground truth
//! (`truth`), the 1 Hz timeline (`timeline`), the simulated OS (`sim_os`), the subjects under
//! test (`core_subject`, `baselines`), the energy model (`energy`), metrics (`metrics`), the
//! report (`report`) and the loop that ties them together (`replay`).

pub mod baselines;
pub mod core_subject;
pub mod current_position_eval;
pub mod emission;
pub mod energy;
pub mod filter_eval;
pub mod geo;
pub mod geofence_eval;
pub mod gpx;
pub mod input;
pub mod metrics;
pub mod odometer_eval;
pub mod os_mode;
pub mod replay;
pub mod report;
pub mod sim_os;
pub mod subject;
pub mod timeline;
pub mod trace;
pub mod transport;
pub mod truth;

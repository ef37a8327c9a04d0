//! Recorded traces in, Tracelet core behaviour out.

pub mod filter_eval;
pub mod trace;

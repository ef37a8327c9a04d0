//! Recorded traces in, Tracelet core behaviour out.

pub mod trace;

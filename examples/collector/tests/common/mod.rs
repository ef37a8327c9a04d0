//! Helpers shared by the collector's integration tests.
#![allow(dead_code)]

pub mod cluster;
pub mod http;

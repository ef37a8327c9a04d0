//! Tracelet's ingest protocol v1, for the SDK and for any server that receives its batches:
//! the JSON wire types ([`wire`]), the compact binary encoding ([`compact`]), the rules a fix
//! must meet ([`fix_rules`]), the caps on app metadata ([`metadata`]) and the retry timing
//! clients follow ([`jitter`]). The normative text is `docs/ingest-protocol.md`.
//!
//! This crate has no I/O, no async runtime and no storage: a server decodes with it and keeps
//! its own database.

// The README's example is compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub mod compact;
pub mod fix_rules;
pub mod jitter;
pub mod metadata;
pub mod wire;

pub use wire::{BatchV1, ErrorResponse, IngestResponse, WireEvent, WireFix};

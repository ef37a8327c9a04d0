//! Which crate may depend on which: the wire format stands on its own, so that the collector
//! (and any third-party server) builds without the SDK.

use std::path::PathBuf;

fn manifest(crate_dir: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("Cargo.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The crates named in a manifest's dependency tables (normal, dev and build alike).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line.trim_matches(['[', ']']).ends_with("dependencies");
        } else if in_dependencies
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            names.push(name.trim().to_owned());
        }
    }
    names
}

#[test]
fn the_collector_depends_on_the_protocol_and_not_on_the_sdk() {
    let names = dependencies(&manifest("examples/collector"));
    assert!(names.iter().any(|n| n == "tracelet-protocol"), "{names:?}");
    assert!(!names.iter().any(|n| n == "tracelet-core"), "{names:?}");
}

#[test]
fn the_protocol_depends_on_no_other_tracelet_crate_and_no_runtime() {
    let names = dependencies(&manifest("protocol"));
    for forbidden in [
        "tracelet-core",
        "tracelet-ffi",
        "tokio",
        "rusqlite",
        "reqwest",
    ] {
        assert!(
            !names.iter().any(|n| n == forbidden),
            "{forbidden} in {names:?}"
        );
    }
}

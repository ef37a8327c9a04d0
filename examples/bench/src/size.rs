//! Size of the release cdylib that ships inside apps: with the built-in reqwest transport and
//! without it (the platform supplies HTTP), and which crates weigh most.
//!
//! Each variant is built once without stripping (so symbols can be attributed to crates), and
//! its shipped size is that of a stripped copy, which is what the release profile produces.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct SizeReport {
    /// Stripped release cdylib with reqwest, rustls and SQLite (x86_64).
    pub cdylib_bytes: Option<u64>,
    /// The same without the reqwest transport (`--no-default-features`).
    pub cdylib_platform_transport_bytes: Option<u64>,
    /// The smallest alignment of the default cdylib's LOAD segments: Google Play requires
    /// 16 KiB (`-z max-page-size=16384` in .cargo/config.toml).
    pub cdylib_load_alignment: Option<u64>,
    /// Android libraries, per ABI, when a cargo-ndk build left them in
    /// android/tracelet/src/main/jniLibs (the release workflow's step; no NDK here).
    pub android: Vec<AbiLibrary>,
    /// Largest crates by symbol bytes in the default build (approximate: LTO inlines across
    /// crates, and SQLite's C code counts as `sqlite3`).
    pub top_crates: Vec<(String, u64)>,
}

/// One ABI's shipped library.
#[derive(Debug, Serialize)]
pub struct AbiLibrary {
    pub abi: String,
    pub bytes: u64,
    pub load_alignment: Option<u64>,
}

pub fn measure(build: bool) -> Result<SizeReport, Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let android = android_libraries(&root.join("android/tracelet/src/main/jniLibs"));
    if !build {
        let shipped = root.join("target/release/libtracelet_ffi.so");
        return Ok(SizeReport {
            cdylib_bytes: std::fs::metadata(&shipped).ok().map(|m| m.len()),
            cdylib_platform_transport_bytes: None,
            cdylib_load_alignment: load_alignment(&shipped),
            android,
            top_crates: Vec::new(),
        });
    }
    let default = build_variant(&root, "default", &[])?;
    let top_crates = crate_sizes(&default)?;
    let platform = build_variant(&root, "platform-transport", &["--no-default-features"])?;
    Ok(SizeReport {
        cdylib_bytes: Some(stripped_size(&default)?),
        cdylib_platform_transport_bytes: Some(stripped_size(&platform)?),
        cdylib_load_alignment: load_alignment(&default),
        android,
        top_crates,
    })
}

/// The size rows of the figures table: (figure, value, target).
pub fn rows(size: &SizeReport) -> Vec<(String, String, String)> {
    let bytes = |b: Option<u64>| b.map_or("not built".into(), |b| format!("{b} B"));
    let mut rows = vec![
        (
            "stripped release cdylib, x86_64 (reqwest + rustls + SQLite), 16 KiB pages".into(),
            bytes(size.cdylib_bytes),
            "≤ 3 MB".into(),
        ),
        (
            "the same with the platform's HTTP stack instead of reqwest".into(),
            bytes(size.cdylib_platform_transport_bytes),
            String::new(),
        ),
        (
            "smallest LOAD segment alignment of the cdylib (Google Play: 16 KiB)".into(),
            bytes(size.cdylib_load_alignment),
            "≥ 16384 B".into(),
        ),
    ];
    for lib in &size.android {
        rows.push((
            format!("release cdylib, Android {} (LOAD alignment)", lib.abi),
            format!("{} B ({})", lib.bytes, bytes(lib.load_alignment)),
            "≥ 16384 B alignment".into(),
        ));
    }
    rows
}

/// libtracelet_ffi.so under `jni_libs/<abi>/`, for each ABI present.
fn android_libraries(jni_libs: &Path) -> Vec<AbiLibrary> {
    let Ok(entries) = std::fs::read_dir(jni_libs) else {
        return Vec::new();
    };
    let mut found: Vec<AbiLibrary> = entries
        .flatten()
        .filter_map(|entry| {
            let library = entry.path().join("libtracelet_ffi.so");
            let bytes = std::fs::metadata(&library).ok()?.len();
            Some(AbiLibrary {
                abi: entry.file_name().to_string_lossy().into_owned(),
                bytes,
                load_alignment: load_alignment(&library),
            })
        })
        .collect();
    found.sort_by(|a, b| a.abi.cmp(&b.abi));
    found
}

/// The smallest `Align` of the library's LOAD program headers (`readelf -lW`), or None if it
/// cannot be read.
fn load_alignment(library: &Path) -> Option<u64> {
    let output = ["readelf", "llvm-readelf"]
        .iter()
        .find_map(|tool| Command::new(tool).arg("-lW").arg(library).output().ok())?;
    if !output.status.success() {
        return None;
    }
    smallest_load_alignment(&String::from_utf8_lossy(&output.stdout))
}

/// From `readelf -lW` text: LOAD rows end with their alignment in hex (the flags before it
/// may contain spaces, so the last field is taken).
fn smallest_load_alignment(headers: &str) -> Option<u64> {
    headers
        .lines()
        .filter(|line| line.split_whitespace().next() == Some("LOAD"))
        .filter_map(|line| line.split_whitespace().last())
        .filter_map(|align| u64::from_str_radix(align.trim_start_matches("0x"), 16).ok())
        .min()
}

/// Builds the cdylib unstripped and returns a copy of it. Both variants share one target
/// directory (they differ only in the top crates), apart from the main one, whose stripped
/// profile this build must not disturb.
fn build_variant(
    root: &Path,
    name: &str,
    args: &[&str],
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let target = root.join("target/bench-size");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-q", "-p", "tracelet-ffi"])
        .args(args)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_RELEASE_STRIP", "false")
        .current_dir(root)
        .status()?;
    if !status.success() {
        return Err(format!("building the {name} cdylib failed").into());
    }
    let copy = target.join(format!("libtracelet_ffi-{name}.so"));
    std::fs::copy(target.join("release/libtracelet_ffi.so"), &copy)?;
    Ok(copy)
}

fn stripped_size(library: &Path) -> Result<u64, Box<dyn std::error::Error>> {
    let copy = library.with_extension("stripped.so");
    std::fs::copy(library, &copy)?;
    let status = Command::new("strip").arg(&copy).status()?;
    if !status.success() {
        return Err("strip failed".into());
    }
    Ok(std::fs::metadata(&copy)?.len())
}

/// Sums symbol sizes by the crate their demangled name starts with.
fn crate_sizes(library: &Path) -> Result<Vec<(String, u64)>, Box<dyn std::error::Error>> {
    let output = Command::new("nm")
        .args(["--size-sort", "--print-size", "--demangle"])
        .arg(library)
        .output()?;
    let mut by_crate: BTreeMap<String, u64> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut parts = line.splitn(4, ' ');
        let (_, size, _, name) = (parts.next(), parts.next(), parts.next(), parts.next());
        let (Some(size), Some(name)) = (size, name) else {
            continue;
        };
        let Ok(size) = u64::from_str_radix(size, 16) else {
            continue;
        };
        *by_crate.entry(crate_of(name)).or_default() += size;
    }
    let mut sizes: Vec<(String, u64)> = by_crate.into_iter().collect();
    sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
    sizes.truncate(12);
    Ok(sizes)
}

/// `<tokio::runtime::…>` or `tokio::runtime::…` → `tokio`; C symbols: `sqlite3_…` → `sqlite3`.
fn crate_of(symbol: &str) -> String {
    let trimmed = symbol.trim_start_matches('<').trim_start_matches('&');
    if let Some((first, _)) = trimmed.split_once("::") {
        let name = first.split(' ').next_back().unwrap_or(first);
        // Rust's own libraries are one contributor, not to be mistaken for tracelet-core.
        return match name {
            "core" | "alloc" | "std" => "Rust std (core, alloc, std)".to_owned(),
            other => other.to_owned(),
        };
    }
    if trimmed.starts_with("sqlite3") {
        return "sqlite3 (C)".into();
    }
    "other (C, runtime)".into()
}

#[cfg(test)]
mod tests {
    use super::{crate_of, smallest_load_alignment};

    #[test]
    fn the_smallest_load_alignment_is_read_from_readelf_output() {
        let headers = "\
  Type           Offset   VirtAddr           PhysAddr           FileSiz  MemSiz   Flg Align
  PHDR           0x000040 0x0000000000000040 0x0000000000000040 0x000230 0x000230 R   0x8
  LOAD           0x000000 0x0000000000000000 0x0000000000000000 0x09a2c4 0x09a2c4 R   0x4000
  LOAD           0x09a2d0 0x000000000009e2d0 0x000000000009e2d0 0x1b9f5c 0x1b9f5c R E 0x1000
  GNU_STACK      0x000000 0x0000000000000000 0x0000000000000000 0x000000 0x000000 RW  0x0
";
        assert_eq!(smallest_load_alignment(headers), Some(0x1000));
        assert_eq!(smallest_load_alignment("no program headers"), None);
    }

    #[test]
    fn symbols_are_attributed_to_their_crate() {
        assert_eq!(crate_of("tokio::runtime::park::inner"), "tokio");
        assert_eq!(
            crate_of("<rustls::client::Foo as core::fmt::Debug>::fmt"),
            "rustls"
        );
        assert_eq!(crate_of("sqlite3VdbeExec"), "sqlite3 (C)");
        assert_eq!(crate_of("core::fmt::write"), "Rust std (core, alloc, std)");
    }
}

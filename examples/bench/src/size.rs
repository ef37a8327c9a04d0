//! Size of the stripped release cdylib that ships inside apps.

use std::path::PathBuf;
use std::process::Command;

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct SizeReport {
    pub cdylib_bytes: Option<u64>,
    pub staticlib_bytes: Option<u64>,
}

pub fn measure(build: bool) -> Result<SizeReport, Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if build {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "-q", "-p", "tracelet-ffi"])
            .current_dir(&root)
            .status()?;
        if !status.success() {
            return Err("building the release cdylib failed".into());
        }
    }
    let size = |name: &str| {
        std::fs::metadata(root.join("target/release").join(name))
            .ok()
            .map(|m| m.len())
    };
    Ok(SizeReport {
        cdylib_bytes: size("libtracelet_ffi.so"),
        staticlib_bytes: size("libtracelet_ffi.a"),
    })
}

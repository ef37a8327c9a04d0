"""Shared helpers for the release checks (tests/release): paths and small readers.

These tests prove, on a machine without Android or Apple toolchains, what the release pipeline
depends on: the workflows lint clean, the native library has 16 KiB pages, Package.swift can be
pointed at a released XCFramework, the privacy manifest is complete, the Maven POM has what Maven
Central requires, and Gradle is pinned. scripts/test-all.sh runs them as the `release` suite.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def read_properties(path: Path) -> dict:
    """A Java .properties file: key=value lines, # and ! comments, `\\:` escapes undone."""
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = re.sub(r"\\(.)", r"\1", value.strip())
    return values


def run(args, **kwargs) -> subprocess.CompletedProcess:
    """Runs a command, capturing text output; never raises on a non-zero exit."""
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture
def out_dir(request) -> Path:
    """A fresh directory inside the repository (the Swift chroot sees only the repository)."""
    path = ROOT / "test-output" / "release" / request.node.name
    if path.exists():
        subprocess.run(["rm", "-rf", str(path)], check=True)
    path.mkdir(parents=True)
    return path


def host_library() -> Path:
    directory = Path(os.environ.get("TRACELET_LIB_DIR", ROOT / "target" / "release"))
    return directory / "libtracelet_ffi.so"

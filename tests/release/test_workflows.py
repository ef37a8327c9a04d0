"""The GitHub workflows: actionlint passes on each, and the release workflow keeps every step
the release needs (a lint cannot know that a step went missing)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, read, read_properties, run

WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint() -> str:
    """The actionlint binary: TRACELET_ACTIONLINT, PATH, or Go's bin directory, where
    scripts/test-all.sh installs it from the Go module proxy."""
    candidates = [os.environ.get("TRACELET_ACTIONLINT"), shutil.which("actionlint")]
    if shutil.which("go"):
        gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
        candidates.append(str(Path(gopath) / "bin" / "actionlint"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise AssertionError("actionlint not found: scripts/test-all.sh installs it (go install)")


def workflow_files():
    files = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
    assert {f.name for f in files} >= {"ci.yml", "release.yml"}
    return files


def test_actionlint_passes_on_every_workflow():
    result = run([actionlint(), "-no-color", *map(str, workflow_files())], cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_refuses_a_broken_workflow(tmp_path):
    # The same check on a workflow with an unknown context: it must fail, or the lint above
    # proves nothing.
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(read(".github/workflows/ci.yml").replace(
        "${{ github.ref }}", "${{ github.no_such_field.ref }}", 1))
    result = run([actionlint(), "-no-color", str(broken)], cwd=tmp_path)
    assert result.returncode != 0
    assert "no_such_field" in result.stdout


def test_ci_runs_the_readme_test_command_on_pull_requests():
    ci = read(".github/workflows/ci.yml")
    assert re.search(r"^\s+pull_request:", ci, re.M)
    assert re.search(r"^\s+run: .*scripts/test-all\.sh\s*$", ci, re.M)
    assert "scripts/test-all.sh" in read("README.md")
    assert "exec scripts/test-all.sh" in read(".ci/run")


def test_release_runs_on_version_tags_and_builds_every_abi_with_16k_pages():
    release = read(".github/workflows/release.yml")
    assert re.search(r'tags: \["v\[0-9\]\+\.\[0-9\]\+\.\[0-9\]\+"\]', release)
    cargo_ndk = re.search(r"cargo ndk (.*?)build --release --locked -p tracelet-ffi", release, re.S)
    assert cargo_ndk, "the release builds the native libraries with cargo-ndk"
    for abi in ("arm64-v8a", "armeabi-v7a", "x86_64"):
        assert f"-t {abi}" in cargo_ndk.group(1)
    assert "-P 26" in cargo_ndk.group(1), "the platform level is minSdk (26)"
    assert re.search(r"cargo install cargo-ndk --version \"\$CARGO_NDK_VERSION\" --locked", release)
    assert re.search(r"CARGO_NDK_VERSION: \d+\.\d+\.\d+", release)
    # The NDK comes from the one pinned in gradle.properties, which is r28 or later.
    assert "tracelet.ndkVersion" in release
    ndk = read_properties(ROOT / "android" / "gradle.properties")["tracelet.ndkVersion"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", ndk) and int(ndk.split(".")[0]) >= 28
    # The built libraries and the ones inside the AAR are checked for 16 KiB alignment.
    assert release.count("scripts/check-page-alignment.sh") >= 2


def test_release_publishes_to_maven_central_and_points_package_swift_at_the_xcframework():
    release = read(".github/workflows/release.yml")
    assert "scripts/gradle.sh --no-daemon :tracelet:assembleRelease" in release
    assert ":tracelet:publishAndReleaseToMavenCentral" in release
    for secret in ("mavenCentralUsername", "mavenCentralPassword", "signingInMemoryKey"):
        assert f"ORG_GRADLE_PROJECT_{secret}:" in release
    ios = release[release.index("\n  ios:"):]
    assert re.search(r"runs-on: macos-", ios)
    assert "scripts/build-xcframework.sh" in ios
    assert "gh release upload" in ios
    assert re.search(r"scripts/release-swift-package\.sh .*--tag", ios, re.S)
    assert 'git push --force origin "refs/tags/$TAG"' in ios

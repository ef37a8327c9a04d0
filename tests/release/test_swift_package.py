"""scripts/release-swift-package.sh: on a copy of Package.swift and a fake XCFramework zip, the
URL and checksum it writes are those SwiftPM expects (`swift package compute-checksum`, run in
the Swift chroot), only those two values change, and on a release tag it commits the manifest
and moves the tag to that commit."""

import re
import shutil
import zipfile

from conftest import ROOT, read, run

SCRIPT = str(ROOT / "scripts" / "release-swift-package.sh")
URL = "https://github.com/tracelet/tracelet/releases/download/v9.8.7/TraceletFFI.xcframework.zip"


def fake_xcframework_zip(path):
    """A zip shaped like the release asset: the .xcframework directory at its top."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("TraceletFFI.xcframework/Info.plist", "<plist version=\"1.0\"><dict/></plist>\n")
        archive.writestr("TraceletFFI.xcframework/ios-arm64/libtracelet_ffi.a", b"!<arch>\n" + bytes(range(256)))
    return path


def manifest_values(text):
    url = re.search(r'let xcframeworkURL =\s*"([^"]*)"', text)
    checksum = re.search(r'let xcframeworkChecksum = "([^"]*)"', text)
    assert url and checksum
    return url.group(1), checksum.group(1)


def test_rewrite_writes_the_url_and_the_checksum_swiftpm_computes(out_dir):
    archive = fake_xcframework_zip(out_dir / "TraceletFFI.xcframework.zip")
    manifest = out_dir / "Package.swift"
    shutil.copy(ROOT / "Package.swift", manifest)

    result = run([SCRIPT, "--zip", str(archive), "--url", URL, "--manifest", str(manifest)])
    assert result.returncode == 0, result.stderr

    swiftpm = run([str(ROOT / "scripts" / "swift-toolchain.sh"), "run", "swift", "package",
                   "compute-checksum", archive.name], cwd=out_dir)
    assert swiftpm.returncode == 0, swiftpm.stderr
    expected = swiftpm.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert manifest_values(manifest.read_text()) == (URL, expected)

    # Nothing else moved.
    before = read("Package.swift").splitlines()
    after = manifest.read_text().splitlines()
    assert len(before) == len(after)
    changed = [b for b, a in zip(before, after) if b != a]
    assert len(changed) == 2 and all(("download/" in line) or ("Checksum" in line) for line in changed)


def test_rewrite_refuses_a_manifest_of_another_shape_and_leaves_it_alone(tmp_path):
    archive = fake_xcframework_zip(tmp_path / "TraceletFFI.xcframework.zip")
    manifest = tmp_path / "Package.swift"
    text = read("Package.swift").replace("let xcframeworkChecksum", "let binaryChecksum")
    manifest.write_text(text)
    result = run([SCRIPT, "--zip", str(archive), "--url", URL, "--manifest", str(manifest)])
    assert result.returncode != 0
    assert "found 1 and 0" in result.stderr
    assert manifest.read_text() == text

    manifest.write_text(read("Package.swift"))
    result = run([SCRIPT, "--zip", str(archive), "--url", URL.replace("https:", "http:"),
                  "--manifest", str(manifest)])
    assert result.returncode != 0 and "https" in result.stderr
    assert manifest.read_text() == read("Package.swift")


def git(repo, *args):
    result = run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@invalid",
                  *args])
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_on_a_release_tag_the_manifest_is_committed_and_the_tag_moved(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shutil.copy(ROOT / "Package.swift", repo / "Package.swift")
    git(repo, "add", "Package.swift")
    git(repo, "commit", "-q", "-m", "release 9.8.7")
    released = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "-m", "Tracelet 9.8.7", "v9.8.7")
    archive = fake_xcframework_zip(tmp_path / "TraceletFFI.xcframework.zip")

    result = run([SCRIPT, "--zip", str(archive), "--url", URL, "--manifest",
                  str(repo / "Package.swift"), "--tag", "v9.8.7"])
    assert result.returncode == 0, result.stderr

    tagged = git(repo, "rev-parse", "v9.8.7^{commit}")
    assert tagged != released
    assert git(repo, "rev-parse", "v9.8.7^{commit}^") == released
    assert git(repo, "cat-file", "-t", "v9.8.7") == "tag"
    assert git(repo, "tag", "-l", "--format=%(contents:subject)", "v9.8.7") == "Tracelet 9.8.7"
    assert git(repo, "status", "--porcelain") == ""
    url, checksum = manifest_values(git(repo, "show", "v9.8.7:Package.swift"))
    assert url == URL and checksum != "0" * 64


def test_the_tag_must_be_checked_out(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shutil.copy(ROOT / "Package.swift", repo / "Package.swift")
    git(repo, "add", "Package.swift")
    git(repo, "commit", "-q", "-m", "one")
    git(repo, "tag", "-a", "-m", "old", "v9.8.6")
    git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    archive = fake_xcframework_zip(tmp_path / "TraceletFFI.xcframework.zip")
    result = run([SCRIPT, "--zip", str(archive), "--url", URL, "--manifest",
                  str(repo / "Package.swift"), "--tag", "v9.8.6"])
    assert result.returncode != 0
    assert "HEAD is not the commit of v9.8.6" in result.stderr

"""One Gradle for app teams and the release workflow: the wrapper properties pin a distribution
and its SHA-256, and scripts/gradle.sh (what the workflow runs) refuses a distribution whose
checksum differs. Tested with a fake distribution served from a file: URL."""

import hashlib
import re
import zipfile

from conftest import ROOT, read_properties, run

PROPERTIES = ROOT / "android" / "gradle" / "wrapper" / "gradle-wrapper.properties"
SCRIPT = str(ROOT / "scripts" / "gradle.sh")


def test_the_distribution_is_pinned_with_its_checksum():
    props = read_properties(PROPERTIES)
    url = re.fullmatch(r"https://services\.gradle\.org/distributions/gradle-(\d+)\.(\d+)(\.\d+)?-bin\.zip",
                       props["distributionUrl"])
    assert url, props["distributionUrl"]
    # The publishing plugin (0.37) needs Gradle 9.
    assert int(url.group(1)) >= 9
    assert re.fullmatch(r"[0-9a-f]{64}", props["distributionSha256Sum"])
    assert props["validateDistributionUrl"] == "true"


def fake_distribution(directory, version="9.9.9"):
    archive = directory / f"gradle-{version}-bin.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo(f"gradle-{version}/bin/gradle")
        info.external_attr = 0o755 << 16
        zf.writestr(info, '#!/bin/sh\necho "fake gradle $*"\n')
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def properties_for(path, archive, checksum):
    path.write_text(f"distributionUrl=file\\://{archive}\ndistributionSha256Sum={checksum}\n")
    return path


def test_gradle_sh_runs_a_distribution_whose_checksum_matches(tmp_path):
    archive, checksum = fake_distribution(tmp_path)
    props = properties_for(tmp_path / "ok.properties", archive, checksum)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "TRACELET_GRADLE_PROPERTIES": str(props), "TRACELET_GRADLE_DISTS": str(tmp_path / "dists")}
    result = run([SCRIPT, ":tracelet:assembleRelease"], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"fake gradle -p {ROOT / 'android'} :tracelet:assembleRelease"
    wrapper = run([SCRIPT, "wrapper"], env=env)
    assert f"--gradle-version 9.9.9 --distribution-type bin --gradle-distribution-sha256-sum {checksum}" in wrapper.stdout


def test_gradle_sh_refuses_a_distribution_whose_checksum_differs(tmp_path):
    archive, checksum = fake_distribution(tmp_path)
    wrong = ("0" if checksum[0] != "0" else "1") + checksum[1:]
    props = properties_for(tmp_path / "bad.properties", archive, wrong)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "TRACELET_GRADLE_PROPERTIES": str(props), "TRACELET_GRADLE_DISTS": str(tmp_path / "dists")}
    result = run([SCRIPT, "tasks"], env=env)
    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert "fake gradle" not in result.stdout
    assert not any((tmp_path / "dists").glob("gradle-*")), "nothing unpacked"

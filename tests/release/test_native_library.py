"""16 KiB pages: Google Play refuses native libraries whose LOAD segments are aligned below
16 KiB. The host library is linked with the same flag as the Android ones (.cargo/config.toml),
so reading its program headers checks the flag takes effect."""

import re
import tomllib

from conftest import ROOT, host_library, read, run

CHECK = str(ROOT / "scripts" / "check-page-alignment.sh")
FLAG = "link-arg=-Wl,-z,max-page-size=16384"
ANDROID_TRIPLES = {
    "arm64-v8a": "aarch64-linux-android",
    "armeabi-v7a": "armv7-linux-androideabi",
    "x86_64": "x86_64-linux-android",
    "x86": "i686-linux-android",
}


def test_host_library_has_every_load_segment_aligned_to_16k():
    library = host_library()
    assert library.is_file(), f"{library} missing: cargo build --release -p tracelet-ffi first"
    result = run([CHECK, str(library)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout


def test_the_alignment_check_refuses_a_library_with_4k_pages(tmp_path):
    source = tmp_path / "four_k.c"
    source.write_text("int four_k(void) { return 4; }\n")
    library = tmp_path / "libfour_k.so"
    built = run(["cc", "-shared", "-fPIC", "-Wl,-z,max-page-size=4096", "-o", str(library), str(source)])
    assert built.returncode == 0, built.stderr
    result = run([CHECK, str(library)])
    assert result.returncode == 1
    assert "aligned to 4096 bytes" in result.stderr


def test_host_and_every_android_target_link_with_16k_pages():
    config = tomllib.loads(read(".cargo/config.toml"))
    abis = re.search(r"abiFilters \+= listOf\(([^)]*)\)", read("android/tracelet/build.gradle.kts"))
    assert abis
    shipped = re.findall(r'"([^"]+)"', abis.group(1))
    assert shipped == ["arm64-v8a", "armeabi-v7a", "x86_64"]
    triples = ["x86_64-unknown-linux-gnu", *ANDROID_TRIPLES.values()]
    for triple in triples:
        flags = config["target"][triple]["rustflags"]
        assert FLAG in flags, f"{triple} misses {FLAG}"

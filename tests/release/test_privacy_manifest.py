"""PrivacyInfo.xcprivacy: Apple requires it of SDKs that collect location. It must parse as a
property list, declare the location the SDK uploads, and give a reason for every
required-reason API category the shipped code uses (the audit below), and the Swift package
must ship it as a resource."""

import plistlib
import re

from conftest import ROOT, read

MANIFEST = ROOT / "ios" / "Sources" / "Tracelet" / "PrivacyInfo.xcprivacy"

# Apple's required-reason API categories: the names that reveal a use, and the reasons Apple
# accepts for each (https://developer.apple.com/documentation/bundleresources/privacy_manifest_files).
CATEGORIES = {
    "NSPrivacyAccessedAPICategoryUserDefaults": (
        r"\bUserDefaults\b|\bNSUserDefaults\b|@AppStorage",
        {"CA92.1", "1C8F.1", "C56D.1", "AC6B.1"},
    ),
    "NSPrivacyAccessedAPICategoryFileTimestamp": (
        r"\b(creationDate|modificationDate|fileModificationDate|contentModificationDate"
        r"(Key)?|creationDateKey|attributesOfItem|getattrlist(bulk|at)?|fgetattrlist|f?stat|"
        r"lstat|fstatat)\b",
        {"DDA9.1", "C617.1", "3B52.1", "0A2A.1"},
    ),
    "NSPrivacyAccessedAPICategorySystemBootTime": (
        r"\b(systemUptime|mach_absolute_time|clock_gettime)\b",
        {"35F9.1", "8FFB.1", "3D61.1"},
    ),
    "NSPrivacyAccessedAPICategoryDiskSpace": (
        r"\b(volumeAvailableCapacity\w*|volumeTotalCapacity\w*|systemFreeSize|systemSize|"
        r"f?statv?fs|attributesOfFileSystem)\b",
        {"85F4.1", "E174.1", "7D9E.1", "B728.1"},
    ),
    "NSPrivacyAccessedAPICategoryActiveKeyboards": (
        r"\bactiveInputModes\b",
        {"3EC4.1", "54BD.1"},
    ),
}

# Linked into the XCFramework but not Swift, so the audit cannot read it from ios/Sources:
# - the core's clock since boot (core/src/clock.rs: clock_gettime) for every deadline;
# - the core reads the size of its WAL file (core/src/store: fs::metadata, i.e. stat);
# - the bundled SQLite (rusqlite "bundled") stats its files and, on Apple platforms
#   (SQLITE_ENABLE_LOCKING_STYLE), calls fstatfs on every file it opens.
RUST_CORE = {
    "NSPrivacyAccessedAPICategorySystemBootTime": ("core/src/clock.rs", r"clock_gettime"),
    "NSPrivacyAccessedAPICategoryFileTimestamp": ("core/src/store/mod.rs", r"fs::metadata"),
}
BUNDLED_SQLITE = {"NSPrivacyAccessedAPICategoryFileTimestamp", "NSPrivacyAccessedAPICategoryDiskSpace"}


def categories_used(swift_source: str) -> set:
    # Comments mention APIs without calling them.
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", swift_source, flags=re.S)
    return {name for name, (pattern, _) in CATEGORIES.items() if re.search(pattern, code)}


def manifest() -> dict:
    with MANIFEST.open("rb") as file:
        return plistlib.load(file)


def test_parses_as_a_property_list_and_does_not_track():
    privacy = manifest()
    assert privacy["NSPrivacyTracking"] is False
    assert privacy["NSPrivacyTrackingDomains"] == []


def test_declares_precise_and_coarse_location_linked_for_app_functionality_not_tracking():
    collected = {entry["NSPrivacyCollectedDataType"]: entry
                 for entry in manifest()["NSPrivacyCollectedDataTypes"]}
    for kind in ("NSPrivacyCollectedDataTypePreciseLocation", "NSPrivacyCollectedDataTypeCoarseLocation"):
        entry = collected[kind]
        assert entry["NSPrivacyCollectedDataTypeLinked"] is True
        assert entry["NSPrivacyCollectedDataTypeTracking"] is False
        assert entry["NSPrivacyCollectedDataTypePurposes"] == ["NSPrivacyCollectedDataTypePurposeAppFunctionality"]


def test_the_audit_recognises_each_category():
    assert categories_used("let d = UserDefaults.standard") == {"NSPrivacyAccessedAPICategoryUserDefaults"}
    assert categories_used("ProcessInfo.processInfo.systemUptime") == {"NSPrivacyAccessedAPICategorySystemBootTime"}
    assert categories_used("url.resourceValues(forKeys: [.volumeAvailableCapacityForImportantUsageKey])") == {
        "NSPrivacyAccessedAPICategoryDiskSpace"}
    assert categories_used("try fm.attributesOfItem(atPath: p)[.modificationDate]") == {
        "NSPrivacyAccessedAPICategoryFileTimestamp"}
    assert categories_used("// UserDefaults is not used here") == set()


def test_declares_exactly_the_required_reason_apis_the_sdk_uses_with_valid_reasons():
    swift = "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "ios" / "Sources").rglob("*.swift")))
    used = categories_used(swift)
    assert "NSPrivacyAccessedAPICategoryUserDefaults" in used  # LocationTracker's tracking flag
    for category, (path, pattern) in RUST_CORE.items():
        assert re.search(pattern, read(path)), f"{path} no longer uses {pattern}: revisit {category}"
        used.add(category)
    used |= BUNDLED_SQLITE

    declared = {}
    for entry in manifest()["NSPrivacyAccessedAPITypes"]:
        declared[entry["NSPrivacyAccessedAPIType"]] = set(entry["NSPrivacyAccessedAPITypeReasons"])
    assert set(declared) == used, "declared and used categories differ"
    for category, reasons in declared.items():
        assert reasons, category
        assert reasons <= CATEGORIES[category][1], f"{category}: unknown reason in {reasons}"


def test_the_swift_package_ships_it_as_a_resource():
    package = read("Package.swift")
    target = re.search(r'\.target\(\s*name: "Tracelet",(.*?)\n        \),', package, re.S)
    assert target, "the Tracelet target in Package.swift"
    assert 'path: "ios/Sources/Tracelet"' in target.group(1)
    assert 'resources: [.copy("PrivacyInfo.xcprivacy")]' in target.group(1)


def test_swiftpm_copied_it_into_the_resource_bundle():
    # scripts/test-all.sh runs `swift test` (which builds the package) before this suite.
    bundles = sorted(ROOT.glob(".build/*/debug/Tracelet_Tracelet.resources/PrivacyInfo.xcprivacy"))
    assert bundles, "no Tracelet resource bundle: build the Swift package first (swift build)"
    assert bundles[-1].read_bytes() == MANIFEST.read_bytes()

"""The Maven Central publication of the Android library. Gradle cannot run here, so the POM is
generated from what the Gradle build declares (android/gradle.properties, read by the publishing
plugin com.vanniktech.maven.publish under these same names) and checked for everything Maven
Central requires; the build file is checked to take its POM from there, sign, and attach sources
and Dokka jars; and the other places that name the coordinates agree with it."""

import re
import tomllib
import xml.etree.ElementTree as ET

from conftest import ROOT, read, read_properties

POM_NS = "http://maven.apache.org/POM/4.0.0"

# The publishing plugin's property names -> POM elements (its pomFromGradleProperties()).
POM_FROM_PROPERTIES = [
    ("GROUP", "groupId"),
    ("POM_ARTIFACT_ID", "artifactId"),
    ("VERSION_NAME", "version"),
    ("POM_NAME", "name"),
    ("POM_DESCRIPTION", "description"),
    ("POM_URL", "url"),
    ("POM_INCEPTION_YEAR", "inceptionYear"),
    ("POM_LICENSE_NAME", "licenses/license/name"),
    ("POM_LICENSE_URL", "licenses/license/url"),
    ("POM_LICENSE_DIST", "licenses/license/distribution"),
    ("POM_DEVELOPER_ID", "developers/developer/id"),
    ("POM_DEVELOPER_NAME", "developers/developer/name"),
    ("POM_DEVELOPER_URL", "developers/developer/url"),
    ("POM_SCM_URL", "scm/url"),
    ("POM_SCM_CONNECTION", "scm/connection"),
    ("POM_SCM_DEV_CONNECTION", "scm/developerConnection"),
    ("POM_ISSUE_SYSTEM", "issueManagement/system"),
    ("POM_ISSUE_URL", "issueManagement/url"),
]

# What Maven Central refuses a deployment without (central.sonatype.org, "Requirements").
REQUIRED = [
    "groupId", "artifactId", "version", "name", "description", "url",
    "licenses/license/name", "licenses/license/url",
    "developers/developer/id", "developers/developer/name",
    "scm/url", "scm/connection", "scm/developerConnection",
]


def properties() -> dict:
    return read_properties(ROOT / "android" / "gradle.properties")


def generate_pom(props: dict) -> ET.Element:
    project = ET.Element("project", {"xmlns": POM_NS})
    ET.SubElement(project, "modelVersion").text = "4.0.0"
    for key, path in POM_FROM_PROPERTIES:
        if key not in props:
            continue
        parent = project
        for part in path.split("/")[:-1]:
            parent = parent.find(part) if parent.find(part) is not None else ET.SubElement(parent, part)
        ET.SubElement(parent, path.split("/")[-1]).text = props[key]
    ET.SubElement(project, "packaging").text = "aar"
    return project


def problems(pom: ET.Element) -> list:
    """What Maven Central would refuse, or what would mislead a user, in this POM."""
    found = []
    text = {path: (pom.findtext(path) or "").strip() for path in REQUIRED}
    found += [f"missing <{path}>" for path, value in text.items() if not value]
    for path in ("url", "licenses/license/url", "scm/url"):
        if text.get(path) and not text[path].startswith("https://"):
            found.append(f"<{path}> is not https")
    for path in ("scm/connection", "scm/developerConnection"):
        if text.get(path) and not text[path].startswith("scm:git:"):
            found.append(f"<{path}> is not an scm:git: URL")
    if text["version"] and not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", text["version"]):
        found.append("<version> is not a semantic version")
    if text["groupId"] and not re.fullmatch(r"[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)+", text["groupId"]):
        found.append("<groupId> is not a reverse domain name")
    return found


def test_the_generated_pom_has_everything_maven_central_requires():
    pom = generate_pom(properties())
    out = ROOT / "test-output" / "release"
    out.mkdir(parents=True, exist_ok=True)
    ET.indent(pom)
    ET.ElementTree(pom).write(out / "tracelet-android.pom", encoding="utf-8", xml_declaration=True)
    assert problems(pom) == []


def test_the_check_reports_a_missing_scm_and_a_plain_http_url():
    props = {k: v for k, v in properties().items() if not k.startswith("POM_SCM_")}
    props["POM_URL"] = "http://example.com"
    found = problems(generate_pom(props))
    assert "missing <scm/url>" in found
    assert "missing <scm/developerConnection>" in found
    assert "<url> is not https" in found


def test_the_build_takes_its_pom_from_gradle_properties_and_signs_sources_and_dokka_jars():
    build = read("android/tracelet/build.gradle.kts")
    code = re.sub(r"//[^\n]*", "", build)
    assert 'id("com.vanniktech.maven.publish")' in code
    assert 'id("org.jetbrains.dokka")' in code
    assert "publishToMavenCentral()" in code
    assert "signAllPublications()" in code
    assert 'JavadocJar.Dokka("dokkaGeneratePublicationHtml")' in code
    assert "SourcesJar.Sources()" in code
    assert 'variant = "release"' in code
    # One place for coordinates: nothing in the build file sets them or a POM of its own.
    assert not re.search(r"^(project\.)?(group|version)\s*=", code, re.M)
    assert "pom {" not in code and "coordinates(" not in code
    settings = read("android/settings.gradle.kts")
    for plugin in ("com.vanniktech.maven.publish", "org.jetbrains.dokka", "com.android.library"):
        assert re.search(rf'id\("{re.escape(plugin)}"\) version "\d+\.\d+\.\d+"', settings), plugin


def test_every_other_place_agrees_with_gradle_properties():
    props = properties()
    coordinates = f'{props["GROUP"]}:{props["POM_ARTIFACT_ID"]}:{props["VERSION_NAME"]}'
    assert f'implementation("{coordinates}")' in read("README.md")
    assert f'`{props["GROUP"]}:{props["POM_ARTIFACT_ID"]}`' in read("android/README.md")

    cargo = tomllib.loads(read("Cargo.toml"))["workspace"]["package"]
    assert cargo["version"] == props["VERSION_NAME"]
    assert cargo["license"] == props["POM_LICENSE_NAME"]
    assert cargo["repository"] == props["POM_URL"] == props["POM_SCM_URL"]

    maven = ET.parse(ROOT / "android" / "pom.xml").getroot()
    assert maven.findtext(f"{{{POM_NS}}}groupId") == props["GROUP"]
    assert maven.findtext(f"{{{POM_NS}}}version").removesuffix("-SNAPSHOT") == props["VERSION_NAME"]
    assert f'namespace = "{props["GROUP"]}"' in read("android/tracelet/build.gradle.kts")

    swift = read("Package.swift")
    assert f'/releases/download/v{props["VERSION_NAME"]}/' in swift

//! Kotlin and Swift call the same things by the same names. The public members of the one
//! facade on each platform (Kotlin `TraceletClient`, Swift `Tracelet` with its extensions) are
//! compared with the list kept in `docs/api-names.txt`: adding a member to one platform only,
//! or naming it differently, fails here until the list (and the other platform) agree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn source_files(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            source_files(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

/// The identifier after `keyword ` in `line`, if the line declares one.
fn declared_name(line: &str, keyword: &str) -> Option<String> {
    let rest = line.split_once(&format!("{keyword} "))?.1;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Public members declared at the top level of the bodies that `opens_body` recognises
/// (brace depth 1 inside them); `member` names what a line declares, if it is public.
fn members(
    files: &[PathBuf],
    opens_body: impl Fn(&str) -> bool,
    member: impl Fn(&str) -> Option<String>,
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in files {
        let mut depth: i32 = 0;
        let mut inside = false;
        // A declaration may open its body lines later (a Kotlin constructor's parameters).
        let mut entered = false;
        for line in read(file).lines() {
            let trimmed = line.trim_start();
            if depth == 0 && opens_body(trimmed) {
                inside = true;
                entered = false;
            }
            if inside
                && depth == 1
                && let Some(name) = member(trimmed)
            {
                names.insert(name);
            }
            depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            entered |= depth > 0;
            if depth == 0 && entered {
                inside = false;
            }
        }
    }
    names
}

fn kotlin_surface() -> BTreeSet<String> {
    let mut files = Vec::new();
    source_files(
        &repo().join("android/tracelet/src/main/kotlin/dev/tracelet"),
        "kt",
        &mut files,
    );
    files.retain(|f| !f.components().any(|c| c.as_os_str() == "internal"));
    let mut names = members(
        &files,
        |line| line.starts_with("class TraceletClient("),
        |line| {
            let private = ["private ", "internal ", "protected "]
                .iter()
                .any(|p| line.starts_with(p));
            if private {
                return None;
            }
            let line = line.strip_prefix("override ").unwrap_or(line);
            declared_name(line, "fun").or_else(|| {
                (line.starts_with("val ") || line.starts_with("var "))
                    .then(|| declared_name(line, &line[..3]))
                    .flatten()
            })
        },
    );
    // Extension functions on the facade, wherever they are declared.
    for file in &files {
        for line in read(file).lines() {
            if let Some(rest) = line.trim_start().strip_prefix("fun TraceletClient.") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                names.insert(name);
            }
        }
    }
    names
}

fn swift_surface() -> BTreeSet<String> {
    let mut files = Vec::new();
    source_files(&repo().join("ios/Sources/Tracelet"), "swift", &mut files);
    members(
        &files,
        |line| {
            line.starts_with("public final class Tracelet:")
                || line.starts_with("public final class Tracelet ")
                || line.starts_with("extension Tracelet {")
                || line.starts_with("public extension Tracelet {")
        },
        |line| {
            let line = line.strip_prefix("nonisolated ").unwrap_or(line);
            let line = line.strip_prefix("public ")?;
            ["func", "var", "let"]
                .iter()
                .find_map(|keyword| {
                    line.starts_with(keyword)
                        .then(|| declared_name(line, keyword))
                })
                .flatten()
        },
    )
}

struct NameList {
    shared: BTreeSet<String>,
    kotlin_only: BTreeSet<String>,
    swift_only: BTreeSet<String>,
}

/// `docs/api-names.txt`: one name per line under `[shared]`, `[kotlin-only]` and
/// `[swift-only]`; `#` starts a comment (the reason a name is platform-only).
fn name_list() -> NameList {
    let text = read(&repo().join("docs/api-names.txt"));
    let mut list = NameList {
        shared: BTreeSet::new(),
        kotlin_only: BTreeSet::new(),
        swift_only: BTreeSet::new(),
    };
    let mut section = "";
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            section = match line {
                "[shared]" => "shared",
                "[kotlin-only]" => "kotlin",
                "[swift-only]" => "swift",
                other => panic!("unknown section {other} in docs/api-names.txt"),
            };
            continue;
        }
        let set = match section {
            "shared" => &mut list.shared,
            "kotlin" => &mut list.kotlin_only,
            "swift" => &mut list.swift_only,
            _ => panic!("name {line} before any section in docs/api-names.txt"),
        };
        assert!(set.insert(line.to_owned()), "{line} listed twice");
    }
    list
}

fn assert_same(platform: &str, found: &BTreeSet<String>, expected: &BTreeSet<String>) {
    let missing: Vec<_> = expected.difference(found).collect();
    let unlisted: Vec<_> = found.difference(expected).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "{platform} facade differs from docs/api-names.txt:\n  listed but not declared: \
         {missing:?}\n  declared but not listed: {unlisted:?}"
    );
}

#[test]
fn kotlin_facade_declares_exactly_the_listed_names() {
    let list = name_list();
    let expected = list.shared.union(&list.kotlin_only).cloned().collect();
    assert_same("Kotlin (TraceletClient)", &kotlin_surface(), &expected);
}

#[test]
fn swift_facade_declares_exactly_the_listed_names() {
    let list = name_list();
    let expected = list.shared.union(&list.swift_only).cloned().collect();
    assert_same("Swift (Tracelet)", &swift_surface(), &expected);
}

#[test]
fn the_facades_share_most_names() {
    let list = name_list();
    assert!(
        list.shared.len() >= 40,
        "{} shared names",
        list.shared.len()
    );
    assert!(
        list.kotlin_only.len() + list.swift_only.len() <= 8,
        "platform-only names must stay the exception"
    );
}

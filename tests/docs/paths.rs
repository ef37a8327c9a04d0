//! Every repository path the documentation mentions exists: a reader following a README or a
//! doc to a file finds it. Paths are taken from inline code and from relative links.

use std::path::{Path, PathBuf};

/// Top-level entries a path must start with to be read as a repository path.
const ROOTS: [&str; 12] = [
    "core/",
    "bindings/",
    "android/",
    "ios/",
    "examples/",
    "tests/",
    "docs/",
    "scripts/",
    "protocol/",
    ".github/",
    ".ci/",
    "gradle/",
];

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Markdown files to check: the READMEs and everything under docs/.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                // Build output, dependencies and the generated bindings hold no docs of ours.
                if !matches!(
                    name.as_str(),
                    "target" | "node_modules" | ".git" | ".build" | "test-output"
                ) {
                    stack.push(path);
                }
            } else if name.ends_with(".md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Paths that builds create (git-ignored); the docs may name them before they exist.
const BUILT: [&str; 2] = [
    "ios/TraceletFFI.xcframework",
    "android/tracelet/src/main/jniLibs",
];

/// What a Markdown text names: inline code spans, and the targets of its links.
fn mentioned(text: &str) -> (Vec<&str>, Vec<&str>) {
    let code = text.split('`').skip(1).step_by(2).collect();
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("](") {
        rest = &rest[start + 2..];
        if let Some(end) = rest.find(')') {
            links.push(&rest[..end]);
        }
    }
    (code, links)
}

/// The first word of a candidate with `:line` suffixes, `#anchors` and punctuation dropped.
fn bare(candidate: &str) -> Option<&str> {
    let word = candidate.split_whitespace().next()?;
    let word = word.split('#').next()?.split(':').next()?;
    let word = word.trim_end_matches([',', '.', ';', ')']);
    let plain = !word.is_empty() && !word.contains('*') && !word.contains('{');
    plain.then_some(word)
}

/// A repository path named in inline code: it starts with one of [`ROOTS`].
fn code_path(candidate: &str, root: &Path) -> Option<PathBuf> {
    let word = bare(candidate)?;
    let named = ROOTS.iter().any(|r| word.starts_with(r));
    (named && !BUILT.iter().any(|b| word.starts_with(b))).then(|| root.join(word))
}

/// A relative link (`[read API](read-api.md)`), resolved beside the document.
fn link_path(target: &str, document_dir: &Path) -> Option<PathBuf> {
    let external =
        target.contains("://") || target.starts_with("mailto:") || target.starts_with('/');
    if external {
        return None;
    }
    Some(document_dir.join(bare(target)?))
}

#[test]
fn every_repository_path_in_the_docs_exists() {
    let root = repository().canonicalize().expect("repository root");
    let mut missing = Vec::new();
    let documents = documents(&root);
    assert!(documents.len() >= 5, "found only {documents:?}");
    for document in &documents {
        let text = std::fs::read_to_string(document).expect("readable document");
        let dir = document.parent().unwrap_or(&root);
        let (code, links) = mentioned(&text);
        let paths = code
            .iter()
            .filter_map(|c| code_path(c, &root).map(|p| (p, *c)))
            .chain(
                links
                    .iter()
                    .filter_map(|l| link_path(l, dir).map(|p| (p, *l))),
            );
        for (path, candidate) in paths {
            if !path.exists() {
                let shown = document.strip_prefix(&root).unwrap_or(document);
                missing.push(format!("{}: {candidate}", shown.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "paths that do not exist:\n{}",
        missing.join("\n")
    );
}

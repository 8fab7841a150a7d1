//! The repository stands on its own: every document a comment, script or doc cites is a file under
//! `docs/` that the README's "Documentation" list indexes. Fails on a path into design notes kept
//! outside the repository, on the names of those notes, and on a section-sign citation that does
//! not name a document under `docs/` (a bare section sign continues the citation of the line
//! before; inside `docs/` it means the document itself). This file writes the sign as `\u{a7}` so
//! that its own examples are not citations.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The section sign.
const SECTION: char = '\u{a7}';
const SKIP_DIRS: &[&str] = &["target", "node_modules", ".git", ".local", "cdk.out"];
const EXTENSIONS: &[&str] = &[
    "rs", "md", "ts", "js", "sh", "toml", "json", "guard", "yml", "yaml",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Text that must appear nowhere: paths and names of the notes outside the repository. Built from
/// pieces so this file does not match itself.
fn forbidden() -> Vec<String> {
    let shared = "shared";
    vec![
        format!("{shared}/design"),
        format!("{shared}/spec"),
        format!("../{shared}"),
        format!("upstream-{}", "contract"),
        format!("aws-wire-{}", "protocols"),
        format!("upstream-{}", "infra"),
        format!("local-aws-{}", "tools"),
        format!("seed-upstream-{}", "readme"),
    ]
}

/// Regular files to check, without following symlinks (`target/` and `.local/ddb` are symlinks).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().unwrap();
        let path = entry.path();
        if kind.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) {
                collect(&path, out);
            }
        } else if kind.is_file() {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if name == "Makefile" || EXTENSIONS.contains(&ext) {
                out.push(path);
            }
        }
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// The `*.md` names on a line, as written (`docs/contract.md`, `contract.md`, ...).
fn md_tokens(line: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for (at, _) in line.match_indices(".md") {
        let after = line[at + 3..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let start = line[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_path_char(c))
            .last()
            .map_or(at, |(i, _)| i);
        let token = line[start..at + 3].trim_start_matches("./");
        if token.len() > 3 {
            tokens.push(token.to_owned());
        }
    }
    tokens
}

/// A `*.md` name resolved against the repository root, or against `docs/` for a file in `docs/`.
fn resolve(token: &str, in_docs: bool) -> String {
    if in_docs && !token.contains('/') {
        format!("docs/{token}")
    } else {
        token.to_owned()
    }
}

/// The line without comment leaders and opening punctuation: a continuation starts with the sign.
fn is_continuation(line: &str) -> bool {
    line.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '/' | '!' | '#' | '*' | '(' | '-' | '`')
    })
    .starts_with(SECTION)
}

/// Every problem in one file's text; `rel` is its path from the repository root.
fn violations(rel: &str, text: &str, known: &BTreeSet<String>) -> Vec<String> {
    let forbidden = forbidden();
    let in_docs = rel.starts_with("docs/");
    let mut found = Vec::new();
    let mut previous_cites_docs = false;
    for (n, line) in text.lines().enumerate() {
        let at = format!("{rel}:{}", n + 1);
        for bad in &forbidden {
            if line.contains(bad.as_str()) {
                found.push(format!(
                    "{at}: mentions `{bad}`, which is outside the repository"
                ));
            }
        }
        let docs: Vec<String> = md_tokens(line)
            .iter()
            .map(|t| resolve(t, in_docs))
            .filter(|t| t.starts_with("docs/"))
            .collect();
        let cites_docs = !docs.is_empty();
        if line.contains(SECTION) {
            for token in md_tokens(line) {
                let doc = resolve(&token, in_docs);
                if !known.contains(&doc) {
                    found.push(format!(
                        "{at}: cites `{SECTION}` next to `{token}`, which is not a document under docs/ \
                         listed in the README's Documentation section"
                    ));
                }
            }
            let continues = is_continuation(line) && previous_cites_docs;
            let external_standard = line.contains("RFC ");
            if !in_docs && !cites_docs && !continues && !external_standard {
                found.push(format!(
                    "{at}: `{SECTION}` without a document under docs/ (write `docs/<file>.md {SECTION}N`)"
                ));
            }
        }
        previous_cites_docs = cites_docs || (line.contains(SECTION) && previous_cites_docs);
    }
    found
}

/// The documents the README's "Documentation" section lists.
fn readme_documents(readme: &str) -> BTreeSet<String> {
    readme
        .lines()
        .skip_while(|l| l.trim() != "## Documentation")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .flat_map(md_tokens)
        .filter(|t| t.starts_with("docs/"))
        .collect()
}

#[test]
fn every_citation_points_inside_docs() {
    let root = repo_root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let listed = readme_documents(&readme);
    assert!(
        listed.contains("docs/architecture.md"),
        "README.md needs a `## Documentation` section listing docs/architecture.md and the others"
    );

    let mut problems = Vec::new();
    let mut in_dir = BTreeSet::new();
    for entry in fs::read_dir(root.join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            let doc = format!("docs/{name}");
            if !listed.contains(&doc) {
                problems.push(format!(
                    "{doc} is missing from the README's Documentation list"
                ));
            }
            in_dir.insert(doc);
        }
    }
    let known: BTreeSet<String> = listed.union(&in_dir).cloned().collect();

    let mut files = Vec::new();
    collect(&root, &mut files);
    assert!(
        files.len() > 100,
        "found only {} files under {root:?}",
        files.len()
    );
    for path in files {
        let Ok(text) = fs::read_to_string(&path) else {
            continue; // not UTF-8: no citations
        };
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        problems.extend(violations(&rel, &text, &known));
    }
    assert!(
        problems.is_empty(),
        "citations must point at documents under docs/:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_catches_citations_outside_docs() {
    let known: BTreeSet<String> = ["docs/contract.md", "docs/wire-protocols.md"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let ok = |rel: &str, text: &str| {
        let found = violations(rel, text, &known);
        assert!(found.is_empty(), "{text:?}: {found:?}");
    };
    let fails = |rel: &str, text: &str| {
        assert!(!violations(rel, text, &known).is_empty(), "{text:?} passed");
    };

    ok(
        "a.rs",
        "//! Follows (docs/contract.md \u{a7}5.12, \u{a7}5.13).",
    );
    ok(
        "a.rs",
        "//! Provisioning (docs/contract.md \u{a7}5.2,\n//! \u{a7}5.3).",
    );
    ok(
        "a.rs",
        "/// Body (the JSON, `docs/wire-protocols.md`\n/// \u{a7}8.1). More text.",
    );
    ok("a.rs", "/// Removes dot segments (RFC 3986 \u{a7}5.2.4).");
    ok(
        "docs/contract.md",
        "Tokens: \u{a7}4.3; see also [the wire](wire-protocols.md) \u{a7}9.",
    );
    ok("a.rs", "//! No citation here.");

    fails("a.rs", "//! Follows (contract \u{a7}5.12).");
    fails("a.rs", "//! Bare (\u{a7}8.1) without a document.");
    fails("a.rs", "// First line.\n// \u{a7}5.3 continues nothing.");
    fails("a.sh", "# see docs/nowhere.md \u{a7}2");
    fails(
        "a.rs",
        &format!(
            "/// `{}.md` \u{a7}8.1",
            ["aws", "wire", "protocols"].join("-")
        ),
    );
    fails(
        "README.md",
        &format!("See `../{}/design/architecture.md`.", "shared"),
    );
    fails(
        "docs/infra.md",
        &format!("As `{}.md` \u{a7}9.3 says", ["upstream", "infra"].join("-")),
    );
}

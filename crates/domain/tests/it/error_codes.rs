//! Every error code in the catalogue is sent somewhere: a variant of `ErrorCode` must be written as
//! `ErrorCode::<Variant>` in some `.rs` file under `crates/` or `services/` other than `error.rs`.

use std::fs;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn error_rs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/error.rs")
        .canonicalize()
        .unwrap()
}

/// The variant names of `pub enum ErrorCode { ... }`, read from source so the test needs no
/// per-variant list of its own.
fn variants(source: &str) -> Vec<String> {
    let without_comments: String = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .filter(|line| !line.trim_start().starts_with("#["))
        .collect::<Vec<_>>()
        .join("\n");
    let start = without_comments
        .find("pub enum ErrorCode")
        .expect("error.rs declares pub enum ErrorCode");
    let body_start = start + without_comments[start..].find('{').unwrap() + 1;
    let mut depth = 0usize;
    let mut segment = String::new();
    let mut segments = Vec::new();
    for c in without_comments[body_start..].chars() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' if depth > 0 => depth -= 1,
            '}' => break,
            ',' if depth == 0 => {
                segments.push(std::mem::take(&mut segment));
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            segment.push(c);
        }
    }
    segments.push(segment);
    segments
        .iter()
        .map(|s| {
            s.trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && name != "node_modules" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn names_variant(text: &str, variant: &str) -> bool {
    let needle = format!("ErrorCode::{variant}");
    text.match_indices(&needle).any(|(at, _)| {
        !text[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn unused<'a>(variants: &'a [String], texts: &[String]) -> Vec<&'a String> {
    variants
        .iter()
        .filter(|variant| !texts.iter().any(|text| names_variant(text, variant)))
        .collect()
}

#[test]
fn a_variant_nothing_names_is_reported() {
    let variants = vec!["UsedException".to_owned(), "NeverSentException".to_owned()];
    let texts = vec![
        "Err(ErrorCode::UsedException)".to_owned(),
        "ErrorCode::NeverSentExceptionX".to_owned(),
    ];
    assert_eq!(unused(&variants, &texts), [&variants[1]]);
}

#[test]
fn the_variant_parser_reads_unit_and_data_variants() {
    let src = "/// doc\npub enum ErrorCode {\n    /// A.\n    A,\n    #[serde(skip)]\n    B(String), // x, y\n    C { name: String },\n}\nimpl X { fn f() {} }";
    assert_eq!(variants(src), ["A", "B", "C"]);
    assert!(names_variant("x ErrorCode::A)", "A"));
    assert!(!names_variant("x ErrorCode::AB", "A"));
}

#[test]
fn every_error_code_is_used() {
    let error_rs = error_rs();
    let source = fs::read_to_string(&error_rs).unwrap();
    let variants = variants(&source);
    assert!(
        !variants.is_empty(),
        "no variants parsed from {}",
        error_rs.display()
    );
    for variant in &variants {
        assert!(
            source.contains(&format!("Self::{variant}")),
            "ErrorCode::as_str does not cover {variant}"
        );
    }

    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("services"), &mut files);
    let texts: Vec<String> = files
        .iter()
        .filter(|path| path.canonicalize().ok().as_deref() != Some(error_rs.as_path()))
        .filter_map(|path| fs::read_to_string(path).ok())
        .collect();

    let unused = unused(&variants, &texts);
    assert!(
        unused.is_empty(),
        "error codes never sent (add a use or remove them from the catalogue): {unused:?}"
    );
}

//! The documents name what exists (STYLE.md §5, "lints that enforce the
//! rules"): every crate of the workspace has its line in ARCHITECTURE.md,
//! and every file the README, ARCHITECTURE.md and docs/ name in backticks
//! (`crates/…`, `bench/…`, `src/udp.rs`, `tests/patched.rs`) is there,
//! from the repository's root or as the end of some file's path. A file
//! renamed or moved without its documents fails here.

use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file under `dir`, as paths relative to the root (build output,
/// dependencies and version control left out).
fn files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some("target" | ".git" | "node_modules" | "corpus" | "artifacts")
        ) {
            continue;
        }
        if path.is_dir() {
            files(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

/// The spans between backticks that look like a file's path: no space,
/// no pattern, and a file name with an extension the repository uses.
fn named_files(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_end_matches([',', ':', ';', '.', ')']))
        .filter(|s| {
            !s.contains(char::is_whitespace)
                && !s.contains(['*', '{', '[', '<', '$', '…'])
                && !s.contains("NAME")
        })
        // Paths on an installed system, URLs, and the team's reference
        // material beside the repository are not the repository's files.
        .filter(|s| !s.starts_with(['/', '.']) && !s.starts_with("shared/"))
        .filter(|s| {
            let document = [".rs", ".md", ".py", ".sh", ".toml", ".service"]
                .iter()
                .any(|ext| s.ends_with(ext));
            let result = s.starts_with("bench/") && s.ends_with(".json");
            (document || result) && s.contains('/')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_documents_name_files_and_crates_that_exist() {
    let root = root();
    let mut all = Vec::new();
    files(&root, &root, &mut all);
    let architecture =
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !architecture.contains(&format!("crates/{name}")) {
            problems.push(format!("ARCHITECTURE.md has no line for crates/{name}"));
        }
    }
    let mut documents = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    for entry in std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "md") {
            documents.push(entry.path());
        }
    }
    for doc in &documents {
        let text = std::fs::read_to_string(doc).expect("a document");
        for named in named_files(&text) {
            let found = root.join(&named).exists()
                || all
                    .iter()
                    .any(|f| f.ends_with(&named) && f[..f.len() - named.len()].ends_with('/'));
            if !found {
                problems.push(format!(
                    "{} names `{named}`, which is not in the repository",
                    doc.strip_prefix(&root).unwrap_or(doc).display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn named_files_finds_paths_and_leaves_patterns() {
    let text = "see `crates/candor-zone/src/huge.rs`, `bench/results/*.json`, \
                `src/udp.rs` and `cargo test -p x` or `Zone::patch` (`docs/{a,b}.md`), \
                `bench/results/x.json`, `/etc/candor/candor.toml`, `/api/v2/summary.json`, \
                `…/active.json`, `shared/reference/next-wave.md`";
    assert_eq!(
        named_files(text),
        [
            "crates/candor-zone/src/huge.rs",
            "src/udp.rs",
            "bench/results/x.json"
        ]
    );
}

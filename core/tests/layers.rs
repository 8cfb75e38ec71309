//! The engine's modules form a straight line of layers: each module of `core/src` uses only
//! modules of its own layer or of the layers below it. In particular nothing below `db`
//! uses `db`, and `db` uses neither `txn` nor anything else above it; a lower layer that
//! must call back up declares a trait that the upper layer implements (the write path's
//! `WriteCallback`, which the transaction's conflict check implements).
//!
//! The check reads the source: every `crate::<module>` path in code (comments and
//! `#[cfg(test)]` modules are skipped: a doc link or a test helper is not a dependency of
//! the engine) names a top-level module, and its layer must not be above the user's.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first; the crate-root module map in `lib.rs` lists the same.
const LAYERS: &[(&str, &[&str])] = &[
    ("base", &["error", "coding", "key", "filename", "fs"]),
    (
        "storage",
        &[
            "options",
            "batch",
            "wal",
            "memtable",
            "range_del",
            "sstable",
            "manifest",
            "iterator",
            "stats",
        ],
    ),
    ("tables", &["table_cache", "table_writer"]),
    ("steps", &["flush", "compaction", "read"]),
    ("orchestration", &["db"]),
    ("above", &["txn", "cursor", "backup"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read core/src") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src` belongs to (`db/write.rs` -> `db`), or `None` for
/// the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(m) => Some(m.to_owned()),
        None => Some(first),
    }
}

/// The module each item re-exported at the crate root comes from (`Db` -> `db`), read
/// from `lib.rs`'s `pub use module::...` lines, so that `crate::Db` counts as a use of
/// `db`.
fn root_reexports(lib_rs: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut statement = String::new();
    for line in lib_rs.lines() {
        let line = line.trim();
        if statement.is_empty() && !line.starts_with("pub use ") {
            continue;
        }
        statement.push_str(line);
        statement.push(' ');
        if !line.ends_with(';') {
            continue;
        }
        let body = statement["pub use ".len()..].trim().trim_end_matches(';');
        if let Some((module, items)) = body.split_once("::") {
            let items = items.trim().trim_start_matches('{').trim_end_matches('}');
            for item in items.split(',') {
                let item = item.trim().rsplit("::").next().unwrap_or("").trim();
                if !item.is_empty() {
                    out.insert(item.to_owned(), module.trim().to_owned());
                }
            }
        }
        statement.clear();
    }
    out
}

/// The top-level modules `text` uses in code: `crate::x` paths (and `crate::{x, y}`
/// groups) outside comments and outside a trailing `#[cfg(test)]` module; a crate-root
/// re-export counts as its module.
fn uses(text: &str, reexports: &BTreeMap<String, String>) -> Vec<(usize, String)> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        let code = code.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let names: Vec<String> = match after.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|s| ident(s.trim()))
                    .collect(),
                None => vec![ident(after)],
            };
            for name in names.into_iter().filter(|n| !n.is_empty()) {
                let module = reexports.get(&name).cloned().unwrap_or(name);
                out.push((n + 1, module));
            }
            rest = after;
        }
    }
    out
}

#[test]
fn every_module_uses_only_its_layer_and_those_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let reexports = root_reexports(&fs::read_to_string(src.join("lib.rs")).expect("read lib.rs"));
    let mut violations = Vec::new();
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for file in &files {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            violations.push(format!(
                "{}: module `{module}` is in no layer of tests/layers.rs",
                file.display()
            ));
            continue;
        };
        let text = fs::read_to_string(file).expect("read source file");
        for (line, used) in uses(&text, &reexports) {
            if used == module {
                continue;
            }
            *edges.entry((module.clone(), used.clone())).or_default() += 1;
            match layer_of(&used) {
                Some(l) if l <= own => {}
                Some(l) => violations.push(format!(
                    "{}:{line}: `{module}` ({}) uses `{used}` ({}), a layer above it",
                    file.display(),
                    LAYERS[own].0,
                    LAYERS[l].0
                )),
                None => violations.push(format!(
                    "{}:{line}: `{used}` is in no layer of tests/layers.rs",
                    file.display()
                )),
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));

    // The edges the issue that set up these layers was about, stated on their own.
    for below in [
        "compaction",
        "read",
        "flush",
        "table_writer",
        "manifest",
        "memtable",
    ] {
        assert!(
            !edges.contains_key(&(below.to_owned(), "db".to_owned())),
            "`{below}` must not use `db`"
        );
    }
    assert!(!edges.contains_key(&("db".to_owned(), "txn".to_owned())));
    // The check is not vacuous: the layers above do use the ones below.
    assert!(edges.contains_key(&("txn".to_owned(), "db".to_owned())));
    assert!(edges.contains_key(&("db".to_owned(), "read".to_owned())));
}

#[test]
fn the_scanner_sees_code_and_skips_comments_and_tests() {
    let reexports =
        root_reexports("pub use db::Db;\npub use options::{\n    Options, SyncMode,\n};\n");
    assert_eq!(
        reexports.get("SyncMode").map(String::as_str),
        Some("options")
    );
    let text = "use crate::db::Db; // crate::txn in a comment\n\
                /// a doc link to [`crate::txn`]\n\
                fn f() { crate::read::x(); let _ = crate::Db::open; }\n\
                use crate::{key, Options};\n\
                #[cfg(test)]\nmod tests { use crate::txn; }\n";
    let found: Vec<String> = uses(text, &reexports).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["db", "read", "db", "key", "options"]);
}

//! `include/kevo.h` is generated from this crate by cbindgen and committed. This test
//! regenerates it and fails if the committed file differs (the header is stale); with
//! `KEVO_BLESS=1` it rewrites the file instead (`make header`).

use std::path::Path;

#[test]
fn header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml parses");
    let bindings = cbindgen::generate_with_config(crate_dir, config).expect("cbindgen runs");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");

    let path = crate_dir.join("../include/kevo.h");
    if std::env::var_os("KEVO_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write include/kevo.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/kevo.h is stale: it differs from what cbindgen generates from ffi/src. \
         Run `make header` (KEVO_BLESS=1 cargo test -p kevo-ffi --test header) and commit it."
    );
}

#[test]
fn soname_matches_abi_version() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    let build = std::fs::read_to_string(crate_dir.join("build.rs")).unwrap();
    let abi = lib
        .lines()
        .find_map(|l| l.strip_prefix("pub const KEVO_ABI_VERSION: u32 = "))
        .and_then(|rest| rest.strip_suffix(';'))
        .expect("KEVO_ABI_VERSION in src/lib.rs");
    assert!(
        build.contains(&format!("-Wl,-soname,libkevo.so.{abi}\"")),
        "build.rs must give libkevo.so the SONAME libkevo.so.{abi}"
    );
}

/// The header documents every function (its comment is copied from the export's doc comment)
/// and says for each which threads may call it.
#[test]
fn every_function_is_documented_with_its_thread_safety() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(crate_dir.join("../include/kevo.h")).unwrap();
    let mut comment = String::new();
    let mut functions = 0;
    let mut undocumented = Vec::new();
    for line in header.lines() {
        if let Some(text) = line.strip_prefix("//") {
            comment.push_str(text);
            comment.push('\n');
            continue;
        }
        // A declaration starts right after its comment, at column 0: `type kevo_name(...`.
        let at_column_0 = line.starts_with(|c: char| c.is_ascii_alphabetic());
        let name = match line.split_once('(') {
            Some((head, _)) if at_column_0 => head.split([' ', '*']).next_back(),
            _ => None,
        };
        if let Some(name) = name.filter(|n| n.starts_with("kevo_")) {
            functions += 1;
            if !comment.contains("Thread-safety") {
                undocumented.push(name.to_owned());
            }
        }
        comment.clear();
    }
    assert!(functions > 50, "found only {functions} functions in kevo.h");
    assert!(
        undocumented.is_empty(),
        "functions whose doc comment lacks a `Thread-safety:` line: {undocumented:?}"
    );
}

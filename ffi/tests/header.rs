//! `include/kevo.h` is generated from this crate by cbindgen and committed. This test
//! regenerates it and fails if the committed file differs (the header is stale); with
//! `KEVO_BLESS=1` it rewrites the file instead (`make header`).
//!
//! The doc comments of ffi/src name the engine's limits and defaults as placeholders
//! (`{{range:memtable_size}}`, `{{default:block_size}}`, `{{max_key_size}}`, ...) instead of
//! restating numbers that live in the engine (crate `kevo`, `kevo::options::fields`);
//! [`fill`] writes the engine's values into the generated text, so the header's numbers are
//! the engine's and go stale (failing this test) when the engine's change.

use std::path::Path;
use std::time::Duration;

use kevo::options::fields::{self, Bounds, IntField, Unit};
use kevo::{Options, RetryPolicy, MAX_KEY_SIZE, MAX_VALUE_SIZE};

/// The engine's text for placeholder `key` (what is between `{{` and `}}`).
fn value_of(key: &str) -> Option<String> {
    let bytes = Bounds {
        min: 0,
        max: u64::MAX,
        unit: Unit::Bytes,
    };
    let millis = |d: Duration| format!("{} ms", d.as_millis());
    let retry = RetryPolicy::default();
    Some(match key.split_once(':') {
        Some(("range", "zstd_level")) => fields::ZSTD_LEVEL.describe(),
        Some(("range", "sync_batched_bytes")) => fields::SYNC_BATCHED_BYTES.describe(),
        Some(("range", name)) => IntField::named(name)?.bounds.describe(),
        Some(("default", name)) => {
            let f = IntField::named(name)?;
            f.bounds.format(f.get(&Options::default()))
        }
        Some(("retry", "max_attempts")) => retry.max_attempts().to_string(),
        Some(("retry", "initial_backoff")) => millis(retry.initial_backoff()),
        Some(("retry", "max_backoff")) => millis(retry.max_backoff()),
        None if key == "max_key_size" => MAX_KEY_SIZE.to_string(),
        None if key == "max_value_size" => bytes.format(MAX_VALUE_SIZE as u64),
        _ => return None,
    })
}

/// `text` with every `{{key}}` replaced by [`value_of`]`(key)`.
///
/// Panics on an unknown key or an unclosed `{{`, naming it: a typo must not reach kevo.h.
fn fill_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed {{{{ near {:?}", &after[..40.min(after.len())]));
        let key = &after[..end];
        let value =
            value_of(key).unwrap_or_else(|| panic!("unknown placeholder {{{{{key}}}}} in ffi/src"));
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Widest line a re-wrapped comment paragraph gets, the width ffi/src's comments keep to.
const WIDTH: usize = 92;

/// The generated header with its placeholders filled. A `//` comment paragraph that held a
/// placeholder is re-wrapped, since the values are not as long as the placeholders.
fn fill(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let lines: Vec<&str> = header.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, _)) = comment_text(lines[i]) else {
            out.push_str(&fill_inline(lines[i]));
            out.push('\n');
            i += 1;
            continue;
        };
        let mut j = i;
        while j < lines.len() && comment_text(lines[j]).is_some_and(|(ind, _)| ind == indent) {
            j += 1;
        }
        let paragraph = &lines[i..j];
        if paragraph.iter().any(|l| l.contains("{{")) {
            let words: Vec<String> = paragraph
                .iter()
                .map(|l| fill_inline(comment_text(l).unwrap().1))
                .collect();
            let prefix = format!("{indent}// ");
            let mut line = prefix.clone();
            for word in words.join(" ").split_whitespace() {
                if line.len() > prefix.len() && line.len() + 1 + word.len() > WIDTH {
                    out.push_str(&line);
                    out.push('\n');
                    line.clone_from(&prefix);
                }
                if line.len() > prefix.len() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            out.push_str(&line);
            out.push('\n');
        } else {
            for l in paragraph {
                out.push_str(l);
                out.push('\n');
            }
        }
        i = j;
    }
    out
}

/// `(indent, text)` of a `//` comment line with text (a bare `//` separates paragraphs).
fn comment_text(line: &str) -> Option<(&str, &str)> {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let text = trimmed.strip_prefix("// ")?;
    (!text.trim().is_empty()).then_some((indent, text))
}

#[test]
fn header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml parses");
    let bindings = cbindgen::generate_with_config(crate_dir, config).expect("cbindgen runs");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = fill(&String::from_utf8(generated).expect("the header is UTF-8"));

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

#[test]
fn placeholders_are_the_engines_values() {
    assert_eq!(
        fill("// a {{range:memtable_size}},\n// default {{default:memtable_size}}; {{max_key_size}}\n"),
        "// a between 4096 bytes and 16 GiB, default 16 MiB; 65535\n"
    );
    assert_eq!(
        fill_inline("{{max_value_size}} / {{range:zstd_level}}"),
        "512 MiB / between 1 and 22"
    );
    assert!(std::panic::catch_unwind(|| fill_inline("{{range:no_such_option}}")).is_err());
}

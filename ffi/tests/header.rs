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

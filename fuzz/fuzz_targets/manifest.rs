//! Manifest decoding from arbitrary bytes: one version edit decoded directly, and a whole
//! manifest file read and replayed record by record. Edits or `Corruption`, never a panic.
#![no_main]

use std::path::Path;

use kevo::fs::{FileSystem, MemFileSystem};
use kevo::manifest::{read_manifest, VersionEdit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(edit) = VersionEdit::decode(data, "fuzz", 0) {
        // What decodes must encode and decode to the same edit.
        let again = VersionEdit::decode(&edit.encode(), "fuzz", 0).expect("re-decode");
        assert_eq!(edit, again);
    }
    let fs = MemFileSystem::new();
    fs.create_dir_all(Path::new("/db")).unwrap();
    let path = Path::new("/db/MANIFEST-000001");
    let mut f = fs.create(path).unwrap();
    f.append(data).unwrap();
    let _ = read_manifest(&fs, path);
});

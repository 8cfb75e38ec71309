//! Writes a seed corpus for the fuzz targets: real files of a small database (SSTables with
//! each compression and range tombstones, a WAL, a manifest) and the blocks of a table, so the fuzzer starts from
//! well-formed inputs and mutates them. Usage:
//! `cargo run --release -p kevo --example fuzz_seeds -- CORPUS_DIR` (creates
//! `CORPUS_DIR/<target>/`); `make fuzz` runs it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kevo::filename::{parse_file_name, FileKind};
use kevo::fs::{FileSystem, MemFileSystem};
use kevo::sstable::Table;
use kevo::{Compression, Db, Options};

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: fuzz_seeds CORPUS_DIR"),
    );
    for t in ["block", "table", "wal", "manifest"] {
        std::fs::create_dir_all(out.join(t)).unwrap();
    }
    let mut n = 0;
    for (ci, compression) in [
        Compression::None,
        Compression::Lz4,
        Compression::Zstd { level: 1 },
    ]
    .into_iter()
    .enumerate()
    {
        let fs = MemFileSystem::new();
        let dir = Path::new("/db");
        let db = Db::open(
            dir,
            Options::default()
                .fs(Arc::new(fs.clone()))
                .compression(compression)
                .block_size(512)
                .memtable_size(64 << 10),
        )
        .unwrap();
        for i in 0..200u32 {
            let v = format!("value-{i}-{}", "abc".repeat((i % 20) as usize));
            db.put(format!("key{i:05}").as_bytes(), v.as_bytes())
                .unwrap();
            if i % 17 == 0 {
                db.delete(format!("key{:05}", i / 2).as_bytes()).unwrap();
            }
        }
        // Range tombstones: the tables get a range-deletion block (format 2), the manifest
        // the count of each file's (tag 12), the WAL a range-deletion record.
        db.delete_range(b"key00050", b"key00060").unwrap();
        db.delete_range(b"key00055", b"key00070").unwrap();
        db.flush().unwrap();
        for i in 0..20u32 {
            db.put(format!("wal{i}").as_bytes(), b"in the log").unwrap();
        }
        db.delete_range(b"wal1", b"wal3").unwrap();
        db.close().unwrap();
        for name in fs.list(dir).unwrap() {
            let path = dir.join(&name);
            let bytes = fs.read_all(&path).unwrap();
            let target = match parse_file_name(&name) {
                Some(FileKind::Table(_)) => {
                    let table = Table::open(fs.open(&path).unwrap(), &name).unwrap();
                    for (bi, (_, h)) in table.index_entries().unwrap().iter().enumerate().take(4) {
                        let block = table.read_block(*h).unwrap();
                        std::fs::write(
                            out.join("block").join(format!("c{ci}-b{bi}")),
                            block.contents(),
                        )
                        .unwrap();
                    }
                    "table"
                }
                Some(FileKind::Wal(_)) => "wal",
                Some(FileKind::Manifest(_)) => "manifest",
                _ => continue,
            };
            std::fs::write(out.join(target).join(format!("c{ci}-{name}")), bytes).unwrap();
            n += 1;
        }
    }
    println!("fuzz_seeds: {n} files under {}", out.display());
}

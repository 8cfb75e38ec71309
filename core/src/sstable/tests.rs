//! Whole-table tests: roundtrips through [`MemFileSystem`], the one-read lookup, footer
//! errors, and corruption of every byte.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;

use super::format::{FOOTER_LEN, TABLE_MAGIC};
use super::*;
use crate::error::{Error, Result};
use crate::fs::{FaultKind, FileSystem, MemFileSystem, RandomAccessFile};
use crate::iterator::InternalIterator;
use crate::key::{
    compare_internal_keys, make_internal_key, parse_internal_key, seek_key, user_key, ValueKind,
    MAX_SEQUENCE_NUMBER,
};
use crate::options::Compression;

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A file system with the root directory, where the tests put their tables.
fn new_fs() -> MemFileSystem {
    let fs = MemFileSystem::new();
    fs.create_dir_all(Path::new("/")).unwrap();
    fs
}

fn uk(i: usize) -> Vec<u8> {
    format!("user-key-{:08}", i * 3).into_bytes()
}

/// A user key between `uk(i)` and `uk(i + 1)`, never written.
fn absent_uk(i: usize) -> Vec<u8> {
    format!("user-key-{:08}", i * 3 + 1).into_bytes()
}

/// `n` user keys in order. Every 10th has two versions (seq 9, then seq 5); every 13th
/// newest version is a deletion. `hot` gets 40 versions (seqs 1000..1040) with long values,
/// so they span several blocks.
fn entries(n: usize) -> Entries {
    let mut out = Vec::new();
    for i in 0..n {
        let key = uk(i);
        let value = format!("value-{i}-").repeat(1 + i % 7).into_bytes();
        let kind = if i % 13 == 0 {
            ValueKind::Delete
        } else {
            ValueKind::Put
        };
        let v = if kind == ValueKind::Delete {
            Vec::new()
        } else {
            value.clone()
        };
        if i % 10 == 0 {
            out.push((make_internal_key(&key, 9, kind), v));
            out.push((make_internal_key(&key, 5, ValueKind::Put), b"old".to_vec()));
        } else {
            out.push((make_internal_key(&key, 100 + i as u64, kind), v));
        }
        if i == n / 2 {
            let hot = format!("user-key-{:08}-hot", i * 3).into_bytes();
            for s in (1000..1040).rev() {
                let v = format!("hot-{s}-").repeat(8).into_bytes();
                out.push((make_internal_key(&hot, s, ValueKind::Put), v));
            }
        }
    }
    out
}

fn build(fs: &MemFileSystem, path: &str, opts: TableOptions, entries: &Entries) -> TableProperties {
    let file = fs.create(Path::new(path)).unwrap();
    let mut b = TableBuilder::new(opts, file, path.to_owned());
    for (k, v) in entries {
        b.add(k, v).unwrap();
    }
    assert_eq!(b.num_entries(), entries.len() as u64);
    b.finish().unwrap()
}

fn open(fs: &MemFileSystem, path: &str) -> Result<Arc<Table>> {
    Ok(Arc::new(Table::open(fs.open(Path::new(path))?, path)?))
}

fn collect_forward(t: &Arc<Table>) -> Result<Entries> {
    let mut it = t.iter();
    let mut out = Vec::new();
    it.seek_to_first();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    it.status().map(|()| out)
}

fn collect_backward(t: &Arc<Table>) -> Result<Entries> {
    let mut it = t.iter();
    let mut out = Vec::new();
    it.seek_to_last();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.prev();
    }
    out.reverse();
    it.status().map(|()| out)
}

fn opts(
    block_size: usize,
    block_restart_interval: usize,
    bloom_bits_per_key: usize,
) -> TableOptions {
    TableOptions {
        block_size,
        block_restart_interval,
        bloom_bits_per_key,
        compression: Compression::None,
    }
}

/// `o` with data blocks compressed by `compression`.
fn with_compression(o: TableOptions, compression: Compression) -> TableOptions {
    TableOptions { compression, ..o }
}

/// The compressions the whole-table tests run with.
const COMPRESSIONS: [Compression; 3] = [
    Compression::None,
    Compression::Lz4,
    Compression::Zstd { level: 3 },
];

/// What `get(seek_key(uk, seq))` should return: the newest entry of `uk` with seq <= `seq`.
fn expected_get(input: &Entries, user: &[u8], seq: u64) -> Option<(Vec<u8>, Vec<u8>)> {
    input
        .iter()
        .find(|(k, _)| {
            let p = parse_internal_key(k).unwrap();
            p.user_key == user && p.seq <= seq
        })
        .cloned()
}

#[test]
fn roundtrip_iterate_get_and_properties() {
    let fs = new_fs();
    let input = entries(3000);
    let cases = [
        opts(256, 1, 10),
        opts(1024, 16, 10),
        opts(512, 4, 0),
        with_compression(opts(1024, 16, 10), Compression::Lz4),
        with_compression(opts(256, 4, 0), Compression::Lz4),
        with_compression(opts(4096, 16, 10), Compression::Zstd { level: 3 }),
        with_compression(opts(512, 1, 10), Compression::Zstd { level: 1 }),
    ];
    for (n, o) in cases.into_iter().enumerate() {
        let path = format!("/t{n}.sst");
        let built = build(&fs, &path, o, &input);
        let table = open(&fs, &path).unwrap();
        assert_eq!(
            table.properties(),
            &built,
            "opened properties equal built ones"
        );

        // Properties.
        let p = table.properties();
        assert_eq!(p.num_entries, input.len() as u64);
        let deletions = input
            .iter()
            .filter(|(k, _)| parse_internal_key(k).unwrap().kind == ValueKind::Delete)
            .count();
        assert_eq!(p.num_deletions, deletions as u64);
        assert_eq!(p.smallest_key, input[0].0);
        assert_eq!(p.largest_key, input.last().unwrap().0);
        let seqs = input
            .iter()
            .map(|(k, _)| parse_internal_key(k).unwrap().seq);
        let (min, max) = (seqs.clone().min().unwrap(), seqs.max().unwrap());
        assert_eq!((p.smallest_seq, p.largest_seq), (min, max));
        assert_eq!((min, max), (5, 3099));
        let raw_keys: usize = input.iter().map(|(k, _)| k.len()).sum();
        let raw_values: usize = input.iter().map(|(_, v)| v.len()).sum();
        assert_eq!(p.raw_key_bytes, raw_keys as u64);
        assert_eq!(p.raw_value_bytes, raw_values as u64);
        assert_eq!(
            p.file_size,
            fs.read_all(Path::new(&path)).unwrap().len() as u64
        );
        assert_eq!(p.format_version, FORMAT_VERSION);
        let index = table.index_entries().unwrap();
        assert!(index.len() > 20, "only {} blocks", index.len());
        assert_eq!(p.num_data_blocks, index.len() as u64);
        // The blocks and the footer make up the whole file.
        let props_bytes = table.footer().properties_handle.size + 9;
        assert_eq!(
            p.data_bytes + p.filter_bytes + props_bytes + p.index_bytes + FOOTER_LEN as u64,
            p.file_size
        );
        let f = table.footer();
        assert_eq!(p.index_bytes, f.index_handle.size + 9);
        // data_bytes counts the blocks as stored; with compression most are compressed
        // (the values repeat) and the meta blocks never are.
        let stored: u64 = index.iter().map(|(_, h)| h.size + 9).sum();
        assert_eq!(p.data_bytes, stored);
        let compressed = index
            .iter()
            .filter(|(_, h)| table.block_compression(*h).unwrap() != 0)
            .count();
        match o.compression {
            Compression::None => assert_eq!(compressed, 0),
            _ => {
                assert!(
                    compressed > index.len() * 3 / 4,
                    "{compressed} of {}",
                    index.len()
                );
                assert!(p.data_bytes < (p.raw_key_bytes + p.raw_value_bytes) * 3 / 4);
            }
        }
        for h in [f.index_handle, f.filter_handle, f.properties_handle] {
            assert_eq!(table.block_compression(h).unwrap(), 0);
        }
        // Each index key is >= its block's last key and < the next block's first key.
        let blocks: Vec<Entries> = index
            .iter()
            .map(|(_, h)| {
                let block = Arc::new(table.read_block(*h).unwrap());
                let mut it = block.iter();
                let mut out = Vec::new();
                it.seek_to_first();
                while it.valid() {
                    out.push((it.key().to_vec(), it.value().to_vec()));
                    it.next();
                }
                out
            })
            .collect();
        assert_eq!(blocks.concat(), input);
        for (i, (sep, _)) in index.iter().enumerate() {
            let last = &blocks[i].last().unwrap().0;
            assert!(compare_internal_keys(last, sep).is_le(), "block {i}");
            assert!(sep.len() <= last.len());
            if let Some(next) = blocks.get(i + 1) {
                assert!(compare_internal_keys(sep, &next[0].0).is_lt(), "block {i}");
            }
        }

        // Iteration both ways.
        assert_eq!(collect_forward(&table).unwrap(), input);
        assert_eq!(collect_backward(&table).unwrap(), input);

        // Every entry, looked up at its own sequence and at the newest.
        for (k, v) in &input {
            let p = parse_internal_key(k).unwrap();
            let got = table.get(&seek_key(p.user_key, p.seq)).unwrap();
            assert_eq!(got.as_ref(), Some(&(k.clone(), v.clone())));
            let newest = table
                .get(&seek_key(p.user_key, MAX_SEQUENCE_NUMBER))
                .unwrap();
            assert_eq!(
                newest,
                expected_get(&input, p.user_key, MAX_SEQUENCE_NUMBER)
            );
        }
        // Absent keys, before the first and after the last key.
        for i in 0..3000 {
            assert_eq!(
                table
                    .get(&seek_key(&absent_uk(i), MAX_SEQUENCE_NUMBER))
                    .unwrap(),
                None
            );
        }
        assert_eq!(
            table.get(&seek_key(b"a", MAX_SEQUENCE_NUMBER)).unwrap(),
            None
        );
        assert_eq!(
            table.get(&seek_key(b"zzz", MAX_SEQUENCE_NUMBER)).unwrap(),
            None
        );
        // Older sequences: written at 9 and 5, read at 7 gets 5, at 4 gets nothing.
        let k0 = uk(10);
        let (key, value) = table.get(&seek_key(&k0, 7)).unwrap().unwrap();
        assert_eq!(parse_internal_key(&key).unwrap().seq, 5);
        assert_eq!(value, b"old");
        assert_eq!(table.get(&seek_key(&k0, 4)).unwrap(), None);
        // The hot key's versions span blocks; every snapshot finds the right one.
        let hot = format!("user-key-{:08}-hot", 1500 * 3).into_bytes();
        for s in 990..1050 {
            assert_eq!(
                table.get(&seek_key(&hot, s)).unwrap(),
                expected_get(&input, &hot, s),
                "seq {s}"
            );
        }

        // Seeks: to every key, and between keys.
        let mut it = table.iter();
        for (i, (k, _)) in input.iter().enumerate() {
            it.seek(k);
            assert_eq!(it.key(), &k[..]);
            if i > 0 {
                it.prev();
                assert_eq!(it.key(), &input[i - 1].0[..]);
                it.next();
                assert_eq!(it.key(), &k[..]);
            }
        }
        for i in 0..3000 {
            it.seek(&seek_key(&absent_uk(i), MAX_SEQUENCE_NUMBER));
            let expected = input
                .iter()
                .find(|(k, _)| user_key(k) > &absent_uk(i)[..])
                .map(|(k, _)| &k[..]);
            assert_eq!(it.valid().then(|| it.key()), expected);
        }
        it.seek(&seek_key(b"zzz", 0));
        assert!(!it.valid());
        it.status().unwrap();

        // The filter.
        let (filter_bytes, k) = table.filter_info();
        if o.bloom_bits_per_key == 0 {
            assert_eq!((filter_bytes, k), (0, 0));
            assert!(table.may_contain(b"anything"));
        } else {
            assert_eq!(k, 7);
            assert!(filter_bytes >= 3000 * 10 / 8);
            let fp = (0..3000)
                .filter(|&i| table.may_contain(&absent_uk(i)))
                .count();
            assert!(fp < 60, "{fp} false positives");
        }
    }
}

#[test]
fn empty_table() {
    let fs = new_fs();
    let p = build(&fs, "/e.sst", TableOptions::default(), &Vec::new());
    assert_eq!(p.num_entries, 0);
    assert_eq!(p.num_data_blocks, 0);
    let t = open(&fs, "/e.sst").unwrap();
    assert_eq!(t.properties(), &p);
    assert!(collect_forward(&t).unwrap().is_empty());
    assert!(collect_backward(&t).unwrap().is_empty());
    assert_eq!(t.get(&seek_key(b"k", 1)).unwrap(), None);
    assert!(t.index_entries().unwrap().is_empty());
}

#[test]
fn options_and_builder_errors() {
    assert_eq!(
        TableOptions::from_options(&crate::Options::default()),
        TableOptions::default()
    );
    assert_eq!(
        TableOptions::default(),
        with_compression(opts(4096, 16, 10), Compression::Lz4)
    );

    let fs = new_fs();
    let file = fs.create(Path::new("/b.sst")).unwrap();
    let mut b = TableBuilder::new(TableOptions::default(), file, "/b.sst".into());
    let k5 = make_internal_key(b"k", 5, ValueKind::Put);
    b.add(&k5, b"v").unwrap();
    for bad in [
        make_internal_key(b"k", 5, ValueKind::Put), // equal
        make_internal_key(b"k", 6, ValueKind::Put), // newer sorts first: out of order
        make_internal_key(b"a", 1, ValueKind::Put),
        b"short".to_vec(),
    ] {
        assert!(matches!(b.add(&bad, b"v"), Err(Error::InvalidArgument(_))));
    }
    // The builder is still usable.
    b.add(&make_internal_key(b"l", 1, ValueKind::Put), b"w")
        .unwrap();
    assert!(b.estimated_file_size() > 0);
    let p = b.finish().unwrap();
    assert_eq!(p.num_entries, 2);
    let t = open(&fs, "/b.sst").unwrap();
    assert_eq!(collect_forward(&t).unwrap().len(), 2);
}

#[test]
fn write_errors_are_sticky() {
    let fs = new_fs();
    let file = fs.create(Path::new("/f.sst")).unwrap();
    let mut b = TableBuilder::new(opts(256, 16, 10), file, "/f.sst".into());
    fs.fail_at(0, FaultKind::NoSpace, false);
    let input = entries(100);
    let err = input.iter().find_map(|(k, v)| b.add(k, v).err()).unwrap();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    // The fault was one-shot, but the builder stays failed.
    assert!(matches!(b.add(b"zzzzzzzzzzzz", b""), Err(Error::Io { .. })));
    assert!(matches!(b.finish(), Err(Error::Io { .. })));
}

#[test]
fn estimated_size_tracks_output() {
    let fs = new_fs();
    let file = fs.create(Path::new("/s.sst")).unwrap();
    let mut b = TableBuilder::new(opts(1024, 16, 10), file, "/s.sst".into());
    let mut last = 0;
    for (k, v) in entries(2000) {
        b.add(&k, &v).unwrap();
        let est = b.estimated_file_size();
        assert!(est >= last);
        last = est;
    }
    let p = b.finish().unwrap();
    assert!(last <= p.file_size && p.file_size - last < p.file_size / 5);
}

/// A file wrapper counting reads, to check the one-read lookup.
struct CountingFile {
    inner: Arc<dyn RandomAccessFile>,
    reads: AtomicUsize,
}

impl RandomAccessFile for CountingFile {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.read_exact_at(offset, buf)
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

#[test]
fn get_reads_one_block_and_filter_saves_reads() {
    let fs = new_fs();
    let input = entries(2000);
    build(&fs, "/c.sst", opts(512, 16, 10), &input);
    let file = Arc::new(CountingFile {
        inner: fs.open(Path::new("/c.sst")).unwrap(),
        reads: AtomicUsize::new(0),
    });
    let table = Table::open(file.clone(), "/c.sst").unwrap();
    let reads = || file.reads.swap(0, Ordering::Relaxed);
    reads();
    for (k, _) in &input {
        assert!(table
            .get(&seek_key(user_key(k), MAX_SEQUENCE_NUMBER))
            .unwrap()
            .is_some());
        assert_eq!(reads(), 1);
    }
    let mut total = 0;
    for i in 0..2000 {
        assert!(table
            .get(&seek_key(&absent_uk(i), MAX_SEQUENCE_NUMBER))
            .unwrap()
            .is_none());
        total += reads();
    }
    assert!(total < 40, "{total} block reads for 2000 absent keys");
    assert!(matches!(
        table.get(b"short"),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn table_and_iterator_are_send_sync_static() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn send_static<T: Send + 'static>() {}
    send_sync::<Table>();
    send_sync::<Block>();
    send_static::<TableIterator>();
    send_static::<BlockIter>();
}

/// An index from another writer may use separators that share the next block's user key;
/// the format allows any key `>=` the block's keys and `<` the next block's. Rewrites the
/// index of a table that way and checks every read still works (`get` must then look at the
/// next block when the first one has nothing for the key).
#[test]
fn reads_work_with_separators_sharing_the_next_user_key() {
    use crate::key::{append_internal_key, KIND_FOR_SEEK};
    let fs = new_fs();
    let input = entries(400);
    build(&fs, "/sep.sst", opts(256, 4, 10), &input);
    let bytes = fs.read_all(Path::new("/sep.sst")).unwrap();
    let table = open(&fs, "/sep.sst").unwrap();
    let index = table.index_entries().unwrap();
    let first_keys: Vec<Vec<u8>> = index
        .iter()
        .map(|(_, h)| {
            let block = Arc::new(table.read_block(*h).unwrap());
            let mut it = block.iter();
            it.seek_to_first();
            it.key().to_vec()
        })
        .collect();

    let mut b = block_builder::BlockBuilder::new(1);
    let mut rewritten = 0;
    for (i, (sep, h)) in index.iter().enumerate() {
        let mut key = sep.clone();
        if let Some(next) = first_keys.get(i + 1) {
            if user_key(next) != user_key(sep) {
                key.clear();
                append_internal_key(&mut key, user_key(next), MAX_SEQUENCE_NUMBER, KIND_FOR_SEEK);
                rewritten += 1;
            }
        }
        let mut v = Vec::new();
        h.encode_varint_to(&mut v);
        b.add(&key, &v);
    }
    assert!(rewritten > 10);
    let footer = *table.footer();
    let contents = b.finish().to_vec();
    let mut out = bytes[..footer.index_handle.offset as usize].to_vec();
    out.extend_from_slice(&contents);
    out.extend_from_slice(&format::block_trailer(&contents, 0));
    let new_footer = Footer {
        index_handle: BlockHandle::new(footer.index_handle.offset, contents.len() as u64),
        ..footer
    };
    out.extend_from_slice(&new_footer.encode());

    let table = open_bytes(out).unwrap();
    assert_eq!(collect_forward(&table).unwrap(), input);
    assert_eq!(collect_backward(&table).unwrap(), input);
    for (k, v) in &input {
        let p = parse_internal_key(k).unwrap();
        let got = table.get(&seek_key(p.user_key, p.seq)).unwrap();
        assert_eq!(got.as_ref(), Some(&(k.clone(), v.clone())));
        let newest = table
            .get(&seek_key(p.user_key, MAX_SEQUENCE_NUMBER))
            .unwrap();
        assert_eq!(
            newest,
            expected_get(&input, p.user_key, MAX_SEQUENCE_NUMBER)
        );
    }
    for i in 0..400 {
        assert_eq!(
            table
                .get(&seek_key(&absent_uk(i), MAX_SEQUENCE_NUMBER))
                .unwrap(),
            None
        );
    }
}

// ---- Footer errors ----------------------------------------------------------------------

/// About 200 small entries (short values keep the every-byte tests quick), with deletions
/// and a few user keys at two sequence numbers, in ~15 blocks of 256 bytes.
fn small_entries() -> Entries {
    let mut out = Vec::new();
    for i in 0..185 {
        let key = format!("key{i:04}").into_bytes();
        let (kind, value) = if i % 13 == 0 {
            (ValueKind::Delete, Vec::new())
        } else {
            (ValueKind::Put, format!("v{i}").into_bytes())
        };
        if i % 12 == 0 {
            out.push((make_internal_key(&key, 9, kind), value));
            out.push((make_internal_key(&key, 5, ValueKind::Put), b"old".to_vec()));
        } else {
            out.push((make_internal_key(&key, 10 + i, kind), value));
        }
    }
    out
}

fn small_table_bytes() -> (Entries, Vec<u8>) {
    small_table_bytes_with(Compression::None)
}

fn small_table_bytes_with(compression: Compression) -> (Entries, Vec<u8>) {
    let fs = new_fs();
    let input = small_entries();
    let o = with_compression(opts(256, 4, 10), compression);
    build(&fs, "/small.sst", o, &input);
    (input, fs.read_all(Path::new("/small.sst")).unwrap())
}

/// An in-memory `RandomAccessFile` over a byte vector, for opening mutated copies.
struct VecFile(Vec<u8>);

impl RandomAccessFile for VecFile {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let start = usize::try_from(offset).unwrap();
        let src = self
            .0
            .get(start..start + buf.len())
            .ok_or_else(|| Error::io("read", std::io::ErrorKind::UnexpectedEof.into()))?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

fn open_bytes(bytes: Vec<u8>) -> Result<Arc<Table>> {
    Ok(Arc::new(Table::open(Arc::new(VecFile(bytes)), "mut.sst")?))
}

/// The corruption's offset and detail; panics on any other outcome.
fn corruption_of(r: Result<Arc<Table>>) -> (u64, String) {
    match r {
        Err(Error::Corruption {
            file,
            offset,
            detail,
        }) => {
            assert_eq!(file, "mut.sst");
            (offset, detail)
        }
        Err(e) => panic!("expected corruption, got {e}"),
        Ok(_) => panic!("expected corruption, table opened"),
    }
}

/// Rewrites the footer of `bytes` with `edit` applied and a recomputed checksum.
fn with_footer(bytes: &[u8], edit: impl FnOnce(&mut Footer)) -> Vec<u8> {
    let n = bytes.len();
    let (file_len, footer_at) = (n as u64, n - FOOTER_LEN);
    let mut f = Footer::decode(&bytes[footer_at..], file_len, "x").unwrap();
    edit(&mut f);
    let mut out = bytes[..footer_at].to_vec();
    out.extend_from_slice(&f.encode());
    out
}

#[test]
fn footer_errors() {
    let (_, good) = small_table_bytes();
    assert!(open_bytes(good.clone()).is_ok());
    let n = good.len() as u64;
    let footer_at = n - FOOTER_LEN as u64;

    let (off, d) = corruption_of(open_bytes(good[..FOOTER_LEN - 1].to_vec()));
    assert_eq!(off, 0);
    assert!(d.contains("too short"), "{d}");

    let mut b = good.clone();
    let last = b.len() - 1;
    b[last] ^= 0x20;
    let (off, d) = corruption_of(open_bytes(b));
    assert_eq!(off, n - 8);
    assert!(d.contains("magic"), "{d}");
    assert_eq!(TABLE_MAGIC.to_le_bytes(), *b"KEVO_SST");

    let (off, d) = corruption_of(open_bytes(with_footer(&good, |f| f.format_version = 3)));
    assert_eq!(off, footer_at + 48);
    assert!(d.contains("version 3"), "{d}");

    let mut b = good.clone();
    b[footer_at as usize + 3] ^= 0x01;
    let (off, d) = corruption_of(open_bytes(b));
    assert_eq!(off, footer_at + 52);
    assert!(d.contains("footer checksum"), "{d}");

    let (off, d) = corruption_of(open_bytes(with_footer(&good, |f| {
        f.index_handle.size += 1000
    })));
    assert_eq!(off, footer_at);
    assert!(d.contains("past the footer"), "{d}");

    // Inside the file but not the back-to-back layout.
    let (_, d) = corruption_of(open_bytes(with_footer(&good, |f| {
        f.filter_handle.offset -= 1
    })));
    assert!(d.contains("back to back"), "{d}");

    // A bad block checksum names the block's offset.
    let mut b = good.clone();
    let index_at = Footer::decode(&good[footer_at as usize..], n, "x")
        .unwrap()
        .index_handle
        .offset;
    b[index_at as usize] ^= 0x04;
    let (off, d) = corruption_of(open_bytes(b));
    assert_eq!(off, index_at);
    assert!(d.contains("checksum"), "{d}");
}

#[test]
fn unknown_compression_type_is_corruption() {
    let (_, good) = small_table_bytes();
    let n = good.len();
    let f = Footer::decode(&good[n - FOOTER_LEN..], n as u64, "x").unwrap();
    // Rewrite the first data block's trailer with type 3 and a matching checksum.
    let table = open_bytes(good.clone()).unwrap();
    let (_, h) = table.index_entries().unwrap()[0];
    let size = h.size as usize;
    let mut b = good.clone();
    let trailer = format::block_trailer(&good[..size], 3);
    b[size..size + 9].copy_from_slice(&trailer);
    let table = open_bytes(b).unwrap();
    let e = table.read_block(h).unwrap_err();
    assert!(e.to_string().contains("compression type 3"), "{e}");
    assert!(matches!(e, Error::Corruption { offset, .. } if offset == h.offset + h.size));
    let e = collect_forward(&table).unwrap_err();
    assert!(e.is_corruption());
    // Raw contents labelled lz4 or zstd (checksum matching): they do not decompress.
    for kind in [format::COMPRESSION_LZ4, format::COMPRESSION_ZSTD] {
        let mut b = good.clone();
        b[size..size + 9].copy_from_slice(&format::block_trailer(&good[..size], kind));
        let table = open_bytes(b).unwrap();
        let e = table.read_block(h).unwrap_err();
        assert!(matches!(e, Error::Corruption { offset: 0, .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("lz4") || msg.contains("zstd"), "{msg}");
        // The table's first key, which lives in that block.
        let e = table
            .get(&seek_key(b"key0000", MAX_SEQUENCE_NUMBER))
            .unwrap_err();
        assert!(e.is_corruption());
    }
    // A handle past the blocks is refused before any read.
    let e = table
        .read_block(BlockHandle::new(f.index_handle.offset, 1 << 40))
        .unwrap_err();
    assert!(e.is_corruption());
}

// ---- Corruption of every byte -----------------------------------------------------------

/// Opens `bytes` and reads everything. Returns whether a corruption was reported. Panics if
/// anything returns wrong data or an error other than corruption.
fn check_reads(input: &Entries, bytes: Vec<u8>, what: &str) -> bool {
    let table = match open_bytes(bytes) {
        Err(e) => {
            assert!(e.is_corruption(), "{what}: open: {e}");
            return true;
        }
        Ok(t) => t,
    };
    let mut detected = false;
    // Forward and backward iteration: a prefix (suffix) of the input, then maybe an error.
    for backward in [false, true] {
        let mut it = table.iter();
        let mut seen = Vec::new();
        if backward {
            it.seek_to_last();
        } else {
            it.seek_to_first();
        }
        while it.valid() {
            seen.push((it.key().to_vec(), it.value().to_vec()));
            if backward {
                it.prev();
            } else {
                it.next();
            }
        }
        if backward {
            seen.reverse();
            assert!(
                input.ends_with(&seen),
                "{what}: backward iteration returned wrong data"
            );
        } else {
            assert!(
                input.starts_with(&seen),
                "{what}: forward iteration returned wrong data"
            );
        }
        match it.status() {
            Ok(()) => assert_eq!(seen.len(), input.len(), "{what}: iteration ended early"),
            Err(e) => {
                assert!(e.is_corruption(), "{what}: iteration: {e}");
                detected = true;
            }
        }
    }
    for (k, v) in input {
        let p = parse_internal_key(k).unwrap();
        match table.get(&seek_key(p.user_key, p.seq)) {
            Ok(Some((gk, gv))) => {
                assert_eq!((&gk, &gv), (k, v), "{what}: get returned wrong data")
            }
            Ok(None) => panic!("{what}: get lost a key"),
            Err(e) => {
                assert!(e.is_corruption(), "{what}: get: {e}");
                detected = true;
            }
        }
    }
    detected
}

#[test]
fn every_bit_flip_is_detected_and_never_returns_wrong_data() {
    for compression in COMPRESSIONS {
        every_bit_flip_is_detected_with(compression);
    }
}

fn every_bit_flip_is_detected_with(compression: Compression) {
    let (input, good) = small_table_bytes_with(compression);
    assert!(
        (190..=260).contains(&input.len()),
        "{} entries",
        input.len()
    );
    let t = open_bytes(good.clone()).unwrap();
    assert!(t.properties().num_data_blocks >= 8);
    assert!(t.filter_info().0 > 0);
    assert!(!check_reads(&input, good.clone(), "unmodified"));
    for offset in 0..good.len() {
        // One pass whose mask cycles through the bit positions (bit `offset % 8`): every
        // bit of every 8-byte field gets flipped somewhere, and the test stays fast enough
        // for unoptimized builds.
        let mask = 1u8 << (offset % 8);
        let mut b = good.clone();
        b[offset] ^= mask;
        let what = format!("{compression:?}: flip {mask:#04x} at {offset}");
        assert!(check_reads(&input, b, &what), "{what}: not detected");
    }
}

#[test]
fn every_truncation_is_corruption_at_open() {
    let (_, good) = small_table_bytes_with(Compression::Lz4);
    for len in 0..good.len() {
        let r = open_bytes(good[..len].to_vec());
        assert!(matches!(r, Err(Error::Corruption { .. })), "length {len}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random multi-byte garbage anywhere in the file: detected, never wrong data.
    #[test]
    fn random_garbage_is_detected(
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), proptest::collection::vec(any::<u8>(), 1..16)),
            1..4,
        ),
    ) {
        let (input, good) = small_table_bytes();
        let mut b = good.clone();
        for (at, bytes) in &edits {
            let start = at.index(b.len());
            let end = (start + bytes.len()).min(b.len());
            b[start..end].copy_from_slice(&bytes[..end - start]);
        }
        if b != good {
            prop_assert!(check_reads(&input, b, "garbage"));
        }
    }
}

/// Throughput of `Table::get` on a 1M-entry table in a real file (page cache warm), next to
/// the raw `pread` of the same blocks for scale.
/// Run with `cargo test --release -p kevo table_get_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark; run in release"]
fn table_get_throughput() {
    use crate::fs::OsFileSystem;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sst");
    let fs = OsFileSystem;
    let n = 1_000_000u64;
    let mut keys: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("key{:012}", i.wrapping_mul(0x9E37_79B9) % (n * 16)).into_bytes())
        .collect();
    keys.sort();
    keys.dedup();
    let compression = match std::env::var("KEVO_BENCH_COMPRESSION").as_deref() {
        Ok("none") => Compression::None,
        Ok("zstd") => Compression::Zstd { level: 3 },
        _ => Compression::Lz4,
    };
    eprintln!("{compression:?} (set KEVO_BENCH_COMPRESSION=none|lz4|zstd)");
    let mut b = TableBuilder::new(
        with_compression(TableOptions::default(), compression),
        fs.create(&path).unwrap(),
        path.display().to_string(),
    );
    for (i, k) in keys.iter().enumerate() {
        b.add(
            &make_internal_key(k, i as u64 + 1, ValueKind::Put),
            &[b'v'; 100],
        )
        .unwrap();
    }
    let p = b.finish().unwrap();
    eprintln!("{} entries, {} bytes", p.num_entries, p.file_size);
    let table = Table::open(fs.open(&path).unwrap(), "bench.sst").unwrap();
    let lookups = 500_000u64;
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = move |bound: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % bound as u64) as usize
    };

    let file = fs.open(&path).unwrap();
    let index = table.index_entries().unwrap();
    let mut buf = vec![0u8; 8192];
    let t = std::time::Instant::now();
    for _ in 0..lookups {
        let h = index[next(index.len())].1;
        file.read_exact_at(h.offset, &mut buf[..h.size as usize + 9])
            .unwrap();
    }
    eprintln!(
        "{:.0} raw block preads/s",
        lookups as f64 / t.elapsed().as_secs_f64()
    );

    let targets: Vec<Vec<u8>> = (0..lookups)
        .map(|_| seek_key(&keys[next(keys.len())], MAX_SEQUENCE_NUMBER))
        .collect();
    let t = std::time::Instant::now();
    for target in &targets {
        assert!(table.get(target).unwrap().is_some());
    }
    eprintln!(
        "{:.0} present gets/s",
        lookups as f64 / t.elapsed().as_secs_f64()
    );

    let absent: Vec<Vec<u8>> = (0..lookups)
        .map(|i| seek_key(format!("absent{i}").as_bytes(), MAX_SEQUENCE_NUMBER))
        .collect();
    let t = std::time::Instant::now();
    for target in &absent {
        assert!(table.get(target).unwrap().is_none());
    }
    eprintln!(
        "{:.0} absent gets/s",
        lookups as f64 / t.elapsed().as_secs_f64()
    );

    // Through a block cache big enough for the whole table: one warm-up pass, then hits.
    let cache = Arc::new(crate::sstable::block_cache::BlockCache::new(256 << 20));
    let stats = Arc::new(crate::stats::Counters::default());
    let cached = Table::open_cached(fs.open(&path).unwrap(), "bench.sst", 1, cache, stats, true);
    let cached = cached.unwrap();
    for pass in ["cold", "warm"] {
        let t = std::time::Instant::now();
        for target in &targets {
            assert!(cached.get(target).unwrap().is_some());
        }
        eprintln!(
            "{:.0} present gets/s through the block cache ({pass})",
            lookups as f64 / t.elapsed().as_secs_f64()
        );
    }
}

// ---- Reading through the block cache ----------------------------------------------------

/// A file whose bytes can be swapped after a table is opened on it (to corrupt blocks the
/// cache will have to re-read).
struct SwappableFile(parking_lot::RwLock<Vec<u8>>);

impl RandomAccessFile for SwappableFile {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        VecFile(self.0.read().clone()).read_exact_at(offset, buf)
    }
    fn len(&self) -> u64 {
        self.0.read().len() as u64
    }
}

fn open_cached_bytes(
    bytes: Vec<u8>,
    cache: &Arc<crate::sstable::block_cache::BlockCache>,
) -> (Arc<Table>, Arc<SwappableFile>, Arc<crate::stats::Counters>) {
    let file = Arc::new(SwappableFile(parking_lot::RwLock::new(bytes)));
    let stats = Arc::new(crate::stats::Counters::default());
    let table = Table::open_cached(
        file.clone(),
        "mut.sst",
        7,
        cache.clone(),
        stats.clone(),
        true,
    )
    .unwrap();
    (Arc::new(table), file, stats)
}

#[test]
fn small_tables_compress_most_blocks() {
    for compression in [Compression::Lz4, Compression::Zstd { level: 3 }] {
        let (_, bytes) = small_table_bytes_with(compression);
        let t = open_bytes(bytes).unwrap();
        let index = t.index_entries().unwrap();
        let compressed = index
            .iter()
            .filter(|(_, h)| t.block_compression(*h).unwrap() != 0)
            .count();
        assert!(
            compressed * 2 > index.len(),
            "{compression:?}: {compressed}"
        );
    }
}

#[test]
fn cached_table_reads_match_and_rereads_evicted_meta_blocks() {
    use crate::sstable::block_cache::{BlockCache, BlockKey};
    let (input, good) = small_table_bytes_with(Compression::Lz4);
    let cache = Arc::new(BlockCache::new(1 << 20));
    let (table, file, stats) = open_cached_bytes(good.clone(), &cache);
    let after_open = cache.usage();
    assert!(after_open > 0, "index and filter are charged to the cache");
    assert!(!check_reads(&input, good.clone(), "uncached"));
    assert_eq!(collect_forward(&table).unwrap(), input);
    let hits = stats.block_cache_hits.load(Ordering::Relaxed);
    assert_eq!(collect_backward(&table).unwrap(), input);
    assert!(stats.block_cache_hits.load(Ordering::Relaxed) > hits);

    // Drop the index and filter from the cache: the table reads and verifies them again.
    let f = *table.footer();
    for h in [f.index_handle, f.filter_handle] {
        cache.remove(&BlockKey {
            table: 7,
            offset: h.offset,
        });
    }
    let (k, v) = &input[5];
    let p = parse_internal_key(k).unwrap();
    let got = table.get(&seek_key(p.user_key, p.seq)).unwrap();
    assert_eq!(got, Some((k.clone(), v.clone())));
    assert!(table.may_contain(p.user_key));

    // Corrupt the index on disk and evict it: the re-read reports corruption, for get,
    // iterators and index_entries alike, and never returns wrong data.
    let mut bad = good.clone();
    bad[f.index_handle.offset as usize + 2] ^= 0x10;
    *file.0.write() = bad;
    cache.remove(&BlockKey {
        table: 7,
        offset: f.index_handle.offset,
    });
    assert!(table
        .get(&seek_key(p.user_key, p.seq))
        .unwrap_err()
        .is_corruption());
    let mut it = table.iter();
    it.seek_to_first();
    assert!(!it.valid());
    assert!(it.status().unwrap_err().is_corruption());
    assert!(table.index_entries().unwrap_err().is_corruption());
    // Same for the filter.
    let mut bad = good.clone();
    bad[f.filter_handle.offset as usize + 1] ^= 0x10;
    *file.0.write() = bad;
    cache.remove(&BlockKey {
        table: 7,
        offset: f.filter_handle.offset,
    });
    assert!(table
        .get(&seek_key(p.user_key, p.seq))
        .unwrap_err()
        .is_corruption());

    // Dropping the table's blocks empties the cache of them.
    *file.0.write() = good;
    assert_eq!(collect_forward(&table).unwrap(), input);
    table.forget_cached_blocks();
    assert_eq!(cache.usage(), 0);
}

#[test]
fn meta_blocks_too_large_for_the_cache_stay_in_the_table() {
    let (input, good) = small_table_bytes_with(Compression::Lz4);
    // Smaller than the filter and index: neither is admitted, both stay in the table.
    let cache = Arc::new(crate::sstable::block_cache::BlockCache::new(200));
    let (table, file, stats) = open_cached_bytes(good.clone(), &cache);
    assert_eq!(cache.usage(), 0);
    // The file can go bad now: the index and filter are not re-read.
    let f = *table.footer();
    let mut bad = good;
    bad[f.index_handle.offset as usize + 2] ^= 0x10;
    bad[f.filter_handle.offset as usize + 1] ^= 0x10;
    *file.0.write() = bad;
    assert_eq!(collect_forward(&table).unwrap(), input);
    assert!(cache.usage() <= cache.capacity());
    assert_eq!(stats.block_cache_hits.load(Ordering::Relaxed), 0);
}

#[test]
fn multi_get_answers_as_get_does_for_sorted_runs() {
    // Small blocks, so runs of keys share blocks, cross them, and the hot key's 40 versions
    // span several; at several sequence numbers so some answers are older versions.
    let fs = new_fs();
    let input = entries(400);
    for (block_size, bloom) in [(256, 10), (4096, 0)] {
        build(&fs, "/mg.sst", opts(block_size, 4, bloom), &input);
        let t = open(&fs, "/mg.sst").unwrap();
        let mut users: Vec<Vec<u8>> = (0..420).flat_map(|i| [uk(i), absent_uk(i)]).collect();
        users.push(format!("user-key-{:08}-hot", 200 * 3).into_bytes());
        users.sort();
        for seq in [6, 9, 1020, MAX_SEQUENCE_NUMBER] {
            let targets: Vec<Vec<u8>> = users.iter().map(|u| seek_key(u, seq)).collect();
            // Every key, then every 7th (long forward steps), then a short run.
            for step in [1, 7, 50] {
                let seek: Vec<&[u8]> = targets.iter().step_by(step).map(Vec::as_slice).collect();
                let mut got = vec![None; seek.len()];
                t.multi_get(&seek, |n, k, v| {
                    assert!(got[n].is_none(), "key {n} answered twice");
                    got[n] = Some((k.to_vec(), v.to_vec()));
                    Ok(())
                })
                .unwrap();
                for (s, g) in seek.iter().zip(got) {
                    let want = expected_get(&input, user_key(s), seq);
                    assert_eq!(g, want, "block {block_size}, seq {seq}, step {step}");
                }
            }
        }
    }
}

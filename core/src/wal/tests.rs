//! Tests of the log format on [`MemFileSystem`].

use std::path::{Path, PathBuf};

use super::format::encode_header;
use super::*;
use crate::error::Error;
use crate::fs::{CrashMode, FaultKind, FileSystem, MemFileSystem};

const MODES: [WalRecoveryMode; 3] = [
    WalRecoveryMode::TolerateCorruptedTail,
    WalRecoveryMode::AbsoluteConsistency,
    WalRecoveryMode::PointInTime,
];

fn setup() -> (MemFileSystem, PathBuf) {
    let fs = MemFileSystem::new();
    fs.create_dir_all(Path::new("/db")).unwrap();
    (fs, PathBuf::from("/db/000001.log"))
}

/// Deterministic bytes, so that failures reproduce.
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A written record: where its first header starts and where its last fragment ends.
#[derive(Debug, Clone)]
struct Written {
    start: u64,
    end: u64,
    data: Vec<u8>,
}

fn write_log(fs: &MemFileSystem, path: &Path, records: &[Vec<u8>]) -> Vec<Written> {
    let mut w = LogWriter::new(fs.create(path).unwrap());
    let mut out = Vec::new();
    for r in records {
        let before = w.len();
        let left = BLOCK_SIZE as u64 - before % BLOCK_SIZE as u64;
        let start = if left < HEADER_SIZE as u64 {
            before + left
        } else {
            before
        };
        w.add_record(r).unwrap();
        out.push(Written {
            start,
            end: w.len(),
            data: r.clone(),
        });
    }
    w.sync().unwrap();
    out
}

type ReadOutcome = crate::Result<(Vec<(u64, Vec<u8>)>, Option<DroppedTail>)>;

fn read_log(fs: &MemFileSystem, path: &Path, mode: WalRecoveryMode) -> ReadOutcome {
    let mut r = LogReader::new(fs.open(path).unwrap(), path.display().to_string(), mode);
    let mut out = Vec::new();
    while let Some(rec) = r.read_record()? {
        out.push(rec);
    }
    // The end is sticky.
    assert!(r.read_record().unwrap().is_none());
    Ok((out, r.dropped_tail().cloned()))
}

fn as_read(w: &[Written]) -> Vec<(u64, Vec<u8>)> {
    w.iter().map(|w| (w.start, w.data.clone())).collect()
}

fn copy_file(fs: &MemFileSystem, bytes: &[u8]) -> PathBuf {
    let p = PathBuf::from("/db/copy.log");
    let mut f = fs.create(&p).unwrap();
    f.append(bytes).unwrap();
    p
}

#[test]
fn roundtrip_of_assorted_sizes() {
    let (fs, path) = setup();
    let sizes = [
        0,
        1,
        100,
        BLOCK_SIZE - HEADER_SIZE, // fills a block exactly when it starts one
        0,
        BLOCK_SIZE,
        100_000,
        3,
        2 * BLOCK_SIZE + 17,
        0,
    ];
    let records: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| payload(n, i as u64))
        .collect();
    let written = write_log(&fs, &path, &records);
    for mode in MODES {
        let (got, dropped) = read_log(&fs, &path, mode).unwrap();
        assert_eq!(got, as_read(&written), "{mode:?}");
        assert_eq!(dropped, None);
    }
}

#[test]
fn roundtrip_of_many_random_records() {
    let (fs, path) = setup();
    let records: Vec<Vec<u8>> = (0..2000u64)
        .map(|i| {
            let len = match i % 10 {
                0 => 0,
                1..=6 => (i * 37 % 300) as usize,
                7 | 8 => (i * 7919 % 5000) as usize,
                _ => (i * 104_729 % 70_000) as usize,
            };
            payload(len, i)
        })
        .collect();
    let written = write_log(&fs, &path, &records);
    let (got, dropped) = read_log(&fs, &path, WalRecoveryMode::AbsoluteConsistency).unwrap();
    assert_eq!(got, as_read(&written));
    assert_eq!(dropped, None);
}

/// The first record leaves `r` bytes in block 0; what comes next must start where the
/// format says.
#[test]
fn block_remainders_around_the_header_size() {
    for r in 0..=HEADER_SIZE + 1 {
        let (fs, path) = setup();
        let records = vec![
            payload(BLOCK_SIZE - HEADER_SIZE - r, 1),
            payload(5, 2),
            Vec::new(),
        ];
        let written = write_log(&fs, &path, &records);
        assert_eq!(written[0].end, (BLOCK_SIZE - r) as u64);
        if r < HEADER_SIZE {
            // Trailer: zero-filled, next record on the block boundary.
            assert_eq!(written[1].start, BLOCK_SIZE as u64, "r={r}");
            let bytes = fs.read_all(&path).unwrap();
            assert!(bytes[BLOCK_SIZE - r..BLOCK_SIZE].iter().all(|&b| b == 0));
        } else {
            // Room for a header: the record starts in block 0 (an empty First if r == 11).
            assert_eq!(written[1].start, (BLOCK_SIZE - r) as u64, "r={r}");
        }
        for mode in MODES {
            let (got, dropped) = read_log(&fs, &path, mode).unwrap();
            assert_eq!(got, as_read(&written), "r={r} {mode:?}");
            assert_eq!(dropped, None);
        }
    }
}

/// Payload bytes that are never a fragment type (1..=4), like text: after a cut, the search
/// for surviving fragments then rejects every position at the first test, which keeps
/// thousands of re-reads fast without changing what is checked.
fn text(len: usize, seed: u64) -> Vec<u8> {
    payload(len, seed).iter().map(|b| b'a' + b % 26).collect()
}

/// Writes `records`, then for every cut in `cuts` checks what each mode reads from the
/// file cut there.
fn check_truncations(records: &[Vec<u8>], cuts: impl Fn(u64) -> bool) {
    let (fs, path) = setup();
    let written = write_log(&fs, &path, records);
    let full = fs.read_all(&path).unwrap();
    for cut in (0..=full.len()).filter(|&c| cuts(c as u64)) {
        let p = copy_file(&fs, &full[..cut]);
        let cut = cut as u64;
        let complete: Vec<Written> = written.iter().filter(|w| w.end <= cut).cloned().collect();
        // On a boundary when no byte of the next record's fragments is present (the cut may
        // fall inside the trailer before it).
        let next_start = written.get(complete.len()).map_or(u64::MAX, |w| w.start);
        let on_boundary = cut <= next_start;
        for mode in [
            WalRecoveryMode::TolerateCorruptedTail,
            WalRecoveryMode::PointInTime,
        ] {
            let (got, dropped) = read_log(&fs, &p, mode).unwrap_or_else(|e| panic!("{cut}: {e}"));
            assert_eq!(got, as_read(&complete), "cut {cut} {mode:?}");
            if on_boundary {
                assert_eq!(dropped, None, "cut {cut}");
            } else {
                let d = dropped.expect("a partial record is reported");
                assert_eq!(d.offset, next_start, "cut {cut}");
                assert_eq!(d.offset + d.bytes, cut);
            }
        }
        match read_log(&fs, &p, WalRecoveryMode::AbsoluteConsistency) {
            Ok((got, _)) => {
                assert!(on_boundary, "cut {cut} inside a record accepted");
                assert_eq!(got, as_read(&complete));
            }
            Err(e) => assert!(!on_boundary && e.is_corruption(), "cut {cut}: {e}"),
        }
    }
}

const B: usize = BLOCK_SIZE;
const H: usize = HEADER_SIZE;

#[test]
fn truncation_at_every_offset_first_last_fragments() {
    // empty Full, 1-byte Full, a First filling block 0, its Last in block 1, more records.
    check_truncations(
        &[
            Vec::new(),
            text(1, 1),
            text(B - (H + H + 1) - H + 200, 2),
            text(40, 3),
            Vec::new(),
        ],
        |_| true,
    );
}

#[test]
fn truncation_at_every_offset_around_a_trailer() {
    // The second record leaves 5 bytes of block 0: a zero trailer.
    check_truncations(
        &[Vec::new(), text(B - H - H - 5, 1), text(40, 2), Vec::new()],
        |_| true,
    );
}

#[test]
fn truncation_at_every_offset_with_an_empty_first_fragment() {
    // The second record leaves exactly H bytes: the third is an empty First + a Last.
    check_truncations(
        &[
            text(1, 1),
            text(B - (H + 1) - H - H, 2),
            text(1000, 3),
            Vec::new(),
            text(7, 4),
        ],
        |_| true,
    );
}

#[test]
fn truncation_of_a_multi_block_record() {
    // First / Middle / Middle / Last: every 97th byte, and every byte near block boundaries
    // (checking every byte would re-hash a block per cut: minutes in a debug build).
    let near_boundary = |c: u64| {
        let r = c % B as u64;
        r < 2 * H as u64 || r > (B - 2 * H) as u64
    };
    check_truncations(&[text(10, 1), text(100_000, 2), text(10, 3)], |c| {
        c % 97 == 0 || near_boundary(c)
    });
}

fn flip(fs: &MemFileSystem, path: &Path, offset: u64, mask: u8) {
    let b = fs.read_all(path).unwrap()[offset as usize];
    fs.corrupt(path, offset as usize, &[b ^ mask]).unwrap();
}

#[test]
fn bit_flip_in_first_record() {
    let records: Vec<Vec<u8>> = (0..5).map(|i| payload(200, i)).collect();
    for at in [0, 8, 10, 11, 100] {
        let (fs, path) = setup();
        write_log(&fs, &path, &records);
        flip(&fs, &path, at, 0x10);
        for mode in [
            WalRecoveryMode::TolerateCorruptedTail,
            WalRecoveryMode::AbsoluteConsistency,
        ] {
            let e = read_log(&fs, &path, mode).unwrap_err();
            assert!(
                matches!(e, Error::Corruption { offset: 0, .. }),
                "{at} {mode:?}: {e}"
            );
        }
        let (got, dropped) = read_log(&fs, &path, WalRecoveryMode::PointInTime).unwrap();
        assert!(got.is_empty());
        assert_eq!(dropped.unwrap().offset, 0);
    }
}

#[test]
fn bit_flip_in_last_record_is_a_dropped_tail() {
    let (fs, path) = setup();
    let records: Vec<Vec<u8>> = (0..5).map(|i| payload(200, i)).collect();
    let written = write_log(&fs, &path, &records);
    flip(&fs, &path, written[4].start + 50, 0x01);
    for mode in [
        WalRecoveryMode::TolerateCorruptedTail,
        WalRecoveryMode::PointInTime,
    ] {
        let (got, dropped) = read_log(&fs, &path, mode).unwrap();
        assert_eq!(got, as_read(&written[..4]));
        let d = dropped.unwrap();
        assert_eq!((d.offset, d.bytes), (written[4].start, 211));
        assert!(d.reason.contains("checksum"), "{}", d.reason);
    }
    assert!(read_log(&fs, &path, WalRecoveryMode::AbsoluteConsistency)
        .unwrap_err()
        .is_corruption());
}

#[test]
fn every_byte_flipped_never_yields_a_wrong_record() {
    let records: Vec<Vec<u8>> = vec![payload(30, 1), Vec::new(), payload(1, 2), payload(60, 3)];
    let (fs, path) = setup();
    let written = write_log(&fs, &path, &records);
    let full = fs.read_all(&path).unwrap();
    for at in 0..full.len() as u64 {
        // The record whose bytes hold `at`.
        let hit = written
            .iter()
            .position(|w| w.start <= at && at < w.end)
            .unwrap();
        for mask in [0x01, 0x80, 0xff] {
            let p = copy_file(&fs, &full);
            flip(&fs, &p, at, mask);
            let tolerate = read_log(&fs, &p, WalRecoveryMode::TolerateCorruptedTail);
            if hit + 1 < written.len() {
                let e = tolerate.unwrap_err();
                assert!(e.is_corruption(), "{at}: {e}");
            } else {
                assert_eq!(tolerate.unwrap().0, as_read(&written[..hit]), "{at}");
            }
            let e = read_log(&fs, &p, WalRecoveryMode::AbsoluteConsistency).unwrap_err();
            assert!(e.is_corruption(), "{at}: {e}");
            let (got, dropped) = read_log(&fs, &p, WalRecoveryMode::PointInTime).unwrap();
            assert_eq!(got, as_read(&written[..hit]), "{at}");
            assert_eq!(dropped.unwrap().offset, written[hit].start);
        }
    }
}

/// Flips in a multi-block log, sampled: whatever the reader returns is a prefix of what was
/// written, and in TolerateCorruptedTail a flip before the last record is an error.
#[test]
fn sampled_flips_in_a_multi_block_log() {
    let records: Vec<Vec<u8>> = (0..12u64)
        .map(|i| payload([10, 5000, 40_000, 0, 33_000][i as usize % 5], i))
        .collect();
    let (fs, path) = setup();
    let written = write_log(&fs, &path, &records);
    let full = fs.read_all(&path).unwrap();
    let mut at = 0u64;
    while at < full.len() as u64 {
        let p = copy_file(&fs, &full);
        flip(&fs, &p, at, 0x04);
        let in_trailer = !written.iter().any(|w| w.start <= at && at < w.end);
        for mode in MODES {
            match read_log(&fs, &p, mode) {
                Ok((got, _)) => {
                    assert_eq!(got, as_read(&written[..got.len()]), "{at} {mode:?}");
                    if mode != WalRecoveryMode::PointInTime {
                        assert!(
                            in_trailer || got.len() == written.len() - 1,
                            "{at} {mode:?} accepted mid-log damage"
                        );
                    }
                }
                Err(e) => assert!(e.is_corruption() && !in_trailer, "{at} {mode:?}: {e}"),
            }
        }
        at += 331;
    }
}

#[test]
fn zero_filled_tail_is_dropped_and_reported() {
    let (fs, path) = setup();
    let written = write_log(&fs, &path, &[payload(100, 1), payload(50_000, 2)]);
    let end = written[1].end;
    let mut bytes = fs.read_all(&path).unwrap();
    bytes.extend_from_slice(&[0u8; 4000]);
    let p = copy_file(&fs, &bytes);
    let (got, dropped) = read_log(&fs, &p, WalRecoveryMode::TolerateCorruptedTail).unwrap();
    assert_eq!(got, as_read(&written));
    let d = dropped.unwrap();
    assert_eq!((d.offset, d.bytes), (end, 4000));
    assert!(d.reason.contains("type 0"), "{}", d.reason);
    let e = read_log(&fs, &p, WalRecoveryMode::AbsoluteConsistency).unwrap_err();
    assert!(matches!(e, Error::Corruption { offset, .. } if offset == end));
}

/// Builds a log by hand from `(type, payload)` fragments (no block handling: they must fit).
fn raw_log(fs: &MemFileSystem, frags: &[(RecordType, &[u8])]) -> PathBuf {
    let mut bytes = Vec::new();
    for (t, p) in frags {
        bytes.extend_from_slice(&encode_header(*t, p));
        bytes.extend_from_slice(p);
    }
    copy_file(fs, &bytes)
}

#[test]
fn out_of_place_fragments() {
    use RecordType::*;
    let (fs, _) = setup();
    // A First interrupted by a Full: the partial record is lost and intact data follows.
    let p = raw_log(&fs, &[(Full, b"a"), (First, b"b1"), (Full, b"c")]);
    let e = read_log(&fs, &p, WalRecoveryMode::TolerateCorruptedTail).unwrap_err();
    assert!(matches!(e, Error::Corruption { offset: 25, .. }), "{e}");
    let (got, dropped) = read_log(&fs, &p, WalRecoveryMode::PointInTime).unwrap();
    assert_eq!(got, vec![(0, b"a".to_vec())]);
    assert_eq!(dropped.unwrap().offset, 12);

    // A Last with no First.
    let p = raw_log(&fs, &[(Full, b"a"), (Last, b"x")]);
    let e = read_log(&fs, &p, WalRecoveryMode::TolerateCorruptedTail).unwrap_err();
    assert!(e.to_string().contains("without a First"), "{e}");
    let (got, _) = read_log(&fs, &p, WalRecoveryMode::PointInTime).unwrap();
    assert_eq!(got.len(), 1);

    // A First, Middle at the end of the file: an incomplete record, a torn tail.
    let p = raw_log(&fs, &[(Full, b"a"), (First, b"b1"), (Middle, b"b2")]);
    let (got, dropped) = read_log(&fs, &p, WalRecoveryMode::TolerateCorruptedTail).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(dropped.unwrap().offset, 12);

    // A Zero-type fragment, even with a "valid" checksum, is damage.
    let p = raw_log(&fs, &[(Full, b"a"), (Zero, b""), (Full, b"b")]);
    let e = read_log(&fs, &p, WalRecoveryMode::TolerateCorruptedTail).unwrap_err();
    assert!(matches!(e, Error::Corruption { offset: 12, .. }), "{e}");
}

#[test]
fn damage_in_a_middle_block_is_corruption_even_far_from_the_next_record() {
    let (fs, path) = setup();
    let written = write_log(&fs, &path, &[payload(100_000, 1), payload(10, 2)]);
    // Inside the second fragment (block 1) of the first record.
    flip(&fs, &path, BLOCK_SIZE as u64 + 5000, 0x20);
    let e = read_log(&fs, &path, WalRecoveryMode::TolerateCorruptedTail).unwrap_err();
    assert!(
        matches!(e, Error::Corruption { offset, .. } if offset == BLOCK_SIZE as u64),
        "{e}"
    );
    let (got, dropped) = read_log(&fs, &path, WalRecoveryMode::PointInTime).unwrap();
    assert!(got.is_empty());
    assert_eq!(dropped.unwrap().offset, written[0].start);
}

#[test]
fn crash_keeps_every_synced_record() {
    for seed in 0..50 {
        let (fs, path) = setup();
        let mut w = LogWriter::new(fs.create(&path).unwrap());
        let mut records = Vec::new();
        for i in 0..20u64 {
            let r = payload((i as usize * 997) % 9000, seed * 100 + i);
            w.add_record(&r).unwrap();
            records.push(r);
            if i == 9 {
                w.sync().unwrap();
            }
        }
        w.flush().unwrap();
        drop(w);
        let fs = fs.crash(CrashMode {
            tear_unsynced: true,
            seed,
            ..CrashMode::drop_unsynced()
        });
        let (got, _) = read_log(&fs, &path, WalRecoveryMode::TolerateCorruptedTail).unwrap();
        assert!(got.len() >= 10, "seed {seed}: only {} records", got.len());
        for (i, (_, r)) in got.iter().enumerate() {
            assert_eq!(r, &records[i]);
        }
    }
}

#[test]
fn writer_is_poisoned_after_an_io_error() {
    let (fs, path) = setup();
    let mut w = LogWriter::new(fs.create(&path).unwrap());
    w.add_record(b"one").unwrap();
    // The next record's header append succeeds, its payload append fails.
    fs.fail_at(1, FaultKind::NoSpace, false);
    assert!(matches!(w.add_record(b"two"), Err(Error::Io { .. })));
    let e = w.add_record(b"three").unwrap_err();
    assert!(e.to_string().contains("earlier failure"), "{e}");
    assert!(w.sync().is_err());
    // What reached the file is "one" plus a torn header: a tail to drop.
    let (got, dropped) = read_log(&fs, &path, WalRecoveryMode::TolerateCorruptedTail).unwrap();
    assert_eq!(got, vec![(0, b"one".to_vec())]);
    assert_eq!(dropped.unwrap().offset, 14);
}

#[test]
fn empty_file_and_reader_errors_are_sticky() {
    let (fs, _) = setup();
    let p = copy_file(&fs, b"");
    for mode in MODES {
        assert_eq!(read_log(&fs, &p, mode).unwrap(), (vec![], None));
    }
    let p = raw_log(&fs, &[(RecordType::Full, b"a"), (RecordType::Last, b"b")]);
    let mut r = LogReader::new(
        fs.open(&p).unwrap(),
        "x.log".into(),
        WalRecoveryMode::AbsoluteConsistency,
    );
    assert!(r.read_record().unwrap().is_some());
    for _ in 0..2 {
        let e = r.read_record().unwrap_err();
        assert!(
            matches!(&e, Error::Corruption { file, offset: 12, .. } if file == "x.log"),
            "{e}"
        );
    }
}

#[test]
fn tolerate_incomplete_tail_drops_only_a_cut_record() {
    let mode = WalRecoveryMode::TolerateIncompleteTail;
    let records: Vec<Vec<u8>> = (0..5).map(|i| payload(200, i)).collect();

    // A record cut short by the end of the file: a torn write, dropped.
    let (fs, path) = setup();
    let written = write_log(&fs, &path, &records);
    fs.truncate(&path, (written[4].start + 100) as usize)
        .unwrap();
    let (got, dropped) = read_log(&fs, &path, mode).unwrap();
    assert_eq!(got, as_read(&written[..4]));
    assert_eq!(dropped.unwrap().offset, written[4].start);

    // A complete last record that fails its checksum: damage, not a torn write.
    let (fs, path) = setup();
    let written = write_log(&fs, &path, &records);
    flip(&fs, &path, written[4].start + 50, 0x01);
    assert!(read_log(&fs, &path, mode).unwrap_err().is_corruption());

    // A damaged length field that makes the last fragment run past the end of the file:
    // the bytes there are still a whole fragment, so this is damage too.
    let (fs, path) = setup();
    let written = write_log(&fs, &path, &records);
    let length_high_byte = written[4].start + HEADER_SIZE as u64 - 2;
    flip(&fs, &path, length_high_byte, 0x01);
    let e = read_log(&fs, &path, mode).unwrap_err();
    assert!(e.to_string().contains("length is damaged"), "{e}");
    // ...while the tolerant mode takes it for a torn tail.
    let (got, _) = read_log(&fs, &path, WalRecoveryMode::TolerateCorruptedTail).unwrap();
    assert_eq!(got, as_read(&written[..4]));

    // Zeros after the last record (space a crash extended the file by): dropped.
    let (fs, path) = setup();
    let written = write_log(&fs, &path, &records);
    let mut bytes = fs.read_all(&path).unwrap();
    bytes.extend_from_slice(&[0u8; 500]);
    let p = copy_file(&fs, &bytes);
    let (got, dropped) = read_log(&fs, &p, mode).unwrap();
    assert_eq!(got, as_read(&written));
    assert_eq!(dropped.unwrap().bytes, 500);
}

/// Following a growing log: a reader of a prefix stops at `position`, and a reader resumed
/// there on the grown file returns exactly the records appended since, across block
/// boundaries and trailers.
#[test]
fn resume_from_position_reads_exactly_the_appended_records() {
    let (fs, path) = setup();
    let sizes = [
        1,
        100,
        BLOCK_SIZE - 2 * HEADER_SIZE - 3,
        5,
        3 * BLOCK_SIZE + 17,
        0,
        BLOCK_SIZE - HEADER_SIZE,
        42,
    ];
    let records: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| payload(n, i as u64))
        .collect();
    let written = write_log(&fs, &path, &records);
    let full = fs.read_all(&path).unwrap();
    for k in 0..=records.len() {
        // What the writer had appended when the reader first looked.
        let cut = written.get(k.wrapping_sub(1)).map_or(0, |w| w.end) as usize;
        let prefix = copy_file(&fs, &full[..cut]);
        let mut r = LogReader::new(
            fs.open(&prefix).unwrap(),
            "prefix".into(),
            WalRecoveryMode::TolerateIncompleteTail,
        );
        let mut seen = 0;
        while r.read_record().unwrap().is_some() {
            seen += 1;
        }
        assert_eq!(seen, k);
        assert_eq!(r.position(), cut as u64, "after {k} records");
        let mut r = LogReader::resume(
            fs.open(&path).unwrap(),
            "full".into(),
            WalRecoveryMode::TolerateIncompleteTail,
            r.position(),
        )
        .unwrap();
        let mut rest = Vec::new();
        while let Some(rec) = r.read_record().unwrap() {
            rest.push(rec);
        }
        assert_eq!(rest, as_read(&written[k..]), "resumed after {k} records");
        assert_eq!(r.position(), full.len() as u64);
    }
}

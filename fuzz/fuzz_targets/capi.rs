//! libkevo's C ABI under hostile arguments: a fuzz input is a program of C calls whose
//! handles may be live, NULL, freed, of the wrong type or made up; whose buffers may be NULL,
//! empty or claim more than the limits; whose option values are arbitrary.
//!
//! For every call the harness predicts the status from the arguments (a model of the handles
//! and one `BTreeMap` per database directory) and checks it, and it checks every value read
//! back — from the latest state, a snapshot, an iterator or a transaction — against the
//! model. A `KEVO_INTERNAL` (a caught panic), an abort, a wrong status or a wrong value is a
//! failure. At the end of each input every handle is freed and every directory removed.
//!
//! Made-up handles are never dereferenced by libkevo (each is looked up in its registry of
//! live handles first), so passing them is memory-safe; that is what this target checks.
//! Buffers with a length above the limit point at a short real buffer: the contract is
//! that such lengths are refused before the buffer is read.
//!
//! One limit: `memtable_size` is fuzzed only below 8 MiB and above the engine's maximum,
//! because every open reserves 1.25 × that size on disk for the WAL.
#![no_main]

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::path::PathBuf;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU64, Ordering};

use kevo_ffi::kevo_status::{self, *};
use kevo_ffi::*;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Which handle to pass: one of the right type, one of any type, NULL, a freed one, or a
/// made-up address.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum H {
    Right(u8),
    Any(u8),
    Null,
    Freed(u8),
    Bogus(u8),
}

/// A key or value argument.
#[derive(Arbitrary, Debug, Clone)]
enum B {
    /// One of a few short keys, so that operations meet.
    Small(u8),
    Raw(Vec<u8>),
    /// NULL with length 0: the empty string.
    Empty,
    /// NULL with a non-zero length.
    NullLen(u16),
    /// A real 16-byte buffer whose length claims more than the limit allows.
    Over(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum PathArg {
    New,
    Existing(u8),
    Null,
    NotUtf8,
    UnderAFile,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum OptionArg {
    CreateIfMissing(bool),
    ErrorIfExists(bool),
    SyncMode(u32, u64, u64),
    MemtableSize(bool, u32),
    MaxImmutable(usize),
    BlockSize(usize),
    RestartInterval(usize),
    BloomBits(usize),
    L0Trigger(usize),
    L0Slowdown(usize),
    L0Stop(usize),
    TargetFileSize(u64),
    CompactionStyle(u32),
    LevelBase(u64),
    LevelMultiplier(u64),
    TieredRatio(u64),
    TieredAmp(u64),
    TieredWidth(usize),
    Compression(u32, i32),
    BackgroundCompactions(usize),
    CacheSize(usize),
    CacheIndex(bool),
    MaxOpenFiles(usize),
    WalRecovery(u32),
    Paranoid(bool),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Bound {
    Lower,
    Upper,
    Prefix,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Move {
    First,
    Last,
    Next,
    Prev,
}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    OptionsNew,
    OptionsSet(H, OptionArg),
    Open(PathArg, H, bool),
    Close(H),
    DbFree(H),
    IsClosed(H),
    Put(H, H, B, B),
    Delete(H, H, B),
    Get(H, H, B, bool),
    GetInto(H, H, B, u8, bool),
    Flush(H),
    SyncWal(H),
    CompactRange(H, B, B),
    Property(H, u8, bool),
    BatchNew,
    BatchPut(H, B, B),
    BatchDelete(H, B),
    BatchClear(H),
    BatchCount(H, bool),
    Write(H, H, H),
    SnapshotNew(H, bool),
    SnapshotSequence(H, bool),
    ReadOptionsNew,
    ReadOptionsSnapshot(H, H),
    ReadOptionsBound(H, Bound, B),
    WriteOptionsNew,
    WriteOptionsSync(H, bool),
    IterNew(H, H, bool),
    IterMove(H, Move),
    IterSeek(H, B, bool),
    IterRead(H, bool, bool),
    IterStatus(H),
    TxnOptionsNew,
    TxnOptionsIsolation(H, u32),
    TxnBegin(H, H, bool),
    TxnPut(H, B, B),
    TxnDelete(H, B),
    TxnGet(H, B, bool),
    TxnGetInto(H, B, u8),
    TxnIterNew(H, H),
    TxnCommit(H),
    TxnRollback(H),
    TxnCount(H),
    ErrorRead(H),
    StatusName(u32),
    Free(H),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Db,
    Options,
    ReadOptions,
    WriteOptions,
    Batch,
    Snapshot,
    Iter,
    Txn,
    TxnOptions,
    Error,
}

/// What the harness knows about a live handle.
enum State {
    Db {
        engine: usize,
    },
    Options {
        create_if_missing: bool,
        error_if_exists: bool,
        /// Some setter other than the two above succeeded: the combination may be refused
        /// at open.
        custom: bool,
    },
    ReadOptions {
        snapshot: Option<(usize, Model)>,
        lower: Option<Vec<u8>>,
        upper: Option<Vec<u8>>,
        prefix: Option<Vec<u8>>,
    },
    WriteOptions,
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    Snapshot {
        engine: usize,
        model: Model,
    },
    Iter {
        engine: usize,
        /// What it shows: the entries in order.
        view: Vec<(Vec<u8>, Vec<u8>)>,
        /// Its position in `view`, or None when unpositioned or past either end.
        pos: Option<usize>,
        /// The transaction it reads through (its object id), if any.
        txn: Option<u64>,
        /// False once its transaction wrote after it was made: then what it shows is not
        /// modelled (only the statuses are checked).
        known: bool,
    },
    Txn {
        engine: usize,
        base: Model,
        writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        done: bool,
        /// The engine's write count when it began.
        since: u64,
    },
    TxnOptions,
    Error,
}

impl State {
    fn kind(&self) -> Kind {
        match self {
            State::Db { .. } => Kind::Db,
            State::Options { .. } => Kind::Options,
            State::ReadOptions { .. } => Kind::ReadOptions,
            State::WriteOptions => Kind::WriteOptions,
            State::Batch(_) => Kind::Batch,
            State::Snapshot { .. } => Kind::Snapshot,
            State::Iter { .. } => Kind::Iter,
            State::Txn { .. } => Kind::Txn,
            State::TxnOptions => Kind::TxnOptions,
            State::Error => Kind::Error,
        }
    }
}

struct Obj {
    /// Unique within an input (addresses are reused after a free).
    id: u64,
    ptr: usize,
    state: State,
}

/// One open of a directory (a `kevo::Db`).
struct Engine {
    dir: usize,
    closed: bool,
    /// Successful writes so far: a conflict needs one after the transaction began.
    writes: u64,
}

struct Dir {
    path: CString,
    model: Model,
    /// The engine holding the directory's lock, if any.
    open: Option<usize>,
    /// A database exists in it (an open succeeded once).
    exists: bool,
}

/// A resolved handle argument: the pointer, and the index of the live object it is (if it
/// is a live one of the wanted kind).
struct Arg {
    ptr: usize,
    obj: Option<usize>,
}

struct World {
    root: PathBuf,
    objs: Vec<Obj>,
    freed: Vec<usize>,
    engines: Vec<Engine>,
    dirs: Vec<Dir>,
    next_id: u64,
    /// The real 16-byte buffer behind `B::Over`.
    over: [u8; 16],
}

const SMALL_KEYS: u8 = 12;
const MEMTABLE_SAFE_MAX: usize = 8 << 20;

fn bytes_of(b: &B) -> Vec<u8> {
    match b {
        B::Small(n) => format!("k{}", n % SMALL_KEYS).into_bytes(),
        B::Raw(v) => v.clone(),
        _ => Vec::new(),
    }
}

/// A C byte-string argument: (pointer, length, the bytes if the argument is valid).
fn c_bytes<'a>(b: &'a B, over: &'a [u8; 16], raw: &'a [u8], max: usize) -> (*const u8, usize) {
    match b {
        B::Small(_) | B::Raw(_) => {
            if raw.is_empty() {
                // A non-NULL pointer with length 0 is also the empty string.
                (over.as_ptr(), 0)
            } else {
                (raw.as_ptr(), raw.len())
            }
        }
        B::Empty => (null(), 0),
        B::NullLen(n) => (null(), usize::from(*n).max(1)),
        B::Over(n) => (over.as_ptr(), max.saturating_add(1 + usize::from(*n))),
    }
}

/// Whether the argument is a valid key, value or bound: Some(bytes) or None.
fn valid_bytes(b: &B, raw: &[u8], max: usize, allow_empty: bool) -> Option<Vec<u8>> {
    match b {
        B::Small(_) | B::Raw(_) if raw.len() <= max && (allow_empty || !raw.is_empty()) => {
            Some(raw.to_vec())
        }
        B::Empty if allow_empty => Some(Vec::new()),
        _ => None,
    }
}

#[track_caller]
fn expect(what: &str, got: kevo_status, allowed: &[kevo_status]) {
    assert!(
        allowed.contains(&got),
        "{what}: got {got:?}, expected one of {allowed:?}"
    );
}

fn free_error(e: *mut kevo_error) {
    if !e.is_null() {
        // The error object must be a live, well-formed error.
        assert!(!kevo_error_message(e).is_null());
        kevo_error_free(e);
    }
}

/// Calls `f` with an error out-pointer, checks that an error object came back exactly when
/// the status is a failure, and frees it.
fn call(
    what: &str,
    want_err: bool,
    f: impl FnOnce(*mut *mut kevo_error) -> kevo_status,
) -> kevo_status {
    let mut e: *mut kevo_error = null_mut();
    let s = f(if want_err { &mut e } else { null_mut() });
    assert_ne!(s, KEVO_INTERNAL, "{what}: KEVO_INTERNAL: {}", message(e));
    if want_err {
        let failure = !matches!(s, KEVO_OK | KEVO_NOT_FOUND);
        if failure || s == KEVO_NOT_FOUND && !e.is_null() {
            assert!(!e.is_null(), "{what}: {s:?} without an error object");
            assert_eq!(kevo_error_code(e), s, "{what}: error code");
        } else {
            assert!(e.is_null(), "{what}: an error object on {s:?}");
        }
        free_error(e);
    }
    s
}

fn message(e: *const kevo_error) -> String {
    if e.is_null() {
        return "(no error object)".into();
    }
    let m = kevo_error_message(e);
    // SAFETY: a live error's message is a NUL-terminated string it owns.
    unsafe { CStr::from_ptr(m) }.to_string_lossy().into_owned()
}

fn visible(
    model: &Model,
    lower: &Option<Vec<u8>>,
    upper: &Option<Vec<u8>>,
    prefix: &Option<Vec<u8>>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    model
        .iter()
        .filter(|(k, _)| lower.as_ref().is_none_or(|l| k.as_slice() >= l.as_slice()))
        .filter(|(k, _)| upper.as_ref().is_none_or(|u| k.as_slice() < u.as_slice()))
        .filter(|(k, _)| prefix.as_ref().is_none_or(|p| k.starts_with(p)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn txn_view(base: &Model, writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Model {
    let mut m = base.clone();
    for (k, v) in writes {
        match v {
            Some(v) => m.insert(k.clone(), v.clone()),
            None => m.remove(k),
        };
    }
    m
}

impl World {
    fn new() -> World {
        static INPUT: AtomicU64 = AtomicU64::new(0);
        let n = INPUT.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("kevo-fuzz-capi-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&root).expect("create the fuzz directory");
        World {
            root,
            objs: Vec::new(),
            freed: Vec::new(),
            engines: Vec::new(),
            dirs: Vec::new(),
            next_id: 0,
            over: [0x5a; 16],
        }
    }

    /// Resolves a handle argument for a call that wants `kind`.
    fn arg(&self, h: H, kind: Kind) -> Arg {
        let of_kind: Vec<usize> = (0..self.objs.len())
            .filter(|&i| self.objs[i].state.kind() == kind)
            .collect();
        let ptr = match h {
            H::Right(i) if !of_kind.is_empty() => {
                let o = of_kind[usize::from(i) % of_kind.len()];
                return Arg {
                    ptr: self.objs[o].ptr,
                    obj: Some(o),
                };
            }
            H::Any(i) if !self.objs.is_empty() => {
                let o = usize::from(i) % self.objs.len();
                let obj = (self.objs[o].state.kind() == kind).then_some(o);
                return Arg {
                    ptr: self.objs[o].ptr,
                    obj,
                };
            }
            H::Freed(i) if !self.freed.is_empty() => self.freed[usize::from(i) % self.freed.len()],
            H::Bogus(i) => [
                1,
                8,
                0x1000,
                0x000d_eadb_eef0,
                usize::MAX & !15,
                &self.over as *const _ as usize,
            ][usize::from(i) % 6],
            _ => 0,
        };
        // A freed address may have been reused for a live handle.
        let obj = self
            .objs
            .iter()
            .position(|o| o.ptr == ptr && o.state.kind() == kind);
        Arg { ptr, obj }
    }

    fn add(&mut self, ptr: usize, state: State) {
        assert_ne!(ptr, 0, "a constructor returned NULL");
        assert!(
            self.objs.iter().all(|o| o.ptr != ptr),
            "a new handle has the address of a live one"
        );
        self.freed.retain(|&p| p != ptr);
        self.next_id += 1;
        self.objs.push(Obj {
            id: self.next_id,
            ptr,
            state,
        });
    }

    fn remove(&mut self, o: usize) {
        let obj = self.objs.remove(o);
        self.freed.push(obj.ptr);
    }

    fn engine_closed(&self, e: usize) -> bool {
        self.engines[e].closed
    }

    fn close_engine(&mut self, e: usize) {
        if !self.engines[e].closed {
            self.engines[e].closed = true;
            let d = self.engines[e].dir;
            self.dirs[d].open = None;
        }
    }

    /// The model of an engine's directory, for a write.
    fn model(&mut self, e: usize) -> &mut Model {
        self.engines[e].writes += 1;
        let d = self.engines[e].dir;
        &mut self.dirs[d].model
    }

    fn model_of(&self, e: usize) -> Model {
        self.dirs[self.engines[e].dir].model.clone()
    }

    /// Whether the transaction with this object id is finished (a freed one was rolled back).
    fn txn_done(&self, id: u64) -> bool {
        match self.objs.iter().find(|o| o.id == id).map(|o| &o.state) {
            Some(State::Txn { done, .. }) => *done,
            _ => true,
        }
    }

    /// The database behind a handle argument: Ok(engine) if live and open, Err(status)
    /// otherwise.
    fn db(&self, a: &Arg) -> Result<usize, kevo_status> {
        match a.obj.map(|o| &self.objs[o].state) {
            Some(State::Db { engine }) if self.engine_closed(*engine) => Err(KEVO_CLOSED),
            Some(State::Db { engine }) => Ok(*engine),
            _ => Err(KEVO_INVALID_ARGUMENT),
        }
    }

    /// An optional handle (NULL allowed): Ok(None) for NULL, Ok(Some(obj)) for a live one of
    /// the kind, Err for anything else.
    fn opt(&self, a: &Arg) -> Result<Option<usize>, kevo_status> {
        match (a.ptr, a.obj) {
            (0, _) => Ok(None),
            (_, Some(o)) => Ok(Some(o)),
            _ => Err(KEVO_INVALID_ARGUMENT),
        }
    }

    /// The model a read through `ro` on `engine` sees, or the status it must fail with.
    fn read_view(&self, engine: usize, ro: &Arg) -> Result<Model, Vec<kevo_status>> {
        let ro = self.opt(ro).map_err(|s| vec![s])?;
        let d = self.engines[engine].dir;
        match ro.map(|o| &self.objs[o].state) {
            Some(State::ReadOptions {
                snapshot: Some((e, m)),
                ..
            }) => {
                if *e == engine {
                    Ok(m.clone())
                } else {
                    // A snapshot of another database (maybe an earlier open of this one).
                    Err(vec![KEVO_INVALID_ARGUMENT, KEVO_CLOSED])
                }
            }
            _ => Ok(self.dirs[d].model.clone()),
        }
    }

    fn run(&mut self, op: Op) {
        let over = self.over;
        match op {
            Op::OptionsNew => {
                let p = kevo_options_new();
                // Keep opens cheap: each one reserves 1.25 × memtable_size for the WAL.
                let s = call("memtable_size", true, |e| {
                    kevo_options_set_memtable_size(p, 64 << 10, e)
                });
                expect("memtable_size", s, &[KEVO_OK]);
                self.add(
                    p as usize,
                    State::Options {
                        create_if_missing: true,
                        error_if_exists: false,
                        custom: false,
                    },
                );
            }
            Op::OptionsSet(h, arg) => self.set_option(h, arg),
            Op::Open(path, opts, out_null) => self.open(path, opts, out_null),
            Op::Close(h) => {
                let a = self.arg(h, Kind::Db);
                let s = call("close", true, |e| kevo_close(a.ptr as *mut kevo_db, e));
                match a.obj.map(|o| &self.objs[o].state) {
                    Some(State::Db { engine }) => {
                        let engine = *engine;
                        expect("close", s, &[KEVO_OK]);
                        self.close_engine(engine);
                    }
                    _ => expect("close", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::DbFree(h) => {
                let a = self.arg(h, Kind::Db);
                kevo_db_free(a.ptr as *mut kevo_db);
                if let Some(o) = a.obj {
                    if let State::Db { engine } = self.objs[o].state {
                        self.close_engine(engine);
                    }
                    self.remove(o);
                }
            }
            Op::IsClosed(h) => {
                let a = self.arg(h, Kind::Db);
                let got = kevo_is_closed(a.ptr as *const kevo_db);
                assert_eq!(got, self.db(&a).is_err(), "kevo_is_closed");
            }
            Op::Put(db, wo, k, v) => {
                let (a, w) = (self.arg(db, Kind::Db), self.arg(wo, Kind::WriteOptions));
                let (kr, vr) = (bytes_of(&k), bytes_of(&v));
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let (vp, vl) = c_bytes(&v, &over, &vr, kevo::MAX_VALUE_SIZE);
                let s = call("put", true, |e| {
                    kevo_put(a.ptr as *mut kevo_db, w.ptr as *const _, kp, kl, vp, vl, e)
                });
                let key = valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false);
                let val = valid_bytes(&v, &vr, kevo::MAX_VALUE_SIZE, true);
                match (self.db(&a), self.opt(&w), key, val) {
                    (Ok(engine), Ok(_), Some(key), Some(val)) => {
                        expect("put", s, &[KEVO_OK]);
                        self.model(engine).insert(key, val);
                    }
                    (Err(KEVO_CLOSED), Ok(_), Some(_), Some(_)) => expect("put", s, &[KEVO_CLOSED]),
                    (Err(KEVO_CLOSED), ..) => {
                        expect("put", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    _ => expect("put", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::Delete(db, wo, k) => {
                let (a, w) = (self.arg(db, Kind::Db), self.arg(wo, Kind::WriteOptions));
                let kr = bytes_of(&k);
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let s = call("delete", true, |e| {
                    kevo_delete(a.ptr as *mut kevo_db, w.ptr as *const _, kp, kl, e)
                });
                let key = valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false);
                match (self.db(&a), self.opt(&w), key) {
                    (Ok(engine), Ok(_), Some(key)) => {
                        expect("delete", s, &[KEVO_OK]);
                        self.model(engine).remove(&key);
                    }
                    (Err(KEVO_CLOSED), Ok(_), Some(_)) => expect("delete", s, &[KEVO_CLOSED]),
                    (Err(KEVO_CLOSED), ..) => {
                        expect("delete", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    _ => expect("delete", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::Get(db, ro, k, out_null) => {
                let (a, r) = (self.arg(db, Kind::Db), self.arg(ro, Kind::ReadOptions));
                let kr = bytes_of(&k);
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let mut val: *mut u8 = 0x10 as *mut u8;
                let mut len = 77usize;
                let s = call("get", true, |e| {
                    let vp: *mut *mut u8 = if out_null { null_mut() } else { &mut val };
                    kevo_get(
                        a.ptr as *mut kevo_db,
                        r.ptr as *const _,
                        kp,
                        kl,
                        vp,
                        &mut len,
                        e,
                    )
                });
                let got = if s == KEVO_OK {
                    // SAFETY: on KEVO_OK, `val` is a malloc'd buffer of `len` bytes.
                    let v = unsafe { std::slice::from_raw_parts(val, len) }.to_vec();
                    kevo_free(val.cast());
                    Some(v)
                } else {
                    if !out_null {
                        assert!(
                            val.is_null() && len == 0,
                            "get: outputs not cleared on {s:?}"
                        );
                    }
                    None
                };
                let key = valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false);
                self.check_read("get", s, got, &a, &r, key, out_null);
            }
            Op::GetInto(db, ro, k, cap, null_len) => {
                let (a, r) = (self.arg(db, Kind::Db), self.arg(ro, Kind::ReadOptions));
                let kr = bytes_of(&k);
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let mut buf = vec![0u8; usize::from(cap)];
                let mut len = 77usize;
                let s = call("get_into", true, |e| {
                    let lp: *mut usize = if null_len { null_mut() } else { &mut len };
                    let bp = if buf.is_empty() {
                        null_mut()
                    } else {
                        buf.as_mut_ptr()
                    };
                    kevo_get_into(
                        a.ptr as *mut kevo_db,
                        r.ptr as *const _,
                        kp,
                        kl,
                        bp,
                        buf.len(),
                        lp,
                        e,
                    )
                });
                let key = valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false);
                self.check_into("get_into", s, &buf, len, &a, &r, key, null_len);
            }
            Op::Flush(db) | Op::SyncWal(db) => {
                let flush = matches!(op, Op::Flush(_));
                let a = self.arg(db, Kind::Db);
                let s = call("flush/sync", true, |e| {
                    if flush {
                        kevo_flush(a.ptr as *mut kevo_db, e)
                    } else {
                        kevo_sync_wal(a.ptr as *mut kevo_db, e)
                    }
                });
                match self.db(&a) {
                    Ok(_) => expect("flush/sync", s, &[KEVO_OK]),
                    Err(want) => expect("flush/sync", s, &[want]),
                }
            }
            Op::CompactRange(db, start, end) => {
                let a = self.arg(db, Kind::Db);
                let (sr, er) = (bytes_of(&start), bytes_of(&end));
                let (sp, sl) = c_bytes(&start, &over, &sr, kevo::MAX_KEY_SIZE);
                let (ep, el) = c_bytes(&end, &over, &er, kevo::MAX_KEY_SIZE);
                let s = call("compact_range", true, |e| {
                    kevo_compact_range(a.ptr as *mut kevo_db, sp, sl, ep, el, e)
                });
                // A NULL bound is open, whatever its length; others are length-checked bytes.
                let ok = |b: &B, r: &[u8]| {
                    matches!(b, B::Empty | B::NullLen(_))
                        || valid_bytes(b, r, kevo::MAX_KEY_SIZE, true).is_some()
                };
                match (self.db(&a), ok(&start, &sr) && ok(&end, &er)) {
                    (Ok(_), true) => expect("compact_range", s, &[KEVO_OK]),
                    (Err(KEVO_CLOSED), true) => expect("compact_range", s, &[KEVO_CLOSED]),
                    (Err(KEVO_CLOSED), false) => {
                        expect("compact_range", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    _ => expect("compact_range", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::Property(db, which, out_null) => {
                let a = self.arg(db, Kind::Db);
                let names: [&[u8]; 8] = [
                    b"kevo.stats\0",
                    b"kevo.num-files-at-level0\0",
                    b"kevo.num-files-at-level99999999999999999999\0",
                    b"kevo.live-sst-bytes\0",
                    b"kevo.num-snapshots\0",
                    b"kevo.options\0",
                    b"no.such\0",
                    b"kevo.\xff\xfe\0",
                ];
                let i = usize::from(which) % (names.len() + 1);
                let name: *const c_char = names.get(i).map_or(null(), |n| n.as_ptr().cast());
                let mut out: *mut c_char = null_mut();
                let s = call("property", true, |e| {
                    let op: *mut *mut c_char = if out_null { null_mut() } else { &mut out };
                    kevo_property(a.ptr as *mut kevo_db, name, op, e)
                });
                if s == KEVO_OK {
                    // SAFETY: on KEVO_OK, a malloc'd NUL-terminated UTF-8 string.
                    let text = unsafe { CStr::from_ptr(out) };
                    assert!(text.to_str().is_ok(), "property: not UTF-8");
                    kevo_free(out.cast());
                } else {
                    assert!(out.is_null(), "property: output set on {s:?}");
                }
                let args_ok = !out_null && i < 7;
                match (self.db(&a), args_ok) {
                    (Ok(_), true) if matches!(i, 2 | 6) => expect("property", s, &[KEVO_NOT_FOUND]),
                    (Ok(_), true) => expect("property", s, &[KEVO_OK]),
                    (Err(KEVO_CLOSED), true) => expect("property", s, &[KEVO_CLOSED]),
                    (Err(KEVO_CLOSED), false) => {
                        expect("property", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    _ => expect("property", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::BatchNew => {
                let p = kevo_batch_new();
                self.add(p as usize, State::Batch(Vec::new()));
            }
            Op::BatchPut(h, k, v) => {
                let a = self.arg(h, Kind::Batch);
                let (kr, vr) = (bytes_of(&k), bytes_of(&v));
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let (vp, vl) = c_bytes(&v, &over, &vr, kevo::MAX_VALUE_SIZE);
                let s = call("batch_put", true, |e| {
                    kevo_batch_put(a.ptr as *mut _, kp, kl, vp, vl, e)
                });
                let key = valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false);
                let val = valid_bytes(&v, &vr, kevo::MAX_VALUE_SIZE, true);
                match (a.obj, key, val) {
                    (Some(o), Some(key), Some(val)) => {
                        expect("batch_put", s, &[KEVO_OK]);
                        if let State::Batch(ops) = &mut self.objs[o].state {
                            ops.push((key, Some(val)));
                        }
                    }
                    _ => expect("batch_put", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::BatchDelete(h, k) => {
                let a = self.arg(h, Kind::Batch);
                let kr = bytes_of(&k);
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let s = call("batch_delete", true, |e| {
                    kevo_batch_delete(a.ptr as *mut _, kp, kl, e)
                });
                match (a.obj, valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false)) {
                    (Some(o), Some(key)) => {
                        expect("batch_delete", s, &[KEVO_OK]);
                        if let State::Batch(ops) = &mut self.objs[o].state {
                            ops.push((key, None));
                        }
                    }
                    _ => expect("batch_delete", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::BatchClear(h) => {
                let a = self.arg(h, Kind::Batch);
                let s = call("batch_clear", true, |e| {
                    kevo_batch_clear(a.ptr as *mut _, e)
                });
                match a.obj {
                    Some(o) => {
                        expect("batch_clear", s, &[KEVO_OK]);
                        self.objs[o].state = State::Batch(Vec::new());
                    }
                    None => expect("batch_clear", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::BatchCount(h, out_null) => {
                let a = self.arg(h, Kind::Batch);
                let mut n = 99usize;
                let s = call("batch_count", true, |e| {
                    kevo_batch_count(
                        a.ptr as *const _,
                        if out_null { null_mut() } else { &mut n },
                        e,
                    )
                });
                match (a.obj, out_null) {
                    (Some(o), false) => {
                        expect("batch_count", s, &[KEVO_OK]);
                        if let State::Batch(ops) = &self.objs[o].state {
                            assert_eq!(n, ops.len(), "batch_count");
                        }
                    }
                    _ => expect("batch_count", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::Write(db, wo, batch) => {
                let (a, w, b) = (
                    self.arg(db, Kind::Db),
                    self.arg(wo, Kind::WriteOptions),
                    self.arg(batch, Kind::Batch),
                );
                let s = call("write", true, |e| {
                    kevo_write(a.ptr as *mut _, w.ptr as *const _, b.ptr as *const _, e)
                });
                match (self.db(&a), self.opt(&w), b.obj) {
                    (Ok(engine), Ok(_), Some(bo)) => {
                        expect("write", s, &[KEVO_OK]);
                        let ops = match &self.objs[bo].state {
                            State::Batch(ops) => ops.clone(),
                            _ => unreachable!(),
                        };
                        let m = self.model(engine);
                        for (k, v) in ops {
                            match v {
                                Some(v) => m.insert(k, v),
                                None => m.remove(&k),
                            };
                        }
                    }
                    (Err(KEVO_CLOSED), Ok(_), Some(_)) => expect("write", s, &[KEVO_CLOSED]),
                    (Err(KEVO_CLOSED), ..) => {
                        expect("write", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    _ => expect("write", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::SnapshotNew(db, out_null) => {
                let a = self.arg(db, Kind::Db);
                let mut p: *mut kevo_snapshot = 0x10 as *mut _;
                let s = call("snapshot_new", true, |e| {
                    kevo_snapshot_new(
                        a.ptr as *mut _,
                        if out_null { null_mut() } else { &mut p },
                        e,
                    )
                });
                match (self.db(&a), out_null) {
                    (Ok(engine), false) => {
                        expect("snapshot_new", s, &[KEVO_OK]);
                        let model = self.model_of(engine);
                        self.add(p as usize, State::Snapshot { engine, model });
                    }
                    (Err(KEVO_CLOSED), false) => {
                        expect("snapshot_new", s, &[KEVO_CLOSED]);
                        assert!(p.is_null());
                    }
                    (Err(KEVO_CLOSED), true) => {
                        expect("snapshot_new", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    _ => expect("snapshot_new", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::SnapshotSequence(h, out_null) => {
                let a = self.arg(h, Kind::Snapshot);
                let mut seq = 0u64;
                let s = call("snapshot_sequence", true, |e| {
                    kevo_snapshot_sequence(
                        a.ptr as *const _,
                        if out_null { null_mut() } else { &mut seq },
                        e,
                    )
                });
                match (a.obj, out_null) {
                    (Some(o), false) => {
                        let State::Snapshot { engine, .. } = self.objs[o].state else {
                            unreachable!()
                        };
                        let allowed: &[kevo_status] = if self.engine_closed(engine) {
                            &[KEVO_OK, KEVO_CLOSED]
                        } else {
                            &[KEVO_OK]
                        };
                        expect("snapshot_sequence", s, allowed);
                    }
                    _ => expect("snapshot_sequence", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::ReadOptionsNew => {
                let p = kevo_read_options_new();
                self.add(
                    p as usize,
                    State::ReadOptions {
                        snapshot: None,
                        lower: None,
                        upper: None,
                        prefix: None,
                    },
                );
            }
            Op::ReadOptionsSnapshot(ro, snap) => {
                let (r, sn) = (
                    self.arg(ro, Kind::ReadOptions),
                    self.arg(snap, Kind::Snapshot),
                );
                let s = call("read_options_set_snapshot", true, |e| {
                    kevo_read_options_set_snapshot(r.ptr as *mut _, sn.ptr as *const _, e)
                });
                match (r.obj, self.opt(&sn)) {
                    (Some(o), Ok(so)) => {
                        expect("read_options_set_snapshot", s, &[KEVO_OK]);
                        let snapshot = so.map(|so| match &self.objs[so].state {
                            State::Snapshot { engine, model } => (*engine, model.clone()),
                            _ => unreachable!(),
                        });
                        if let State::ReadOptions { snapshot: slot, .. } = &mut self.objs[o].state {
                            *slot = snapshot;
                        }
                    }
                    _ => expect("read_options_set_snapshot", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::ReadOptionsBound(ro, which, b) => {
                let r = self.arg(ro, Kind::ReadOptions);
                let br = bytes_of(&b);
                let (bp, bl) = c_bytes(&b, &over, &br, kevo::MAX_KEY_SIZE);
                let s = call("read_options_set_bound", true, |e| match which {
                    Bound::Lower => kevo_read_options_set_lower_bound(r.ptr as *mut _, bp, bl, e),
                    Bound::Upper => kevo_read_options_set_upper_bound(r.ptr as *mut _, bp, bl, e),
                    Bound::Prefix => kevo_read_options_set_prefix(r.ptr as *mut _, bp, bl, e),
                });
                // NULL removes the bound (whatever the length); otherwise the bytes.
                let value = match b {
                    B::Empty | B::NullLen(_) => Some(None),
                    _ => valid_bytes(&b, &br, kevo::MAX_KEY_SIZE, true).map(Some),
                };
                match (r.obj, value) {
                    (Some(o), Some(v)) => {
                        expect("read_options_set_bound", s, &[KEVO_OK]);
                        if let State::ReadOptions {
                            lower,
                            upper,
                            prefix,
                            ..
                        } = &mut self.objs[o].state
                        {
                            *match which {
                                Bound::Lower => lower,
                                Bound::Upper => upper,
                                Bound::Prefix => prefix,
                            } = v;
                        }
                    }
                    _ => expect("read_options_set_bound", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::WriteOptionsNew => {
                let p = kevo_write_options_new();
                self.add(p as usize, State::WriteOptions);
            }
            Op::WriteOptionsSync(h, sync) => {
                let a = self.arg(h, Kind::WriteOptions);
                let s = call("write_options_set_sync", true, |e| {
                    kevo_write_options_set_sync(a.ptr as *mut _, sync, e)
                });
                expect(
                    "write_options_set_sync",
                    s,
                    if a.obj.is_some() {
                        &[KEVO_OK]
                    } else {
                        &[KEVO_INVALID_ARGUMENT]
                    },
                );
            }
            Op::IterNew(db, ro, out_null) => {
                let (a, r) = (self.arg(db, Kind::Db), self.arg(ro, Kind::ReadOptions));
                let mut p: *mut kevo_iter = 0x10 as *mut _;
                let s = call("iter_new", true, |e| {
                    kevo_iter_new(
                        a.ptr as *mut _,
                        r.ptr as *const _,
                        if out_null { null_mut() } else { &mut p },
                        e,
                    )
                });
                let ropts = self.opt(&r);
                match (self.db(&a), ropts, out_null) {
                    (Ok(engine), Ok(ro), false) => match self.read_view(engine, &r) {
                        Ok(model) => {
                            expect("iter_new", s, &[KEVO_OK]);
                            let view = match ro.map(|o| &self.objs[o].state) {
                                Some(State::ReadOptions {
                                    lower,
                                    upper,
                                    prefix,
                                    ..
                                }) => visible(&model, lower, upper, prefix),
                                _ => visible(&model, &None, &None, &None),
                            };
                            self.add(
                                p as usize,
                                State::Iter {
                                    engine,
                                    view,
                                    pos: None,
                                    txn: None,
                                    known: true,
                                },
                            );
                        }
                        Err(allowed) => expect("iter_new", s, &allowed),
                    },
                    (Err(KEVO_CLOSED), Ok(_), false) => {
                        expect("iter_new", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    (Err(KEVO_CLOSED), ..) => {
                        expect("iter_new", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    _ => expect("iter_new", s, &[KEVO_INVALID_ARGUMENT]),
                }
                if s != KEVO_OK && !out_null {
                    assert!(p.is_null(), "iter_new: output not cleared");
                }
            }
            Op::IterMove(h, m) => {
                let a = self.arg(h, Kind::Iter);
                let s = call("iter_move", true, |e| {
                    let p = a.ptr as *mut kevo_iter;
                    match m {
                        Move::First => kevo_iter_seek_to_first(p, e),
                        Move::Last => kevo_iter_seek_to_last(p, e),
                        Move::Next => kevo_iter_next(p, e),
                        Move::Prev => kevo_iter_prev(p, e),
                    }
                });
                self.after_move(
                    "iter_move",
                    a,
                    s,
                    |view, pos| match m {
                        Move::First => (!view.is_empty()).then_some(0),
                        Move::Last => view.len().checked_sub(1),
                        Move::Next => pos.and_then(|p| (p + 1 < view.len()).then_some(p + 1)),
                        Move::Prev => pos.and_then(|p| p.checked_sub(1)),
                    },
                    matches!(m, Move::Next | Move::Prev),
                );
            }
            Op::IterSeek(h, k, for_prev) => {
                let a = self.arg(h, Kind::Iter);
                let kr = bytes_of(&k);
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let s = call("iter_seek", true, |e| {
                    if for_prev {
                        kevo_iter_seek_for_prev(a.ptr as *mut _, kp, kl, e)
                    } else {
                        kevo_iter_seek(a.ptr as *mut _, kp, kl, e)
                    }
                });
                match valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, true) {
                    Some(target) => self.after_move(
                        "iter_seek",
                        a,
                        s,
                        |view, _| {
                            if for_prev {
                                view.iter()
                                    .rposition(|(k, _)| k.as_slice() <= target.as_slice())
                            } else {
                                view.iter()
                                    .position(|(k, _)| k.as_slice() >= target.as_slice())
                            }
                        },
                        false,
                    ),
                    None => {
                        let allowed: &[kevo_status] = match self.iter_engine(&a) {
                            Some(e) if self.engine_closed(e) => {
                                &[KEVO_INVALID_ARGUMENT, KEVO_CLOSED]
                            }
                            _ => &[KEVO_INVALID_ARGUMENT],
                        };
                        expect("iter_seek", s, allowed);
                    }
                }
            }
            Op::IterRead(h, value, out_null) => {
                let a = self.arg(h, Kind::Iter);
                let mut p: *const u8 = 0x10 as *const u8;
                let mut len = 77usize;
                let s = call("iter_read", true, |e| {
                    let pp: *mut *const u8 = if out_null { null_mut() } else { &mut p };
                    if value {
                        kevo_iter_value(a.ptr as *const _, pp, &mut len, e)
                    } else {
                        kevo_iter_key(a.ptr as *const _, pp, &mut len, e)
                    }
                });
                let valid = kevo_iter_valid(a.ptr as *const _);
                if s != KEVO_OK && !out_null {
                    assert!(p.is_null() && len == 0, "iter_read: outputs not cleared");
                }
                let Some(o) = a.obj else {
                    expect("iter_read", s, &[KEVO_INVALID_ARGUMENT]);
                    return assert!(!valid, "iter_valid on a non-iterator");
                };
                let State::Iter {
                    engine,
                    view,
                    pos,
                    txn,
                    known,
                } = &self.objs[o].state
                else {
                    unreachable!()
                };
                let done = txn.is_some_and(|t| self.txn_done(t));
                if self.engine_closed(*engine) {
                    expect("iter_read", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT]);
                    return assert!(!valid, "iter_valid after close");
                }
                if out_null {
                    return expect("iter_read", s, &[KEVO_INVALID_ARGUMENT]);
                }
                if *known && !done {
                    assert_eq!(valid, pos.is_some(), "iter_valid");
                }
                let allowed: &[kevo_status] = match (*known && !done, pos) {
                    (true, Some(_)) => &[KEVO_OK],
                    (true, None) => &[KEVO_INVALID_ARGUMENT],
                    (false, _) => &[KEVO_OK, KEVO_INVALID_ARGUMENT],
                };
                expect("iter_read", s, allowed);
                if let (KEVO_OK, true, Some(i)) = (s, *known, pos) {
                    // SAFETY: on KEVO_OK, `p` points at `len` bytes inside the iterator,
                    // valid until its next move.
                    let got = unsafe { std::slice::from_raw_parts(p, len) };
                    let want = if value { &view[*i].1 } else { &view[*i].0 };
                    assert_eq!(got, want.as_slice(), "iterator entry");
                }
            }
            Op::IterStatus(h) => {
                let a = self.arg(h, Kind::Iter);
                let s = call("iter_status", true, |e| {
                    kevo_iter_status(a.ptr as *const _, e)
                });
                match a.obj.map(|o| &self.objs[o].state) {
                    Some(State::Iter { engine, .. }) if self.engine_closed(*engine) => {
                        expect("iter_status", s, &[KEVO_CLOSED])
                    }
                    Some(State::Iter { txn: Some(t), .. }) if self.txn_done(*t) => {
                        expect("iter_status", s, &[KEVO_OK, KEVO_INVALID_ARGUMENT])
                    }
                    Some(_) => expect("iter_status", s, &[KEVO_OK]),
                    None => expect("iter_status", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::TxnOptionsNew => {
                let p = kevo_txn_options_new();
                self.add(p as usize, State::TxnOptions);
            }
            Op::TxnOptionsIsolation(h, level) => {
                let a = self.arg(h, Kind::TxnOptions);
                let s = call("txn_options_set_isolation", true, |e| {
                    kevo_txn_options_set_isolation(a.ptr as *mut _, level, e)
                });
                let ok = a.obj.is_some() && level <= 1;
                expect(
                    "txn_options_set_isolation",
                    s,
                    if ok {
                        &[KEVO_OK]
                    } else {
                        &[KEVO_INVALID_ARGUMENT]
                    },
                );
            }
            Op::TxnBegin(db, to, out_null) => {
                let (a, t) = (self.arg(db, Kind::Db), self.arg(to, Kind::TxnOptions));
                let mut p: *mut kevo_txn = 0x10 as *mut _;
                let s = call("txn_begin", true, |e| {
                    kevo_txn_begin(
                        a.ptr as *mut _,
                        t.ptr as *const _,
                        if out_null { null_mut() } else { &mut p },
                        e,
                    )
                });
                match (self.db(&a), self.opt(&t), out_null) {
                    (Ok(engine), Ok(_), false) => {
                        expect("txn_begin", s, &[KEVO_OK]);
                        let base = self.model_of(engine);
                        let since = self.engines[engine].writes;
                        let state = State::Txn {
                            engine,
                            base,
                            writes: BTreeMap::new(),
                            done: false,
                            since,
                        };
                        self.add(p as usize, state);
                    }
                    (Err(KEVO_CLOSED), Ok(_), false) => expect("txn_begin", s, &[KEVO_CLOSED]),
                    (Err(KEVO_CLOSED), ..) => {
                        expect("txn_begin", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT])
                    }
                    _ => expect("txn_begin", s, &[KEVO_INVALID_ARGUMENT]),
                }
            }
            Op::TxnPut(h, k, v) => self.txn_write(h, k, Some(v)),
            Op::TxnDelete(h, k) => self.txn_write(h, k, None),
            Op::TxnGet(h, k, out_null) => {
                let a = self.arg(h, Kind::Txn);
                let kr = bytes_of(&k);
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let mut val: *mut u8 = 0x10 as *mut u8;
                let mut len = 77usize;
                let s = call("txn_get", true, |e| {
                    let vp: *mut *mut u8 = if out_null { null_mut() } else { &mut val };
                    kevo_txn_get(a.ptr as *mut _, kp, kl, vp, &mut len, e)
                });
                let got = (s == KEVO_OK).then(|| {
                    // SAFETY: on KEVO_OK, a malloc'd buffer of `len` bytes.
                    let v = unsafe { std::slice::from_raw_parts(val, len) }.to_vec();
                    kevo_free(val.cast());
                    v
                });
                let key = valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false);
                self.check_txn_read("txn_get", s, got, &a, key.filter(|_| !out_null));
            }
            Op::TxnGetInto(h, k, cap) => {
                let a = self.arg(h, Kind::Txn);
                let kr = bytes_of(&k);
                let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
                let mut buf = vec![0u8; usize::from(cap)];
                let mut len = 77usize;
                let s = call("txn_get_into", true, |e| {
                    let bp = if buf.is_empty() {
                        null_mut()
                    } else {
                        buf.as_mut_ptr()
                    };
                    kevo_txn_get_into(a.ptr as *mut _, kp, kl, bp, buf.len(), &mut len, e)
                });
                let key = valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false);
                match self.txn_expected(&a, key.as_ref()) {
                    Some(Some(w)) if w.len() > buf.len() => {
                        expect("txn_get_into", s, &[KEVO_BUFFER_TOO_SMALL]);
                        assert_eq!(len, w.len(), "txn_get_into: value_len");
                    }
                    Some(Some(w)) => {
                        expect("txn_get_into", s, &[KEVO_OK]);
                        assert_eq!(&buf[..len], w.as_slice(), "txn_get_into: value");
                    }
                    Some(None) => {
                        expect("txn_get_into", s, &[KEVO_NOT_FOUND]);
                        assert_eq!(len, 0, "txn_get_into: value_len of an absent key");
                    }
                    None => self.check_txn_read("txn_get_into", s, None, &a, key),
                }
            }
            Op::TxnIterNew(h, ro) => {
                let (a, r) = (self.arg(h, Kind::Txn), self.arg(ro, Kind::ReadOptions));
                let mut p: *mut kevo_iter = 0x10 as *mut _;
                let s = call("txn_iter_new", true, |e| {
                    kevo_txn_iter_new(a.ptr as *mut _, r.ptr as *const _, &mut p, e)
                });
                let Some(o) = a.obj else {
                    return expect("txn_iter_new", s, &[KEVO_INVALID_ARGUMENT]);
                };
                let id = self.objs[o].id;
                let State::Txn {
                    engine,
                    base,
                    writes,
                    done,
                    ..
                } = &self.objs[o].state
                else {
                    unreachable!()
                };
                let engine = *engine;
                if self.engine_closed(engine) {
                    return expect("txn_iter_new", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT]);
                }
                let bounds = match self.opt(&r).map(|ro| ro.map(|o| &self.objs[o].state)) {
                    Ok(None) => (None, None, None),
                    Ok(Some(State::ReadOptions {
                        snapshot: None,
                        lower,
                        upper,
                        prefix,
                    })) => (lower.clone(), upper.clone(), prefix.clone()),
                    // A snapshot in the options: refused (the transaction has its own).
                    _ => return expect("txn_iter_new", s, &[KEVO_INVALID_ARGUMENT]),
                };
                if *done {
                    return expect("txn_iter_new", s, &[KEVO_INVALID_ARGUMENT]);
                }
                let view = visible(&txn_view(base, writes), &bounds.0, &bounds.1, &bounds.2);
                expect("txn_iter_new", s, &[KEVO_OK]);
                let state = State::Iter {
                    engine,
                    view,
                    pos: None,
                    txn: Some(id),
                    known: true,
                };
                self.add(p as usize, state);
            }
            Op::TxnCommit(h) | Op::TxnRollback(h) => {
                let commit = matches!(op, Op::TxnCommit(_));
                let a = self.arg(h, Kind::Txn);
                let s = call("txn_end", true, |e| {
                    if commit {
                        kevo_txn_commit(a.ptr as *mut _, e)
                    } else {
                        kevo_txn_rollback(a.ptr as *mut _, e)
                    }
                });
                let Some(o) = a.obj else {
                    return expect("txn_end", s, &[KEVO_INVALID_ARGUMENT]);
                };
                let State::Txn {
                    engine,
                    base,
                    writes,
                    done,
                    since,
                } = &mut self.objs[o].state
                else {
                    unreachable!()
                };
                let engine = *engine;
                if self.engines[engine].closed {
                    return expect("txn_end", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT]);
                }
                if *done {
                    return expect("txn_end", s, &[KEVO_INVALID_ARGUMENT]);
                }
                *done = true;
                let (writes, base, since) = (std::mem::take(writes), base.clone(), *since);
                if !commit || writes.is_empty() {
                    // A rollback, or a commit with nothing to write (no check is made).
                    return expect("txn_end", s, &[KEVO_OK]);
                }
                // Snapshot isolation: a key this transaction wrote that changed since its
                // snapshot must conflict (first committer wins). A serializable one may also
                // conflict on what it read; either way only after some write since it began.
                let d = self.engines[engine].dir;
                let lost_update = writes
                    .keys()
                    .any(|k| base.get(k) != self.dirs[d].model.get(k));
                if lost_update {
                    return expect("txn_commit", s, &[KEVO_CONFLICT]);
                }
                if s == KEVO_CONFLICT {
                    return assert!(
                        self.engines[engine].writes > since,
                        "txn_commit: KEVO_CONFLICT with no write since the transaction began"
                    );
                }
                expect("txn_commit", s, &[KEVO_OK]);
                let model = self.model(engine);
                for (k, v) in writes {
                    match v {
                        Some(v) => model.insert(k, v),
                        None => model.remove(&k),
                    };
                }
            }
            Op::TxnCount(h) => {
                let a = self.arg(h, Kind::Txn);
                let mut n = 0usize;
                let s = call("txn_write_count", true, |e| {
                    kevo_txn_write_count(a.ptr as *const _, &mut n, e)
                });
                let mut seq = 0u64;
                let s2 = call("txn_snapshot_sequence", true, |e| {
                    kevo_txn_snapshot_sequence(a.ptr as *const _, &mut seq, e)
                });
                match a.obj {
                    Some(o) => {
                        let State::Txn { engine, .. } = &self.objs[o].state else {
                            unreachable!()
                        };
                        let allowed: &[kevo_status] = if self.engine_closed(*engine) {
                            &[KEVO_OK, KEVO_CLOSED, KEVO_INVALID_ARGUMENT]
                        } else {
                            &[KEVO_OK, KEVO_INVALID_ARGUMENT]
                        };
                        expect("txn_write_count", s, allowed);
                        expect("txn_snapshot_sequence", s2, allowed);
                    }
                    None => {
                        expect("txn_write_count", s, &[KEVO_INVALID_ARGUMENT]);
                        expect("txn_snapshot_sequence", s2, &[KEVO_INVALID_ARGUMENT]);
                    }
                }
            }
            Op::ErrorRead(h) => {
                // Make a real error object now and then, so that error handles exist.
                let a = self.arg(h, Kind::Error);
                let code = kevo_error_code(a.ptr as *const _);
                let msg = kevo_error_message(a.ptr as *const _);
                if a.obj.is_some() {
                    assert!(!msg.is_null());
                    assert_ne!(code, KEVO_OK);
                } else {
                    assert_eq!(
                        code, KEVO_INVALID_ARGUMENT,
                        "kevo_error_code of a non-error"
                    );
                    if !msg.is_null() {
                        // SAFETY: a static NUL-terminated string.
                        assert!(!unsafe { CStr::from_ptr(msg) }.to_bytes().is_empty());
                    }
                    let mut e: *mut kevo_error = null_mut();
                    let s = kevo_put(null_mut(), null(), null(), 0, null(), 0, &mut e);
                    expect("put(NULL)", s, &[KEVO_INVALID_ARGUMENT]);
                    self.add(e as usize, State::Error);
                }
            }
            Op::StatusName(code) => {
                let p = kevo_status_name(code);
                assert!(!p.is_null());
                // SAFETY: a static NUL-terminated string.
                let name = unsafe { CStr::from_ptr(p) }
                    .to_str()
                    .expect("status name is ASCII");
                assert!(name.starts_with("KEVO_"), "{name}");
            }
            Op::Free(h) => {
                // Free whatever it is, through the free function of the type it is passed as.
                let kind = match h {
                    H::Right(i) | H::Any(i) | H::Freed(i) | H::Bogus(i) => i,
                    H::Null => 0,
                };
                let kinds = [
                    Kind::Db,
                    Kind::Options,
                    Kind::ReadOptions,
                    Kind::WriteOptions,
                    Kind::Batch,
                    Kind::Snapshot,
                    Kind::Iter,
                    Kind::Txn,
                    Kind::TxnOptions,
                    Kind::Error,
                ];
                let kind = kinds[usize::from(kind) % kinds.len()];
                let a = self.arg(h, kind);
                self.free(kind, a);
            }
        }
    }

    fn iter_engine(&self, a: &Arg) -> Option<usize> {
        match a.obj.map(|o| &self.objs[o].state) {
            Some(State::Iter { engine, .. }) => Some(*engine),
            _ => None,
        }
    }

    /// Checks a move's status and updates the iterator's position in the model.
    fn after_move(
        &mut self,
        what: &str,
        a: Arg,
        s: kevo_status,
        step: impl FnOnce(&[(Vec<u8>, Vec<u8>)], Option<usize>) -> Option<usize>,
        needs_position: bool,
    ) {
        let Some(o) = a.obj else {
            return expect(what, s, &[KEVO_INVALID_ARGUMENT]);
        };
        let done = match &self.objs[o].state {
            State::Iter { txn: Some(t), .. } => self.txn_done(*t),
            _ => false,
        };
        let State::Iter {
            engine,
            view,
            pos,
            known,
            ..
        } = &mut self.objs[o].state
        else {
            unreachable!()
        };
        if self.engines[*engine].closed {
            return expect(what, s, &[KEVO_CLOSED]);
        }
        if done {
            // Its transaction is finished: every move leaves it invalid.
            *pos = None;
            *known = true;
            return expect(what, s, &[KEVO_INVALID_ARGUMENT]);
        }
        if !*known {
            // Its transaction wrote since it was made: what it shows is not modelled.
            return expect(what, s, &[KEVO_OK, KEVO_INVALID_ARGUMENT]);
        }
        if needs_position && pos.is_none() {
            // Next/prev off an entry: refused, position unchanged.
            return expect(what, s, &[KEVO_INVALID_ARGUMENT]);
        }
        expect(what, s, &[KEVO_OK]);
        *pos = step(view, *pos);
    }

    fn txn_expected(&self, a: &Arg, key: Option<&Vec<u8>>) -> Option<Option<Vec<u8>>> {
        let (
            State::Txn {
                base,
                writes,
                done: false,
                engine,
                ..
            },
            Some(key),
        ) = (a.obj.map(|o| &self.objs[o].state)?, key)
        else {
            return None;
        };
        if self.engines[*engine].closed {
            return None;
        }
        Some(match writes.get(key) {
            Some(v) => v.clone(),
            None => base.get(key).cloned(),
        })
    }

    fn check_txn_read(
        &self,
        what: &str,
        s: kevo_status,
        got: Option<Vec<u8>>,
        a: &Arg,
        key: Option<Vec<u8>>,
    ) {
        let Some(o) = a.obj else {
            return expect(what, s, &[KEVO_INVALID_ARGUMENT]);
        };
        let State::Txn { engine, done, .. } = &self.objs[o].state else {
            unreachable!()
        };
        if self.engines[*engine].closed {
            return expect(what, s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT]);
        }
        if *done || key.is_none() {
            return expect(what, s, &[KEVO_INVALID_ARGUMENT]);
        }
        match self
            .txn_expected(a, key.as_ref())
            .expect("a live transaction")
        {
            Some(v) => {
                expect(what, s, &[KEVO_OK]);
                assert_eq!(got.as_ref(), Some(&v), "{what}: value");
            }
            None => expect(what, s, &[KEVO_NOT_FOUND]),
        }
    }

    fn txn_write(&mut self, h: H, k: B, v: Option<B>) {
        let over = self.over;
        let a = self.arg(h, Kind::Txn);
        let kr = bytes_of(&k);
        let (kp, kl) = c_bytes(&k, &over, &kr, kevo::MAX_KEY_SIZE);
        let vr = v.as_ref().map(bytes_of).unwrap_or_default();
        let s = call("txn_write", true, |e| match &v {
            Some(vb) => {
                let (vp, vl) = c_bytes(vb, &over, &vr, kevo::MAX_VALUE_SIZE);
                kevo_txn_put(a.ptr as *mut _, kp, kl, vp, vl, e)
            }
            None => kevo_txn_delete(a.ptr as *mut _, kp, kl, e),
        });
        let key = valid_bytes(&k, &kr, kevo::MAX_KEY_SIZE, false);
        let val = match &v {
            Some(vb) => valid_bytes(vb, &vr, kevo::MAX_VALUE_SIZE, true).map(Some),
            None => Some(None),
        };
        let Some(o) = a.obj else {
            return expect("txn_write", s, &[KEVO_INVALID_ARGUMENT]);
        };
        let State::Txn {
            engine,
            writes,
            done,
            ..
        } = &mut self.objs[o].state
        else {
            unreachable!()
        };
        if self.engines[*engine].closed {
            return expect("txn_write", s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT]);
        }
        match (key, val, *done) {
            (Some(k), Some(v), false) => {
                expect("txn_write", s, &[KEVO_OK]);
                writes.insert(k, v);
            }
            _ => return expect("txn_write", s, &[KEVO_INVALID_ARGUMENT]),
        }
        let id = self.objs[o].id;
        for obj in &mut self.objs {
            if let State::Iter {
                txn: Some(t),
                known,
                ..
            } = &mut obj.state
            {
                if *t == id {
                    *known = false;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_read(
        &self,
        what: &str,
        s: kevo_status,
        got: Option<Vec<u8>>,
        a: &Arg,
        r: &Arg,
        key: Option<Vec<u8>>,
        out_null: bool,
    ) {
        let args_ok = key.is_some() && !out_null && self.opt(r).is_ok();
        match self.db(a) {
            Err(KEVO_CLOSED) => expect(what, s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT]),
            Err(_) => expect(what, s, &[KEVO_INVALID_ARGUMENT]),
            Ok(_) if !args_ok => expect(what, s, &[KEVO_INVALID_ARGUMENT]),
            Ok(engine) => match self.read_view(engine, r) {
                Err(allowed) => expect(what, s, &allowed),
                Ok(model) => match model.get(&key.unwrap()) {
                    Some(v) => {
                        expect(what, s, &[KEVO_OK]);
                        assert_eq!(got.as_ref(), Some(v), "{what}: value");
                    }
                    None => expect(what, s, &[KEVO_NOT_FOUND]),
                },
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_into(
        &self,
        what: &str,
        s: kevo_status,
        buf: &[u8],
        len: usize,
        a: &Arg,
        r: &Arg,
        key: Option<Vec<u8>>,
        null_len: bool,
    ) {
        let args_ok = key.is_some() && !null_len && self.opt(r).is_ok();
        match self.db(a) {
            Err(KEVO_CLOSED) => expect(what, s, &[KEVO_CLOSED, KEVO_INVALID_ARGUMENT]),
            Err(_) => expect(what, s, &[KEVO_INVALID_ARGUMENT]),
            Ok(_) if !args_ok => expect(what, s, &[KEVO_INVALID_ARGUMENT]),
            Ok(engine) => match self.read_view(engine, r) {
                Err(allowed) => expect(what, s, &allowed),
                Ok(model) => match model.get(&key.unwrap()) {
                    Some(v) if v.len() <= buf.len() => {
                        expect(what, s, &[KEVO_OK]);
                        assert_eq!(len, v.len(), "{what}: value_len");
                        assert_eq!(&buf[..len], v.as_slice(), "{what}: value");
                    }
                    Some(v) => {
                        expect(what, s, &[KEVO_BUFFER_TOO_SMALL]);
                        assert_eq!(len, v.len(), "{what}: value_len");
                    }
                    None => {
                        expect(what, s, &[KEVO_NOT_FOUND]);
                        assert_eq!(len, 0, "{what}: value_len of an absent key");
                    }
                },
            },
        }
    }

    fn set_option(&mut self, h: H, arg: OptionArg) {
        use OptionArg::*;
        let a = self.arg(h, Kind::Options);
        let p = a.ptr as *mut kevo_options;
        let mut e: *mut kevo_error = null_mut();
        let s = match arg {
            CreateIfMissing(v) => kevo_options_set_create_if_missing(p, v, &mut e),
            ErrorIfExists(v) => kevo_options_set_error_if_exists(p, v, &mut e),
            SyncMode(m, b, ms) => kevo_options_set_sync_mode(p, m % 4, b % 4, ms, &mut e),
            MemtableSize(huge, n) => {
                let bytes = if huge {
                    usize::MAX - n as usize
                } else {
                    n as usize % MEMTABLE_SAFE_MAX
                };
                kevo_options_set_memtable_size(p, bytes, &mut e)
            }
            MaxImmutable(n) => kevo_options_set_max_immutable_memtables(p, n, &mut e),
            BlockSize(n) => kevo_options_set_block_size(p, n, &mut e),
            RestartInterval(n) => kevo_options_set_block_restart_interval(p, n, &mut e),
            BloomBits(n) => kevo_options_set_bloom_bits_per_key(p, n, &mut e),
            L0Trigger(n) => kevo_options_set_l0_compaction_trigger(p, n, &mut e),
            L0Slowdown(n) => kevo_options_set_l0_slowdown_writes_trigger(p, n, &mut e),
            L0Stop(n) => kevo_options_set_l0_stop_writes_trigger(p, n, &mut e),
            TargetFileSize(n) => kevo_options_set_target_file_size(p, n, &mut e),
            CompactionStyle(n) => kevo_options_set_compaction_style(p, n, &mut e),
            LevelBase(n) => kevo_options_set_max_bytes_for_level_base(p, n, &mut e),
            LevelMultiplier(n) => kevo_options_set_level_size_multiplier(p, n, &mut e),
            TieredRatio(n) => kevo_options_set_tiered_size_ratio(p, n, &mut e),
            TieredAmp(n) => kevo_options_set_tiered_max_size_amplification_percent(p, n, &mut e),
            TieredWidth(n) => kevo_options_set_tiered_min_merge_width(p, n, &mut e),
            Compression(c, l) => kevo_options_set_compression(p, c % 4, l, &mut e),
            BackgroundCompactions(n) => kevo_options_set_max_background_compactions(p, n, &mut e),
            CacheSize(n) => kevo_options_set_block_cache_size(p, n, &mut e),
            CacheIndex(v) => kevo_options_set_cache_index_and_filter_blocks(p, v, &mut e),
            MaxOpenFiles(n) => kevo_options_set_max_open_files(p, n, &mut e),
            WalRecovery(m) => kevo_options_set_wal_recovery_mode(p, m % 5, &mut e),
            Paranoid(v) => kevo_options_set_paranoid_checks(p, v, &mut e),
        };
        assert_ne!(s, KEVO_INTERNAL, "option setter: {}", message(e));
        assert_eq!(
            s == KEVO_OK,
            e.is_null(),
            "option setter: error object iff failure"
        );
        free_error(e);
        let Some(o) = a.obj else {
            return expect("option setter", s, &[KEVO_INVALID_ARGUMENT]);
        };
        expect("option setter", s, &[KEVO_OK, KEVO_INVALID_ARGUMENT]);
        if s != KEVO_OK {
            return;
        }
        if let State::Options {
            create_if_missing,
            error_if_exists,
            custom,
        } = &mut self.objs[o].state
        {
            match arg {
                CreateIfMissing(v) => *create_if_missing = v,
                ErrorIfExists(v) => *error_if_exists = v,
                // A memtable size the setter accepts must be one open accepts too; keep
                // such options comparable to the defaults.
                MemtableSize(false, _) | CacheIndex(_) | Paranoid(_) => {}
                _ => *custom = true,
            }
        }
    }

    fn open(&mut self, path: PathArg, opts: H, out_null: bool) {
        let o = self.arg(opts, Kind::Options);
        let (cpath, dir): (Option<CString>, Option<usize>) = match path {
            PathArg::New if self.dirs.len() < 4 => {
                let p = self.root.join(format!("db{}", self.dirs.len()));
                let c = CString::new(p.into_os_string().into_encoded_bytes()).unwrap();
                self.dirs.push(Dir {
                    path: c.clone(),
                    model: Model::new(),
                    open: None,
                    exists: false,
                });
                (Some(c), Some(self.dirs.len() - 1))
            }
            PathArg::New | PathArg::Existing(_) if !self.dirs.is_empty() => {
                let i = match path {
                    PathArg::Existing(i) => usize::from(i) % self.dirs.len(),
                    _ => 0,
                };
                (Some(self.dirs[i].path.clone()), Some(i))
            }
            PathArg::NotUtf8 => (
                Some(CString::new(b"/tmp/kevo-\xff\xfe".to_vec()).unwrap()),
                None,
            ),
            PathArg::UnderAFile => {
                let file = self.root.join("a-file");
                std::fs::write(&file, b"x").unwrap();
                let c =
                    CString::new(file.join("db").into_os_string().into_encoded_bytes()).unwrap();
                (Some(c), None)
            }
            _ => (None, None),
        };
        let mut db: *mut kevo_db = 0x10 as *mut _;
        let pp = cpath.as_ref().map_or(null(), |c| c.as_ptr());
        let s = call("open", true, |e| {
            kevo_open(
                pp,
                o.ptr as *const _,
                if out_null { null_mut() } else { &mut db },
                e,
            )
        });
        if s != KEVO_OK && !out_null {
            assert!(db.is_null(), "open: output not cleared on {s:?}");
        }
        let opts = match self.opt(&o) {
            Err(_) => return expect("open", s, &[KEVO_INVALID_ARGUMENT]),
            Ok(None) => (true, false, false),
            Ok(Some(i)) => match self.objs[i].state {
                State::Options {
                    create_if_missing,
                    error_if_exists,
                    custom,
                } => (create_if_missing, error_if_exists, custom),
                _ => unreachable!(),
            },
        };
        let (create, error_if_exists, custom) = opts;
        if out_null {
            return expect("open", s, &[KEVO_INVALID_ARGUMENT]);
        }
        let Some(d) = dir else {
            return match path {
                PathArg::UnderAFile => expect(
                    "open",
                    s,
                    &[KEVO_IO_ERROR, KEVO_NOT_FOUND, KEVO_INVALID_ARGUMENT],
                ),
                // NULL (also `Existing` before any directory exists), or not UTF-8.
                _ => expect("open", s, &[KEVO_INVALID_ARGUMENT]),
            };
        };
        let mut allowed = vec![];
        if self.dirs[d].open.is_some() {
            allowed.push(KEVO_LOCKED);
        } else if self.dirs[d].exists && error_if_exists {
            allowed.push(KEVO_INVALID_ARGUMENT);
        } else if !self.dirs[d].exists && !create {
            allowed.push(KEVO_NOT_FOUND);
        } else {
            allowed.push(KEVO_OK);
        }
        if custom {
            // Options that are each in range may still be refused together, at open.
            allowed.push(KEVO_INVALID_ARGUMENT);
        }
        expect("open", s, &allowed);
        if s == KEVO_OK {
            self.dirs[d].exists = true;
            self.engines.push(Engine {
                dir: d,
                closed: false,
                writes: 0,
            });
            let engine = self.engines.len() - 1;
            self.dirs[d].open = Some(engine);
            self.add(db as usize, State::Db { engine });
            // Everything written before is there after the reopen.
            self.verify_dir(db, d);
        }
    }

    /// Reads every key of the directory's model back through a fresh iterator.
    fn verify_dir(&self, db: *mut kevo_db, d: usize) {
        let mut it: *mut kevo_iter = null_mut();
        expect(
            "verify iter_new",
            kevo_iter_new(db, null(), &mut it, null_mut()),
            &[KEVO_OK],
        );
        expect(
            "verify seek",
            kevo_iter_seek_to_first(it, null_mut()),
            &[KEVO_OK],
        );
        let mut got = Model::new();
        while kevo_iter_valid(it) {
            let (mut k, mut kl, mut v, mut vl) = (null(), 0usize, null(), 0usize);
            expect(
                "verify key",
                kevo_iter_key(it, &mut k, &mut kl, null_mut()),
                &[KEVO_OK],
            );
            expect(
                "verify value",
                kevo_iter_value(it, &mut v, &mut vl, null_mut()),
                &[KEVO_OK],
            );
            // SAFETY: valid until the next move.
            unsafe {
                got.insert(
                    std::slice::from_raw_parts(k, kl).to_vec(),
                    std::slice::from_raw_parts(v, vl).to_vec(),
                );
            }
            expect("verify next", kevo_iter_next(it, null_mut()), &[KEVO_OK]);
        }
        expect(
            "verify status",
            kevo_iter_status(it, null_mut()),
            &[KEVO_OK],
        );
        kevo_iter_free(it);
        assert!(
            got == self.dirs[d].model,
            "reopened database differs from the model"
        );
    }

    fn free(&mut self, kind: Kind, a: Arg) {
        let p = a.ptr;
        match kind {
            Kind::Db => kevo_db_free(p as *mut _),
            Kind::Options => kevo_options_free(p as *mut _),
            Kind::ReadOptions => kevo_read_options_free(p as *mut _),
            Kind::WriteOptions => kevo_write_options_free(p as *mut _),
            Kind::Batch => kevo_batch_free(p as *mut _),
            Kind::Snapshot => kevo_snapshot_free(p as *mut _),
            Kind::Iter => kevo_iter_free(p as *mut _),
            Kind::Txn => kevo_txn_free(p as *mut _),
            Kind::TxnOptions => kevo_txn_options_free(p as *mut _),
            Kind::Error => kevo_error_free(p as *mut _),
        }
        if let Some(o) = a.obj {
            if let State::Db { engine } = self.objs[o].state {
                self.close_engine(engine);
            }
            self.remove(o);
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Free in creation order: parents before children, the order C code gets wrong.
        while !self.objs.is_empty() {
            let kind = self.objs[0].state.kind();
            let a = Arg {
                ptr: self.objs[0].ptr,
                obj: Some(0),
            };
            self.free(kind, a);
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut world = World::new();
    for op in ops.into_iter().take(256) {
        world.run(op);
    }
});

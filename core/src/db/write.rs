//! The write path: group commit, the WAL append, memtable insertion, memtable switching and
//! write stalls.
//!
//! Writers queue up (LevelDB's `DBImpl::Write`). The writer at the front of the queue is the
//! *leader*: it takes the batches of the writers queued behind it (up to
//! [`MAX_GROUP_BYTES`]), appends them to the WAL as **one** record, syncs once if the
//! [`SyncMode`](crate::SyncMode) asks for it, inserts them into the memtable and publishes
//! the new last sequence number; then it wakes the writers it served and the next leader. So
//! N concurrent writers cost one `write(2)` and at most one `fdatasync`, not N.
//!
//! A group is one WAL record, so a group is atomic on recovery as well: every batch in it
//! commits or none does, which never breaks the promise made to any single batch.
//!
//! Per-write [`WriteOptions`]: a group containing a `sync` write is synced once before any
//! of it is acknowledged, whatever the database's `SyncMode`; `disable_wal` writes are
//! grouped only with each other (a group is either logged or not) and skip the append.
//!
//! Only the leader switches memtables (when the memtable is full, or for
//! [`Db::flush`](crate::Db::flush)), so the memtable it inserts into is always the one whose
//! WAL segment it appended to.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::DbInner;
use crate::batch::{BatchOp, WriteBatch, BATCH_HEADER_LEN};
use crate::error::{Error, Result};
use crate::filename::wal_path;
use crate::fs::WritableFile;
use crate::memtable::MemTable;
use crate::options::{SyncMode, WriteOptions};
use crate::read::ReadState;
use crate::stats::Counters;
use crate::wal::{LogWriter, BLOCK_SIZE, HEADER_SIZE};

/// Most bytes of batches one leader commits together.
pub(crate) const MAX_GROUP_BYTES: usize = 1 << 20;

/// A check the write leader makes at one writer's turn in its group, just before the group
/// is logged (RocksDB's `WriteCallback`). If it fails, that writer gets its error and
/// nothing of its batch is written; the rest of the group commits. The write path declares
/// it so that what runs above the database (the conflict check of a transaction) can run
/// inside the write queue without the write path knowing what it checks.
pub(crate) trait WriteCallback: Send {
    /// Runs with the database as of the group's start (`read`), where no write can land
    /// until the group commits. `written_in_group` holds what the batches accepted before
    /// this one in the same group wrote, which `read` does not show yet.
    ///
    /// Errors: whatever the check finds; the writer receives it.
    fn check(&self, read: &ReadState, written_in_group: &GroupWrites) -> Result<()>;
}

/// What the batches accepted so far in a write group write: the keys of their puts and
/// deletes, and the `[start, end)` ranges of their range deletions.
#[derive(Debug, Default)]
pub(crate) struct GroupWrites {
    pub(crate) keys: BTreeSet<Vec<u8>>,
    pub(crate) ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

/// What a writer in the queue asks for.
enum Request {
    /// Commit this batch with these options, if `callback` (if any) passes.
    Batch {
        batch: WriteBatch,
        options: WriteOptions,
        callback: Option<Box<dyn WriteCallback>>,
    },
    /// Turn a non-empty memtable immutable now (for `Db::flush`).
    SwitchMemtable,
    /// The leader took the request; its writer waits for the result.
    Taken,
}

/// A writer waiting in the queue.
pub(crate) struct PendingWrite {
    request: Mutex<Request>,
    result: Mutex<Option<Result<()>>>,
    cv: Condvar,
}

/// The queue of writers; the front one is the leader.
#[derive(Default)]
pub(crate) struct WriteQueue {
    writers: Mutex<VecDeque<Arc<PendingWrite>>>,
}

impl DbInner {
    /// Commits `batch` as one writer of the queue; with a `callback`, only if it passes at
    /// the writer's turn (after every earlier write, earlier members of its group included,
    /// and before any later one).
    ///
    /// Errors: [`Error::InvalidArgument`] for `sync` with `disable_wal`; [`Error::Closed`];
    /// [`Error::Background`] after an earlier failure; the callback's error; [`Error::Io`]
    /// from the WAL (the database then refuses writes).
    pub(crate) fn write(
        &self,
        batch: WriteBatch,
        options: WriteOptions,
        callback: Option<Box<dyn WriteCallback>>,
    ) -> Result<()> {
        options.validate()?;
        self.enqueue(Request::Batch {
            batch,
            options,
            callback,
        })
    }

    /// Turns a non-empty memtable immutable, in turn with the writers queued before.
    ///
    /// Errors: as [`write`](Self::write).
    pub(crate) fn switch_memtable_now(&self) -> Result<()> {
        self.enqueue(Request::SwitchMemtable)
    }

    fn enqueue(&self, request: Request) -> Result<()> {
        self.read.check_open()?;
        self.check_not_read_only()?;
        let w = Arc::new(PendingWrite {
            request: Mutex::new(request),
            result: Mutex::new(None),
            cv: Condvar::new(),
        });
        let mut queue = self.write_queue.writers.lock();
        queue.push_back(w.clone());
        loop {
            if let Some(r) = w.result.lock().take() {
                return r;
            }
            if Arc::ptr_eq(&queue[0], &w) {
                break;
            }
            w.cv.wait(&mut queue);
        }
        drop(queue);

        // Leader from here on.
        let (group_len, result, mut rejected) = self.lead(&w);

        let mut queue = self.write_queue.writers.lock();
        let mut own = None;
        for i in 0..group_len {
            let done = queue
                .pop_front()
                .expect("the group is at the front of the queue");
            let r = match rejected.get_mut(i).and_then(Option::take) {
                Some(e) => Err(e),
                None => match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(e.duplicate()),
                },
            };
            if Arc::ptr_eq(&done, &w) {
                own = Some(r);
            } else {
                *done.result.lock() = Some(r);
                done.cv.notify_one();
            }
        }
        if let Some(next) = queue.front() {
            next.cv.notify_one();
        }
        own.expect("the leader is in its group")
    }

    /// The leader's work. Returns how many queue entries (from the front) it served, the
    /// result of the group's commit, and per member (by queue position) the error that
    /// rejected it before the commit, if any.
    fn lead(&self, leader: &PendingWrite) -> (usize, Result<()>, Vec<Option<Error>>) {
        let request = std::mem::replace(&mut *leader.request.lock(), Request::Taken);
        let is_switch = matches!(request, Request::SwitchMemtable);
        let mem = match self
            .check_writable()
            .and_then(|()| self.make_room_for_write(is_switch))
        {
            Ok(mem) => mem,
            Err(e) => return (1, Err(e), Vec::new()),
        };
        let Request::Batch {
            batch,
            options,
            callback,
        } = request
        else {
            return (1, Ok(()), Vec::new());
        };

        // Gather the group: batches queued behind the leader, up to MAX_GROUP_BYTES, stopping
        // at a switch request or a writer that differs in disable_wal. Their writers sleep
        // until the leader reports back.
        let mut bytes = batch.size_in_bytes();
        let mut sync = options.sync;
        let mut members = vec![(batch, callback)];
        {
            let queue = self.write_queue.writers.lock();
            for w in queue.iter().skip(1) {
                let mut request = w.request.lock();
                let Request::Batch {
                    batch,
                    options: member,
                    ..
                } = &*request
                else {
                    break;
                };
                if bytes + batch.size_in_bytes() > MAX_GROUP_BYTES
                    || member.disable_wal != options.disable_wal
                {
                    break;
                }
                bytes += batch.size_in_bytes();
                sync |= member.sync;
                if let Request::Batch {
                    batch, callback, ..
                } = std::mem::replace(&mut *request, Request::Taken)
                {
                    members.push((batch, callback));
                }
            }
        }
        let group_options = WriteOptions {
            sync,
            disable_wal: options.disable_wal,
        };
        let group_len = members.len();
        let mut rejected: Vec<Option<Error>> = (0..group_len).map(|_| None).collect();
        let mut group: Option<WriteBatch> = None;
        let any_callback = members.iter().any(|(_, c)| c.is_some());
        // A callback sees the database as of the group's start; the keys of the members
        // accepted before it in the group are passed to it separately.
        let mut written_in_group = GroupWrites::default();
        for (i, (b, callback)) in members.into_iter().enumerate() {
            if let Some(callback) = callback {
                if let Err(e) = callback.check(&self.read, &written_in_group) {
                    rejected[i] = Some(e);
                    continue;
                }
            }
            if any_callback {
                for op in b.iter() {
                    match op {
                        Ok(BatchOp::Put(k, _)) | Ok(BatchOp::Delete(k)) => {
                            written_in_group.keys.insert(k.to_vec());
                        }
                        Ok(BatchOp::DeleteRange(a, b)) => {
                            written_in_group.ranges.push((a.to_vec(), b.to_vec()));
                        }
                        // Malformed batches fail in commit below.
                        Err(_) => {}
                    }
                }
            }
            match &mut group {
                None => group = Some(b),
                Some(group) => group.append(&b),
            }
        }
        let result = match &mut group {
            Some(batch) => self.commit_or_fail(batch, group_options, &mem),
            None => Ok(()),
        };
        (group_len, result, rejected)
    }

    /// [`commit`](Self::commit); on an I/O error the database stops taking writes.
    fn commit_or_fail(
        &self,
        batch: &mut WriteBatch,
        options: WriteOptions,
        mem: &MemTable,
    ) -> Result<()> {
        let r = self.commit(batch, options, mem);
        if let Err(e) = &r {
            // The WAL may now hold a partial or unsynced record: refuse further writes rather
            // than acknowledge writes we may not keep.
            if !matches!(e, Error::InvalidArgument(_)) {
                self.set_bg_error(e);
            }
        }
        r
    }

    /// Stamps the batch with its sequence numbers, logs it and applies it to `mem`, the
    /// memtable [`make_room_for_write`](Self::make_room_for_write) made room in. The leader
    /// alone switches memtables, so it is the memtable of the segment the batch is appended
    /// to. With `options.disable_wal` nothing is logged; with `options.sync` the WAL is
    /// synced before the batch is applied.
    fn commit(&self, batch: &mut WriteBatch, options: WriteOptions, mem: &MemTable) -> Result<()> {
        batch.set_sequence(self.read.last_sequence() + 1);
        if !options.disable_wal {
            let mode = if options.sync {
                SyncMode::Always
            } else {
                self.options.sync_mode
            };
            self.wal.lock().append(batch.as_bytes(), mode)?;
            let record = batch.as_bytes().len() as u64;
            let fragments = record.div_ceil((BLOCK_SIZE - HEADER_SIZE) as u64).max(1);
            Counters::add(
                &self.counters.wal_bytes_written,
                record + fragments * HEADER_SIZE as u64,
            );
        }
        Counters::add(
            &self.counters.user_bytes_written,
            batch.size_in_bytes().saturating_sub(BATCH_HEADER_LEN) as u64,
        );
        let last = batch.insert_into(mem).map_err(Error::InvalidArgument)?;
        self.read.publish_sequence(last);
        Ok(())
    }

    /// Makes sure the memtable has room, switching to a new one when it is full (or when
    /// `force` and it is not empty), and stalls while too much is waiting to be flushed or
    /// compacted.
    ///
    /// Write stalls (RocksDB's names and LevelDB's mechanism): once L0 holds
    /// `l0_slowdown_writes_trigger` files, each write group is delayed by 1 ms, once, which
    /// hands the CPU to compaction while spreading the delay over many writes; when the
    /// memtable is full and `max_immutable_memtables` are already waiting for their flush,
    /// or L0 holds `l0_stop_writes_trigger` files, writers stop until background work
    /// catches up. Both are counted in [`Stats`](crate::Stats).
    ///
    /// Returns the memtable with room: the one the leader's group is inserted into.
    fn make_room_for_write(&self, force: bool) -> Result<Arc<MemTable>> {
        let mut force = force;
        let mut allow_delay = !force;
        let mut stopped_since: Option<Instant> = None;
        let result = self.make_room_loop(&mut force, &mut allow_delay, &mut stopped_since);
        if let Some(t) = stopped_since {
            Counters::add(&self.counters.stall_micros, t.elapsed().as_micros() as u64);
        }
        result
    }

    fn make_room_loop(
        &self,
        force: &mut bool,
        allow_delay: &mut bool,
        stopped_since: &mut Option<Instant>,
    ) -> Result<Arc<MemTable>> {
        loop {
            // Read the super version under the bg lock: background threads install theirs
            // before they notify under it, so the state seen here cannot be older than the
            // last notification (else a wait could miss its wake-up).
            let mut bg = self.bg.lock();
            let sv = self.read.current();
            if let Some(e) = &bg.error {
                return Err(Error::Background(e.clone()));
            }
            if bg.shutting_down || self.read.check_open().is_err() {
                return Err(Error::Closed);
            }
            if *allow_delay && sv.version.num_files(0) >= self.options.l0_slowdown_writes_trigger {
                drop(bg);
                let t = Instant::now();
                std::thread::sleep(Duration::from_millis(1));
                Counters::add(&self.counters.stall_micros, t.elapsed().as_micros() as u64);
                Counters::add(&self.counters.slowdown_count, 1);
                *allow_delay = false;
                continue;
            }
            let full = sv.mem.approximate_bytes() >= self.options.memtable_size;
            if !(full || (*force && !sv.mem.is_empty())) {
                return Ok(sv.mem.clone());
            }
            if sv.imm.len() >= self.options.max_immutable_memtables
                || sv.version.num_files(0) >= self.options.l0_stop_writes_trigger
            {
                // Stop: the flush or compaction thread is behind. Each signals bg_cv when a
                // job is done.
                if stopped_since.is_none() {
                    *stopped_since = Some(Instant::now());
                    Counters::add(&self.counters.stop_count, 1);
                }
                self.bg_cv.wait(&mut bg);
                continue;
            }
            drop(bg);
            self.switch_memtable()?;
            *force = false;
        }
    }

    /// Starts a new WAL segment and memtable; the old memtable joins the immutable ones and
    /// the flush thread is woken. Called by the write leader only.
    ///
    /// If the new segment cannot be created (say, its space cannot be reserved on a full
    /// disk), the write fails, the current segment and memtable stay in use, and the new
    /// segment's file is removed (see [`abandon_wal`](Self::abandon_wal)). If the directory
    /// fsync or the seal of the current segment fails, the database also stops taking writes,
    /// as after any failed WAL write or fsync.
    fn switch_memtable(&self) -> Result<()> {
        let number = self.versions.lock().new_file_number();
        let file = match self.create_wal(number) {
            Ok(file) => file,
            Err(e) => {
                self.abandon_wal(number);
                return Err(e);
            }
        };
        if let Err(e) = self.fs.sync_dir(&self.dir) {
            drop(file);
            self.abandon_wal(number);
            self.set_bg_error(&e);
            return Err(e);
        }
        let rotated = self.wal.lock().rotate(LogWriter::new(file), number);
        if let Err(e) = rotated {
            // The current segment may end in part of a seal now: nothing may follow it.
            self.abandon_wal(number);
            self.set_bg_error(&e);
            return Err(e);
        }
        let mem = Arc::new(MemTable::new(number, self.options.memtable_size));
        self.read.install(|sv| sv.with_new_memtable(mem));
        let _bg = self.bg.lock();
        self.bg_cv.notify_all();
        Ok(())
    }

    /// Removes WAL segment `number`, created but never written. It must not stay behind:
    /// recovery reads a segment without a seal that is followed by newer segments as the
    /// point where power was lost, and would drop every later segment, with writes
    /// acknowledged after this one failed. If it cannot be removed, the database stops
    /// taking writes, so that no newer segment is ever written.
    fn abandon_wal(&self, number: u64) {
        let path = wal_path(&self.dir, number);
        if let Err(e) = self.fs.remove(&path) {
            if self.fs.exists(&path) {
                self.set_bg_error(&e);
            }
        }
    }

    /// Creates WAL segment `number`, with room reserved for a full memtable's worth of
    /// records.
    pub(super) fn create_wal(&self, number: u64) -> Result<Box<dyn WritableFile>> {
        let hint = self.options.memtable_size as u64 + self.options.memtable_size as u64 / 4;
        self.fs.create_log(&wal_path(&self.dir, number), hint)
    }

    /// Waits until no immutable memtable is waiting for its flush.
    pub(super) fn wait_for_flushes(&self) -> Result<()> {
        let mut bg = self.bg.lock();
        loop {
            if let Some(e) = &bg.error {
                return Err(Error::Background(e.clone()));
            }
            if self.read.current().imm.is_empty() {
                return Ok(());
            }
            if bg.shutting_down {
                return Err(Error::Closed);
            }
            self.bg_cv.wait(&mut bg);
        }
    }
}

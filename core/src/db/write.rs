//! The write path: group commit, the WAL append, memtable insertion, memtable switching and
//! write stalls.
//!
//! Writers queue up (LevelDB's `DBImpl::Write`). The writer at the front of the queue is the
//! *leader*: it takes the batches of the writers queued behind it (up to
//! [`MAX_GROUP_BYTES`]), appends them to the WAL as **one** record, syncs once if the
//! [`SyncMode`] asks for it, inserts them into the memtable and publishes the new last
//! sequence number; then it wakes the writers it served and the next leader. So N concurrent
//! writers cost one `write(2)` and at most one `fdatasync`, not N.
//!
//! A group is one WAL record, so a group is atomic on recovery as well: every batch in it
//! commits or none does, which never breaks the promise made to any single batch.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{DbInner, SuperVersion};
use crate::batch::{BatchOp, WriteBatch};
use crate::error::{Error, Result};
use crate::filename::wal_path;
use crate::fs::WritableFile;
use crate::key::ValueKind;
use crate::memtable::MemTable;
use crate::options::SyncMode;
use crate::stats::Statistics;
use crate::txn::CommitCheck;
use crate::wal::LogWriter;

/// Most bytes of batches one leader commits together.
pub(crate) const MAX_GROUP_BYTES: usize = 1 << 20;

/// A writer waiting in the queue.
pub(crate) struct PendingWrite {
    /// The operations; `None` for a request to switch the memtable (from `Db::flush`). The
    /// leader takes them out (no copy) while their writer waits.
    batch: Mutex<Option<WriteBatch>>,
    is_switch: bool,
    force_switch: bool,
    /// A transaction's conflict check, made by the leader at this writer's turn in the
    /// group: if it fails, this writer gets the error and nothing of its batch is logged.
    check: Mutex<Option<CommitCheck>>,
    result: Mutex<Option<Result<()>>>,
    cv: Condvar,
}

/// The WAL segment being written.
pub(crate) struct WalState {
    pub(crate) writer: LogWriter,
    pub(crate) number: u64,
    /// The memtable whose writes this segment logs (the leader inserts into it).
    pub(crate) mem: Arc<MemTable>,
    /// Earlier segments, sealed, whose memtables are not flushed yet and whose tails may not
    /// be durable. They are synced before any later sync completes, so a power loss can never
    /// keep a later segment's synced writes and lose an earlier segment's; and switching
    /// segments costs no fsync on the write path.
    retired: Vec<(u64, LogWriter)>,
    bytes_since_sync: u64,
    last_sync: Instant,
}

impl WalState {
    pub(crate) fn new(writer: LogWriter, number: u64, mem: Arc<MemTable>) -> Self {
        WalState {
            writer,
            number,
            mem,
            retired: Vec::new(),
            bytes_since_sync: 0,
            last_sync: Instant::now(),
        }
    }

    /// fsyncs the segment.
    pub(crate) fn sync(&mut self) -> Result<()> {
        for (_, w) in &mut self.retired {
            w.sync()?;
        }
        self.retired.clear();
        self.writer.sync()?;
        self.bytes_since_sync = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Seals the current segment with an empty record (recovery's proof that the segment is
    /// complete) and continues in `writer`.
    fn rotate(&mut self, writer: LogWriter, number: u64, mem: Arc<MemTable>) -> Result<()> {
        self.writer.add_record(&[])?;
        self.writer.flush()?;
        let old = std::mem::replace(&mut self.writer, writer);
        self.retired.push((self.number, old));
        self.number = number;
        self.mem = mem;
        Ok(())
    }

    /// Closes every segment file (after a final [`sync`](Self::sync)), so the log files end
    /// at their last record: an mmap'd segment cuts its reserved zero tail when its file is
    /// dropped. Writes after this fail.
    pub(crate) fn finish(&mut self) {
        self.retired.clear();
        self.writer = LogWriter::new(Box::new(super::open::NullFile));
    }

    /// Forgets retired segments numbered below `log_number`: their memtables are in
    /// SSTables now.
    pub(crate) fn release_below(&mut self, log_number: u64) {
        self.retired.retain(|(n, _)| *n >= log_number);
    }

    /// Appends one record and makes it as durable as `mode` requires.
    fn append(&mut self, record: &[u8], mode: SyncMode) -> Result<()> {
        self.writer.add_record(record)?;
        // Every mode hands the record to the OS before acknowledging: it survives a process
        // crash.
        self.writer.flush()?;
        self.bytes_since_sync += record.len() as u64;
        let sync = match mode {
            SyncMode::Always => true,
            SyncMode::None => false,
            SyncMode::Batched { bytes, interval } => {
                self.bytes_since_sync >= bytes || self.last_sync.elapsed() >= interval
            }
        };
        if sync {
            self.sync()?;
        }
        Ok(())
    }
}

impl DbInner {
    /// Commits `batch` (or, with `force_switch`, turns a non-empty memtable immutable) as
    /// one writer of the queue.
    pub(crate) fn write(&self, batch: Option<WriteBatch>, force_switch: bool) -> Result<()> {
        self.write_checked(batch, force_switch, None)
    }

    /// [`write`](Self::write), committing the batch only if `check` (if any) passes at the
    /// writer's turn: after every earlier write (earlier members of its group included) and
    /// before any later one.
    pub(crate) fn write_checked(
        &self,
        batch: Option<WriteBatch>,
        force_switch: bool,
        check: Option<CommitCheck>,
    ) -> Result<()> {
        self.check_open()?;
        let w = Arc::new(PendingWrite {
            is_switch: batch.is_none(),
            batch: Mutex::new(batch),
            force_switch,
            check: Mutex::new(check),
            result: Mutex::new(None),
            cv: Condvar::new(),
        });
        let mut queue = self.writers.lock();
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

        let mut queue = self.writers.lock();
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
        if let Err(e) = self.check_writable() {
            return (1, Err(e), Vec::new());
        }
        if let Err(e) = self.make_room_for_write(leader.force_switch) {
            return (1, Err(e), Vec::new());
        }
        if leader.is_switch {
            return (1, Ok(()), Vec::new());
        }
        let first = leader
            .batch
            .lock()
            .take()
            .expect("a leader's batch is taken once");

        // Gather the group: batches queued behind the leader, up to MAX_GROUP_BYTES, stopping
        // at a switch request. Their writers sleep until the leader reports back.
        let mut bytes = first.size_in_bytes();
        let mut members = vec![(first, leader.check.lock().take())];
        {
            let queue = self.writers.lock();
            for w in queue.iter().skip(1) {
                if w.is_switch {
                    break;
                }
                let mut other = w.batch.lock();
                let Some(b) = other.as_ref() else { break };
                if bytes + b.size_in_bytes() > MAX_GROUP_BYTES {
                    break;
                }
                bytes += b.size_in_bytes();
                members.push((other.take().expect("checked above"), w.check.lock().take()));
            }
        }
        let group_len = members.len();
        let mut rejected: Vec<Option<Error>> = (0..group_len).map(|_| None).collect();
        let mut batch: Option<WriteBatch> = None;
        if members.iter().all(|(_, check)| check.is_none()) {
            for (b, _) in members {
                match &mut batch {
                    None => batch = Some(b),
                    Some(batch) => batch.append(&b),
                }
            }
        } else {
            // A transaction's check sees the database as of the group's start; the keys of
            // the members accepted before it in the group are checked separately.
            let mut group_keys = std::collections::BTreeSet::new();
            for (i, (b, check)) in members.into_iter().enumerate() {
                if let Some(check) = check {
                    if let Err(e) = check.run(self, &group_keys) {
                        rejected[i] = Some(e);
                        continue;
                    }
                }
                for op in b.iter() {
                    match op {
                        Ok(BatchOp::Put(k, _)) | Ok(BatchOp::Delete(k)) => {
                            group_keys.insert(k.to_vec());
                        }
                        // Malformed batches fail in commit below.
                        Err(_) => {}
                    }
                }
                match &mut batch {
                    None => batch = Some(b),
                    Some(batch) => batch.append(&b),
                }
            }
        }
        let result = match &mut batch {
            Some(batch) => self.commit_or_fail(batch),
            None => Ok(()),
        };
        (group_len, result, rejected)
    }

    /// [`commit`](Self::commit); on an I/O error the database stops taking writes.
    fn commit_or_fail(&self, batch: &mut WriteBatch) -> Result<()> {
        let r = self.commit(batch);
        if let Err(e) = &r {
            // The WAL may now hold a partial or unsynced record: refuse further writes rather
            // than acknowledge writes we may not keep.
            if !matches!(e, Error::InvalidArgument(_)) {
                self.set_bg_error(e);
            }
        }
        r
    }

    /// Stamps the batch with its sequence numbers, logs it and applies it to the memtable.
    fn commit(&self, batch: &mut WriteBatch) -> Result<()> {
        let first_seq = self.last_sequence.load(Ordering::Acquire) + 1;
        batch.set_sequence(first_seq);
        let mem = {
            let mut wal = self.wal.lock();
            wal.append(batch.as_bytes(), self.options.sync_mode)?;
            wal.mem.clone()
        };
        let record = batch.as_bytes().len() as u64;
        let fragments = record
            .div_ceil((crate::wal::BLOCK_SIZE - crate::wal::HEADER_SIZE) as u64)
            .max(1);
        Statistics::add(
            &self.stats.wal_bytes_written,
            record + fragments * crate::wal::HEADER_SIZE as u64,
        );
        Statistics::add(
            &self.stats.user_bytes_written,
            batch
                .size_in_bytes()
                .saturating_sub(crate::batch::BATCH_HEADER_LEN) as u64,
        );
        let mut seq = first_seq;
        for op in batch.iter() {
            match op.map_err(Error::InvalidArgument)? {
                BatchOp::Put(k, v) => mem.add(seq, ValueKind::Put, k, v),
                BatchOp::Delete(k) => mem.add(seq, ValueKind::Delete, k, b""),
            }
            seq += 1;
        }
        self.last_sequence.store(seq - 1, Ordering::Release);
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
    fn make_room_for_write(&self, force: bool) -> Result<()> {
        let mut force = force;
        let mut allow_delay = !force;
        let mut stopped_since: Option<Instant> = None;
        let result = self.make_room_loop(&mut force, &mut allow_delay, &mut stopped_since);
        if let Some(t) = stopped_since {
            Statistics::add(&self.stats.stall_micros, t.elapsed().as_micros() as u64);
        }
        result
    }

    fn make_room_loop(
        &self,
        force: &mut bool,
        allow_delay: &mut bool,
        stopped_since: &mut Option<Instant>,
    ) -> Result<()> {
        loop {
            // Read the super version under the bg lock: background threads install theirs
            // before they notify under it, so the state seen here cannot be older than the
            // last notification (else a wait could miss its wake-up).
            let mut bg = self.bg.lock();
            let sv = self.current_super_version();
            if let Some(e) = &bg.error {
                return Err(Error::Background(e.clone()));
            }
            if bg.shutting_down || self.closed.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            if *allow_delay && sv.version.num_files(0) >= self.options.l0_slowdown_writes_trigger {
                drop(bg);
                let t = Instant::now();
                std::thread::sleep(Duration::from_millis(1));
                Statistics::add(&self.stats.stall_micros, t.elapsed().as_micros() as u64);
                Statistics::add(&self.stats.slowdown_count, 1);
                *allow_delay = false;
                continue;
            }
            let full = sv.mem.approximate_bytes() >= self.options.memtable_size;
            if !(full || (*force && !sv.mem.is_empty())) {
                return Ok(());
            }
            if sv.imm.len() >= self.options.max_immutable_memtables
                || sv.version.num_files(0) >= self.options.l0_stop_writes_trigger
            {
                // Stop: the flush or compaction thread is behind. Each signals bg_cv when a
                // job is done.
                if stopped_since.is_none() {
                    *stopped_since = Some(Instant::now());
                    Statistics::add(&self.stats.stop_count, 1);
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
    /// the flush thread is woken.
    ///
    /// If the new segment cannot be created (say, its space cannot be reserved on a full
    /// disk), the write fails, the current segment and memtable stay in use, and the new
    /// segment's file is removed (see [`abandon_wal`](Self::abandon_wal)). If the directory
    /// fsync or the seal of the current segment fails, the database also stops taking writes,
    /// as after any failed WAL write or fsync.
    pub(crate) fn switch_memtable(&self) -> Result<()> {
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
        let mem = Arc::new(MemTable::new(number, self.options.memtable_size));
        let rotated = self
            .wal
            .lock()
            .rotate(LogWriter::new(file), number, mem.clone());
        if let Err(e) = rotated {
            // The current segment may end in part of a seal now: nothing may follow it.
            self.abandon_wal(number);
            self.set_bg_error(&e);
            return Err(e);
        }
        self.install_super_version(|sv| SuperVersion {
            mem,
            imm: std::iter::once(sv.mem.clone())
                .chain(sv.imm.iter().cloned())
                .collect(),
            version: sv.version.clone(),
        });
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
    pub(crate) fn create_wal(&self, number: u64) -> Result<Box<dyn WritableFile>> {
        let hint = self.options.memtable_size as u64 + self.options.memtable_size as u64 / 4;
        self.fs.create_log(&wal_path(&self.dir, number), hint)
    }

    /// Waits until no immutable memtable is waiting for its flush.
    pub(crate) fn wait_for_flushes(&self) -> Result<()> {
        let mut bg = self.bg.lock();
        loop {
            if let Some(e) = &bg.error {
                return Err(Error::Background(e.clone()));
            }
            if self.current_super_version().imm.is_empty() {
                return Ok(());
            }
            if bg.shutting_down {
                return Err(Error::Closed);
            }
            self.bg_cv.wait(&mut bg);
        }
    }
}

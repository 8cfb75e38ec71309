//! Compaction: merging SSTables to bound the number of files a read must consult and to drop
//! entries no reader can see.
//!
//! This is the foundation's compaction, deliberately simple: when L0 holds
//! [`Options::l0_compaction_trigger`](crate::Options::l0_compaction_trigger) files, all of L0
//! and the L1 files overlapping it are merged into new L1 files, split at
//! [`Options::target_file_size`](crate::Options::target_file_size). L1 is the bottom level
//! in this scheme, so the merge keeps only the newest entry of each user key and drops
//! tombstones. (Score-based leveled and size-tiered compaction over L1..L6 replace it in the
//! complete LSM.)
//!
//! Dropping older entries is safe without snapshots: a reader pins the super version it
//! started from, so it keeps reading the input files, which are deleted only once no version
//! references them; and a reader starting later reads at a sequence at least as new as every
//! entry the compaction saw.

use std::sync::Arc;

use crate::db::{DbInner, SuperVersion};
use crate::error::Result;
use crate::iterator::{InternalIterator, MergingIterator};
use crate::key::{parse_internal_key, ValueKind};
use crate::manifest::{FileMetaData, Version, VersionEdit, NUM_LEVELS};
use crate::options::Options;
use crate::sstable::{TableBuilder, TableOptions};

/// True when L0 has reached the compaction trigger.
pub(crate) fn needs_compaction(version: &Version, options: &Options) -> bool {
    version.num_files(0) >= options.l0_compaction_trigger
}

/// Merges all of L0 and the overlapping L1 files into new L1 files and installs the result.
pub(crate) fn compact_l0(db: &DbInner) -> Result<()> {
    let version = db.versions.lock().current();
    let l0: Vec<Arc<FileMetaData>> = version.files(0).to_vec();
    if l0.is_empty() {
        return Ok(());
    }
    let smallest = l0
        .iter()
        .map(|f| f.smallest_user_key())
        .min()
        .unwrap_or_default()
        .to_vec();
    let largest = l0
        .iter()
        .map(|f| f.largest_user_key())
        .max()
        .unwrap_or_default()
        .to_vec();
    let l1 = version.overlapping_files(1, &smallest, &largest);
    let bottommost = (2..NUM_LEVELS).all(|l| version.num_files(l) == 0);

    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    for f in l0.iter().chain(l1.iter()) {
        children.push(Box::new(db.tables.get(f.number)?.iter()));
    }
    let mut input = MergingIterator::new(children);

    let outputs = write_outputs(db, &mut input, bottommost);
    let mut edit = VersionEdit::default();
    for f in &l0 {
        edit.deleted_files.push((0, f.number));
    }
    for f in &l1 {
        edit.deleted_files.push((1, f.number));
    }
    let result = outputs.and_then(|outputs| {
        for f in &outputs {
            edit.new_files.push((1, f.clone()));
        }
        let r = db.apply_edit(edit, |sv, version| SuperVersion {
            mem: sv.mem.clone(),
            imm: sv.imm.clone(),
            version,
        });
        for f in &outputs {
            db.pending_outputs.lock().remove(&f.number);
        }
        r
    });
    result?;
    Ok(())
}

/// Writes the merged stream into tables of about `target_file_size` bytes, keeping the newest
/// entry per user key and dropping tombstones at the bottom level.
fn write_outputs(
    db: &DbInner,
    input: &mut MergingIterator,
    bottommost: bool,
) -> Result<Vec<FileMetaData>> {
    let mut outputs = Vec::new();
    let mut current: Option<(u64, TableBuilder)> = None;
    let mut last_user_key: Option<Vec<u8>> = None;
    let result = (|| -> Result<()> {
        input.seek_to_first();
        while input.valid() {
            let key = input.key();
            let p = parse_internal_key(key).ok_or_else(|| {
                crate::Error::corruption("<compaction input>", 0, "bad internal key")
            })?;
            let newest = last_user_key.as_deref() != Some(p.user_key);
            if newest {
                last_user_key = Some(p.user_key.to_vec());
                // Split only between user keys, so one key never spans two files of a level.
                if let Some((_, b)) = &current {
                    if b.estimated_file_size() >= db.options.target_file_size {
                        let (n, b) = current.take().expect("checked above");
                        outputs.push(finish(db, n, b)?);
                    }
                }
            }
            let keep = newest && !(bottommost && p.kind == ValueKind::Delete);
            if keep {
                if current.is_none() {
                    let n = db.versions.lock().new_file_number();
                    db.pending_outputs.lock().insert(n);
                    let path = crate::filename::table_path(&db.dir, n);
                    let file = db.fs.create(&path)?;
                    let b = TableBuilder::new(
                        TableOptions::from_options(&db.options),
                        file,
                        path.display().to_string(),
                    );
                    current = Some((n, b));
                }
                let (_, b) = current.as_mut().expect("just created");
                b.add(input.key(), input.value())?;
            }
            input.next();
        }
        input.status()?;
        if let Some((n, b)) = current.take() {
            outputs.push(finish(db, n, b)?);
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            db.fs.sync_dir(&db.dir)?;
            Ok(outputs)
        }
        Err(e) => {
            // Leave no half-written output behind; inputs are untouched.
            let mut numbers: Vec<u64> = outputs.iter().map(|f| f.number).collect();
            numbers.extend(current.map(|(n, _)| n));
            for n in numbers {
                let _ = db.fs.remove(&crate::filename::table_path(&db.dir, n));
                db.pending_outputs.lock().remove(&n);
            }
            Err(e)
        }
    }
}

fn finish(_db: &DbInner, number: u64, builder: TableBuilder) -> Result<FileMetaData> {
    let props = builder.finish()?;
    Ok(crate::db::file_meta(number, &props))
}

//! A write-ahead log of arbitrary bytes read in every recovery mode, each record decoded as
//! a write batch as recovery does: records or `Corruption`, never a panic, and no allocation
//! sized by an unchecked length.
#![no_main]

use kevo::batch::BatchOp;
use kevo::wal::{LogReader, WalRecoveryMode};
use kevo::WriteBatch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = kevo_fuzz::file_with(data);
    for mode in [
        WalRecoveryMode::TolerateCorruptedTail,
        WalRecoveryMode::AbsoluteConsistency,
        WalRecoveryMode::PointInTime,
        WalRecoveryMode::TolerateIncompleteTail,
    ] {
        let mut reader = LogReader::new(file.clone(), "fuzz.log".into(), mode);
        while let Ok(Some((offset, record))) = reader.read_record() {
            if let Ok(batch) = WriteBatch::from_bytes(&record, "fuzz.log", offset) {
                for op in batch.iter() {
                    match op {
                        Ok(BatchOp::Put(k, v)) => assert!(k.len() + v.len() <= record.len()),
                        Ok(BatchOp::Delete(k)) => assert!(k.len() <= record.len()),
                        Ok(BatchOp::DeleteRange(a, b)) => {
                            assert!(a < b && a.len() + b.len() <= record.len())
                        }
                        Err(_) => break,
                    }
                }
            }
        }
        let _ = reader.dropped_tail();
    }
});

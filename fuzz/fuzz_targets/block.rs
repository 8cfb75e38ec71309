//! A data block decoded from arbitrary bytes: construction, full scans both ways and seeks
//! must return an error or entries, never panic, hang or allocate from an unchecked length.
#![no_main]

use std::sync::Arc;

use kevo::iterator::InternalIterator;
use kevo::sstable::Block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a seek target length; the rest is the block.
    let Some((&seek_len, contents)) = data.split_first() else {
        return;
    };
    let Ok(block) = Block::new(contents.to_vec(), Arc::from("fuzz"), 0) else {
        return;
    };
    let block = Arc::new(block);
    let mut it = block.iter();
    it.seek_to_first();
    let mut n = 0usize;
    while it.valid() && n < 100_000 {
        let _ = (it.key().len(), it.value().len());
        it.next();
        n += 1;
    }
    let _ = it.status();
    it.seek_to_last();
    while it.valid() && n < 200_000 {
        it.prev();
        n += 1;
    }
    let target = &contents[..(seek_len as usize).min(contents.len())];
    it.seek(target);
    let _ = it.valid() && !it.key().is_empty();
    let _ = it.status();
});

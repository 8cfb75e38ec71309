//! [`BlockBuilder`]: packs sorted key/value entries into one block (LevelDB's block format).
//!
//! ```text
//! block   = entry* | restart: fixed32 * num_restarts | num_restarts: fixed32
//! entry   = shared: varint32 | non_shared: varint32 | value_len: varint32
//!           | key_delta: u8 * non_shared | value: u8 * value_len
//! ```
//!
//! Each key is stored as the length of the prefix it shares with the previous key plus the
//! bytes that differ (prefix compression: sorted keys share long prefixes). Every
//! `restart_interval` entries the builder stores a whole key (`shared = 0`) and records the
//! entry's offset in the restart array, so a reader can binary-search the restart points and
//! decode at most `restart_interval` entries from there. The restart array always has at
//! least one element (offset 0), even for an empty block.

use crate::coding::{put_fixed32, put_varint32};

/// Builds one block in memory. Keys must be added in increasing order (the table builder
/// checks that; this type only encodes).
#[derive(Debug)]
pub struct BlockBuilder {
    restart_interval: usize,
    buffer: Vec<u8>,
    restarts: Vec<u32>,
    /// Entries added since the last restart point.
    counter: usize,
    last_key: Vec<u8>,
    num_entries: usize,
}

impl BlockBuilder {
    /// An empty builder placing a restart point every `restart_interval` entries (values
    /// below 1 are treated as 1).
    pub fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            restart_interval: restart_interval.max(1),
            buffer: Vec::new(),
            restarts: vec![0],
            counter: 0,
            last_key: Vec::new(),
            num_entries: 0,
        }
    }

    /// Appends an entry. `key` must sort after every key added since the last
    /// [`reset`](Self::reset). Keys and values are limited to `u32::MAX` bytes (the table
    /// builder enforces far smaller limits).
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let shared = if self.counter < self.restart_interval {
            self.last_key
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            self.restarts.push(self.buffer.len() as u32);
            self.counter = 0;
            0
        };
        let non_shared = key.len() - shared;
        put_varint32(&mut self.buffer, shared as u32);
        put_varint32(&mut self.buffer, non_shared as u32);
        put_varint32(&mut self.buffer, value.len() as u32);
        self.buffer.extend_from_slice(&key[shared..]);
        self.buffer.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&key[shared..]);
        self.counter += 1;
        self.num_entries += 1;
    }

    /// Size the block would have if finished now, in bytes (contents, no trailer).
    pub fn current_size_estimate(&self) -> usize {
        self.buffer.len() + 4 * self.restarts.len() + 4
    }

    /// True if no entry was added since the last reset.
    pub fn is_empty(&self) -> bool {
        self.num_entries == 0
    }

    /// Entries added since the last reset.
    pub fn num_entries(&self) -> usize {
        self.num_entries
    }

    /// The last key added (empty if none).
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Appends the restart array and returns the finished block contents. Call
    /// [`reset`](Self::reset) before adding the next block's entries.
    pub fn finish(&mut self) -> &[u8] {
        for &r in &self.restarts {
            put_fixed32(&mut self.buffer, r);
        }
        put_fixed32(&mut self.buffer, self.restarts.len() as u32);
        &self.buffer
    }

    /// Empties the builder for the next block, keeping its allocations.
    pub fn reset(&mut self) {
        self.buffer.clear();
        self.restarts.clear();
        self.restarts.push(0);
        self.counter = 0;
        self.last_key.clear();
        self.num_entries = 0;
    }
}

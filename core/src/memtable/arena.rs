//! [`Arena`]: the memtable's bump allocator for entry bytes.
//!
//! A memtable only ever grows and is dropped whole, so its entries need no individual
//! allocation and no individual free: they are copied one after another into large chunks
//! (LevelDB's `util/arena.h` makes the same choice). That takes `malloc` off the write path and
//! makes dropping a flushed memtable free a few chunks instead of one block per entry.
//!
//! Chunks are boxed slices that never move or shrink once allocated, so a pointer into one
//! stays valid for as long as the arena lives.

use parking_lot::Mutex;

/// Bytes per chunk; an entry larger than this gets a chunk of its own.
const CHUNK_BYTES: usize = 1 << 20;

#[derive(Default)]
struct Chunks {
    full: Vec<Box<[u8]>>,
    current: Option<Box<[u8]>>,
    used: usize,
}

/// An append-only byte arena. `alloc_copy` may be called from one thread at a time (the
/// memtable's single writer); the mutex makes it sound regardless and is uncontended.
#[derive(Default)]
pub(crate) struct Arena {
    chunks: Mutex<Chunks>,
}

impl Arena {
    /// Copies `parts` one after another into the arena and returns a pointer to the first
    /// byte. The bytes stay valid, and are never written again, until the arena is dropped.
    pub(crate) fn alloc_copy(&self, parts: &[&[u8]]) -> *const u8 {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut c = self.chunks.lock();
        let fits = c
            .current
            .as_ref()
            .is_some_and(|cur| cur.len() - c.used >= len);
        if !fits {
            if let Some(old) = c.current.take() {
                c.full.push(old);
            }
            c.current = Some(vec![0u8; len.max(CHUNK_BYTES)].into_boxed_slice());
            c.used = 0;
        }
        let start = c.used;
        c.used += len;
        let chunk = c
            .current
            .as_mut()
            .expect("a chunk with room was just ensured");
        let mut pos = start;
        for p in parts {
            chunk[pos..pos + p.len()].copy_from_slice(p);
            pos += p.len();
        }
        chunk[start..].as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_stay_put_across_chunks() {
        let a = Arena::default();
        let mut ptrs = Vec::new();
        for i in 0..5000u32 {
            let body = vec![(i % 251) as u8; (i as usize % 700) + 1];
            let p = a.alloc_copy(&[&i.to_le_bytes(), &body]);
            ptrs.push((p, i, body));
        }
        let big = vec![9u8; 3 * CHUNK_BYTES];
        let pb = a.alloc_copy(&[&big]);
        for (p, i, body) in &ptrs {
            // SAFETY: each pointer came from `alloc_copy` of 4 + body.len() bytes, and the
            // arena is alive.
            let got = unsafe { std::slice::from_raw_parts(*p, 4 + body.len()) };
            assert_eq!(&got[..4], &i.to_le_bytes());
            assert_eq!(&got[4..], &body[..]);
        }
        // SAFETY: as above.
        assert_eq!(
            unsafe { std::slice::from_raw_parts(pb, big.len()) },
            &big[..]
        );
    }
}

//! [`Arena`]: the memtable's bump allocator for entry bytes.
//!
//! A memtable only ever grows and is dropped whole, so its entries need no individual
//! allocation and no individual free: they are copied one after another into large chunks
//! (LevelDB's `util/arena.h` makes the same choice). That takes `malloc` off the write path and
//! makes dropping a flushed memtable free a few chunks instead of one block per entry.
//!
//! # Why raw pointers
//!
//! Readers on other threads hold `&[u8]` views of earlier entries while the writer copies new
//! ones into the same chunk. So no reference may ever cover a whole chunk: a `&mut [u8]` over
//! it would claim exclusive access to bytes that readers are reading (undefined behaviour,
//! and Miri's Stacked Borrows check rejects it), and a `Box<[u8]>` asserts the same uniqueness
//! each time it is moved. A chunk is therefore only a raw pointer from [`std::alloc::alloc`],
//! and every access goes through a raw pointer to just the bytes it touches: the writer
//! writes each fresh range through the chunk's pointer, and a reader's `&[u8]` covers only
//! its own entry, whose bytes are never written again.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use parking_lot::Mutex;

/// Bytes per chunk: large enough that the chunk allocation is rare next to the entries, small
/// enough that a memtable's unused tail is a small part of its memory.
const CHUNK_BYTES: usize = 1 << 20;

/// One block from the global allocator, owned through a raw pointer (see the module docs for
/// why not a `Box<[u8]>`). Freed on drop.
struct Chunk {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: a Chunk owns its block like a `Box<[u8]>` does and has no thread affinity, so it may
// be moved to, and dropped on, another thread.
unsafe impl Send for Chunk {}

impl Chunk {
    /// A new, uninitialised block of `len` bytes (`len > 0`).
    fn new(len: usize) -> Chunk {
        assert!(
            len > 0,
            "the global allocator must not be asked for 0 bytes"
        );
        let layout = Layout::array::<u8>(len).expect("a chunk larger than isize::MAX bytes");
        // SAFETY: the layout's size is not zero (asserted above).
        let ptr = unsafe { alloc::alloc(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        Chunk { ptr, layout }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc::alloc(self.layout)` and is freed only here, once.
        // Dropping a chunk means the arena is being dropped, so no `&[u8]` into it remains
        // (they all borrow the arena).
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The arena's mutable state, kept behind its mutex.
struct Bump {
    /// Every chunk handed out from; only kept to be freed when the arena drops.
    chunks: Vec<Chunk>,
    /// The first free byte of the chunk being filled (dangling while `left` is 0 and no chunk
    /// was allocated yet).
    next: NonNull<u8>,
    /// Free bytes from `next` to the end of that chunk.
    left: usize,
    /// The size of a regular chunk ([`CHUNK_BYTES`] outside tests).
    chunk_bytes: usize,
}

// SAFETY: `next` points into a chunk of `chunks`, which is Send; the pointer carries no
// thread affinity either.
unsafe impl Send for Bump {}

impl Bump {
    /// Reserves `len > 0` fresh bytes and returns a pointer to the first. The range is
    /// uninitialised, inside one chunk, and overlaps no range reserved before or after.
    fn reserve(&mut self, len: usize) -> NonNull<u8> {
        if len <= self.left {
            let p = self.next;
            // SAFETY: `len <= left`, so `p + len` is at most one past the end of the current
            // chunk, which is in bounds of that allocation.
            self.next = unsafe { p.add(len) };
            self.left -= len;
            return p;
        }
        // A copy larger than a quarter chunk gets a chunk of its own and leaves the current
        // one as it is, so the current chunk's free tail still serves the small copies that
        // follow instead of being abandoned (LevelDB's rule); it also covers copies larger
        // than a regular chunk.
        if len > self.chunk_bytes / 4 {
            let c = Chunk::new(len);
            let p = c.ptr;
            self.chunks.push(c);
            return p;
        }
        let c = Chunk::new(self.chunk_bytes);
        let p = c.ptr;
        self.chunks.push(c);
        // SAFETY: `len <= chunk_bytes / 4`, so `p + len` is inside the new chunk.
        self.next = unsafe { p.add(len) };
        self.left = self.chunk_bytes - len;
        p
    }
}

/// An append-only byte arena.
///
/// [`alloc_copy`](Arena::alloc_copy) takes `&self` and may be called from any thread; the
/// memtable calls it from its single writer only, so the mutex that makes it sound regardless
/// is uncontended, and it is held only to bump the offset, not while copying.
pub(crate) struct Arena {
    bump: Mutex<Bump>,
}

impl Default for Arena {
    fn default() -> Self {
        Arena::with_chunk_bytes(CHUNK_BYTES)
    }
}

impl Arena {
    /// An empty arena that allocates regular chunks of `chunk_bytes` bytes (tests use small
    /// ones to cross many chunk boundaries quickly, which Miri needs).
    fn with_chunk_bytes(chunk_bytes: usize) -> Self {
        Arena {
            bump: Mutex::new(Bump {
                chunks: Vec::new(),
                next: NonNull::dangling(),
                left: 0,
                chunk_bytes,
            }),
        }
    }

    /// Copies `parts` one after another into the arena and returns the copy. The bytes stay
    /// valid, and are never written again, until the arena is dropped.
    pub(crate) fn alloc_copy(&self, parts: &[&[u8]]) -> &[u8] {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len == 0 {
            return &[];
        }
        let dst = self.bump.lock().reserve(len);
        let mut pos = 0;
        for p in parts {
            // SAFETY: `reserve` gave this call `dst..dst + len` alone (no earlier or later
            // reservation overlaps it, and no reference to it exists yet), so writing it
            // races with no reader; `pos + p.len() <= len` keeps the write inside it. `p` is
            // not in that range, since nothing could have pointed into it before.
            unsafe { std::ptr::copy_nonoverlapping(p.as_ptr(), dst.as_ptr().add(pos), p.len()) };
            pos += p.len();
        }
        // SAFETY: the `len` bytes at `dst` are initialised (just written), lie in one chunk
        // that is freed only when the arena drops (which the returned borrow of `self` rules
        // out while the slice lives), and are never written again (no later reservation
        // overlaps them), so a shared slice of them is valid for that borrow.
        unsafe { std::slice::from_raw_parts(dst.as_ptr(), len) }
    }

    /// Number of chunks allocated so far.
    #[cfg(test)]
    fn chunk_count(&self) -> usize {
        self.bump.lock().chunks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// The bytes of allocation `i`: its number, then a length and filler derived from it, so
    /// a reader can check any allocation without being told what was written.
    fn entry(i: u32, max_body: usize) -> (Vec<u8>, Vec<u8>) {
        let body = vec![(i % 251) as u8; (i as usize * 7) % max_body + 1];
        (i.to_le_bytes().to_vec(), body)
    }

    fn check(got: &[u8], max_body: usize) {
        let i = u32::from_le_bytes(got[..4].try_into().unwrap());
        let (head, body) = entry(i, max_body);
        assert_eq!(&got[..4], &head[..]);
        assert_eq!(&got[4..], &body[..], "allocation {i}");
    }

    #[test]
    fn copies_stay_put_across_chunks() {
        // Small chunks, so that a few hundred entries span dozens of them (and Miri, which
        // checks every access, stays quick).
        let a = Arena::with_chunk_bytes(1024);
        let mut kept = Vec::new();
        for i in 0..600u32 {
            let (head, body) = entry(i, 300);
            kept.push(a.alloc_copy(&[&head, &body]));
            // Every earlier copy must still hold its bytes after each later allocation.
            if i % 50 == 0 {
                kept.iter().for_each(|g| check(g, 300));
            }
        }
        assert!(a.chunk_count() > 20, "only {} chunks", a.chunk_count());
        kept.iter().for_each(|g| check(g, 300));
        assert_eq!(a.alloc_copy(&[]), b"");
        assert_eq!(a.alloc_copy(&[b"", b"xy", b"", b"z"]), b"xyz");
    }

    #[test]
    fn large_copies_get_their_own_chunk_and_keep_the_current_one() {
        let a = Arena::with_chunk_bytes(1024);
        let small = a.alloc_copy(&[b"first"]);
        assert_eq!(a.chunk_count(), 1);
        let big = vec![7u8; 3000];
        let got_big = a.alloc_copy(&[&big]);
        assert_eq!(a.chunk_count(), 2);
        // The next small copy still goes into the first chunk, right after "first".
        let next = a.alloc_copy(&[b"second"]);
        assert_eq!(a.chunk_count(), 2);
        assert_eq!(next.as_ptr(), small.as_ptr().wrapping_add(small.len()));
        assert_eq!(small, b"first");
        assert_eq!(got_big, &big[..]);
        assert_eq!(next, b"second");
    }

    #[test]
    fn readers_on_other_threads_read_while_one_writer_allocates() {
        // The memtable's pattern: one writer keeps allocating (into the chunk that readers'
        // entries live in, and into new ones), while other threads read entries handed to
        // them earlier. Miri runs this with its data-race and aliasing checks.
        let n: u32 = if cfg!(miri) { 400 } else { 20_000 };
        let a = Arena::with_chunk_bytes(2048);
        std::thread::scope(|s| {
            let mut senders = Vec::new();
            let mut readers = Vec::new();
            for _ in 0..2 {
                let (tx, rx) = mpsc::channel::<&[u8]>();
                senders.push(tx);
                readers.push(s.spawn(move || {
                    let mut seen = Vec::new();
                    for got in rx {
                        check(got, 500);
                        seen.push(got);
                        // Re-read an older entry too, while the writer is still going.
                        check(seen[seen.len() / 2], 500);
                    }
                    seen.iter().for_each(|g| check(g, 500));
                    seen.len()
                }));
            }
            let writer = s.spawn(|| {
                for i in 0..n {
                    let (head, body) = entry(i, 500);
                    let got = a.alloc_copy(&[&head, &body]);
                    senders[i as usize % 2].send(got).unwrap();
                }
                drop(senders);
            });
            writer.join().unwrap();
            let total: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
            assert_eq!(total, n as usize);
        });
        assert!(a.chunk_count() > 10);
    }
}

//! The read path: what every reader of a database shares, and how a point lookup and an
//! iterator are put together.
//!
//! ```text
//!   get(key, seq) ─► SuperVersion::get ─► memtable ─► immutable memtables (newest first)
//!                                        └─► Version::get ─► L0 files (newest first) ─► L1..L6
//!   iter(read)    ─► SuperVersion::merged_iter ─► MergingIterator over the same sources
//!                 ─► DbIterator (one entry per user key at seq, tombstones hidden, bounds)
//! ```
//!
//! | file | what |
//! | --- | --- |
//! | `super_version.rs` | `SuperVersion`: the memtables and the [`Version`](crate::manifest::Version) current at one moment; the point lookup over them and the assembly of the merging iterator, in one place |
//! | `state.rs` | `ReadState`: the published super version and last sequence number, the table cache, the live snapshots, the open flag; reads at a sequence number |
//! | `snapshot.rs` | the live-snapshot list and the user's [`Snapshot`] handle |
//! | `read_options.rs` | [`ReadOptions`] and the key-range helpers of scans |
//! | `scan.rs` | [`Scan`], a forward scan as a Rust iterator |
//!
//! The database ([`Db`](crate::Db)) owns one `ReadState` and publishes into it; a
//! snapshot, an iterator and a transaction read through it and never call back into the
//! database. [`ReadOptions`] names a [`Snapshot`], and the database's reads take
//! `ReadOptions`, so the snapshot handle lives here, below the database, rather than above
//! it.

mod read_options;
mod scan;
mod snapshot;
mod state;
mod super_version;

pub use read_options::ReadOptions;
pub(crate) use read_options::{prefix_bounds, range_to_bounds};
pub use scan::Scan;
pub use snapshot::Snapshot;
pub(crate) use state::ReadState;
pub(crate) use super_version::SuperVersion;

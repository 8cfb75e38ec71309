//! The manifest: which SSTables make up the database, at which level, and the counters that
//! must survive a restart.
//!
//! The state is a [`Version`]: the files of each level. It changes only by [`VersionEdit`]s
//! (files added, files deleted, counters set), and every edit is appended to the manifest
//! *before* the new version is used, so replaying the manifest from the start rebuilds the
//! state at the last acknowledged change (LevelDB's `doc/impl.md`, "Manifest").
//!
//! ```text
//! MANIFEST-NNNNNN   a log in the WAL format (see crate::wal): one record per VersionEdit,
//!                   the first a snapshot of the whole state
//! CURRENT           "MANIFEST-NNNNNN\n": which manifest is live; replaced atomically
//!                   (write CURRENT.tmp, fsync, rename, fsync the directory)
//! ```
//!
//! [`VersionSet`] owns the live manifest: it applies edits, writes them, and starts a new
//! manifest (with a snapshot edit) on open and when the current one grows past
//! [`MAX_MANIFEST_BYTES`].

mod version;
mod version_edit;
mod version_set;

pub use version::{FileMetaData, Version, NUM_LEVELS};
pub use version_edit::VersionEdit;
pub use version_set::{read_manifest, VersionSet, MANIFEST_FORMAT_VERSION, MAX_MANIFEST_BYTES};

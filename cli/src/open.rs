//! Opening databases the way the commands need them.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use kevo::{Db, Options};

/// True if `dir` holds a kevo database (its `CURRENT` file names the live manifest).
pub fn has_database(dir: &Path) -> bool {
    kevo::filename::current_path(dir).is_file()
}

/// Opens the existing database in `dir` with the options stored in it.
///
/// Errors: `no database at DIR` if `dir` is missing or holds no database; otherwise the
/// engine's error (locked, corruption, ...) prefixed with the directory.
pub fn open_existing(dir: &Path) -> Result<Db> {
    if !has_database(dir) {
        bail!("no database at {}", dir.display());
    }
    Db::reopen(dir).map_err(|e| match e {
        kevo::Error::NotFound(_) => anyhow!("no database at {}: {e}", dir.display()),
        e => anyhow!("cannot open database at {}: {e}", dir.display()),
    })
}

/// Opens the database in `dir`, creating it with default options if there is none.
pub fn open_or_create(dir: &Path) -> Result<Db> {
    let db = if has_database(dir) {
        Db::reopen(dir)
    } else {
        Db::open(dir, Options::default().create_if_missing(true))
    };
    db.map_err(|e| anyhow!("cannot open database at {}: {e}", dir.display()))
}

//! Opening databases the way the commands need them.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use kevo::fs::OsFileSystem;
use kevo::{Db, Options};

/// True if `dir` holds a kevo database (its `CURRENT` file names the live manifest).
pub fn has_database(dir: &Path) -> bool {
    kevo::filename::current_path(dir).is_file()
}

/// The live manifest of the database in `dir`: the file `CURRENT` names, as `(name, path)`.
/// `CURRENT` is read by the engine's own reader, so the tools accept exactly what opening
/// accepts.
///
/// Errors: no database at `dir`; the engine's error for a `CURRENT` that cannot be read or
/// does not name a manifest (corruption); the manifest it names is missing.
pub fn live_manifest(dir: &Path) -> Result<(String, PathBuf)> {
    if !has_database(dir) {
        bail!("no database at {}", dir.display());
    }
    let number = kevo::manifest::read_current(&OsFileSystem, dir).map_err(|e| anyhow!("{e}"))?;
    let name = kevo::filename::manifest_name(number);
    let path = kevo::filename::manifest_path(dir, number);
    if !path.is_file() {
        bail!(
            "CURRENT names {name}, which does not exist in {}",
            dir.display()
        );
    }
    Ok((name, path))
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

/// Opens the existing database in `dir` read-only, with the options stored in it: no
/// `LOCK`, nothing written, so it works beside a process that has the database open for
/// writing (the read commands use it; they see the database as of the open, the writer's
/// unflushed WAL tail included).
///
/// Errors: `no database at DIR`; otherwise the engine's error prefixed with the directory.
pub fn open_read_only(dir: &Path) -> Result<Db> {
    if !has_database(dir) {
        bail!("no database at {}", dir.display());
    }
    Db::open_read_only(dir).map_err(|e| match e {
        kevo::Error::NotFound(_) => anyhow!("no database at {}: {e}", dir.display()),
        e => anyhow!("cannot open database at {} read-only: {e}", dir.display()),
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

//! Opening databases the way the commands need them.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use kevo::{Db, Options};

/// True if `dir` holds a kevo database (its `CURRENT` file names the live manifest).
pub fn has_database(dir: &Path) -> bool {
    kevo::filename::current_path(dir).is_file()
}

/// The live manifest of the database in `dir`: the file `CURRENT` names, as `(name, path)`.
///
/// Errors: no database at `dir`; `CURRENT` does not name a manifest (corruption); the
/// manifest it names is missing.
pub fn live_manifest(dir: &Path) -> Result<(String, PathBuf)> {
    if !has_database(dir) {
        bail!("no database at {}", dir.display());
    }
    let current = kevo::filename::current_path(dir);
    let text =
        std::fs::read(&current).map_err(|e| anyhow!("cannot read {}: {e}", current.display()))?;
    let name = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.strip_suffix('\n'))
        .filter(|n| {
            matches!(
                kevo::filename::parse_file_name(n),
                Some(kevo::filename::FileKind::Manifest(_))
            )
        })
        .ok_or_else(|| {
            anyhow!(
                "corruption in {}: it does not name a manifest: {}",
                current.display(),
                kevo::key::escape_bytes(&text)
            )
        })?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "CURRENT names {name}, which does not exist in {}",
            dir.display()
        );
    }
    Ok((name.to_owned(), path))
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

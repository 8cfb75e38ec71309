//! `kevo backup` and `kevo restore`: incremental backups through
//! [`kevo::backup::BackupEngine`] (RocksDB's BackupEngine scheme: numbered backups sharing
//! unchanged SSTables, every file's size and xxh64 checked on restore).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use kevo::backup::{BackupEngine, BackupInfo};

use crate::commands::close;
use crate::open::open_read_only;

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  kevo backup DB BACKUP_DIR          make a new backup of DB (it may be open elsewhere)
  kevo backup --list BACKUP_DIR      list the backups
  kevo backup --verify 2 BACKUP_DIR  check every file of backup 2
  kevo backup --delete 1 BACKUP_DIR  delete backup 1 and the tables only it used")]
pub struct BackupArgs {
    /// `DB BACKUP_DIR` to make a backup; `BACKUP_DIR` alone with --list, --verify or --delete.
    #[arg(value_name = "DB|BACKUP_DIR", num_args = 1..=2, required = true)]
    paths: Vec<PathBuf>,
    /// List the backups: id, time, files, bytes, bytes it added, tables shared.
    #[arg(long, conflicts_with_all = ["verify", "delete"])]
    list: bool,
    /// Check every file of backup ID (size and xxh64) without restoring it.
    #[arg(long, value_name = "ID", conflicts_with = "delete")]
    verify: Option<u64>,
    /// Delete backup ID, then the shared tables no other backup uses.
    #[arg(long, value_name = "ID")]
    delete: Option<u64>,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup directory.
    backup_dir: PathBuf,
    /// Directory to restore into (must not exist or be empty).
    target: PathBuf,
    /// The backup to restore [default: the latest]
    #[arg(long)]
    id: Option<u64>,
}

pub fn backup(args: &BackupArgs) -> Result<ExitCode> {
    let managing = args.list || args.verify.is_some() || args.delete.is_some();
    let (db_dir, backup_dir) = match (args.paths.as_slice(), managing) {
        ([db, dir], false) => (Some(db), dir),
        ([dir], true) => (None, dir),
        ([_], false) => bail!("kevo backup needs DB BACKUP_DIR (or --list/--verify/--delete)"),
        (_, true) => bail!("--list, --verify and --delete take only BACKUP_DIR"),
        _ => unreachable!("clap allows one or two paths"),
    };
    let engine = BackupEngine::open(backup_dir)
        .with_context(|| format!("open backup directory {}", backup_dir.display()))?;
    let mut out = io::stdout().lock();
    if let Some(db_dir) = db_dir {
        let db = open_read_only(db_dir)?;
        let info = engine
            .create_backup(&db)
            .with_context(|| format!("back up {} into {}", db_dir.display(), backup_dir.display()));
        close(db)?;
        let i = info?;
        writeln!(
            out,
            "backup {}: {} files, {} bytes, {} bytes new, {} tables shared with earlier backups, {:.3} s",
            i.id,
            i.num_files,
            i.size,
            i.new_bytes,
            i.files_reused,
            i.duration.as_secs_f64()
        )?;
    } else if args.list {
        let list = engine.list_backups().context("list backups")?;
        writeln!(
            out,
            "{:>6}  {:<20}  {:>6}  {:>14}  {:>14}  {:>6}",
            "id", "time", "files", "bytes", "new bytes", "shared"
        )?;
        for b in &list {
            write_row(&mut out, b)?;
        }
    } else if let Some(id) = args.verify {
        engine
            .verify(id)
            .with_context(|| format!("verify backup {id}"))?;
        writeln!(out, "backup {id}: every file ok")?;
    } else if let Some(id) = args.delete {
        engine
            .delete_backup(id)
            .with_context(|| format!("delete backup {id}"))?;
        writeln!(out, "backup {id} deleted")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn restore(args: &RestoreArgs) -> Result<ExitCode> {
    let engine = BackupEngine::open(&args.backup_dir)
        .with_context(|| format!("open backup directory {}", args.backup_dir.display()))?;
    let id = match args.id {
        Some(id) => id,
        None => match engine.list_backups().context("list backups")?.last() {
            Some(b) => b.id,
            None => bail!("no backup in {}", args.backup_dir.display()),
        },
    };
    let start = std::time::Instant::now();
    engine
        .restore(id, &args.target)
        .with_context(|| format!("restore backup {id} into {}", args.target.display()))?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "restored backup {id} into {}, every file verified, {:.3} s",
        args.target.display(),
        start.elapsed().as_secs_f64()
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_row(out: &mut impl Write, b: &BackupInfo) -> io::Result<()> {
    writeln!(
        out,
        "{:>6}  {:<20}  {:>6}  {:>14}  {:>14}  {:>6}",
        b.id,
        utc(b.timestamp),
        b.num_files,
        b.size,
        b.new_bytes,
        b.files_reused
    )
}

/// RFC 3339 in UTC, to the second, of a Unix time in seconds.
fn utc(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}

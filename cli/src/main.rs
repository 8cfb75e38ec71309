//! `kevo`: the command-line tool of the kevo storage engine.
//!
//! One module per command group: [`bench`] (db_bench workloads), [`import`] (JSON Lines /
//! CSV / TSV bulk load), [`commands`] (get, put, delete, scan, stats, compact), [`dump`]
//! (dump-sst, dump-wal, manifest: human-readable views of single files), [`serve`] (the
//! database over HTTP/JSON, from the `kevo-server` crate), [`shell`] (the interactive shell),
//! [`backup`] (incremental backups and restores), [`escape`] (the escaped form of bytes that
//! scan, import and the shell share). Every error is reported as one
//! line `error: ...` on stderr with exit code 1; usage errors are clap's (exit code 2).

mod backup;
mod bench;
mod check;
mod commands;
mod dump;
mod escape;
mod import;
mod open;
mod serve;
mod shell;
mod stress;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// kevo: an embedded, crash-safe LSM-tree key-value store.
#[derive(Parser, Debug)]
#[command(name = "kevo", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run LevelDB db_bench-style workloads and print throughput and latency.
    Bench(bench::BenchArgs),
    /// Bulk-load a JSON Lines, CSV, TSV or escaped `key<TAB>value` file, or stdin (creates the
    /// database if missing).
    Import(import::ImportArgs),
    /// Print the value of KEY (exit code 1 if absent).
    Get(commands::GetArgs),
    /// Set KEY to VALUE.
    Put(commands::PutArgs),
    /// Delete KEY.
    Delete(commands::DeleteArgs),
    /// Print `key<TAB>value` lines of a key range or prefix, or their count.
    Scan(commands::ScanArgs),
    /// Print an SSTable's footer, properties and filter; with --blocks its index, with
    /// --entries every entry. Verifies every block checksum.
    DumpSst(dump::DumpSstArgs),
    /// Print every record of a write-ahead log: each batch's sequence and operations.
    DumpWal(dump::DumpWalArgs),
    /// Print DB's statistics (the `kevo.stats` property): files and MiB per level, then
    /// counters (bytes written, flushes, compactions, write amplification, stalls, block
    /// cache and bloom filter figures). Counters count from the open this command does, so
    /// they are mostly 0 here; the per-level shape of the tree is the point.
    Stats(commands::StatsArgs),
    /// Compact a key range (default: everything) with Db::compact_range: flush the memtable,
    /// then merge the range's overlapping files level by level into one sorted run. Prints
    /// the files and MiB of each level before and after, and the time taken (seconds).
    Compact(commands::CompactArgs),
    /// Print the live manifest of DB: every version edit, then the files of each level.
    Manifest(dump::ManifestArgs),
    /// Write a consistent copy of DB into DIR (missing or empty) while DB stays in use: hard
    /// links to its SSTables (copies across devices), its WAL as of now, a fresh manifest.
    /// Opens DB read-only, so it works while another process writes to it. Prints what it
    /// linked and copied (bytes) and the time taken.
    Checkpoint(commands::CheckpointArgs),
    /// Make an incremental backup of DB in BACKUP_DIR (numbered; unchanged SSTables are
    /// shared with earlier backups), or with --list, --verify ID or --delete ID manage the
    /// backups there. Opens DB read-only, so it works while another process writes to it.
    Backup(backup::BackupArgs),
    /// Restore a backup (default: the latest) into TARGET (missing or empty), checking every
    /// file's size and xxh64 as it is copied; on any mismatch nothing is left in TARGET.
    Restore(backup::RestoreArgs),
    /// Verify a closed database: every checksum of every live SSTable, WAL segment and the
    /// manifest, key order and the manifest's metadata of each table, and the version's
    /// consistency (no overlap in L1+). Prints a summary; exit code 1 on any problem.
    Check(check::CheckArgs),
    /// An interactive shell on DB: get, put, delete, delete-range, scan, count, batches,
    /// transactions, snapshots, stats, flush, compact (`help` inside lists them). Keys and
    /// values are typed and shown escaped (`\x00`, `\n`, `\\`) or as `0x` hex. With stdin
    /// not a terminal it runs commands line by line; exit code 1 if any failed.
    Shell(shell::ShellArgs),
    /// Run random puts, deletes, batches, gets, scans, snapshots and transactions from
    /// several threads for a set time, with flushes, compactions and reopens going on, and
    /// check every result against an in-memory model. Exit code 1 on any mismatch.
    Stress(stress::StressArgs),
    /// Serve DB over HTTP/JSON (see server/README.md for the routes) until SIGINT or
    /// SIGTERM, then shut down gracefully and close DB. Creates DB if missing. Prints
    /// `listening on http://ADDR` first.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Get(args) => commands::get(&args),
        Command::Put(args) => commands::put(&args),
        Command::Delete(args) => commands::delete(&args),
        Command::Scan(args) => commands::scan(&args),
        Command::Stats(args) => commands::stats(&args),
        Command::Compact(args) => commands::compact(&args),
        Command::DumpSst(args) => dump::dump_sst(&args),
        Command::DumpWal(args) => dump::dump_wal(&args),
        Command::Manifest(args) => dump::manifest(&args),
        Command::Check(args) => check::run(&args),
        Command::Checkpoint(args) => commands::checkpoint(&args),
        Command::Backup(args) => backup::backup(&args),
        Command::Restore(args) => backup::restore(&args),
        Command::Stress(args) => stress::run(&args),
        Command::Shell(args) => shell::run(&args),
        Command::Serve(args) => serve::run(&args),
    };
    match result {
        Ok(code) => code,
        // `kevo scan DB | head`: the reader went away; that is not an error of ours.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the context chain on one line: "outer: inner: root cause".
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Keeps an error on one line even if some message in the chain holds a newline.
fn one_line(msg: &str) -> String {
    msg.split(['\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(one_line("a\nb\r\n  c"), "a b c");
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn broken_pipe_is_detected_through_context() {
        let e = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}

//! Helpers shared by the end-to-end tests: run the `kevo` binary and capture what it says.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// What one run of `kevo` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `kevo` binary built for these tests with `args`.
pub fn kevo<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_kevo"))
        .args(args)
        .output()
        .expect("run kevo");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Checks `r` failed with exactly one `error: ` line on stderr containing `needle`.
pub fn assert_one_error(r: &Run, code: i32, needle: &str) {
    assert_eq!(r.code, code, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {}", r.stderr);
    assert!(lines[0].starts_with("error: "), "stderr: {}", r.stderr);
    assert!(lines[0].contains(needle), "stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "stderr: {}", r.stderr);
}

/// A temporary path as the `&str` argument the CLI takes.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

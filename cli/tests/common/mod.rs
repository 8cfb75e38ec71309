//! Helpers shared by the end-to-end tests: run the `kevo` binary and capture what it says.

use std::ffi::OsStr;
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

//! Black-box tests of the `okwallet` binary: command line, configuration, the demo server,
//! crash safety under SIGKILL, several writer processes on one database, mail through a real
//! SMTP server, and the pages in real Chromium.

mod browser;
mod chains;
mod cli;
mod crash;
mod mail;
mod processes;
mod serve;

use std::path::Path;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_okwallet");

/// `okwallet` with a clean environment (no OKWALLET_* from the caller) and the given database.
pub fn okwallet(database_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("OKWALLET_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("OKWALLET_DATABASE_URL", database_url)
        .env("OKWALLET_LOG", "warn");
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("okwallet runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether the slow suites run (CI sets OKWALLET_SLOW_TESTS=1).
pub fn slow() -> bool {
    std::env::var("OKWALLET_SLOW_TESTS").is_ok_and(|v| v == "1")
}

pub fn write(path: &Path, content: &str) {
    std::fs::write(path, content).expect("write a file");
}

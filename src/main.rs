//! The `tidings` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

fn main() -> anyhow::Result<ExitCode> {
    Ok(tidings::cli::run(std::env::args_os())?)
}
